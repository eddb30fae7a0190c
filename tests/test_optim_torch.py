"""The optimizers, schedules and clipping agree with PyTorch's.

Skipped when PyTorch is not installed: it is only an independent reference
here, never a dependency of the book. The same initial parameters receive
the same gradients in both libraries; after several steps the parameters
(and learning rates) must agree to about 1e-6.
"""

import math
import warnings

import numpy as np
import pytest

from framework import optim
from framework.autograd import tensor
from framework.autograd.tensor import Tensor
from framework.optim import lr_scheduler

torch = pytest.importorskip("torch")

SHAPES = [(5, 3), (3,), (1,)]
STEPS = 12


def problem(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    initial = [rng.normal(size=shape).astype(dtype) for shape in SHAPES]
    grads = [[rng.normal(size=shape).astype(dtype) * (1 + k) for shape in SHAPES] for k in range(STEPS)]
    return initial, grads


def both(initial):
    ours = [tensor(value.copy(), requires_grad=True) for value in initial]
    theirs = [torch.tensor(value.copy(), requires_grad=True) for value in initial]
    return ours, theirs


def give(ours, theirs, grads):
    for mine, their, grad in zip(ours, theirs, grads):
        grad = grad.copy()
        mine.grad = Tensor(grad)
        their.grad = torch.tensor(grad)


def assert_same(ours, theirs, tolerance):
    for index, (mine, their) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(
            mine.data, their.detach().numpy(), rtol=tolerance, atol=tolerance, err_msg=f"parameter {index}"
        )


OPTIMIZERS = {
    "sgd": ("SGD", dict(lr=0.05)),
    "sgd-weight-decay": ("SGD", dict(lr=0.05, weight_decay=0.1)),
    "momentum": ("SGD", dict(lr=0.05, momentum=0.9)),
    "momentum-dampening": ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.2, weight_decay=0.01)),
    "nesterov": ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    "adagrad": ("Adagrad", dict(lr=0.1)),
    "adagrad-all": ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.5, eps=1e-6)),
    "rmsprop": ("RMSprop", dict(lr=0.01)),
    "rmsprop-momentum": ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.7, weight_decay=0.05)),
    "rmsprop-centered": ("RMSprop", dict(lr=0.01, centered=True, momentum=0.3, eps=1e-6)),
    "adam": ("Adam", dict(lr=0.01)),
    "adam-all": ("Adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    "adamw": ("AdamW", dict(lr=0.01)),
    "adamw-all": ("AdamW", dict(lr=0.02, betas=(0.85, 0.95), eps=1e-7, weight_decay=0.3)),
}


@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-10), (np.float32, 1e-6)], ids=["float64", "float32"])
@pytest.mark.parametrize("key", OPTIMIZERS)
def test_every_optimizer_matches_pytorch(key, dtype, tolerance):
    name, settings = OPTIMIZERS[key]
    initial, grads = problem(dtype=dtype)
    ours, theirs = both(initial)
    mine = getattr(optim, name)(ours, **settings)
    their = getattr(torch.optim, name)(theirs, **settings)
    for step_grads in grads:
        give(ours, theirs, step_grads)
        mine.step()
        their.step()
    assert_same(ours, theirs, tolerance)
    assert all(p.dtype == dtype for p in ours)


def test_parameter_groups_match_pytorch():
    initial, grads = problem()
    ours, theirs = both(initial)
    mine = optim.SGD([{"params": ours[:1], "lr": 0.2}, {"params": ours[1:]}], lr=0.01, momentum=0.9)
    their = torch.optim.SGD([{"params": theirs[:1], "lr": 0.2}, {"params": theirs[1:]}], lr=0.01, momentum=0.9)
    for step_grads in grads:
        give(ours, theirs, step_grads)
        mine.step()
        their.step()
    assert_same(ours, theirs, 1e-10)


def test_training_through_backward_matches_pytorch():
    """Gradients from each library's own backward, on a small least-squares fit."""
    rng = np.random.default_rng(3)
    inputs, targets = rng.normal(size=(16, 3)), rng.normal(size=(16, 1))
    initial = [rng.normal(size=(3, 1)), np.zeros(1)]
    ours, theirs = both(initial)
    mine, their = optim.Adam(ours, lr=0.05), torch.optim.Adam(theirs, lr=0.05)
    x, y = tensor(inputs), tensor(targets)
    tx, ty = torch.tensor(inputs), torch.tensor(targets)
    for _ in range(20):
        mine.zero_grad()
        their.zero_grad()
        (((x @ ours[0] + ours[1]) - y) ** 2).mean().backward()
        (((tx @ theirs[0] + theirs[1]) - ty) ** 2).mean().backward()
        mine.step()
        their.step()
    assert_same(ours, theirs, 1e-10)


# --- schedules ------------------------------------------------------------------------------


SCHEDULES = {
    "step": lambda s, o: s.StepLR(o, step_size=3, gamma=0.5),
    "exponential": lambda s, o: s.ExponentialLR(o, gamma=0.9),
    "cosine": lambda s, o: s.CosineAnnealingLR(o, T_max=10),
    "cosine-eta-min": lambda s, o: s.CosineAnnealingLR(o, T_max=7, eta_min=0.001),
    "linear-warm-up": lambda s, o: s.LinearLR(o, start_factor=0.1, total_iters=4),
    "linear-decay": lambda s, o: s.LinearLR(o, start_factor=1.0, end_factor=0.25, total_iters=6),
    "warm-up-then-cosine": lambda s, o: s.SequentialLR(
        o, [s.LinearLR(o, start_factor=0.2, total_iters=3), s.CosineAnnealingLR(o, T_max=10)], milestones=[3]
    ),
    "three-phases": lambda s, o: s.SequentialLR(
        o,
        [s.LinearLR(o, start_factor=0.5, total_iters=2), s.ExponentialLR(o, gamma=0.8), s.StepLR(o, step_size=2)],
        milestones=[4, 9],
    ),
}


@pytest.mark.parametrize("key", SCHEDULES)
def test_every_schedule_matches_pytorch(key):
    """Learning rates for 25 epochs (past the cosine's T_max) and the parameters they give."""
    initial, grads = problem()
    ours, theirs = both(initial)
    mine = optim.SGD([{"params": ours[:1]}, {"params": ours[1:], "lr": 0.03}], lr=0.1, momentum=0.9)
    their = torch.optim.SGD([{"params": theirs[:1]}, {"params": theirs[1:], "lr": 0.03}], lr=0.1, momentum=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's notes about the order of calls
        my_schedule = SCHEDULES[key](lr_scheduler, mine)
        their_schedule = SCHEDULES[key](torch.optim.lr_scheduler, their)
        for epoch in range(25):
            np.testing.assert_allclose(
                my_schedule.get_last_lr(), their_schedule.get_last_lr(), rtol=1e-12, err_msg=f"epoch {epoch}"
            )
            give(ours, theirs, grads[epoch % STEPS])
            mine.step()
            their.step()
            my_schedule.step()
            their_schedule.step()
    assert_same(ours, theirs, 1e-9)


# --- clipping --------------------------------------------------------------------------------


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_pytorch(norm_type, max_norm):
    initial, grads = problem()
    ours, theirs = both(initial)
    give(ours, theirs, grads[0])
    total = optim.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    their_total = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert math.isclose(total, their_total.item(), rel_tol=1e-12)
    for mine, their in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.data, their.grad.numpy(), rtol=1e-12)


def test_clip_grad_value_matches_pytorch():
    initial, grads = problem()
    ours, theirs = both(initial)
    give(ours, theirs, grads[3])
    optim.clip_grad_value_(ours, 0.7)
    torch.nn.utils.clip_grad_value_(theirs, 0.7)
    for mine, their in zip(ours, theirs):
        np.testing.assert_array_equal(mine.grad.data, their.grad.numpy())


@pytest.mark.parametrize("name", ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Adamax"])
def test_default_settings_are_pytorchs(name):
    ours = getattr(optim, name)([tensor([1.0], requires_grad=True)]).param_groups[0]
    theirs = getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)]).param_groups[0]
    for key, value in ours.items():
        if key != "params":
            assert theirs[key] == value, f"{name}: default {key} is {value}, PyTorch's {theirs[key]}"
