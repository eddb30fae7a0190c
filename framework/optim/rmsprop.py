"""RMSProp: divide by a running average of squared gradients (Chapter 7)."""

import numpy as np

from framework.optim.optimizer import Optimizer, check_number


class RMSprop(Optimizer):
    """RMSProp (Hinton's lecture notes, 2012), as ``torch.optim.RMSprop``.

    ``RMSprop(params, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False)``.
    Like AdaGrad, but the squared gradients are averaged with exponentially
    decaying weights, so old gradients are forgotten and the steps do not
    shrink forever.
    """

    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
        defaults = dict(
            lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered
        )
        super().__init__(params, defaults)

    def check_settings(self, settings):
        settings = super().check_settings(settings)
        settings["alpha"] = check_number(self.name, "alpha", settings["alpha"], below=1.0)
        settings["eps"] = check_number(self.name, "eps", settings["eps"])
        settings["weight_decay"] = check_number(self.name, "weight_decay", settings["weight_decay"])
        settings["momentum"] = check_number(self.name, "momentum", settings["momentum"], below=1.0)
        settings["centered"] = bool(settings["centered"])
        return settings

    def update(self, param, grad, state, group):
        """One step for one parameter θ with gradient g::

            g ← g + λ θ                          weight decay λ (if λ > 0)
            v ← α v + (1 − α) g²                 running average of g² (v starts at 0)
            m̄ ← α m̄ + (1 − α) g,  v̂ = v − m̄²     if centered, else v̂ = v
            b ← μ b + g / (√v̂ + ε)               if momentum μ > 0 (b starts at 0),
            θ ← θ − η b                          ... else θ ← θ − η g / (√v̂ + ε)
        """
        alpha, momentum = group["alpha"], group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(param.data)
            if momentum:
                state["momentum_buffer"] = np.zeros_like(param.data)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(param.data)
        state["step"] += 1
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param.data
        square_avg, work = state["square_avg"], self.work_array(param)  # work: no new arrays
        square_avg *= alpha
        squared = np.multiply(grad, 1 - alpha, out=work)
        squared *= grad
        square_avg += squared
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg *= alpha
            grad_avg += np.multiply(grad, 1 - alpha, out=work)
            variance = np.multiply(grad_avg, grad_avg, out=work)
            denominator = np.sqrt(np.subtract(square_avg, variance, out=work), out=work)
        else:
            denominator = np.sqrt(square_avg, out=work)
        denominator += group["eps"]
        scaled = np.divide(grad, denominator, out=work)
        if momentum:
            buffer = state["momentum_buffer"]
            buffer *= momentum
            buffer += scaled
            scaled = np.multiply(buffer, group["lr"], out=work)
        else:
            scaled *= group["lr"]
        param.data -= scaled
