"""Stochastic gradient descent with momentum and weight decay (Chapter 7)."""

import numpy as np

from framework.optim.optimizer import Optimizer, check_number


class SGD(Optimizer):
    """Gradient descent, optionally with momentum, Nesterov momentum and weight decay.

    ``SGD(params, lr=0.001, momentum=0, dampening=0, weight_decay=0, nesterov=False)``,
    the same settings and formulas as ``torch.optim.SGD``.
    """

    def __init__(self, params, lr=0.001, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
        defaults = dict(
            lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov
        )
        super().__init__(params, defaults)

    def check_settings(self, settings):
        settings = super().check_settings(settings)
        settings["momentum"] = check_number(self.name, "momentum", settings["momentum"], below=1.0)
        settings["dampening"] = check_number(self.name, "dampening", settings["dampening"], below=1.0)
        settings["weight_decay"] = check_number(self.name, "weight_decay", settings["weight_decay"])
        settings["nesterov"] = bool(settings["nesterov"])
        if settings["nesterov"] and (settings["momentum"] == 0 or settings["dampening"] != 0):
            raise ValueError(f"{self.name}: Nesterov momentum needs momentum > 0 and dampening = 0")
        return settings

    def update(self, param, grad, state, group):
        """One step for one parameter θ with gradient g::

            g ← g + λ θ                      weight decay λ (if λ > 0)
            b ← g                            momentum buffer, at the first step
            b ← μ b + (1 − τ) g              at later steps (momentum μ, dampening τ)
            g ← g + μ b   (Nesterov)   or   g ← b   (if μ > 0)
            θ ← θ − η g                      learning rate η

        The momentum buffer is updated in place, and the other intermediate
        results go into the parameter's work array: without weight decay a
        step allocates no new array.
        """
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param.data
        momentum = group["momentum"]
        if momentum:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = np.array(grad)  # a copy we may change
            else:
                buffer *= momentum
                buffer += np.multiply(grad, 1 - group["dampening"], out=self.work_array(param))
            if group["nesterov"]:
                look_ahead = np.multiply(buffer, momentum, out=self.work_array(param))
                grad = np.add(grad, look_ahead, out=look_ahead)
            else:
                grad = buffer
        param.data -= np.multiply(grad, group["lr"], out=self.work_array(param))
