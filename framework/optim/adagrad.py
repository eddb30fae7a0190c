"""AdaGrad: a learning rate per coordinate that shrinks with its gradients (Chapter 7)."""

import numpy as np

from framework.optim.optimizer import Optimizer, check_number


class Adagrad(Optimizer):
    """AdaGrad (Duchi, Hazan and Singer, 2011), as ``torch.optim.Adagrad``.

    ``Adagrad(params, lr=0.01, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10)``.
    Each coordinate is divided by the root of the sum of all its squared
    gradients so far: coordinates with large gradients take small steps.
    """

    def __init__(
        self, params, lr=0.01, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10
    ):
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
        )
        super().__init__(params, defaults)

    def check_settings(self, settings):
        settings = super().check_settings(settings)
        for name in ("lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            settings[name] = check_number(self.name, name, settings[name])
        return settings

    def update(self, param, grad, state, group):
        """One step for one parameter θ with gradient g, at step t = 1, 2, ...::

            g ← g + λ θ                      weight decay λ (if λ > 0)
            η_t = η / (1 + (t − 1) d)        learning rate decay d
            s ← s + g²                       sum of squared gradients (s starts at s₀)
            θ ← θ − η_t g / (√s + ε)
        """
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(param.data, group["initial_accumulator_value"])
        state["step"] += 1
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param.data
        lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        work = self.work_array(param)  # every intermediate result goes here: no new arrays
        state["sum"] += np.multiply(grad, grad, out=work)
        denominator = np.sqrt(state["sum"], out=work)
        denominator += group["eps"]
        step = np.divide(grad, denominator, out=work)
        step *= lr
        param.data -= step
