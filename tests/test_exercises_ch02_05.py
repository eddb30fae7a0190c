"""Tests of the package exercises of Chapters 2, 4 and 5.

Each test names its exercise with ``@pytest.mark.exercise("N.K")`` (see
exercises.toml). They check the student's backward methods in
``framework/autograd/ops.py`` with known values and with the gradient check
of Chapter 4, and their messages say what to look at.
"""

import numpy as np
import pytest

from framework.autograd import concatenate, exp, tanh, tensor, where
from framework.autograd.gradcheck import GradcheckError, gradcheck


def backward_of(f, *values, grad=None):
    """The gradients that backward gives each input of f at values."""
    inputs = [tensor(v, requires_grad=True) for v in values]
    out = f(*inputs)
    out.backward(np.ones(out.shape) if grad is None else grad)
    return [t.grad.data for t in inputs]


def check_gradients(f, *inputs, what):
    """gradcheck with a message that points at the exercise."""
    try:
        return gradcheck(f, *inputs)
    except NotImplementedError:
        pytest.fail(f"{what} is not implemented yet")
    except GradcheckError as error:
        pytest.fail(f"{what} gives wrong gradients: {error}")


# --- Exercise 2.1: Exp.backward -------------------------------------------------


@pytest.mark.exercise("2.1")
def test_exp_backward_known_values():
    (grad,) = backward_of(exp, np.array([0.0, 1.0, -2.0]))
    expected = np.exp([0.0, 1.0, -2.0])
    assert np.allclose(grad, expected), (
        f"Exp.backward with gradient 1 should return exp(x) = {expected}, got {grad}; "
        "the derivative of e^x is e^x, and forward saved y = e^x"
    )


@pytest.mark.exercise("2.1")
def test_exp_backward_multiplies_the_incoming_gradient():
    (grad,) = backward_of(exp, np.array([0.5, 2.0]), grad=np.array([3.0, -1.0]))
    expected = np.array([3.0, -1.0]) * np.exp([0.5, 2.0])
    assert np.allclose(grad, expected), (
        f"Exp.backward must multiply the incoming gradient gy by exp(x): expected {expected}, got {grad}"
    )


@pytest.mark.exercise("2.1")
def test_exp_backward_passes_gradcheck():
    x = tensor(np.random.default_rng(0).normal(size=(3, 4)), requires_grad=True)
    check_gradients(lambda t: (exp(t) * exp(t * 0.5)).sum(), x, what="Exp.backward")


# --- Exercise 4.1: Tanh.backward ------------------------------------------------


@pytest.mark.exercise("4.1")
def test_tanh_backward_known_values():
    (grad,) = backward_of(tanh, np.array([0.0, 1.0, -3.0]))
    expected = 1 - np.tanh([0.0, 1.0, -3.0]) ** 2
    assert np.allclose(grad, expected), (
        f"Tanh.backward with gradient 1 at x = [0, 1, -3] should return the slope of tanh there, "
        f"{expected}, got {grad}; forward saved y = tanh(x)"
    )


@pytest.mark.exercise("4.1")
def test_tanh_backward_multiplies_the_incoming_gradient():
    (grad,) = backward_of(tanh, np.array([0.5, -0.25]), grad=np.array([2.0, -4.0]))
    expected = np.array([2.0, -4.0]) * (1 - np.tanh([0.5, -0.25]) ** 2)
    assert np.allclose(grad, expected), (
        f"Tanh.backward with the incoming gradient gy = [2, -4] should return gy times the slope, "
        f"{expected}, got {grad}"
    )


@pytest.mark.exercise("4.1")
def test_tanh_backward_passes_gradcheck_in_a_chain():
    rng = np.random.default_rng(1)
    x = tensor(rng.normal(size=(4, 3)))
    W = tensor(rng.normal(size=(3, 2)), requires_grad=True)
    check_gradients(lambda w: (tanh(tanh(x @ w)) ** 2).mean(), W, what="Tanh.backward")


@pytest.mark.exercise("4.1")
def test_tanh_backward_is_stable_for_large_inputs():
    (grad,) = backward_of(tanh, np.array([-50.0, 50.0]))
    assert np.all(np.isfinite(grad)) and np.allclose(grad, 0.0), (
        f"the derivative of tanh far from 0 is 0, got {grad}; compute it from y = tanh(x), not from exp"
    )


# --- Exercise 5.1: Concatenate.backward ----------------------------------------


@pytest.mark.exercise("5.1")
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate_backward_cuts_the_gradient_into_pieces(axis):
    shapes = {0: [(1, 3), (2, 3), (3, 3)], 1: [(2, 1), (2, 2), (2, 3)], -1: [(2, 1), (2, 2), (2, 3)]}[axis]
    values = [np.zeros(s) for s in shapes]
    total = 6
    out_shape = (total, 3) if axis == 0 else (2, total)
    g = np.arange(np.prod(out_shape), dtype=float).reshape(out_shape)
    grads = backward_of(lambda *ts: concatenate(ts, axis=axis), *values, grad=g)
    expected = np.split(g, [1, 3], axis=axis)
    for k, (mine, right) in enumerate(zip(grads, expected)):
        assert mine.shape == right.shape and np.array_equal(mine, right), (
            f"Concatenate.backward (axis={axis}): input {k} of shape {shapes[k]} should get the piece\n"
            f"{right}\nof the gradient, got\n{mine}\nCut the gradient along the saved axis at the "
            "running totals of the saved lengths (np.split with np.cumsum)"
        )


@pytest.mark.exercise("5.1")
def test_concatenate_backward_passes_gradcheck():
    rng = np.random.default_rng(2)
    a = tensor(rng.normal(size=(2, 3)), requires_grad=True)
    b = tensor(rng.normal(size=(2, 1)), requires_grad=True)
    c = tensor(rng.normal(size=(2, 2)), requires_grad=True)
    check_gradients(
        lambda a, b, c: (concatenate([a, b, c], axis=1) ** 2).sum(axis=0),
        a, b, c, what="Concatenate.backward",
    )


@pytest.mark.exercise("5.1")
def test_concatenate_backward_with_one_input_not_requiring_grad():
    a = tensor(np.ones((2, 2)), requires_grad=True)
    b = tensor(np.ones((1, 2)))
    concatenate([a, b], axis=0).sum().backward()
    assert np.array_equal(a.grad.data, np.ones((2, 2))) and b.grad is None


# --- Exercise 5.2: Where.backward -----------------------------------------------


@pytest.mark.exercise("5.2")
def test_where_backward_sends_each_gradient_to_the_chosen_input():
    condition = np.array([True, False, True])
    ga, gb = backward_of(
        lambda a, b: where(condition, a, b), np.zeros(3), np.zeros(3), grad=np.array([1.0, 2.0, 3.0])
    )
    assert np.array_equal(ga, [1, 0, 3]) and np.array_equal(gb, [0, 2, 0]), (
        f"Where.backward: a should get [1, 0, 3] and b [0, 2, 0] (the gradient where each was "
        f"chosen, 0 elsewhere), got a: {ga}, b: {gb}"
    )


@pytest.mark.exercise("5.2")
def test_where_backward_sums_broadcast_gradients():
    condition = np.array([[True, False, True], [False, False, True]])
    ga, gb = backward_of(lambda a, b: where(condition, a, b), np.zeros(3), np.zeros((2, 1)))
    assert ga.shape == (3,) and gb.shape == (2, 1), (
        f"Where.backward must sum each gradient back to its input's shape (sum_to): "
        f"expected shapes (3,) and (2, 1), got {ga.shape} and {gb.shape}"
    )
    assert np.array_equal(ga, [1, 0, 2]) and np.array_equal(gb, [[1], [2]]), (
        f"Where.backward with broadcasting: expected a.grad [1, 0, 2] and b.grad [[1], [2]], "
        f"got {ga} and {gb.tolist()}"
    )


@pytest.mark.exercise("5.2")
def test_where_backward_passes_gradcheck():
    rng = np.random.default_rng(3)
    a = tensor(rng.normal(size=(3, 4)), requires_grad=True)
    b = tensor(rng.normal(size=(4,)), requires_grad=True)
    condition = rng.normal(size=(3, 4)) > 0
    check_gradients(lambda a, b: where(condition, a * a, b * 3.0), a, b, what="Where.backward")
