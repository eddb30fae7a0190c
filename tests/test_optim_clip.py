"""Gradient clipping by norm and by value."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from framework import optim
from framework.autograd import tensor
from framework.autograd.tensor import Tensor


def with_grads(*grads):
    params = []
    for grad in grads:
        param = tensor(np.zeros_like(np.asarray(grad, dtype=float)), requires_grad=True)
        grad = np.array(grad, dtype=float)
        grad.flags.writeable = False
        param.grad = Tensor(grad)
        params.append(param)
    return params


def test_clip_grad_norm_scales_all_gradients_together():
    params = with_grads([3.0, 0.0], [[4.0]])  # joint norm 5
    total = optim.clip_grad_norm_(params, max_norm=1.0)
    assert total == 5.0
    factor = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(params[0].grad.data, [3 * factor, 0.0])
    np.testing.assert_allclose(params[1].grad.data, [[4 * factor]])


def test_clip_grad_norm_leaves_small_gradients_alone_and_returns_the_norm():
    params = with_grads([0.3, 0.4])
    before = params[0].grad
    assert math.isclose(optim.clip_grad_norm_(params, max_norm=1.0), 0.5)
    assert params[0].grad is before


def test_clip_grad_norm_with_other_norms():
    assert optim.clip_grad_norm_(with_grads([1.0, -2.0], [2.0]), 10.0, norm_type=1) == 5.0
    assert optim.clip_grad_norm_(with_grads([1.0, -7.0], [2.0]), 10.0, norm_type=math.inf) == 7.0


def test_clipped_gradients_are_new_read_only_arrays():
    params = with_grads([30.0, 40.0])
    original = params[0].grad.data
    optim.clip_grad_norm_(params, 1.0)
    assert params[0].grad.data is not original and not params[0].grad.data.flags.writeable
    np.testing.assert_array_equal(original, [30.0, 40.0])


def test_clip_grad_norm_skips_parameters_without_gradients_and_accepts_one_tensor():
    x = tensor([1.0], requires_grad=True)
    assert optim.clip_grad_norm_([x], 1.0) == 0.0
    (y,) = with_grads([6.0, 8.0])
    assert optim.clip_grad_norm_(y, 5.0) == 10.0
    np.testing.assert_allclose(np.linalg.norm(y.grad.data), 5.0, rtol=1e-6)


def test_scalar_parameters_can_be_clipped():
    x, y = with_grads(3.0, -4.0)
    assert optim.clip_grad_norm_([x, y], 1.0) == 5.0
    np.testing.assert_allclose([x.grad.item(), y.grad.item()], [0.6, -0.8], rtol=1e-5)
    optim.clip_grad_value_([x, y], 0.7)
    assert (x.grad.shape, x.grad.item(), y.grad.item()) == ((), 0.6 * 5 / (5 + 1e-6), -0.7)


def test_clip_grad_norm_can_refuse_a_non_finite_norm():
    with pytest.raises(RuntimeError, match="total norm of the gradients is inf"):
        optim.clip_grad_norm_(with_grads([np.inf, 1.0]), 1.0, error_if_nonfinite=True)


def test_clip_grad_norm_bad_input():
    with pytest.raises(ValueError, match="max_norm"):
        optim.clip_grad_norm_(with_grads([1.0]), -1.0)
    with pytest.raises(ValueError, match="norm_type"):
        optim.clip_grad_norm_(with_grads([1.0]), 1.0, norm_type=0)
    with pytest.raises(TypeError, match="parameter 0 is a list"):
        optim.clip_grad_norm_([[1.0]], 1.0)


def test_clip_grad_value_clips_each_coordinate():
    params = with_grads([-3.0, 0.5, 2.0])
    optim.clip_grad_value_(params, 1.0)
    np.testing.assert_array_equal(params[0].grad.data, [-1.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="clip_value"):
        optim.clip_grad_value_(params, -1.0)


@given(
    grads=st.lists(arrays(np.float64, st.integers(1, 6), elements=st.floats(-1e6, 1e6)), min_size=1, max_size=3),
    max_norm=st.floats(1e-3, 1e3),
)
def test_after_clipping_the_norm_is_at_most_max_norm_and_directions_are_kept(grads, max_norm):
    params = with_grads(*grads)
    total = optim.clip_grad_norm_(params, max_norm)
    assert math.isclose(total, math.sqrt(sum(float(np.sum(g * g)) for g in grads)), rel_tol=1e-9)
    after = math.sqrt(sum(float(np.sum(p.grad.data**2)) for p in params))
    assert after <= max_norm * (1 + 1e-9) or after == total
    for param, grad in zip(params, grads):
        # Same direction: the clipped gradient is a non-negative multiple of the original.
        np.testing.assert_allclose(param.grad.data, grad * min(1.0, max_norm / (total + 1e-6)), rtol=1e-12)
