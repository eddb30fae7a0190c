"""Losses: values against NumPy by hand, gradients, stability, clear errors."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from framework import nn
from framework.autograd import tensor
from framework.autograd.gradcheck import gradcheck
from framework.nn import functional as F


def rand(*shape, seed=0, scale=1.0):
    return scale * np.random.default_rng(seed).standard_normal(shape)


def leaf(values, dtype=np.float64):
    return tensor(values, requires_grad=True, dtype=dtype)


def reduce(losses, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction](losses)


# -- references in plain NumPy --------------------------------------------------------------------------


def cross_entropy_by_hand(logits, target):
    """-log softmax(z)_t = log sum_j exp(z_j) - z_t, per row."""
    return np.logaddexp.reduce(logits, axis=1) - logits[np.arange(len(target)), target]


def bce_by_hand(x, y):
    """-[y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))] with log sigmoid(x) = -log(1 + exp(-x))."""
    return y * np.logaddexp(0, -x) + (1 - y) * np.logaddexp(0, x)


REDUCTIONS = ["mean", "sum", "none"]

# -- values -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_matches_numpy(reduction):
    a, b = rand(4, 3), rand(4, 3, seed=1)
    expected = reduce((a - b) ** 2, reduction)
    np.testing.assert_allclose(F.mse_loss(tensor(a), b, reduction).data, expected, rtol=1e-14)
    np.testing.assert_allclose(nn.MSELoss(reduction)(tensor(a), tensor(b)).data, expected, rtol=1e-14)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_matches_numpy(reduction):
    logits = rand(6, 4, scale=3)
    target = np.array([0, 3, 1, 1, 2, 0])
    expected = reduce(cross_entropy_by_hand(logits, target), reduction)
    np.testing.assert_allclose(F.cross_entropy(tensor(logits), target, reduction).data, expected, rtol=1e-13)
    np.testing.assert_allclose(nn.CrossEntropyLoss(reduction)(tensor(logits), target).data, expected, rtol=1e-13)


def test_cross_entropy_of_uniform_logits_is_log_of_the_number_of_classes():
    loss = F.cross_entropy(tensor(np.zeros((3, 10))), [1, 5, 9])
    np.testing.assert_allclose(loss.item(), np.log(10), rtol=1e-15)


def test_cross_entropy_accepts_targets_as_a_list_an_int_array_or_a_tensor():
    logits = tensor(rand(3, 4))
    values = [F.cross_entropy(logits, t).item() for t in ([2, 0, 3], np.array([2, 0, 3]), tensor([2, 0, 3]))]
    assert values[0] == values[1] == values[2]


def test_cross_entropy_equals_log_softmax_picked_at_the_targets():
    logits = leaf(rand(5, 3))
    target = np.array([2, 0, 1, 1, 0])
    composed = -F.log_softmax(logits)[np.arange(5), target].mean()
    np.testing.assert_allclose(F.cross_entropy(logits, target).item(), composed.item(), rtol=1e-14)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_matches_numpy(reduction):
    x = rand(5, 2, scale=3)
    y = (rand(5, 2, seed=1) > 0).astype(float)
    expected = reduce(bce_by_hand(x, y), reduction)
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(tensor(x), y, reduction).data, expected, rtol=1e-13)
    np.testing.assert_allclose(nn.BCEWithLogitsLoss(reduction)(tensor(x), tensor(y)).data, expected, rtol=1e-13)


def test_bce_with_logits_accepts_probabilities_as_targets():
    x = rand(4)
    y = np.array([0.1, 0.5, 0.9, 1.0])
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(tensor(x), y).item(), bce_by_hand(x, y).mean())


# -- gradients -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_gradients_pass_the_gradient_check_for_both_arguments(reduction):
    def loss(a, b):
        value = F.mse_loss(a, b, reduction)
        return value if reduction != "none" else (value * rand(3, 2, seed=5)).sum()

    gradcheck(loss, leaf(rand(3, 2)), leaf(rand(3, 2, seed=1)))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_gradient_passes_the_gradient_check(reduction):
    target = np.array([1, 0, 3, 3])

    def loss(z):
        value = F.cross_entropy(z, target, reduction)
        return value if reduction != "none" else (value * rand(4, seed=5)).sum()

    gradcheck(loss, leaf(rand(4, 4, scale=2)))


def test_cross_entropy_gradient_is_softmax_minus_one_hot_over_the_batch():
    logits = leaf(rand(3, 4))
    target = np.array([3, 0, 2])
    F.cross_entropy(logits, target).backward()
    expected = F.softmax(tensor(logits.data)).data
    expected[np.arange(3), target] -= 1
    np.testing.assert_allclose(logits.grad.data, expected / 3, rtol=1e-13)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_gradient_passes_the_gradient_check(reduction):
    y = np.array([[0.0, 1.0], [1.0, 0.3], [0.0, 0.0]])

    def loss(x):
        value = F.binary_cross_entropy_with_logits(x, y, reduction)
        return value if reduction != "none" else (value * rand(3, 2, seed=5)).sum()

    gradcheck(loss, leaf(rand(3, 2, scale=2)))


# -- stability ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_is_exact_and_quiet_at_logits_of_size_1e4(dtype):
    logits = leaf(np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [0.0, 1e4, 1e4]]), dtype=dtype)
    target = np.array([1, 2, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.cross_entropy(logits, target, reduction="none")
        loss.sum().backward()
    assert loss.dtype == dtype and logits.grad.dtype == dtype
    np.testing.assert_allclose(loss.data, [2e4, np.log(3), 1e4 + np.log(2)], rtol=1e-6)
    expected_grad = [[1, -1, 0], [1 / 3, 1 / 3, -2 / 3], [-1, 0.5, 0.5]]
    np.testing.assert_allclose(logits.grad.data, expected_grad, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_is_exact_and_quiet_at_logits_of_size_1e4(dtype):
    x = leaf(np.array([1e4, -1e4, 1e4, -1e4]), dtype=dtype)
    y = np.array([0.0, 1.0, 1.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
        loss.sum().backward()
    np.testing.assert_allclose(loss.data, [1e4, 1e4, 0.0, 0.0])
    np.testing.assert_allclose(x.grad.data, [1.0, -1.0, 0.0, 0.0])


logit_rows = hnp.arrays(
    np.float64,
    st.tuples(st.integers(1, 5), st.integers(2, 6)),
    elements=st.floats(-1e4, 1e4),
)


@given(logit_rows, st.data())
def test_cross_entropy_is_log_sum_exp_minus_the_target_logit(logits, data):
    n, c = logits.shape
    target = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        losses = F.cross_entropy(tensor(logits), target, reduction="none").data
    assert np.all(np.isfinite(losses)) and np.all(losses >= -1e-12)
    np.testing.assert_allclose(losses, cross_entropy_by_hand(logits, target), rtol=1e-12, atol=1e-12)


# -- bad input ----------------------------------------------------------------------------------------------


def test_batch_size_disagreement_is_a_clear_error_for_every_loss():
    with pytest.raises(ValueError, match="batch sizes disagree: 4 rows of logits but 3 targets"):
        F.cross_entropy(tensor(rand(4, 3)), [0, 1, 2])
    with pytest.raises(ValueError, match=r"shape \(4, 1\) but the targets have shape \(3, 1\).*4 predictions but 3"):
        F.mse_loss(tensor(rand(4, 1)), rand(3, 1))
    with pytest.raises(ValueError, match="batch sizes disagree: 2 predictions but 5 targets"):
        F.binary_cross_entropy_with_logits(tensor(rand(2)), np.zeros(5))


def test_mse_refuses_to_broadcast_a_column_against_a_vector():
    with pytest.raises(ValueError, match=r"\(4, 1\) against a vector|A column \(N, 1\) against a vector"):
        F.mse_loss(tensor(rand(4, 1)), rand(4))


@pytest.mark.parametrize("bad, position", [([0, 3, 1], 1), ([0, 1, -1], 2)])
def test_a_class_index_outside_the_classes_is_named(bad, position):
    with pytest.raises(ValueError, match=rf"target {bad[position]} at position {position} is not a class index.*\[0, 3\)"):
        F.cross_entropy(tensor(rand(3, 3)), bad)


def test_cross_entropy_rejects_targets_that_are_not_class_indices():
    with pytest.raises(TypeError, match="whole numbers"):
        F.cross_entropy(tensor(rand(2, 3)), np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="one-hot"):
        F.cross_entropy(tensor(rand(2, 3)), np.eye(3)[[0, 1]])
    with pytest.raises(ValueError, match=r"logits must have shape \(batch, classes\)"):
        F.cross_entropy(tensor(rand(3)), [0])


def test_an_unknown_reduction_is_an_error():
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.cross_entropy(tensor(rand(2, 3)), [0, 1], reduction="average")
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.MSELoss(reduction="max")


def test_targets_take_the_dtype_of_float32_predictions():
    prediction = tensor(rand(3, 1), dtype=np.float32, requires_grad=True)
    loss = F.mse_loss(prediction, rand(3, 1))  # float64 targets
    loss.backward()
    assert loss.dtype == np.float32 and prediction.grad.dtype == np.float32


# -- agreement with PyTorch -----------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_losses_and_their_gradients_match_pytorch(reduction):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    logits = rand(5, 4, scale=4)
    target = np.array([3, 1, 0, 0, 2])
    x, y = rand(5, 2), (rand(5, 2, seed=1) > 0).astype(float)
    cases = [
        (F.cross_entropy, functional.cross_entropy, logits, target),
        (F.binary_cross_entropy_with_logits, functional.binary_cross_entropy_with_logits, x, y),
        (F.mse_loss, functional.mse_loss, x, y),
    ]
    for ours, theirs, prediction, truth in cases:
        p = leaf(prediction)
        p_torch = torch.tensor(prediction, requires_grad=True)
        loss = ours(p, truth, reduction=reduction)
        loss_torch = theirs(p_torch, torch.from_numpy(truth), reduction=reduction)
        np.testing.assert_allclose(loss.data, loss_torch.detach().numpy(), rtol=1e-12)
        weights = np.asarray(rand(*loss.shape, seed=9))
        (loss * weights).sum().backward()
        (loss_torch * torch.from_numpy(weights)).sum().backward()
        np.testing.assert_allclose(p.grad.data, p_torch.grad.numpy(), rtol=1e-12, atol=1e-15)
