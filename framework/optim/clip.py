"""Gradient clipping: keep one bad batch from throwing the parameters away (Chapter 7).

Both functions replace the gradients (``param.grad``) of the given tensors,
between ``loss.backward()`` and ``optimizer.step()``. Gradient arrays are
read-only (several tensors may share one), so each clipped gradient is a
new array.
"""

import math

import numpy as np

from framework.autograd.tensor import Tensor, gradient_tensor
from framework.optim.optimizer import check_number


def _with_grads(parameters, owner):
    """The tensors among ``parameters`` (one tensor or an iterable) that have a gradient."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    tensors = list(parameters)
    for position, param in enumerate(tensors):
        if not isinstance(param, Tensor):
            raise TypeError(f"{owner}: parameter {position} is a {type(param).__name__}, not a Tensor")
    return [param for param in tensors if param.grad is not None]


def _set_grad(param, array):
    param.grad = gradient_tensor(array)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    The norm is taken over all gradients as if they were one long vector::

        N = ‖(g₁, g₂, ...)‖_p        (p = norm_type; math.inf for the largest |gᵢ|)
        gᵢ ← gᵢ · max_norm / (N + 10⁻⁶)     if that factor is below 1

    The direction of the step is kept; only its length is limited. Returns
    N, the norm before clipping, as a float (useful to watch in training).
    A non-finite N raises an error if ``error_if_nonfinite``.
    """
    max_norm = check_number("clip_grad_norm_", "max_norm", max_norm)
    norm_type = float(norm_type)
    if not norm_type > 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be positive or math.inf, got {norm_type}")
    params = _with_grads(parameters, "clip_grad_norm_")
    if not params:
        return 0.0
    grads = [param.grad.data for param in params]
    if norm_type == math.inf:
        total = max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)
    else:
        norms = [np.linalg.norm(g.ravel(), ord=norm_type) for g in grads]
        total = float(np.linalg.norm(np.array(norms, dtype=np.float64), ord=norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of the gradients is {total}; the loss or the "
            "gradients contain inf or NaN (set error_if_nonfinite=False to clip anyway)"
        )
    factor = max_norm / (total + 1e-6)
    if factor < 1:
        for param, grad in zip(params, grads):
            _set_grad(param, grad * np.asarray(factor, dtype=grad.dtype))
    return total


def clip_grad_value_(parameters, clip_value):
    """Clip every gradient coordinate into [−clip_value, clip_value].

    Unlike ``clip_grad_norm_`` this changes the direction of the step.
    """
    clip_value = check_number("clip_grad_value_", "clip_value", clip_value)
    for param in _with_grads(parameters, "clip_grad_value_"):
        _set_grad(param, np.clip(param.grad.data, -clip_value, clip_value))
