"""Exercise 7.1: Adamax (framework/optim/adam.py, ``Adamax.update``).

Run with ``pytest tests/test_optim_exercises.py``. Each test says what
went wrong in words a student can act on.
"""

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
        pytest.fail("Adamax.update is not implemented yet: write its body in framework/optim/adam.py")


def give(param, grad):
    grad = np.array(grad, dtype=param.dtype)
    grad.flags.writeable = False
    param.grad = Tensor(grad)


def adamax_by_hand(start, grads, lr, beta1, beta2, eps, weight_decay=0.0):
    """The parameter after each step, from the formulas of the docstring."""
    theta, m, u = start.copy(), np.zeros_like(start), np.zeros_like(start)
    history = []
    for t, g in enumerate(grads, start=1):
        g = g + weight_decay * theta
        m = beta1 * m + (1 - beta1) * g
        u = np.maximum(beta2 * u, np.abs(g) + eps)
        theta = theta - lr / (1 - beta1**t) * m / u
        history.append(theta)
    return history


@exercise
def test_the_first_step_moves_by_lr_against_the_sign_of_the_gradient():
    x = tensor([0.0, 0.0, 0.0], requires_grad=True)
    optimizer = optim.Adamax([x], lr=0.1, eps=0.0)
    give(x, [4.0, -0.25, 30.0])
    step(optimizer)
    assert np.allclose(x.data, [-0.1, 0.1, -0.1]), (
        f"after one step from 0 the parameter is {x.data}, expected [-0.1, 0.1, -0.1]: at the first "
        "step m = (1 - beta1) g and u = |g|, so with the bias correction of m the step is lr * g / |g|. "
        "Did you divide by (1 - beta1**t) with t = 1 at the first step?"
    )


@exercise
def test_the_state_counts_steps_and_keeps_m_and_the_decaying_maximum():
    x = tensor([1.0, 2.0], requires_grad=True)
    optimizer = optim.Adamax([x], lr=0.01, betas=(0.5, 0.75), eps=0.0)
    give(x, [2.0, -4.0])
    step(optimizer)
    give(x, [1.0, 0.0])
    step(optimizer)
    state = optimizer.state[x]
    assert state["step"] == 2, f"state['step'] is {state['step']} after two steps, expected 2"
    m = 0.5 * (0.5 * np.array([2.0, -4.0])) + 0.5 * np.array([1.0, 0.0])
    assert np.allclose(state["exp_avg"], m), (
        f"exp_avg is {state['exp_avg']}, expected {m}: m = beta1 * m + (1 - beta1) * g, stored "
        "without bias correction"
    )
    u = np.array([max(0.75 * 2.0, 1.0), max(0.75 * 4.0, 0.0)])
    assert np.allclose(state["exp_inf"], u), (
        f"exp_inf is {state['exp_inf']}, expected {u}: u = max(beta2 * u, |g| + eps), elementwise. "
        "A large gradient is remembered, shrinking by beta2 per step, until a larger one comes."
    )


@exercise
@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_several_steps_follow_the_formula(weight_decay):
    rng = np.random.default_rng(7)
    start = rng.normal(size=(3, 2))
    grads = [rng.normal(size=(3, 2)) * (1 + t) for t in range(6)]
    x = tensor(start.copy(), requires_grad=True)
    settings = dict(lr=0.05, beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=weight_decay)
    optimizer = optim.Adamax([x], lr=0.05, betas=(0.9, 0.99), eps=1e-8, weight_decay=weight_decay)
    for t, (g, theta) in enumerate(zip(grads, adamax_by_hand(start, grads, **settings)), start=1):
        give(x, g)
        step(optimizer)
        assert np.allclose(x.data, theta, rtol=1e-10, atol=1e-12), (
            f"after step {t} (weight decay {weight_decay}) the parameter differs from the formula by "
            f"{np.max(np.abs(x.data - theta)):.3g}; check the order: add the weight decay to g, update m "
            "and u, then theta -= lr / (1 - beta1**t) * m / u"
        )


@exercise
def test_the_parameter_changes_in_place_and_keeps_float32():
    x = tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    array = x.data
    optimizer = optim.Adamax([x], lr=0.1)
    give(x, [1.0, -1.0])
    step(optimizer)
    assert x.data is array, (
        "the parameter's array was replaced by a new one; update it in place "
        "(param.data -= ...) so that everything holding the parameter sees the change"
    )
    assert x.grad.data.tolist() == [1.0, -1.0], "the gradient changed; compute new arrays from it instead"
    kinds = {key: value.dtype for key, value in optimizer.state[x].items() if isinstance(value, np.ndarray)}
    assert x.dtype == np.float32 and all(dtype == np.float32 for dtype in kinds.values()), (
        f"a float32 parameter should stay float32 with float32 state, got {x.dtype} and {kinds}"
    )


@exercise
def test_adamax_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    start = rng.normal(size=(4, 3))
    grads = [rng.normal(size=(4, 3)) * (1 + t) for t in range(12)]
    ours = tensor(start.copy(), requires_grad=True)
    theirs = torch.tensor(start.copy(), requires_grad=True)
    mine = optim.Adamax([ours], lr=0.02, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)
    their = torch.optim.Adamax([theirs], lr=0.02, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)
    for g in grads:
        give(ours, g)
        theirs.grad = torch.tensor(g)
        step(mine)
        their.step()
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
