"""Learning-rate schedules (Chapter 7).

A schedule changes the learning rate of an optimizer as training goes on.
Call ``scheduler.step()`` once per epoch (or per batch, if the schedule is
meant to count batches), after ``optimizer.step()``::

    scheduler = CosineAnnealingLR(optimizer, T_max=100)
    for epoch in range(100):
        train_one_epoch(model, optimizer)
        scheduler.step()

Every schedule here is a closed formula ``lr_at(base_lr, epoch)`` of the
epoch counter and the learning rate each group started with, so a schedule
can be evaluated at any epoch, resumed from a saved counter, and chained
with others (``SequentialLR``). The values are those of the PyTorch
schedules of the same names.
"""

import bisect
import math

from framework.optim.optimizer import Optimizer, check_number


def check_count(owner, name, value):
    """A positive integer (a number of epochs)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")
    return value


class LRScheduler:
    """Base class: sets ``group["lr"] = lr_at(base_lr, epoch)`` for every group.

    ``base_lrs`` are the learning rates the groups had when the first
    schedule was attached (kept in ``group["initial_lr"]``). Creating a
    schedule applies epoch 0; each ``step()`` moves to the next epoch.
    """

    def __init__(self, optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{self.name}: expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = -1
        self.step()

    @property
    def name(self):
        return type(self).__name__

    def lr_at(self, base_lr, epoch):
        """The learning rate at ``epoch`` of a group that started at ``base_lr``."""
        raise NotImplementedError(f"{self.name}.lr_at is not implemented")

    def step(self):
        """Move to the next epoch and set every group's learning rate."""
        self.last_epoch += 1
        for group, base_lr in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = self.lr_at(base_lr, self.last_epoch)

    def get_last_lr(self):
        """The learning rates set by the last ``step()``, one per group."""
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        """The epoch counter and base learning rates (all a closed formula needs)."""
        return {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state_dict):
        """Continue from a saved epoch, setting the rates of that epoch again."""
        if len(state_dict["base_lrs"]) != len(self.optimizer.param_groups):
            raise ValueError(
                f"{self.name}.load_state_dict: saved for {len(state_dict['base_lrs'])} parameter "
                f"group(s), the optimizer has {len(self.optimizer.param_groups)}"
            )
        self.last_epoch = state_dict["last_epoch"]
        self.base_lrs = list(state_dict["base_lrs"])
        for group, base_lr in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = self.lr_at(base_lr, self.last_epoch)


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        self.step_size = check_count(type(self).__name__, "step_size", step_size)
        self.gamma = check_number(type(self).__name__, "gamma", gamma)
        super().__init__(optimizer)

    def lr_at(self, base_lr, epoch):
        """η_t = η₀ γ^⌊t / step_size⌋"""
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every epoch."""

    def __init__(self, optimizer, gamma):
        self.gamma = check_number(type(self).__name__, "gamma", gamma)
        super().__init__(optimizer)

    def lr_at(self, base_lr, epoch):
        """η_t = η₀ γᵗ"""
        return base_lr * self.gamma**epoch


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from the base rate down to ``eta_min`` over ``T_max`` epochs.

    After ``T_max`` the cosine continues, so the rate rises again; train
    for ``T_max`` epochs, or restart the schedule.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0):
        self.T_max = check_count(type(self).__name__, "T_max", T_max)
        self.eta_min = check_number(type(self).__name__, "eta_min", eta_min)
        super().__init__(optimizer)

    def lr_at(self, base_lr, epoch):
        """η_t = η_min + (η₀ − η_min) (1 + cos(π t / T_max)) / 2"""
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2


class LinearLR(LRScheduler):
    """Scale the rate linearly from ``start_factor`` to ``end_factor`` in ``total_iters`` epochs.

    With a small ``start_factor`` and ``end_factor=1`` this is a linear
    warm-up: the first steps, taken while Adam's averages or a fresh
    network's statistics are still unreliable, are kept small.
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5):
        name = type(self).__name__
        self.start_factor = check_number(name, "start_factor", start_factor)
        self.end_factor = check_number(name, "end_factor", end_factor)
        if not 0 < self.start_factor <= 1 or not 0 <= self.end_factor <= 1:
            raise ValueError(
                f"{name}: need 0 < start_factor <= 1 and 0 <= end_factor <= 1, got "
                f"start_factor={start_factor}, end_factor={end_factor}"
            )
        self.total_iters = check_count(name, "total_iters", total_iters)
        super().__init__(optimizer)

    def lr_at(self, base_lr, epoch):
        """η_t = η₀ (f₀ + (f₁ − f₀) min(t, T) / T)"""
        fraction = min(epoch, self.total_iters) / self.total_iters
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * fraction)


class SequentialLR(LRScheduler):
    """Run schedules one after another, switching at the ``milestones`` epochs.

    ``SequentialLR(optimizer, [LinearLR(...), CosineAnnealingLR(...)], milestones=[5])``
    warms up for 5 epochs, then anneals; each schedule counts its epochs
    from the moment it takes over.
    """

    def __init__(self, optimizer, schedulers, milestones):
        name = type(self).__name__
        schedulers, milestones = list(schedulers), list(milestones)
        if not schedulers:
            raise ValueError(f"{name}: needs at least one schedule")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"{name}: {len(schedulers)} schedules need {len(schedulers) - 1} milestone(s), "
                f"got {len(milestones)}"
            )
        for milestone in milestones:
            check_count(name, "each milestone", milestone)
        if milestones != sorted(set(milestones)):
            raise ValueError(f"{name}: milestones must increase, got {milestones}")
        for scheduler in schedulers:
            if not isinstance(scheduler, LRScheduler) or scheduler.optimizer is not optimizer:
                raise ValueError(f"{name}: every schedule must be a scheduler of the same optimizer")
        self.schedulers, self.milestones = schedulers, milestones
        super().__init__(optimizer)

    def lr_at(self, base_lr, epoch):
        """The active schedule's rate, counted from its milestone."""
        active = bisect.bisect_right(self.milestones, epoch)
        start = self.milestones[active - 1] if active else 0
        return self.schedulers[active].lr_at(base_lr, epoch - start)
