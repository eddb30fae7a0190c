"""Numerical differentiation: derivatives from function values alone.

The derivative is the limit of a difference quotient,

    f'(x) = lim_{h -> 0} (f(x + h) - f(x)) / h,

and a computer can simply evaluate the quotient for one small step ``h``.
Two errors compete when it does:

- the *truncation* error of stopping at a finite ``h``, which Taylor's
  theorem measures: it shrinks like ``h`` for the forward difference and like
  ``h**2`` for the central difference;
- the *rounding* error of subtracting two nearly equal floating-point
  numbers: each value of ``f`` carries a relative error of up to the unit
  roundoff ``u = eps / 2``, and dividing by ``h`` amplifies it like ``u / h``.

The point ``x + h`` is rounded too, so the step actually taken is
``(x + h) - x`` (computed exactly), not ``h``; every quotient here divides
by the step actually taken.

The default steps below balance the two.  Every function accepts float64
NumPy arrays; it never changes the caller's array and never hands ``f`` an
array that it changes afterwards.
"""

import numbers

import numpy as np

#: Machine epsilon of float64: the gap between 1.0 and the next float, 2**-52.
EPS = float(np.finfo(np.float64).eps)

#: Relative step of the forward difference: sqrt(eps) = 2**-26, about 1.5e-8.
FORWARD_STEP = 2.0**-26

#: Relative step of the central difference: eps**(1/3) = 2**-17.33 rounded to
#: the power of two 2**-17, about 7.6e-6.  The optimum is flat (a factor of
#: two in h barely changes the error) and a power of two is the same number
#: on every machine.
CENTRAL_STEP = 2.0**-17

METHODS = ("forward", "central")


def default_step(x, method="central"):
    """The step h the theory recommends at the point ``x`` (a number or an array).

    Forward difference.  Taylor's theorem gives
    ``(f(x+h) - f(x)) / h = f'(x) + f''(xi) h / 2``, a truncation error of
    about ``|f''| h / 2``.  Each value of f is off by up to ``u |f|``, with the
    unit roundoff ``u = eps / 2``, so the quotient is off by up to
    ``2 u |f| / h``.  The total

        E(h) = |f''| h / 2 + 2 u |f| / h

    is smallest at ``h = 2 sqrt(u |f| / |f''|)``, where ``E = 2 sqrt(u |f f''|)``.
    Without knowing f'' we take ``h = sqrt(eps) * max(1, |x|)``: about 1.5e-8
    near 1, and an error of about sqrt(eps), half of the digits.

    Central difference.  The even terms of the Taylor series cancel in
    ``(f(x+h) - f(x-h)) / (2h) = f'(x) + f'''(xi) h**2 / 6``, so

        E(h) = |f'''| h**2 / 6 + u |f| / h,

    smallest at ``h = (3 u |f| / |f'''|) ** (1/3)``, with an error of order
    ``eps ** (2/3)``, about 4e-11: two thirds of the digits.  We take
    ``h = eps ** (1/3) * max(1, |x|)`` (rounded to a power of two).

    The factor ``max(1, |x|)`` keeps the step relative to the size of x:
    ``x + h`` must differ from ``x`` in many of its bits, and a fixed
    ``h = 1e-8`` would vanish next to ``x = 1e9``.
    """
    relative = _relative_step(method)
    return relative * np.maximum(1.0, np.abs(x))


def forward_difference(f, x, h=None):
    """Estimate f'(x) of a function f: R -> R by ``(f(x + h) - f(x)) / h``.

    The truncation error shrinks like h, the rounding error grows like
    eps / h; ``h=None`` takes the step that balances them, see
    :func:`default_step`.  Costs two evaluations of f.
    """
    x = _check_point(x, "forward_difference")
    h = _step(h, x, "forward", "forward_difference")
    f_x = _scalar_value(f, x, "forward_difference")
    f_right = _scalar_value(f, x + h, "forward_difference")
    return (f_right - f_x) / ((x + h) - x)  # the step actually taken


def central_difference(f, x, h=None):
    """Estimate f'(x) of a function f: R -> R by ``(f(x + h) - f(x - h)) / (2 h)``.

    Stepping to both sides cancels the h**2 term of the Taylor series, so
    the truncation error shrinks like h**2 while the rounding error still
    grows like eps / h; ``h=None`` balances them, see :func:`default_step`.
    Costs two evaluations of f.
    """
    x = _check_point(x, "central_difference")
    h = _step(h, x, "central", "central_difference")
    f_right = _scalar_value(f, x + h, "central_difference")
    f_left = _scalar_value(f, x - h, "central_difference")
    return (f_right - f_left) / ((x + h) - (x - h))  # the step actually taken, twice


def gradient(f, x, h=None, method="central"):
    """Estimate the gradient of a function f: R^n -> R, one input at a time.

    ``x`` may be an array of any shape; ``f`` receives an array of that
    shape and must return a scalar.  Each element ``x[i]`` is moved by its
    own step ``h_i`` (``h`` if given, else :func:`default_step` of ``x[i]``)
    while the others stay put, and the partial derivative is the forward or
    central difference quotient along that one direction:

        df/dx_i ~ (f(x + h_i e_i) - f(x - h_i e_i)) / (2 h_i).

    Returns a float64 array of x's shape.  Costs n + 1 evaluations of f for
    ``method="forward"`` and 2 n for ``method="central"``: numerical
    gradients get expensive when n is large.
    """
    operation = "gradient"
    _check_method(method, operation)
    x = _as_float_array(x, operation)
    steps = _step(h, x, method, operation)
    f_x = _scalar_value(f, x.copy(), operation) if method == "forward" else None
    grad = np.empty_like(x)
    for index in np.ndindex(x.shape):
        right, left = _moved(x, index, steps[index]), _moved(x, index, -steps[index])
        taken = right[index] - (x[index] if method == "forward" else left[index])  # the step actually taken
        f_right = _scalar_value(f, right, operation)
        if method == "forward":
            grad[index] = (f_right - f_x) / taken
        else:
            grad[index] = (f_right - _scalar_value(f, left, operation)) / taken
    return grad


def jacobian(f, x, h=None, method="central"):
    """Estimate the Jacobian of a function f: R^n -> R^m, one input at a time.

    Column j of the Jacobian, the derivative of every output with respect to
    ``x[j]``, is the difference quotient of the whole output vector along
    direction j.  For a vector x of length n and an output of length m the
    result has shape (m, n), so ``J[i, j] = d f_i / d x_j``; in general its
    shape is ``f(x).shape + x.shape``.  Costs n + 1 evaluations of f for
    ``method="forward"`` and 2 n for ``method="central"``.
    """
    operation = "jacobian"
    _check_method(method, operation)
    x = _as_float_array(x, operation)
    steps = _step(h, x, method, operation)
    f_x = _array_value(f, x.copy(), operation)
    jac = np.empty(f_x.shape + x.shape)
    for index in np.ndindex(x.shape):
        right, left = _moved(x, index, steps[index]), _moved(x, index, -steps[index])
        taken = right[index] - (x[index] if method == "forward" else left[index])  # the step actually taken
        f_right = _array_value(f, right, operation, f_x.shape)
        if method == "forward":
            column = (f_right - f_x) / taken
        else:
            column = (f_right - _array_value(f, left, operation, f_x.shape)) / taken
        jac[(Ellipsis,) + index] = column
    return jac


# --- helpers: checking input and evaluating f -------------------------------


def _relative_step(method):
    _check_method(method, "default_step")
    return FORWARD_STEP if method == "forward" else CENTRAL_STEP


def _check_method(method, operation):
    if method not in METHODS:
        raise ValueError(
            f"{operation}: unknown method {method!r}; pass method='forward' or method='central'"
        )


def _check_point(x, operation):
    """A single finite real number x, as a Python float."""
    if np.ndim(x) != 0:
        raise ValueError(
            f"{operation} differentiates f: R -> R at one number x, but x has shape "
            f"{np.shape(x)}; for f: R^n -> R use gradient(f, x), for f: R^n -> R^m "
            "use jacobian(f, x)"
        )
    try:
        x = float(x)
    except (TypeError, ValueError):
        raise TypeError(f"{operation}: x must be a real number, got {x!r}") from None
    if not np.isfinite(x):
        raise ValueError(f"{operation}: x must be finite, got x={x!r}")
    return x


def _as_float_array(x, operation):
    """A float64 copy of x, so that changing it never touches the caller's array."""
    array = np.array(x, dtype=np.float64, copy=True)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{operation}: x must be finite, got {x!r}")
    return array


def _step(h, x, method, operation):
    """The step to use at x: a float for a number x, an array of steps for an array x.

    The default step if h is None, else h after checking it.
    """
    if h is None:
        steps = default_step(x, method)
        return steps if isinstance(x, np.ndarray) else float(steps)
    if isinstance(h, bool) or not isinstance(h, numbers.Real):
        raise TypeError(
            f"{operation}: the step h must be a real number, got {h!r} of type "
            f"{type(h).__name__}; pass a small positive float such as h=1e-6, or h=None "
            "for the default step"
        )
    h = float(h)
    if not np.isfinite(h) or h <= 0:
        problem = "not finite" if not np.isfinite(h) else ("zero" if h == 0 else "negative")
        raise ValueError(
            f"{operation}: the step h must be a positive finite number, but h={h!r} is "
            f"{problem}; pass a small positive float such as h=1e-6, or h=None for the "
            f"default {method} step {default_step(1.0, method):.2g} * max(1, |x|)"
        )
    return np.full(x.shape, h) if isinstance(x, np.ndarray) else h


def _moved(x, index, step):
    """A new array equal to x with x[index] moved by step."""
    moved = x.copy()
    moved[index] += step
    return moved


def _scalar_value(f, x, operation):
    """f(x) as a float, with a clear error when f does not return one number."""
    value = np.asarray(f(x))
    if value.ndim != 0:
        raise ValueError(
            f"{operation} needs f to return a single number (a scalar), but f returned "
            f"an array of shape {value.shape}; reduce the output to a scalar (for example "
            "with .sum()) or use jacobian(f, x) for a vector-valued f"
        )
    return float(value)


def _array_value(f, x, operation, expected_shape=None):
    """f(x) as a new float64 array (a copy, so later steps cannot change it)."""
    value = np.array(f(x), dtype=np.float64, copy=True)
    if expected_shape is not None and value.shape != expected_shape:
        raise ValueError(
            f"{operation}: f returned shape {expected_shape} at x but shape {value.shape} "
            "at a nearby point; f must return the same shape everywhere"
        )
    return value
