"""Adam, AdamW and Adamax: momentum and RMSProp together, with bias correction (Chapter 7)."""

import math

import numpy as np

from framework.optim.optimizer import Optimizer, check_number


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015), as ``torch.optim.Adam``.

    ``Adam(params, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)``.
    Keeps running averages of the gradient (m, the momentum) and of its
    square (v, as RMSProp), corrects both for starting at zero, and steps by
    their ratio. ``weight_decay`` here is the classic L2 penalty, added to
    the gradient; ``AdamW`` decays the weights directly instead.
    """

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def check_settings(self, settings):
        settings = super().check_settings(settings)
        betas = settings["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{self.name}: betas must be a pair (beta1, beta2), got {betas!r}")
        settings["betas"] = tuple(check_number(self.name, f"betas[{i}]", b, below=1.0) for i, b in enumerate(betas))
        settings["eps"] = check_number(self.name, "eps", settings["eps"])
        settings["weight_decay"] = check_number(self.name, "weight_decay", settings["weight_decay"])
        return settings

    def update(self, param, grad, state, group):
        """Adam's step for one parameter θ, with the L2 penalty in the gradient::

            g ← g + λ θ                      weight decay λ (if λ > 0)
            then adam_step (moments, bias correction, update)
        """
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param.data
        self.adam_step(param, grad, state, group)

    def adam_step(self, param, grad, state, group):
        """The heart of Adam, at step t = 1, 2, ... (m and v start at 0)::

            m ← β₁ m + (1 − β₁) g            first moment: average gradient
            v ← β₂ v + (1 − β₂) g²           second moment: average squared gradient
            m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)     bias correction
            θ ← θ − η m̂ / (√v̂ + ε)

        The last line is computed as θ ← θ − (η √c₂ / c₁) m / (√v + ε √c₂),
        with c₁ = 1 − β₁ᵗ and c₂ = 1 − β₂ᵗ: numerator and denominator
        multiplied by √c₂, the same value up to float rounding, but the
        corrections touch only scalars, which saves a pass over the arrays.

        ``state`` holds ``"step"`` (t), ``"exp_avg"`` (m) and
        ``"exp_avg_sq"`` (v); the arrays are updated in place, and every
        intermediate result is computed in the parameter's work array, so
        a step creates no new array.
        """
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param.data)
            state["exp_avg_sq"] = np.zeros_like(param.data)
        beta1, beta2 = group["betas"]
        state["step"] += 1
        step, exp_avg, exp_avg_sq = state["step"], state["exp_avg"], state["exp_avg_sq"]
        work = self.work_array(param)
        exp_avg *= beta1
        exp_avg += np.multiply(grad, 1 - beta1, out=work)
        exp_avg_sq *= beta2
        squared = np.multiply(grad, 1 - beta2, out=work)
        squared *= grad
        exp_avg_sq += squared
        c1, root_c2 = 1 - beta1**step, math.sqrt(1 - beta2**step)  # the bias corrections
        denominator = np.sqrt(exp_avg_sq, out=work)
        denominator += group["eps"] * root_c2
        ratio = np.divide(exp_avg, denominator, out=work)
        ratio *= group["lr"] * root_c2 / c1
        param.data -= ratio


class AdamW(Adam):
    """AdamW (Loshchilov and Hutter, 2019), as ``torch.optim.AdamW``.

    ``AdamW(params, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)``.
    Adam with *decoupled* weight decay: the weights shrink by a fixed
    fraction at every step, instead of a penalty entering the gradient,
    where Adam's division by √v̂ would weaken it for coordinates with large
    gradients.
    """

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def update(self, param, grad, state, group):
        """AdamW's step for one parameter θ::

            θ ← θ (1 − η λ)                  decoupled weight decay λ
            then adam_step with the unchanged gradient g
        """
        if group["weight_decay"]:
            param.data *= 1 - group["lr"] * group["weight_decay"]
        self.adam_step(param, grad, state, group)


class Adamax(Adam):
    """Adamax (Kingma and Ba, 2015, section 7), as ``torch.optim.Adamax``.

    ``Adamax(params, lr=0.002, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)``.
    Adam's sibling: instead of the root of a running average of squared
    gradients, it divides by a decaying maximum of the gradient's size.
    The maximum is not pulled towards zero by its zero start, so only the
    first moment needs a bias correction.
    """

    def __init__(self, params, lr=0.002, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def update(self, param, grad, state, group):
        """Adamax's step for one parameter θ, at step t = 1, 2, ... (m and u start at 0)::

            g ← g + λ θ                      weight decay λ (if λ > 0)
            m ← β₁ m + (1 − β₁) g            first moment, as in Adam
            u ← max(β₂ u, |g| + ε)           decaying maximum of |g|, elementwise
            θ ← θ − η m / ((1 − β₁ᵗ) u)

        ``state`` holds ``"step"`` (t), ``"exp_avg"`` (m) and ``"exp_inf"``
        (u); the arrays are updated in place.
        """
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param.data)
            state["exp_inf"] = np.zeros_like(param.data)
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param.data
        beta1, beta2 = group["betas"]
        ### BEGIN SOLUTION
        state["step"] += 1
        exp_avg, exp_inf, work = state["exp_avg"], state["exp_inf"], self.work_array(param)
        exp_avg *= beta1
        exp_avg += np.multiply(grad, 1 - beta1, out=work)
        exp_inf *= beta2
        size = np.abs(grad, out=work)
        size += group["eps"]
        np.maximum(exp_inf, size, out=exp_inf)
        step = np.divide(exp_avg, exp_inf, out=work)
        step *= group["lr"] / (1 - beta1 ** state["step"])
        param.data -= step
        ### END SOLUTION
