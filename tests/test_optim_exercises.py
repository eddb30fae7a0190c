"""Exercise 7.1: Adam's step (framework/optim/adam.py, ``Adam.adam_step``).

Run with ``pytest tests/test_optim_exercises.py``. Each test says what
went wrong in words a student can act on.
"""

import math

import numpy as np
import pytest

from framework import optim
from framework.autograd import tensor
from framework.autograd.tensor import Tensor

exercise = pytest.mark.exercise("7.1")


def step(optimizer):
    """optimizer.step(), failing with a pointer to the exercise while it is unwritten."""
    try:
        optimizer.step()
    except NotImplementedError:
        pytest.fail("Adam.adam_step is not implemented yet: write its body in framework/optim/adam.py")


def give(param, grad):
    grad = np.array(grad, dtype=float)
    grad.flags.writeable = False
    param.grad = Tensor(grad)


@exercise
def test_the_first_step_moves_by_lr_against_the_sign_of_the_gradient():
    x = tensor([0.0, 0.0, 0.0], requires_grad=True)
    optimizer = optim.Adam([x], lr=0.1, eps=0.0)
    give(x, [4.0, -0.25, 30.0])
    step(optimizer)
    assert np.allclose(x.data, [-0.1, 0.1, -0.1]), (
        f"after one step from 0 the parameter is {x.data}, expected [-0.1, 0.1, -0.1]: with bias "
        "correction m̂ = g and v̂ = g², so the first step is lr * g / |g|. Did you divide m and v "
        "by (1 - beta1**t) and (1 - beta2**t) with t = 1 at the first step?"
    )


@exercise
def test_the_state_counts_steps_and_keeps_the_raw_averages():
    x = tensor([1.0, 2.0], requires_grad=True)
    optimizer = optim.Adam([x], lr=0.01, betas=(0.5, 0.75))
    give(x, [2.0, -4.0])
    step(optimizer)
    give(x, [4.0, 0.0])
    step(optimizer)
    state = optimizer.state[x]
    assert state["step"] == 2, f"state['step'] is {state['step']} after two steps, expected 2"
    m = 0.5 * (0.5 * np.array([2.0, -4.0])) + 0.5 * np.array([4.0, 0.0])
    v = 0.75 * (0.25 * np.array([4.0, 16.0])) + 0.25 * np.array([16.0, 0.0])
    assert np.allclose(state["exp_avg"], m), (
        f"exp_avg is {state['exp_avg']}, expected {m}: m = beta1 * m + (1 - beta1) * g, stored "
        "without bias correction"
    )
    assert np.allclose(state["exp_avg_sq"], v), (
        f"exp_avg_sq is {state['exp_avg_sq']}, expected {v}: v = beta2 * v + (1 - beta2) * g**2, "
        "stored without bias correction"
    )


@exercise
def test_several_steps_follow_the_formula():
    rng = np.random.default_rng(7)
    start = rng.normal(size=(3, 2))
    x = tensor(start.copy(), requires_grad=True)
    lr, beta1, beta2, eps = 0.05, 0.9, 0.99, 1e-8
    optimizer = optim.Adam([x], lr=lr, betas=(beta1, beta2), eps=eps)
    theta, m, v = start.copy(), np.zeros((3, 2)), np.zeros((3, 2))
    for t in range(1, 6):
        g = rng.normal(size=(3, 2))
        give(x, g)
        step(optimizer)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        theta = theta - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
        assert np.allclose(x.data, theta, rtol=1e-10, atol=1e-12), (
            f"after step {t} the parameter differs from the formula by "
            f"{np.max(np.abs(x.data - theta)):.3g}; check the order: update m and v, then correct "
            "both for bias, then theta -= lr * m_hat / (sqrt(v_hat) + eps)"
        )


@exercise
def test_the_parameter_changes_in_place_and_the_gradient_does_not():
    x = tensor([1.0, 2.0], requires_grad=True)
    array = x.data
    optimizer = optim.Adam([x], lr=0.1)
    give(x, [1.0, 1.0])
    step(optimizer)
    assert x.data is array, (
        "the parameter's array was replaced by a new one; update it in place "
        "(param.data -= ...) so that everything holding the parameter sees the change"
    )
    assert x.grad.data.tolist() == [1.0, 1.0], "the gradient changed; compute new arrays from it instead"


@exercise
def test_adamw_uses_the_same_step():
    x = tensor([2.0], requires_grad=True)
    optimizer = optim.AdamW([x], lr=0.1, weight_decay=0.5)
    give(x, [3.0])
    step(optimizer)
    expected = 2.0 * (1 - 0.1 * 0.5) - 0.1 * 3.0 / (3.0 + 1e-8)
    assert math.isclose(x.item(), expected, rel_tol=1e-12), (
        f"AdamW gives {x.item()}, expected {expected}: AdamW decays the weight, then calls adam_step"
    )
