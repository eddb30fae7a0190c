"""Layers and activations: values, gradients (gradient check), dtypes, errors."""

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


def leaf(values):
    return tensor(values, requires_grad=True, dtype=np.float64)


def weighted_sum(out, seed=7):
    """A scalar that depends on every output with a different weight."""
    return (out * rand(*out.shape, seed=seed)).sum()


# -- Linear ------------------------------------------------------------------------------------


def test_linear_has_pytorch_layout_and_float32_by_default():
    layer = nn.Linear(3, 2)
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (2,)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    y = layer(tensor(rand(4, 3), dtype=np.float32))
    assert y.shape == (4, 2) and y.dtype == np.float32


def test_linear_computes_x_times_w_transposed_plus_b():
    layer = nn.Linear(3, 2, dtype=np.float64)
    x = rand(5, 3)
    expected = x @ layer.weight.data.T + layer.bias.data
    np.testing.assert_allclose(layer(tensor(x)).data, expected, rtol=1e-14)


def test_linear_default_initialisation_is_uniform_within_one_over_sqrt_fan_in():
    layer = nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)
    for p in (layer.weight, layer.bias):
        assert np.all(np.abs(p.data) <= bound)
    assert np.abs(layer.weight.data).max() > 0.99 * bound
    np.testing.assert_allclose(layer.weight.data.var(), bound**2 / 3, rtol=0.02)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradients_pass_the_gradient_check(bias):
    layer = nn.Linear(4, 3, bias=bias, dtype=np.float64)
    x = leaf(rand(5, 4))
    inputs = [x, layer.weight] + ([layer.bias] if bias else [])
    gradcheck(lambda *ts: weighted_sum(F.linear(ts[0], ts[1], ts[2] if bias else None)), *inputs)


def test_linear_accepts_extra_batch_axes():
    layer = nn.Linear(4, 3, dtype=np.float64)
    x = leaf(rand(2, 5, 4))
    assert layer(x).shape == (2, 5, 3)
    gradcheck(lambda x, w, b: weighted_sum(F.linear(x, w, b)), x, layer.weight, layer.bias)


def test_fused_linear_matches_the_composition_of_basic_operations():
    layer = nn.Linear(4, 3, dtype=np.float64)
    x_values = rand(6, 4)
    weights = rand(6, 3, seed=2)
    grads = []
    for compute in (lambda x: layer(x), lambda x: x @ layer.weight.T + layer.bias):
        layer.zero_grad()
        x = leaf(x_values)
        (compute(x) * weights).sum().backward()
        grads.append([x.grad.data, layer.weight.grad.data, layer.bias.grad.data])
    for fused, composed in zip(*grads):
        np.testing.assert_allclose(fused, composed, rtol=1e-12)


def test_linear_stores_its_weight_column_by_column_and_keeps_it_so():
    layer = nn.Linear(5, 3)
    assert layer.weight.data.flags.f_contiguous and not layer.weight.data.flags.c_contiguous
    layer.load_state_dict({"weight": np.arange(15.0).reshape(3, 5), "bias": np.zeros(3)})
    assert layer.weight.data.flags.f_contiguous  # loaded into the same array
    assert layer.to(np.float64).weight.data.flags.f_contiguous


@pytest.mark.parametrize("order", ["C", "F"])
def test_linear_weight_gradient_comes_out_in_the_weight_layout_with_the_same_values(order):
    x_values, upstream = rand(6, 4), rand(6, 3, seed=2)
    reference = nn.Linear(4, 3, dtype=np.float64)
    layer = nn.Linear(4, 3, dtype=np.float64)
    layer.weight.data = np.array(reference.weight.data, order=order)
    layer.bias.data = reference.bias.data.copy()
    for model in (reference, layer):
        (model(leaf(x_values)) * upstream).sum().backward()
    gradient = layer.weight.grad.data
    assert gradient.flags.f_contiguous if order == "F" else gradient.flags.c_contiguous
    expected = upstream.T @ x_values  # G^T x, written out
    np.testing.assert_allclose(gradient, expected, rtol=1e-12)
    np.testing.assert_allclose(reference.weight.grad.data, expected, rtol=1e-12)


def test_linear_skips_the_input_gradient_when_the_input_needs_none():
    layer = nn.Linear(3, 2, dtype=np.float64)
    x = tensor(rand(4, 3))
    layer(x).sum().backward()
    assert x.grad is None and layer.weight.grad.shape == (2, 3)
    np.testing.assert_allclose(layer.bias.grad.data, [4.0, 4.0])


def test_linear_rejects_a_dtype_mismatch_with_advice():
    layer = nn.Linear(3, 2)
    with pytest.raises(TypeError, match="input has dtype float64 but the weight has dtype float32"):
        layer(tensor(rand(4, 3)))


def test_linear_rejects_the_wrong_number_of_features():
    layer = nn.Linear(3, 2, dtype=np.float64)
    with pytest.raises(ValueError, match=r"has 5 features .*shape \(4, 5\).* weight \(2, 3\) expects 3"):
        layer(tensor(rand(4, 5)))


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_linear_rejects_bad_sizes(bad):
    with pytest.raises(ValueError, match="positive whole number"):
        nn.Linear(bad, 2)


# -- activations -----------------------------------------------------------------------------------


def stable_sigmoid(x):
    return np.exp(-np.logaddexp(0, -x))


ACTIVATIONS = {
    "relu": (nn.ReLU(), lambda x: np.maximum(x, 0)),
    "sigmoid": (nn.Sigmoid(), stable_sigmoid),
    "tanh": (nn.Tanh(), np.tanh),
    "softmax": (nn.Softmax(), lambda x: np.exp(x - np.logaddexp.reduce(x, axis=-1, keepdims=True))),
    "log_softmax": (nn.LogSoftmax(), lambda x: x - np.logaddexp.reduce(x, axis=-1, keepdims=True)),
    "identity": (nn.Identity(), lambda x: x),
}


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_values_match_numpy(name):
    module, reference = ACTIVATIONS[name]
    x = rand(4, 5, scale=3)
    np.testing.assert_allclose(module(tensor(x)).data, reference(x), rtol=1e-12, atol=1e-15)


@pytest.mark.exercise("4.1")
@pytest.mark.parametrize("name", [n for n in ACTIVATIONS if n != "identity"])
def test_activation_gradients_pass_the_gradient_check(name):
    module, _ = ACTIVATIONS[name]
    x = rand(4, 5, scale=2)
    x[np.abs(x) < 0.05] = 0.5  # keep away from the kink of relu-like functions
    gradcheck(lambda t: weighted_sum(module(t)), leaf(x))


@pytest.mark.parametrize("function", [F.softmax, F.log_softmax])
def test_softmax_along_the_first_axis_passes_the_gradient_check(function):
    gradcheck(lambda t: weighted_sum(function(t, axis=0)), leaf(rand(3, 4)))


@pytest.mark.exercise("4.1")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("function", [F.softmax, F.log_softmax, F.sigmoid, F.tanh])
def test_activations_are_finite_without_warnings_at_extreme_inputs(function, dtype):
    x = tensor(np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]]), dtype=dtype, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = function(x)
        weighted_sum(y).backward()
    assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad.data))


def test_softmax_of_huge_logits_is_exact():
    y = F.softmax(tensor(np.array([[1e4, 0.0, -1e4], [5.0, 5.0, 5.0]])))
    np.testing.assert_allclose(y.data, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]])
    log_y = F.log_softmax(tensor(np.array([[1e4, 0.0, -1e4]])))
    np.testing.assert_allclose(log_y.data, [[0.0, -1e4, -2e4]])


finite_rows = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
    elements=st.floats(-1e4, 1e4),
)


@given(finite_rows)
def test_softmax_is_a_probability_distribution_and_log_softmax_its_log(x):
    p = F.softmax(tensor(x)).data
    log_p = F.log_softmax(tensor(x)).data
    assert np.all(p >= 0) and np.all(np.isfinite(log_p))
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.exp(log_p), p, rtol=1e-10, atol=1e-300)


@pytest.mark.exercise("4.1")
def test_activations_keep_float32():
    x = tensor(rand(3, 4), dtype=np.float32, requires_grad=True)
    for module, _ in ACTIVATIONS.values():
        y = module(x)
        assert y.dtype == np.float32, type(module).__name__
        x.zero_grad()
        y.sum().backward()
        assert x.grad.dtype == np.float32, type(module).__name__


# -- LeakyReLU (Exercise 6.1: these tests grade it; the others do not use it) ----------------------------


@pytest.mark.exercise("6.1")
def test_leaky_relu_forward_keeps_positives_and_scales_negatives():
    x = tensor(np.array([-2.0, -0.5, 0.0, 0.5, 3.0]))
    np.testing.assert_allclose(F.leaky_relu(x).data, [-0.02, -0.005, 0.0, 0.5, 3.0])
    np.testing.assert_allclose(F.leaky_relu(x, 0.2).data, [-0.4, -0.1, 0.0, 0.5, 3.0])
    np.testing.assert_allclose(nn.LeakyReLU(0.3)(x).data, [-0.6, -0.15, 0.0, 0.5, 3.0])


@pytest.mark.exercise("6.1")
def test_leaky_relu_backward_is_one_or_the_slope():
    x = tensor(np.array([-2.0, -0.5, 0.5, 3.0]), requires_grad=True)
    F.leaky_relu(x, 0.2).backward(np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_allclose(x.grad.data, [0.2, 0.4, 3.0, 4.0])


@pytest.mark.exercise("6.1")
def test_leaky_relu_passes_the_gradient_check_and_keeps_float32():
    gradcheck(lambda t: weighted_sum(F.leaky_relu(t, 0.05)), leaf(rand(3, 4) + 0.1))
    x = tensor(np.array([-1.0, 2.0]), dtype=np.float32, requires_grad=True)
    y = F.leaky_relu(x)
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32


# -- Flatten and Identity ---------------------------------------------------------------------------------


def test_flatten_merges_the_given_axes_and_passes_gradients_back():
    x = leaf(rand(2, 3, 4, 5))
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Flatten(1, 2)(x).shape == (2, 12, 5)
    gradcheck(lambda t: weighted_sum(nn.Flatten()(t)), x)
    with pytest.raises(ValueError, match="comes after"):
        F.flatten(x, 2, 1)


def test_identity_returns_its_input():
    x = tensor(rand(2, 2))
    assert nn.Identity()(x) is x


# -- agreement with PyTorch -------------------------------------------------------------------------------


@pytest.mark.exercise("4.1")
def test_linear_and_activations_match_pytorch():
    torch = pytest.importorskip("torch")
    nn.init.manual_seed(0)
    ours = nn.Sequential(nn.Linear(4, 3, dtype=np.float64), nn.Tanh())
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 3).double(), torch.nn.Tanh())
    theirs.load_state_dict({name: torch.from_numpy(value) for name, value in ours.state_dict().items()})
    x = rand(5, 4)
    weights = rand(5, 3, seed=3)
    y = ours(tensor(x))
    (y * weights).sum().backward()
    y_torch = theirs(torch.from_numpy(x))
    (y_torch * torch.from_numpy(weights)).sum().backward()
    np.testing.assert_allclose(y.data, y_torch.detach().numpy(), rtol=1e-12)
    for name, p in ours.named_parameters():
        reference = dict(theirs.named_parameters())[name].grad.numpy()
        np.testing.assert_allclose(p.grad.data, reference, rtol=1e-12, err_msg=name)
    z = rand(3, 5, scale=10)
    for ours_fn, torch_fn in [
        (F.softmax, torch.softmax),
        (F.log_softmax, torch.log_softmax),
    ]:
        np.testing.assert_allclose(ours_fn(tensor(z)).data, torch_fn(torch.from_numpy(z), dim=-1).numpy(), rtol=1e-12)


@pytest.mark.exercise("6.1")
def test_leaky_relu_matches_pytorch():
    torch = pytest.importorskip("torch")
    z = tensor(rand(3, 5, scale=10), requires_grad=True)
    z_torch = torch.tensor(z.data, requires_grad=True)
    weights = rand(3, 5, seed=1)
    y = F.leaky_relu(z, 0.1)
    y_torch = torch.nn.functional.leaky_relu(z_torch, 0.1)
    (y * weights).sum().backward()
    (y_torch * torch.from_numpy(weights)).sum().backward()
    np.testing.assert_allclose(y.data, y_torch.detach().numpy(), rtol=1e-15)
    np.testing.assert_allclose(z.grad.data, z_torch.grad.numpy(), rtol=1e-15)


def test_flatten_axes_out_of_range_are_named():
    with pytest.raises(ValueError, match=r"flatten: axis 1 is out of range for shape \(\) \(axes run from 0 to -1\)"):
        F.flatten(tensor(1.0))
    with pytest.raises(ValueError, match=r"flatten: axis 5 is out of range for shape \(2, 3\) \(axes run from -2 to 1\)"):
        F.flatten(tensor(np.ones((2, 3))), start_axis=5)
    assert F.flatten(tensor(np.ones((2, 3, 4)))).shape == (2, 12)
