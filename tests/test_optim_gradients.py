"""Optimizers and gradients set by hand: arrays work, and a gradient that no longer fits names its parameter."""

import numpy as np
import pytest

from framework import optim
from framework.autograd import tensor
from framework.optim import clip_grad_norm_, clip_grad_value_

OPTIMIZERS = {
    "SGD": lambda params: optim.SGD(params, lr=0.1, momentum=0.9),
    "Adam": lambda params: optim.Adam(params, lr=0.1),
    "RMSprop": lambda params: optim.RMSprop(params, lr=0.1),
    "Adagrad": lambda params: optim.Adagrad(params, lr=0.1),
}


def two_parameters():
    return [tensor(np.ones((2, 3)), requires_grad=True, dtype=np.float32),
            tensor(np.zeros(3), requires_grad=True, dtype=np.float32)]


@pytest.mark.parametrize("make", OPTIMIZERS.values(), ids=OPTIMIZERS.keys())
def test_a_numpy_gradient_assigned_by_hand_is_used_by_step(make):
    by_hand, by_backward = two_parameters(), two_parameters()
    by_hand[0].grad = np.full((2, 3), 0.5)  # float64, converted to float32
    by_hand[1].grad = np.arange(3)
    (by_backward[0] * 0.5).sum().backward()
    (by_backward[1] * tensor(np.arange(3.0), dtype=np.float32)).sum().backward()
    make(by_hand).step()
    make(by_backward).step()
    for mine, reference in zip(by_hand, by_backward):
        assert mine.dtype == np.float32
        np.testing.assert_array_equal(mine.data, reference.data)


@pytest.mark.parametrize("make", OPTIMIZERS.values(), ids=OPTIMIZERS.keys())
def test_a_gradient_whose_data_was_replaced_names_the_parameter(make):
    params = two_parameters()
    optimizer = make([{"params": params[:1]}, {"params": params[1:]}])
    for p in params:
        p.grad = np.ones(p.shape)
    params[1].grad.data = np.ones(4, dtype=np.float32)
    with pytest.raises(ValueError, match=r"\.step: parameter 0 of group 1 has shape \(3,\) and dtype float32, "
                                         r"but its gradient has shape \(4,\) and dtype float32"):
        optimizer.step()


def test_a_parameter_reshaped_after_backward_is_caught():
    params = two_parameters()
    optimizer = optim.SGD(params, lr=0.1)
    params[0].sum().backward()
    params[0].data = params[0].data.reshape(3, 2)
    with pytest.raises(ValueError, match=r"SGD\.step: parameter 0 of group 0 has shape \(3, 2\).*gradient has shape \(2, 3\)"):
        optimizer.step()


def test_a_gradient_that_is_not_an_array_is_caught():
    params = two_parameters()
    optimizer = optim.SGD(params, lr=0.1)
    params[1].grad = np.ones(3)
    params[1].grad.data = [1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match=r"parameter 1 of group 0 .* but its gradient has type list"):
        optimizer.step()


def test_clipped_gradients_are_read_only_gradient_arrays_too():
    params = two_parameters()
    (params[0] * 10).sum().backward()
    clip_grad_norm_(params, max_norm=1.0)
    with pytest.raises(ValueError, match="this gradient array is read-only"):
        params[0].grad.data[0, 0] = 0.0
    clip_grad_value_(params, clip_value=0.1)
    with pytest.raises(ValueError, match="this gradient array is read-only"):
        params[0].grad.data *= 2
    assert params[0].grad.dtype == np.float32
