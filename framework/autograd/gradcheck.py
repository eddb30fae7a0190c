"""The gradient check: backward compared with finite differences (Chapter 4).

Backpropagation is exact in principle, but every backward method is written
by hand, and a wrong one gives wrong gradients without any error. The
central difference of Chapter 1 needs nothing but the forward computation,
so it is an independent witness:

$$\\frac{\\partial L}{\\partial x_i} \\approx
  \\frac{L(x + h e_i) - L(x - h e_i)}{2h},$$

accurate to about $10^{-10}$ in float64. When backward and the central
difference agree at every position of every input, the backward methods
used by ``f`` are right (at that point).
"""

import numpy as np

from framework.autograd.tensor import Tensor, no_grad
from framework.differentiate.numerical import gradient


class GradcheckError(AssertionError):
    """Backward and the central difference disagree (raised by ``gradcheck``)."""


def gradcheck(f, *inputs, eps=None, atol=1e-6, rtol=1e-5, seed=0):
    """Check the gradients of ``f`` at ``inputs`` against central differences.

    ``f(*inputs)`` returns a tensor. The inputs that require grad are
    checked; the others (and any arrays or numbers) are constants. Each is
    copied to float64, so ``f`` is evaluated in float64 whatever the
    inputs' dtype, and the inputs' own ``.grad`` is left alone.

    A non-scalar output y is reduced to the scalar $L = \\sum_k v_k y_k$
    with a fixed random $v$: $\\partial L / \\partial x = J^T v$, one
    backward pass, compared with the central differences of $L$. A wrong
    entry of the Jacobian $J$ changes $J^T v$ unless it is multiplied by an
    exactly zero $v_k$, which a random $v$ almost never has. Checking the
    whole Jacobian (one backward per output) costs more, but it would also
    say which output is wrong, and an error in an entry multiplied by a
    small $v_k$ cannot hide below the tolerance there.

    ``eps`` is the step of the differences (None: Chapter 1's default
    step, $2^{-17}\\max(1, |x_i|)$). A position fails when
    $|a - n| > \\text{atol} + \\text{rtol}\\,|n|$ for the gradient $a$ from
    backward and $n$ from the differences; then ``GradcheckError`` names the
    input, the position and both values. Otherwise it returns the largest
    disagreement $|a - n| / \\max(1, |a|, |n|)$: a relative error where the
    gradients exceed 1 and an absolute one below, where a relative error
    would magnify the noise of the differences around a gradient near 0.
    """
    inputs = [_float64_copy(x) for x in inputs]
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is no gradient to check")

    output = _call(f, inputs)
    if output.data.size == 1:
        direction = np.ones(output.shape)
    else:
        direction = np.random.default_rng(seed).standard_normal(output.shape)

    if output.requires_grad:
        output.backward(direction)

    largest = 0.0
    for i in checked:
        x = inputs[i]
        by_backward = np.zeros(x.shape) if x.grad is None else x.grad.data
        by_differences = gradient(_projected(f, inputs, i, direction), x.data, h=eps)
        difference = np.abs(by_backward - by_differences)
        scale = np.maximum(1.0, np.maximum(np.abs(by_backward), np.abs(by_differences)))
        bad = ~(difference <= atol + rtol * np.abs(by_differences))  # also catches NaN
        if bad.any():
            raise _mismatch(i, x, bad, by_backward, by_differences, output.shape)
        if x.size:
            largest = max(largest, float(np.max(difference / scale)))
    return largest


def _float64_copy(x):
    """A new float64 leaf with x's values, requires_grad and name (tensors only)."""
    if not isinstance(x, Tensor):
        return x
    return Tensor(np.array(x.data, dtype=np.float64), requires_grad=x.requires_grad, name=x.name)


def _call(f, inputs):
    output = f(*inputs)
    if not isinstance(output, Tensor):
        raise TypeError(f"gradcheck: f must return a Tensor, got {type(output).__name__}")
    if output.dtype != np.float64:
        raise TypeError(
            f"gradcheck: f returned dtype {output.dtype}; the check needs float64 throughout "
            "(f may use float32 constants or parameters: make them float64)"
        )
    return output


def _projected(f, inputs, i, direction):
    """The scalar function values -> sum(direction * f(..., values, ...)) of input i alone."""

    def value(values):
        arguments = list(inputs)
        arguments[i] = Tensor(values)
        with no_grad():
            return float(np.sum(direction * f(*arguments).data))

    return value


def _mismatch(i, x, bad, by_backward, by_differences, output_shape):
    position = tuple(int(p) for p in np.argwhere(bad)[0])
    name = f" ({x.name!r})" if x.name is not None else ""
    of = "the output" if len(output_shape) == 0 or np.prod(output_shape) == 1 else (
        f"the output (shape {output_shape}) projected on a fixed random direction"
    )
    where = f"position {position}" if position else "its only position"
    return GradcheckError(
        f"gradcheck: the gradient of {of} with respect to input {i}{name} of shape "
        f"{x.shape} disagrees at {where}: backward gives {float(by_backward[position])!r}, "
        f"central differences give {float(by_differences[position])!r} "
        f"({int(bad.sum())} of {bad.size} positions disagree). "
        "Check the backward method of the operations f uses."
    )
