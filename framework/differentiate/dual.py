"""Forward-mode automatic differentiation with dual numbers.

A dual number ``a + b ε`` carries a value ``a`` and a derivative ``b``; the
new unit ``ε`` is a number whose square is zero, ``ε**2 = 0``.  Then Taylor's
series stops after one term,

    f(a + b ε) = f(a) + f'(a) b ε,

so computing ``f`` on a dual number computes the value and the derivative at
once, exactly: no step h, no truncation, only the ordinary rounding of each
operation.  Each arithmetic operation and elementary function below applies
this rule to itself; a program made of them differentiates itself.

Use the functions of this module (``exp``, ``sin``, ...) on dual numbers,
not NumPy's: they accept dual numbers and plain numbers alike.
"""

import numbers
from collections import namedtuple

import numpy as np


class Dual:
    """The dual number ``value + derivative * ε``, with ``ε**2 = 0``."""

    __slots__ = ("value", "derivative")
    __array_ufunc__ = None  # NumPy numbers defer to our operators: 2.0 * Dual works

    def __init__(self, value, derivative=0.0):
        if isinstance(value, Dual) or isinstance(derivative, Dual):
            raise TypeError("Dual(value, derivative) takes plain numbers, not dual numbers")
        self.value = value
        self.derivative = derivative

    def __repr__(self):
        return f"Dual({_plain(self.value)!r}, {_plain(self.derivative)!r})"

    # (a + b ε) + (c + d ε) = (a + c) + (b + d) ε
    def __add__(self, other):
        other = as_dual(other)
        return Dual(self.value + other.value, self.derivative + other.derivative)

    __radd__ = __add__

    def __sub__(self, other):
        other = as_dual(other)
        return Dual(self.value - other.value, self.derivative - other.derivative)

    def __rsub__(self, other):
        return as_dual(other) - self

    # (a + b ε)(c + d ε) = ac + (ad + bc) ε + bd ε² = ac + (ad + bc) ε
    def __mul__(self, other):
        other = as_dual(other)
        return Dual(
            self.value * other.value,
            self.value * other.derivative + self.derivative * other.value,
        )

    __rmul__ = __mul__

    # (a + b ε) / (c + d ε) = a/c + (b c - a d) / c² ε
    def __truediv__(self, other):
        other = as_dual(other)
        quotient = self.value / other.value
        return Dual(quotient, (self.derivative - quotient * other.derivative) / other.value)

    def __rtruediv__(self, other):
        return as_dual(other) / self

    def __pow__(self, exponent):
        if isinstance(exponent, Dual):  # a**b = exp(b log a), for a > 0
            power = self.value**exponent.value
            return Dual(
                power,
                power
                * (
                    exponent.derivative * np.log(self.value)
                    + exponent.value * self.derivative / self.value
                ),
            )
        _check_number(exponent, "**")
        # power rule: (a + b ε)**n = a**n + n a**(n-1) b ε
        return Dual(self.value**exponent, exponent * self.value ** (exponent - 1) * self.derivative)

    def __rpow__(self, base):
        _check_number(base, "**")
        power = base**self.value  # c**(a + b ε) = c**a + c**a log(c) b ε
        return Dual(power, power * np.log(base) * self.derivative)

    def __neg__(self):
        return Dual(-self.value, -self.derivative)

    def __pos__(self):
        return self

    def __abs__(self):
        return Dual(abs(self.value), np.sign(self.value) * self.derivative)

    # Comparisons look at the value, so that `if x > 0:` works in a program
    # being differentiated (the derivative follows the branch taken).
    def __lt__(self, other):
        return self.value < as_dual(other).value

    def __le__(self, other):
        return self.value <= as_dual(other).value

    def __gt__(self, other):
        return self.value > as_dual(other).value

    def __ge__(self, other):
        return self.value >= as_dual(other).value


def as_dual(x):
    """A dual number from a dual number or a plain number (a constant: derivative 0)."""
    if isinstance(x, Dual):
        return x
    _check_number(x, "an arithmetic operation")
    return Dual(x, 0.0)


# --- elementary functions: each accepts a Dual or a plain number ------------------


def exp(x):
    """e**x.  d/dx exp(x) = exp(x)."""
    if isinstance(x, Dual):
        value = np.exp(x.value)
        return Dual(value, value * x.derivative)
    return np.exp(x)


def log(x):
    """The natural logarithm.  d/dx log(x) = 1 / x."""
    if isinstance(x, Dual):
        return Dual(np.log(x.value), x.derivative / x.value)
    return np.log(x)


def sin(x):
    """d/dx sin(x) = cos(x)."""
    if isinstance(x, Dual):
        return Dual(np.sin(x.value), np.cos(x.value) * x.derivative)
    return np.sin(x)


def cos(x):
    """d/dx cos(x) = -sin(x)."""
    if isinstance(x, Dual):
        return Dual(np.cos(x.value), -np.sin(x.value) * x.derivative)
    return np.cos(x)


def sqrt(x):
    """d/dx sqrt(x) = 1 / (2 sqrt(x))."""
    if isinstance(x, Dual):
        value = np.sqrt(x.value)
        return Dual(value, x.derivative / (2 * value))
    return np.sqrt(x)


def tanh(x):
    """d/dx tanh(x) = 1 - tanh(x)**2."""
    if isinstance(x, Dual):
        ### BEGIN SOLUTION
        value = np.tanh(x.value)
        return Dual(value, (1 - value**2) * x.derivative)
        ### END SOLUTION
    return np.tanh(x)


def sigmoid(x):
    """The logistic function 1 / (1 + exp(-x)).  d/dx sigmoid(x) = s (1 - s)."""
    if isinstance(x, Dual):
        value = _stable_sigmoid(x.value)
        return Dual(value, value * (1 - value) * x.derivative)
    return _stable_sigmoid(x)


def _stable_sigmoid(x):
    """1 / (1 + exp(-x)) without overflow: exp is only taken of -|x| <= 0."""
    z = np.exp(-np.abs(x))
    return np.where(np.asarray(x) >= 0, 1 / (1 + z), z / (1 + z))[()]


# --- derivatives and gradients ------------------------------------------------------


def derivative(f, x):
    """f'(x) for f: R -> R, from one evaluation of f on the dual number x + 1 ε."""
    return _derivative_part(f(Dual(x, 1.0)), "derivative")


ForwardGradient = namedtuple("ForwardGradient", ["gradient", "passes"])


def forward_gradient(f, xs):
    """The gradient of f: R^n -> R by forward mode: one pass of f per input.

    ``f`` takes a list of n numbers and returns one number.  Pass i seeds
    input i with derivative 1 and every other input with 0, so the result's
    derivative part is the partial derivative df/dx_i.  Returns
    ``ForwardGradient(gradient, passes)``: the gradient as a float array
    and the number of times f was run, which is n.
    """
    xs = [float(x) for x in xs]
    gradient = np.zeros(len(xs))
    passes = 0
    for i in range(len(xs)):
        seeded = [Dual(x, 1.0 if j == i else 0.0) for j, x in enumerate(xs)]
        gradient[i] = _derivative_part(f(seeded), "forward_gradient")
        passes += 1
    return ForwardGradient(gradient, passes)


def directional_derivative(f, xs, direction):
    """The derivative of f: R^n -> R along ``direction``, in a single pass.

    Seeding input i with derivative ``direction[i]`` gives
    ``sum_i df/dx_i * direction[i]``: one pass of forward mode yields one
    directional derivative (one Jacobian-vector product), not the gradient.
    """
    if len(xs) != len(direction):
        raise ValueError(
            f"directional_derivative: {len(xs)} inputs but a direction of length "
            f"{len(direction)}; pass one direction component per input"
        )
    seeded = [Dual(float(x), float(d)) for x, d in zip(xs, direction)]
    return _derivative_part(f(seeded), "directional_derivative")


def jacobian_vector_product(f, xs, direction):
    """J v for f: R^n -> R^m, the derivative of every output along ``direction``, in one pass.

    ``f`` takes a list of n numbers and returns a list of m numbers.
    Seeding input i with derivative ``direction[i]`` makes the derivative
    part of output k equal to ``sum_i df_k/dx_i * direction[i]``, entry k of
    the Jacobian times ``direction``. With ``direction`` the j-th unit
    vector, that is column j of the Jacobian. Returns a float array of
    length m.
    """
    if len(xs) != len(direction):
        raise ValueError(
            f"jacobian_vector_product: {len(xs)} inputs but a direction of length "
            f"{len(direction)}; pass one direction component per input"
        )
    seeded = [Dual(float(x), float(d)) for x, d in zip(xs, direction)]
    return np.array([_derivative_part(output, "jacobian_vector_product") for output in f(seeded)], dtype=float)


def _derivative_part(result, operation):
    if isinstance(result, Dual):
        return _plain(result.derivative)
    if np.ndim(result) != 0:
        raise ValueError(
            f"{operation} needs f to return a single number, but f returned something of "
            f"shape {np.shape(result)}; reduce the output to one number (for example sum it)"
        )
    _check_number(result, operation)
    return 0.0  # f returned a plain number: it does not depend on x


def _check_number(x, operation):
    if isinstance(x, bool) or not (isinstance(x, numbers.Real) or isinstance(x, np.ndarray)):
        raise TypeError(
            f"{operation} with a dual number needs a Dual or a real number, got {x!r} "
            f"of type {type(x).__name__}"
        )


def _plain(x):
    """NumPy scalars as Python floats (they print more simply); arrays unchanged."""
    return float(x) if isinstance(x, np.generic) else x
