"""Forward and central differences, gradients and Jacobians (Chapter 1)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framework.differentiate import numerical
from framework.differentiate.numerical import (
    central_difference,
    default_step,
    forward_difference,
    gradient,
    jacobian,
)

# --- derivatives known in closed form --------------------------------------------

CLOSED_FORMS = [
    (math.sin, math.cos, 1.0),
    (math.exp, math.exp, 0.5),
    (math.log, lambda x: 1 / x, 2.5),
    (lambda x: x**3 - 2 * x, lambda x: 3 * x**2 - 2, -1.5),
    (lambda x: 1 / (1 + x * x), lambda x: -2 * x / (1 + x * x) ** 2, 0.7),
    (math.sqrt, lambda x: 0.5 / math.sqrt(x), 1e6),  # large x: the step must scale with |x|
]


@pytest.mark.parametrize("f, df, x", CLOSED_FORMS)
def test_forward_difference_matches_closed_form(f, df, x):
    # With h = sqrt(eps) the error is about sqrt(eps) ~ 1.5e-8 times the size of f, f''.
    assert forward_difference(f, x) == pytest.approx(df(x), rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("f, df, x", CLOSED_FORMS)
def test_central_difference_matches_closed_form(f, df, x):
    # With h = eps**(1/3) the error is about eps**(2/3) ~ 4e-11 times the size of f, f'''.
    assert central_difference(f, x) == pytest.approx(df(x), rel=1e-9, abs=1e-10)


def test_truncation_orders_on_a_polynomial():
    # For f(x) = x**3 at x = 1 the quotients are exactly 3 + 3h + h**2 (forward)
    # and 3 + h**2 (central); with h = 2**-10 no rounding happens at all.
    h = 2.0**-10
    assert forward_difference(lambda x: x**3, 1.0, h) == 3 + 3 * h + h**2
    assert central_difference(lambda x: x**3, 1.0, h) == 3 + h**2


def test_central_beats_forward_at_their_default_steps():
    exact = math.cos(1.0)
    forward_error = abs(forward_difference(math.sin, 1.0) - exact)
    central_error = abs(central_difference(math.sin, 1.0) - exact)
    assert central_error < forward_error / 100


def test_default_steps_follow_the_theory():
    eps = np.finfo(np.float64).eps
    assert default_step(1.0, "forward") == math.sqrt(eps)
    assert default_step(1.0, "central") == pytest.approx(eps ** (1 / 3), rel=0.3)
    assert default_step(-1e4, "central") == 1e4 * default_step(1.0, "central")
    # never below the relative step; scaled by |x| above 1
    assert default_step(1e-3, "forward") == default_step(1.0, "forward")
    steps = default_step(np.array([0.5, 4.0]), "forward")
    np.testing.assert_array_equal(steps, [2.0**-26, 2.0**-24])


def test_explicit_step_is_used():
    # f(x) = x**2: the forward quotient is exactly 2x + h.
    assert forward_difference(lambda x: x * x, 3.0, h=0.5) == 6.5


def test_integer_point_is_accepted():
    assert central_difference(lambda x: x * x, 3) == pytest.approx(6.0)


# --- gradients and Jacobians --------------------------------------------------------


@pytest.mark.parametrize("method", ["forward", "central"])
def test_gradient_of_a_polynomial(method):
    def f(v):
        x, y = v
        return x**2 * y + y**3

    np.testing.assert_allclose(gradient(f, [1.0, 2.0], method=method), [4.0, 13.0], rtol=1e-6)


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 1, 2)])
def test_gradient_keeps_the_shape_of_x(shape):
    x = np.arange(1.0, 1.0 + np.prod(shape, dtype=int)).reshape(shape)
    grad = gradient(lambda a: np.sum(a**2), x)
    assert grad.shape == shape
    assert grad.dtype == np.float64
    np.testing.assert_allclose(grad, 2 * x, rtol=1e-9)


def test_gradient_does_not_change_x_and_accepts_integers():
    x = np.array([1, 2, 3])
    grad = gradient(lambda a: np.sum(a**2), x)
    np.testing.assert_array_equal(x, [1, 2, 3])
    np.testing.assert_allclose(grad, [2.0, 4.0, 6.0], rtol=1e-9)


def test_gradient_hands_f_arrays_it_never_changes_afterwards():
    seen = []

    def f(a):
        seen.append(a)  # a function that keeps its input (as a graph would)
        return float(np.sum(a))

    x = np.zeros(3)
    gradient(f, x)
    for i in range(3):  # the inputs of the 2 evaluations for element i, in order
        right, left = seen[2 * i], seen[2 * i + 1]
        assert right[i] > 0 and left[i] < 0
        assert np.count_nonzero(right) == 1 and np.count_nonzero(left) == 1


def test_gradient_forward_counts_n_plus_one_evaluations():
    calls = []
    gradient(lambda a: calls.append(1) or float(np.sum(a)), np.ones(5), method="forward")
    assert len(calls) == 6
    calls.clear()
    gradient(lambda a: calls.append(1) or float(np.sum(a)), np.ones(5), method="central")
    assert len(calls) == 10


def test_jacobian_of_polar_coordinates():
    def to_cartesian(v):
        r, theta = v
        return np.array([r * np.cos(theta), r * np.sin(theta)])

    r, theta = 2.0, 0.5
    exact = [[np.cos(theta), -r * np.sin(theta)], [np.sin(theta), r * np.cos(theta)]]
    for method, tolerance in [("central", 1e-9), ("forward", 1e-6)]:
        jac = jacobian(to_cartesian, [r, theta], method=method)
        assert jac.shape == (2, 2)
        np.testing.assert_allclose(jac, exact, atol=tolerance)


def test_jacobian_shape_is_output_shape_then_input_shape():
    x = np.ones((2, 3))
    jac = jacobian(lambda a: a[:, 0] * 2.0, x)  # f returns a view of its input
    assert jac.shape == (2, 2, 3)
    expected = np.zeros((2, 2, 3))
    expected[0, 0, 0] = expected[1, 1, 0] = 2.0
    np.testing.assert_allclose(jac, expected, atol=1e-9)


def test_jacobian_of_scalar_function_is_the_gradient():
    x = np.array([0.3, -0.2])
    f = lambda a: np.sin(a[0]) * a[1]  # noqa: E731
    np.testing.assert_allclose(jacobian(f, x), gradient(f, x), rtol=1e-12)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(-3, 3), min_size=1, max_size=5),
    st.sampled_from(["forward", "central"]),
)
def test_gradient_of_linear_function_is_its_coefficients(coefficients, method):
    # A linear function has no truncation error: only rounding, of order
    # eps * |f| / h, which is below 1e-6 for these sizes with either step.
    c = np.array(coefficients)
    grad = gradient(lambda a: float(c @ a), np.linspace(-1, 1, len(c)), method=method)
    np.testing.assert_allclose(grad, c, atol=1e-6)


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "h, problem",
    [(0.0, "is zero"), (0, "is zero"), (-1e-3, "is negative"), (math.nan, "not finite"),
     (math.inf, "not finite")],
)
@pytest.mark.parametrize(
    "call",
    [
        lambda h: forward_difference(math.sin, 1.0, h),
        lambda h: central_difference(math.sin, 1.0, h),
        lambda h: gradient(lambda a: a.sum(), np.ones(2), h),
        lambda h: jacobian(lambda a: a, np.ones(2), h),
    ],
)
def test_bad_step_says_what_is_wrong_and_what_to_pass(call, h, problem):
    with pytest.raises(ValueError) as error:
        call(h)
    message = str(error.value)
    assert "step h must be a positive finite number" in message
    assert problem in message
    assert "h=None" in message and "such as h=1e-6" in message


def test_step_of_wrong_type():
    with pytest.raises(TypeError, match="step h must be a real number"):
        central_difference(math.sin, 1.0, h="small")


@pytest.mark.parametrize(
    "call, shape",
    [
        (lambda: forward_difference(lambda x: np.array([x, x]), 1.0), "(2,)"),
        (lambda: central_difference(lambda x: np.ones((2, 3)) * x, 1.0), "(2, 3)"),
        (lambda: gradient(lambda a: a * 2, np.ones(4)), "(4,)"),
    ],
)
def test_vector_output_where_a_scalar_is_expected(call, shape):
    with pytest.raises(ValueError) as error:
        call()
    message = str(error.value)
    assert "return a single number" in message
    assert f"shape {shape}" in message
    assert "jacobian(f, x)" in message


def test_vector_point_for_a_scalar_difference():
    with pytest.raises(ValueError, match=r"x has shape \(2,\).*use gradient\(f, x\)"):
        central_difference(np.sin, np.array([1.0, 2.0]))


def test_unknown_method():
    with pytest.raises(ValueError, match="unknown method 'backward'.*method='central'"):
        gradient(lambda a: a.sum(), np.ones(2), method="backward")


def test_non_finite_point():
    with pytest.raises(ValueError, match="x must be finite"):
        forward_difference(math.sin, math.inf)
    with pytest.raises(ValueError, match="x must be finite"):
        gradient(lambda a: a.sum(), [1.0, math.nan])


def test_output_changing_shape_in_jacobian():
    def f(a):
        return np.ones(2) if a[0] == 1.0 else np.ones(3)

    with pytest.raises(ValueError, match=r"returned shape \(2,\) at x but shape \(3,\)"):
        jacobian(f, np.ones(2))


def test_module_constants():
    assert numerical.EPS == 2.0**-52
    assert numerical.FORWARD_STEP == math.sqrt(numerical.EPS)


def test_the_quotient_divides_by_the_step_actually_taken():
    # 0.1 is not representable next to 1e8: x + h lands on a neighbouring float
    x, h = 1e8, 0.1
    taken = (x + h) - x
    assert taken != h
    line = lambda v: 2.0 * v  # noqa: E731  doubling is exact, so every quotient is too
    assert numerical.forward_difference(line, x, h) == 2.0
    assert numerical.central_difference(line, x, h) == 2.0
    assert numerical.gradient(lambda v: 2.0 * v.sum(), np.array([x]), h=h)[0] == 2.0
    assert numerical.jacobian(lambda v: 2.0 * v, np.array([x]), h=h)[0, 0] == 2.0
    assert (line(x + h) - line(x)) / h != 2.0  # dividing by h itself would be off
