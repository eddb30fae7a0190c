"""Dual numbers: forward-mode automatic differentiation (Chapter 1)."""

import math

import numpy as np
import pytest

from framework.differentiate import dual
from framework.differentiate.dual import (
    Dual,
    derivative,
    directional_derivative,
    forward_gradient,
)

EPS = np.finfo(np.float64).eps


def exact(a, b):
    """Dual-number results are exact up to the rounding of a few operations."""
    return math.isclose(a, b, rel_tol=8 * EPS, abs_tol=1e-300)


# --- arithmetic -----------------------------------------------------------------------


def test_arithmetic_rules():
    a, b = Dual(3.0, 2.0), Dual(5.0, -1.0)
    s = a + b
    assert (s.value, s.derivative) == (8.0, 1.0)
    d = a - b
    assert (d.value, d.derivative) == (-2.0, 3.0)
    p = a * b
    assert (p.value, p.derivative) == (15.0, 3.0 * -1.0 + 2.0 * 5.0)
    q = a / b
    assert q.value == 0.6 and exact(q.derivative, (2.0 * 5.0 - 3.0 * -1.0) / 25.0)
    n = -a
    assert (n.value, n.derivative) == (-3.0, -2.0)


def test_numbers_on_either_side():
    a = Dual(2.0, 1.0)
    for result, value, deriv in [
        (a + 1, 3.0, 1.0),
        (1 + a, 3.0, 1.0),
        (a - 1, 1.0, 1.0),
        (1 - a, -1.0, -1.0),
        (3 * a, 6.0, 3.0),
        (a * 3, 6.0, 3.0),
        (a / 4, 0.5, 0.25),
        (4 / a, 2.0, -1.0),
        (np.float64(3.0) * a, 6.0, 3.0),
        (a * np.float64(3.0), 6.0, 3.0),
    ]:
        assert isinstance(result, Dual)
        assert (result.value, result.derivative) == (value, deriv)


def test_powers():
    a = Dual(2.0, 1.0)
    assert (a**3).value == 8.0 and (a**3).derivative == 12.0
    assert exact((a**0.5).derivative, 0.5 / math.sqrt(2.0))
    r = 3.0**a  # number ** dual
    assert exact(r.value, 9.0) and exact(r.derivative, 9.0 * math.log(3.0))
    t = a ** Dual(3.0, 0.0)  # dual exponent that does not vary
    assert exact(t.derivative, 12.0)
    u = Dual(1.5, 1.0)
    v = u**u  # d/dx x**x = x**x (log x + 1)
    assert exact(v.derivative, 1.5**1.5 * (math.log(1.5) + 1))


def test_abs_and_comparisons_follow_the_value():
    assert abs(Dual(-2.0, 3.0)).derivative == -3.0
    a = Dual(1.0, 1.0)
    assert a > 0 and a >= 1 and a < 2 and a <= Dual(1.0, 5.0)

    def relu(t):
        return t if t > 0 else 0 * t

    assert derivative(relu, 2.0) == 1.0
    assert derivative(relu, -2.0) == 0.0


def test_repr():
    assert repr(Dual(2.0, 1.0)) == "Dual(2.0, 1.0)"
    assert repr(dual.exp(Dual(0.0, 1.0))) == "Dual(1.0, 1.0)"


# --- elementary functions against closed forms -----------------------------------------------

FUNCTIONS = [
    (dual.exp, math.exp, math.exp),
    (dual.log, math.log, lambda v: 1 / v),
    (dual.sin, math.sin, math.cos),
    (dual.cos, math.cos, lambda v: -math.sin(v)),
    (dual.sqrt, math.sqrt, lambda v: 0.5 / math.sqrt(v)),
    (
        dual.sigmoid,
        lambda v: 1 / (1 + math.exp(-v)),
        lambda v: math.exp(-v) / (1 + math.exp(-v)) ** 2,
    ),
]


@pytest.mark.parametrize("function, value, slope", FUNCTIONS)
@pytest.mark.parametrize("point", [0.25, 1.0, 3.5])
def test_elementary_functions(function, value, slope, point):
    result = function(Dual(point, 1.0))
    assert exact(result.value, value(point))
    assert exact(result.derivative, slope(point))
    assert exact(function(point), value(point))  # plain numbers work too


@pytest.mark.exercise("1.3")
@pytest.mark.parametrize("point", [-2.0, 0.0, 0.5, 3.0])
def test_tanh(point):
    try:
        result = dual.tanh(Dual(point, 2.0))
    except NotImplementedError:
        pytest.fail("tanh of a Dual is not implemented yet: complete tanh in framework/differentiate/dual.py")
    assert isinstance(result, Dual), f"tanh(Dual({point}, 2.0)) should return a Dual, got {result!r}"
    assert exact(result.value, math.tanh(point)), f"the value part should be tanh({point}), got {result!r}"
    expected = 2.0 / math.cosh(point) ** 2
    assert math.isclose(result.derivative, expected, rel_tol=1e-14), (
        f"tanh(Dual({point}, 2.0)) has derivative part {result.derivative!r}, expected {expected!r}: "
        "(1 - tanh**2) times the derivative part of the argument"
    )
    assert exact(dual.tanh(point), math.tanh(point))


def test_chain_rule_is_carried_by_the_derivative_part():
    a = Dual(0.5, 3.0)  # an inner function with derivative 3
    assert exact(dual.sin(a).derivative, math.cos(0.5) * 3.0)


def test_sigmoid_is_stable_for_large_arguments():
    assert dual.sigmoid(-1000.0) == 0.0
    assert dual.sigmoid(1000.0) == 1.0
    assert dual.sigmoid(Dual(-1000.0, 1.0)).derivative == 0.0
    assert math.isclose(dual.sigmoid(-40.0), math.exp(-40.0), rel_tol=1e-12)


def test_functions_work_elementwise_on_arrays():
    xs = np.array([0.1, 0.2, 0.3])
    result = dual.sin(Dual(xs, np.ones(3)))
    np.testing.assert_allclose(result.derivative, np.cos(xs))


# --- derivatives and gradients -----------------------------------------------------------------


@pytest.mark.parametrize(
    "f, df, point",
    [
        (lambda t: t**3 * dual.sin(t), lambda v: 3 * v**2 * math.sin(v) + v**3 * math.cos(v), 1.2),
        (lambda t: dual.exp(-t * t / 2), lambda v: -v * math.exp(-v * v / 2), 0.7),
        (lambda t: 1 / (1 + t * t), lambda v: -2 * v / (1 + v * v) ** 2, -0.4),
        (lambda t: 5.0, lambda v: 0.0, 1.0),  # a constant function
    ],
)
def test_derivative(f, df, point):
    assert math.isclose(derivative(f, point), df(point), rel_tol=1e-14, abs_tol=1e-300)


def test_forward_gradient_takes_one_pass_per_input():
    calls = []

    def f(w):
        calls.append(1)
        return w[0] * w[1] + dual.exp(w[2]) - w[3] ** 2

    result = forward_gradient(f, [1.0, 2.0, 0.5, 3.0])
    assert result.passes == 4 and len(calls) == 4
    np.testing.assert_allclose(result.gradient, [2.0, 1.0, math.exp(0.5), -6.0], rtol=1e-15)
    grad, passes = result  # a named tuple unpacks
    assert passes == 4


def test_directional_derivative_is_one_pass():
    def f(w):
        return w[0] * w[1] + w[1] ** 2

    # gradient at (1, 2) is (2, 1 + 4) = (2, 5); along (1, -1): 2 - 5
    assert directional_derivative(f, [1.0, 2.0], [1.0, -1.0]) == -3.0
    with pytest.raises(ValueError, match="2 inputs but a direction of length 3"):
        directional_derivative(f, [1.0, 2.0], [1.0, 0.0, 0.0])


def test_vector_output_is_an_error():
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        derivative(lambda t: [t, t], 1.0)
    with pytest.raises(ValueError, match="single number"):
        forward_gradient(lambda w: [w[0], w[1]], [1.0, 2.0])


def test_bad_operands():
    with pytest.raises(TypeError, match="needs a Dual or a real number"):
        Dual(1.0, 1.0) + "a"
    with pytest.raises(TypeError, match="plain numbers"):
        Dual(Dual(1.0, 1.0), 0.0)


def test_numpy_functions_are_refused_not_silently_wrong():
    # np.exp does not know the derivative rule; the module's exp does.
    with pytest.raises(TypeError):
        np.exp(Dual(1.0, 1.0))


def test_jacobian_vector_product_gives_columns_of_the_jacobian():
    def f(v):
        x, y, z = v
        return [x * y + z, x * z * z - y]

    point = [1.5, -2.0, 0.5]
    x, y, z = point
    jacobian = np.array([[y, x, 1.0], [z * z, -1.0, 2 * x * z]])
    for j in range(3):
        column = dual.jacobian_vector_product(f, point, np.eye(3)[j])
        assert np.array_equal(column, jacobian[:, j])
    v = np.array([0.25, -1.0, 2.0])
    assert np.allclose(dual.jacobian_vector_product(f, point, v), jacobian @ v, rtol=1e-15)
    with pytest.raises(ValueError, match="jacobian_vector_product: 3 inputs but a direction of length 2"):
        dual.jacobian_vector_product(f, point, [1.0, 0.0])
