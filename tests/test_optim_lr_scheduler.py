"""Learning-rate schedules: their formulas, chaining, saving, bad input."""

import math

import numpy as np
import pytest

from framework import optim
from framework.autograd import tensor
from framework.optim.lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LinearLR,
    SequentialLR,
    StepLR,
)


def sgd(lr=1.0, groups=1):
    params = [tensor([0.0], requires_grad=True) for _ in range(groups)]
    return optim.SGD([{"params": [p], "lr": lr * (i + 1)} for i, p in enumerate(params)], lr=lr)


def rates(scheduler, epochs):
    """The learning rate of the first group at epochs 0, 1, ..., epochs - 1."""
    values = []
    for _ in range(epochs):
        values.append(scheduler.optimizer.param_groups[0]["lr"])
        scheduler.optimizer.step()
        scheduler.step()
    return values


def test_step_lr():
    assert rates(StepLR(sgd(1.0), step_size=2, gamma=0.5), 7) == [1, 1, 0.5, 0.5, 0.25, 0.25, 0.125]


def test_exponential_lr():
    np.testing.assert_allclose(rates(ExponentialLR(sgd(2.0), gamma=0.5), 4), [2, 1, 0.5, 0.25])


def test_cosine_annealing_reaches_eta_min_at_t_max_and_passes_the_middle_halfway():
    values = rates(CosineAnnealingLR(sgd(1.0), T_max=10, eta_min=0.1), 11)
    assert values[0] == 1.0
    assert math.isclose(values[5], 0.55)
    assert math.isclose(values[10], 0.1)
    assert all(a > b for a, b in zip(values, values[1:]))


def test_linear_warm_up_rises_then_stays():
    np.testing.assert_allclose(
        rates(LinearLR(sgd(1.0), start_factor=0.25, total_iters=3), 6), [0.25, 0.5, 0.75, 1, 1, 1]
    )


def test_warm_up_then_cosine():
    optimizer = sgd(1.0)
    warm_up = LinearLR(optimizer, start_factor=0.5, total_iters=2)
    cosine = CosineAnnealingLR(optimizer, T_max=4)
    values = rates(SequentialLR(optimizer, [warm_up, cosine], milestones=[2]), 7)
    expected = [0.5, 0.75] + [(1 + math.cos(math.pi * t / 4)) / 2 for t in range(5)]
    np.testing.assert_allclose(values, expected, atol=1e-15)


def test_every_group_is_scheduled_from_its_own_base_rate():
    scheduler = StepLR(sgd(1.0, groups=2), step_size=1, gamma=0.5)
    scheduler.step()
    assert scheduler.get_last_lr() == [0.5, 1.0]
    assert scheduler.base_lrs == [1.0, 2.0]


def test_schedule_state_dict_resumes_the_same_rates():
    optimizer = sgd(1.0)
    scheduler = CosineAnnealingLR(optimizer, T_max=10)
    for _ in range(4):
        scheduler.step()
    saved_optimizer, saved_scheduler = optimizer.state_dict(), scheduler.state_dict()
    expected = rates(scheduler, 5)

    for optimizer_first in (True, False):  # the order of loading does not matter
        other = sgd(1.0)
        if optimizer_first:
            other.load_state_dict(saved_optimizer)
        resumed = CosineAnnealingLR(other, T_max=10)
        if not optimizer_first:
            other.load_state_dict(saved_optimizer)
        resumed.load_state_dict(saved_scheduler)
        assert rates(resumed, 5) == expected


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda o: StepLR(o, step_size=0), "step_size must be a positive integer"),
        (lambda o: StepLR(o, step_size=2.5), "step_size"),
        (lambda o: ExponentialLR(o, gamma=-0.5), "gamma"),
        (lambda o: ExponentialLR(o, gamma=math.inf), "gamma must be finite"),
        (lambda o: CosineAnnealingLR(o, T_max=0), "T_max"),
        (lambda o: LinearLR(o, start_factor=0.0), "start_factor"),
        (lambda o: LinearLR(o, end_factor=1.5), "end_factor"),
        (lambda o: SequentialLR(o, [StepLR(o, 2), StepLR(o, 3)], milestones=[]), "need 1 milestone"),
        (lambda o: SequentialLR(o, [StepLR(o, 2), StepLR(sgd(), 3)], milestones=[2]), "same optimizer"),
        (lambda o: StepLR("not an optimizer", 2), "expected an Optimizer"),
    ],
)
def test_bad_schedule_settings_are_errors(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make(sgd())
