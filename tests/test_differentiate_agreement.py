"""The three ways to differentiate agree on random expressions (Chapter 1).

Hypothesis builds random expression trees in one variable x from constants,
x, + - * /, powers, exp, log, sin and cos.  Every operation that is only
defined on part of the real line is built so that its argument stays in a
safe domain, whatever the subexpressions evaluate to:

- division by ``1 + b*b`` (at least 1, never zero),
- ``log(1 + a*a)`` (argument at least 1),
- ``exp(sin(a))`` (argument in [-1, 1], no overflow),
- powers ``a**2`` and ``a**3`` of anything, ``(1 + a*a)**c`` with a constant
  c in [-2, 2], and ``(2 + sin(a))**sin(b)`` for a varying exponent
  (positive base, bounded exponent).

So every expression is smooth and finite near every x in [-2, 2], and its
symbolic derivative, its dual-number derivative and its central difference
must agree.
"""

import math
import operator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framework.differentiate import dual
from framework.differentiate.numerical import central_difference
from framework.differentiate.symbolic import (
    Add,
    Const,
    Cos,
    Div,
    Exp,
    Log,
    Mul,
    Neg,
    Pow,
    Sin,
    Sub,
    Var,
    cos,
    diff,
    exp,
    log,
    simplify,
    sin,
)

x = Var("x")
EPS = np.finfo(np.float64).eps

constants = st.floats(-2, 2, allow_nan=False).map(lambda c: Const(round(c, 3)))
leaves = st.one_of(st.just(x), st.just(x), constants)


def extend(children):
    pairs = st.tuples(children, children)
    return st.one_of(
        pairs.map(lambda p: p[0] + p[1]),
        pairs.map(lambda p: p[0] - p[1]),
        pairs.map(lambda p: p[0] * p[1]),
        pairs.map(lambda p: p[0] / (1 + p[1] * p[1])),
        children.map(lambda a: -a),
        children.map(lambda a: a ** 2),
        children.map(lambda a: a ** 3),
        st.tuples(children, st.floats(-2, 2)).map(lambda p: (1 + p[0] * p[0]) ** round(p[1], 2)),
        pairs.map(lambda p: (2 + sin(p[0])) ** sin(p[1])),
        children.map(lambda a: exp(sin(a))),
        children.map(lambda a: log(1 + a * a)),
        children.map(sin),
        children.map(cos),
    )


expressions = st.recursive(leaves, extend, max_leaves=8).filter(
    lambda e: "x" in e.variables()
)
points = st.floats(-2, 2, allow_nan=False)

# How each kind of node is computed on dual numbers (and plain numbers).
DUAL_OPERATIONS = {
    Add: operator.add,
    Sub: operator.sub,
    Mul: operator.mul,
    Div: operator.truediv,
    Pow: operator.pow,
    Neg: operator.neg,
    Exp: dual.exp,
    Log: dual.log,
    Sin: dual.sin,
    Cos: dual.cos,
}


def dual_derivative(expr, point):
    """d expr / dx at point, by evaluating the tree on the dual number point + 1 ε."""
    value_of = {}
    for node in expr.nodes():
        if isinstance(node, Var):
            value_of[id(node)] = dual.Dual(point, 1.0)
        elif isinstance(node, Const):
            value_of[id(node)] = node.value
        else:
            args = [value_of[id(a)] for a in node.args]
            value_of[id(node)] = DUAL_OPERATIONS[type(node)](*args)
    result = value_of[id(expr)]
    return float(result.derivative) if isinstance(result, dual.Dual) else 0.0


def magnitude(expr, point):
    """A scale for rounding errors: the largest |value| of any subexpression at point."""
    values = [abs(node.evaluate(x=point)) for node in expr.nodes() if node.args]
    return max(values, default=1.0) + 1.0


@pytest.mark.exercise("1.2")  # the random expressions contain log
@settings(max_examples=300, deadline=None)
@given(expressions, points)
def test_symbolic_and_dual_derivatives_agree(expr, point):
    symbolic_value = diff(expr, "x").evaluate(x=point)
    dual_value = dual_derivative(expr, point)
    # Both are exact formulas evaluated in floating point; they differ only by
    # rounding, a few eps per operation relative to the size of the numbers
    # involved.  The derivative's own subexpressions are up to a few times
    # larger than the expression's, hence the scale: operations x magnitude**2.
    scale = expr.size() * magnitude(expr, point) ** 2
    assert math.isclose(symbolic_value, dual_value, rel_tol=1e-12, abs_tol=100 * EPS * scale), (
        f"d/dx {expr} at x={point}: symbolic {symbolic_value}, dual {dual_value}"
    )


@settings(max_examples=300, deadline=None)
@given(expressions, points)
def test_central_difference_agrees_with_the_exact_derivative(expr, point):
    exact = dual_derivative(expr, point)
    f = expr.to_function("x")
    h = 2.0**-17 * max(1.0, abs(point))  # the default central step
    estimate = central_difference(f, point, h)
    # Error of the central difference: truncation f'''(xi) h**2 / 6 plus
    # rounding of about eps |f| / h.  We do not know f''' in advance, so we
    # measure the truncation: halving the step divides it by 4, so
    # |D(2h) - D(h)| is about 3 times the truncation error of D(h).  We allow
    # ten times the sum of both estimates (and a floor of 1e-12 * scale for
    # an estimate that happens to vanish).
    truncation = abs(central_difference(f, point, 2 * h) - estimate)
    rounding = EPS * magnitude(expr, point) / h
    tolerance = 10 * (truncation + rounding) + 1e-12 * magnitude(expr, point)
    assert abs(estimate - exact) <= tolerance, (
        f"d/dx {expr} at x={point}: central difference {estimate}, exact {exact}, "
        f"tolerance {tolerance}"
    )


@pytest.mark.exercise("1.2")  # the random expressions contain log
@settings(max_examples=200, deadline=None)
@given(expressions, points)
def test_simplify_keeps_value_and_derivative(expr, point):
    scale = expr.size() * magnitude(expr, point) ** 2
    tolerance = 100 * EPS * scale
    assert math.isclose(
        simplify(expr).evaluate(x=point), expr.evaluate(x=point), rel_tol=1e-12, abs_tol=tolerance
    )
    derivative = diff(expr, "x")
    assert math.isclose(
        simplify(derivative).evaluate(x=point),
        derivative.evaluate(x=point),
        rel_tol=1e-12,
        abs_tol=tolerance,
    )
