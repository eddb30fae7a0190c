"""Every operation: forward against NumPy, backward against the gradient check.

Property tests over random shapes (broadcasting included) in float64. Inputs
are kept away from the points where an operation has no derivative (relu
and abs at 0, ties of max and min, the bounds of clip) and inside the
domains of log, sqrt, division and powers, so that the central difference
is a fair witness; what happens *at* those points is tested with known
values below.
"""

import builtins
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from framework.autograd import (
    abs,
    add,
    broadcast_to,
    clip,
    concatenate,
    cos,
    div,
    exp,
    log,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    neg,
    pow,
    relu,
    reshape,
    sigmoid,
    sin,
    sqrt,
    stack,
    sub,
    sum,
    sum_to,
    tanh,
    tensor,
    transpose,
    where,
)
from framework.autograd.gradcheck import gradcheck

TOLERANCE = 1e-6
property_test = settings(max_examples=50)

# ---------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------

SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)


def values(low=-2.0, high=2.0):
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def away_from_zero(low=0.1, high=2.0):
    return st.one_of(values(low, high), values(-high, -low))


def arrays(shape, elements=None):
    return hnp.arrays(np.float64, shape, elements=elements if elements is not None else values())


@st.composite
def broadcast_pair(draw, a_elements=None, b_elements=None):
    """Two arrays whose shapes broadcast together."""
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
    a_shape, b_shape = shapes.input_shapes
    return draw(arrays(a_shape, a_elements)), draw(arrays(b_shape, b_elements))


@st.composite
def distinct_values(draw, shape):
    """An array of shape ``shape`` whose values are 0.3 apart: no ties, no near-ties."""
    size = int(np.prod(shape))
    order = draw(st.permutations(list(range(size))))
    return (np.array(order, dtype=np.float64) * 0.3 - 0.15 * size).reshape(shape)


@st.composite
def array_and_axis(draw, distinct=False):
    """An array and an axis argument for it: None, an int or a tuple of ints."""
    shape = draw(SHAPES)
    x = draw(distinct_values(shape)) if distinct else draw(arrays(shape))
    ndim = len(shape)
    choices = [st.none(), st.lists(st.integers(-ndim, ndim - 1), unique_by=lambda a: a % ndim, max_size=ndim).map(tuple)]
    if ndim:
        choices.append(st.integers(-ndim, ndim - 1))
    else:
        choices[1] = st.just(())
    axis = draw(st.one_of(*choices))
    return x, axis


def assert_gradients_check(f, *arrays_):
    """gradcheck of f at the arrays (every one requires grad) in float64."""
    inputs = [tensor(a, requires_grad=True) for a in arrays_]
    error = gradcheck(f, *inputs)
    assert error < TOLERANCE


def assert_forward(f, numpy_f, *arrays_):
    result = f(*[tensor(a) for a in arrays_])
    expected = numpy_f(*arrays_)
    assert result.shape == np.shape(expected)
    np.testing.assert_allclose(result.data, expected, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------
# Binary arithmetic with broadcasting
# ---------------------------------------------------------------------------

BINARY = [
    (add, np.add, None, None),
    (sub, np.subtract, None, None),
    (mul, np.multiply, None, None),
    (div, np.divide, None, away_from_zero(0.5, 2.0)),
    (pow, np.power, values(0.5, 2.0), values(-2.0, 2.0)),
    (maximum, np.maximum, st.integers(-4, 4).map(lambda i: 0.5 * i + 0.1), st.integers(-4, 4).map(lambda i: 0.5 * i + 0.35)),
    (minimum, np.minimum, st.integers(-4, 4).map(lambda i: 0.5 * i + 0.1), st.integers(-4, 4).map(lambda i: 0.5 * i + 0.35)),
]


@pytest.mark.parametrize("op, numpy_op, a_elements, b_elements", BINARY, ids=[b[0].__name__ for b in BINARY])
@property_test
@given(data=st.data())
def test_binary_operations(op, numpy_op, a_elements, b_elements, data):
    a, b = data.draw(broadcast_pair(a_elements, b_elements))
    assert_forward(op, numpy_op, a, b)
    assert_gradients_check(op, a, b)


@property_test
@given(x=SHAPES.flatmap(arrays))
def test_neg(x):
    assert_forward(neg, np.negative, x)
    assert_gradients_check(neg, x)


@property_test
@given(x=SHAPES.flatmap(arrays), exponent=st.sampled_from([2, 3, -1, 0.5, 1.5]))
def test_pow_with_a_constant_exponent(x, exponent):
    if exponent != int(exponent) or exponent < 0:
        x = np.abs(x) + 0.5  # fractional and negative powers need a positive base
    assert_forward(lambda t: t**exponent, lambda v: v**exponent, x)
    assert_gradients_check(lambda t: t**exponent, x)


@property_test
@given(x=SHAPES.flatmap(arrays))
def test_constant_base_to_a_tensor_power(x):
    assert_forward(lambda t: 2.5**t, lambda v: 2.5**v, x)
    assert_gradients_check(lambda t: 2.5**t, x)


# ---------------------------------------------------------------------------
# Elementwise functions
# ---------------------------------------------------------------------------

UNARY = [
    (exp, np.exp, values(-2.0, 2.0)),
    (log, np.log, values(0.2, 3.0)),
    (sqrt, np.sqrt, values(0.2, 3.0)),
    (sin, np.sin, values(-3.0, 3.0)),
    (cos, np.cos, values(-3.0, 3.0)),
    (tanh, np.tanh, values(-3.0, 3.0)),
    (sigmoid, lambda v: 1 / (1 + np.exp(-v)), values(-5.0, 5.0)),
    (relu, lambda v: np.maximum(v, 0), away_from_zero()),
    (abs, np.abs, away_from_zero()),
]


@pytest.mark.exercise("2.1")
@pytest.mark.exercise("4.1")
@pytest.mark.parametrize("op, numpy_op, elements", UNARY, ids=[u[0].__name__ for u in UNARY])
@property_test
@given(data=st.data())
def test_elementwise_functions(op, numpy_op, elements, data):
    x = data.draw(SHAPES.flatmap(lambda shape: arrays(shape, elements)))
    assert_forward(op, numpy_op, x)
    assert_gradients_check(op, x)


AWAY_FROM_THE_BOUNDS = values(-2.0, 2.0).filter(lambda v: builtins.abs(builtins.abs(v) - 0.5) > 0.05)


@property_test
@given(x=SHAPES.flatmap(lambda shape: arrays(shape, AWAY_FROM_THE_BOUNDS)))
def test_clip(x):
    assert_forward(lambda t: clip(t, -0.5, 0.5), lambda v: np.clip(v, -0.5, 0.5), x)
    assert_gradients_check(lambda t: clip(t, -0.5, 0.5), x)
    assert_gradients_check(lambda t: clip(t, None, 0.5), x)
    assert_gradients_check(lambda t: clip(t, -0.5, None), x)


def test_sigmoid_of_huge_values_is_exact_and_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = sigmoid(tensor([-1000.0, -30.0, 0.0, 30.0, 1000.0]))
    np.testing.assert_allclose(y.data, [0.0, 1 / (1 + np.exp(30.0)), 0.5, 1 / (1 + np.exp(-30.0)), 1.0], rtol=1e-15)


# ---------------------------------------------------------------------------
# Matrix product
# ---------------------------------------------------------------------------


@st.composite
def matmul_pair(draw):
    """Matrices, vectors and broadcasting batches of matrices, with matching inner sizes."""
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    batches = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=3))
    a_batch, b_batch = batches.input_shapes
    a_shape = (k,) if draw(st.booleans()) else a_batch + (n, k)
    b_shape = (k,) if draw(st.booleans()) else b_batch + (k, m)
    return draw(arrays(a_shape)), draw(arrays(b_shape))


@property_test
@given(pair=matmul_pair())
def test_matmul(pair):
    a, b = pair
    assert_forward(matmul, np.matmul, a, b)
    assert_gradients_check(matmul, a, b)


# ---------------------------------------------------------------------------
# Reductions
# ---------------------------------------------------------------------------

REDUCTIONS = [(sum, np.sum, False), (mean, np.mean, False), (max, np.max, True), (min, np.min, True)]


@pytest.mark.parametrize("op, numpy_op, distinct", REDUCTIONS, ids=["sum", "mean", "max", "min"])
@property_test
@given(data=st.data(), keepdims=st.booleans())
def test_reductions(op, numpy_op, distinct, data, keepdims):
    x, axis = data.draw(array_and_axis(distinct=distinct))
    assert_forward(lambda t: op(t, axis=axis, keepdims=keepdims), lambda v: numpy_op(v, axis=axis, keepdims=keepdims), x)
    assert_gradients_check(lambda t: op(t, axis=axis, keepdims=keepdims), x)


def test_max_and_min_split_the_gradient_between_ties():
    x = tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad.data, [[0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    y = tensor([5.0, 1.0, 1.0], requires_grad=True)
    y.min().backward()
    np.testing.assert_array_equal(y.grad.data, [0.0, 0.5, 0.5])


def test_maximum_and_minimum_split_ties_evenly():
    a, b = tensor([1.0, 2.0], requires_grad=True), tensor([1.0, 1.0], requires_grad=True)
    (maximum(a, b) + minimum(a, b) * 10).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [5.5, 1.0])
    np.testing.assert_array_equal(b.grad.data, [5.5, 10.0])


def test_derivatives_at_the_kinks():
    x = tensor([0.0, -0.5, 0.5, 1.0], requires_grad=True)
    (relu(x) + abs(x) + clip(x, -0.5, 0.5)).sum().backward()
    # relu'(0) = 0, abs'(0) = 0, clip passes the gradient at its bounds
    np.testing.assert_array_equal(x.grad.data, [1.0, -1.0 + 1.0, 1.0 + 1.0 + 1.0, 2.0])


# ---------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------


@st.composite
def array_and_new_shape(draw):
    shape = draw(SHAPES)
    size = int(np.prod(shape))
    candidates = [shape[::-1], (size,), (-1,), (1, size), shape + (1,), (1,) + shape]
    if size % 2 == 0:
        candidates.append((2, -1))
    return draw(arrays(shape)), draw(st.sampled_from(candidates))


@property_test
@given(case=array_and_new_shape())
def test_reshape(case):
    x, new_shape = case
    assert_forward(lambda t: reshape(t, new_shape), lambda v: v.reshape(new_shape), x)
    assert_gradients_check(lambda t: t.reshape(new_shape), x)


@property_test
@given(data=st.data())
def test_transpose(data):
    x = data.draw(SHAPES.flatmap(arrays))
    axes = data.draw(st.none() | st.permutations(list(range(x.ndim))).map(tuple))
    negative = data.draw(st.booleans())
    if axes is not None and negative:
        axes = tuple(a - x.ndim for a in axes)
    assert_forward(lambda t: transpose(t, axes), lambda v: np.transpose(v, axes), x)
    assert_gradients_check(lambda t: transpose(t, axes), x)
    assert_gradients_check(lambda t: t.T, x)


@property_test
@given(data=st.data())
def test_broadcast_to_and_sum_to(data):
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
    small, big = shapes.input_shapes[0], shapes.result_shape
    x = data.draw(arrays(small))
    assert_forward(lambda t: broadcast_to(t, big), lambda v: np.broadcast_to(v, big), x)
    assert_gradients_check(lambda t: broadcast_to(t, big), x)
    y = data.draw(arrays(big))
    assert_forward(lambda t: sum_to(t, small), lambda v: numpy_sum_to(v, small), y)
    assert_gradients_check(lambda t: sum_to(t, small), y)


def numpy_sum_to(v, shape):
    """Sum the leading axes away, then the stretched ones (keeping them as 1)."""
    v = v.sum(axis=tuple(range(v.ndim - len(shape))))
    return v.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True)


@st.composite
def array_and_index(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    x = draw(arrays(shape))
    kind = draw(st.sampled_from(["basic", "integers", "mask"]))
    if kind == "basic":
        index = draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    elif kind == "integers":
        index = draw(hnp.integer_array_indices(shape, result_shape=hnp.array_shapes(min_dims=1, max_dims=2, max_side=4)))
    else:
        index = draw(hnp.arrays(np.bool_, shape))
    return x, index


@property_test
@given(case=array_and_index())
def test_indexing_scatters_and_accumulates(case):
    x, index = case
    assert_forward(lambda t: t[index], lambda v: v[index], x)
    assert_gradients_check(lambda t: t[index], x)


def test_repeated_indices_accumulate():
    x = tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 0.0, 1.0])
    y = tensor([1.0, 2.0, 3.0], requires_grad=True)
    y[tensor([1, 1])].sum().backward()  # a float tensor of whole numbers works as an index
    np.testing.assert_array_equal(y.grad.data, [0.0, 2.0, 0.0])


@st.composite
def pieces_to_concatenate(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    count = draw(st.integers(1, 3))
    pieces = []
    for _ in range(count):
        piece_shape = list(shape)
        piece_shape[axis] = draw(st.integers(1, 3))
        pieces.append(draw(arrays(tuple(piece_shape))))
    return pieces, axis


@pytest.mark.exercise("5.1")
@property_test
@given(case=pieces_to_concatenate())
def test_concatenate(case):
    pieces, axis = case
    assert_forward(lambda *ts: concatenate(ts, axis=axis), lambda *vs: np.concatenate(vs, axis=axis), *pieces)
    assert_gradients_check(lambda *ts: concatenate(ts, axis=axis), *pieces)


@property_test
@given(data=st.data())
def test_stack(data):
    shape = data.draw(SHAPES)
    count = data.draw(st.integers(1, 3))
    pieces = [data.draw(arrays(shape)) for _ in range(count)]
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    assert_forward(lambda *ts: stack(ts, axis=axis), lambda *vs: np.stack(vs, axis=axis), *pieces)
    assert_gradients_check(lambda *ts: stack(ts, axis=axis), *pieces)


@pytest.mark.exercise("5.2")
@property_test
@given(data=st.data())
def test_where(data):
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3))
    condition_shape, a_shape, b_shape = shapes.input_shapes
    condition = data.draw(hnp.arrays(np.bool_, condition_shape))
    a, b = data.draw(arrays(a_shape)), data.draw(arrays(b_shape))
    assert_forward(lambda ta, tb: where(condition, ta, tb), lambda va, vb: np.where(condition, va, vb), a, b)
    assert_gradients_check(lambda ta, tb: where(condition, ta, tb), a, b)


# ---------------------------------------------------------------------------
# Composite expressions and dtypes
# ---------------------------------------------------------------------------


@pytest.mark.exercise("4.1")
@property_test
@given(pair=broadcast_pair(values(0.5, 2.0), values(-2.0, 2.0)))
def test_a_composite_expression(pair):
    a, b = pair

    assert_gradients_check(lambda a, b: tanh(a * b) + exp(-b) / a - sqrt(a) * sin(b) * a**b, a, b)


FLOAT32_CASES = [
    lambda x: x * 2 + 1,
    lambda x: x / 3 - x**2,
    lambda x: exp(x) + log(x) + sqrt(x) + sin(x) + cos(x) + tanh(x) + sigmoid(x) + relu(x) + abs(x),
    lambda x: maximum(x, 0.5) + minimum(x, 0.5) + clip(x, 0.2, 0.8),
    lambda x: x.sum(axis=0) + x.mean() + x.max(axis=1)[0] + x.min(),
    lambda x: x @ x.T,
    lambda x: x.reshape(-1)[[0, 0, 1]].sum() + x.T[1].sum(),
    lambda x: concatenate([x, x], axis=1).sum() + stack([x, x]).sum() + where(x.data > 0.5, x, 0.0).sum(),
    lambda x: broadcast_to(x, (2, 2, 2)).sum() + sum_to(x, (1, 2)).sum(),
]


@pytest.mark.exercise("2.1")
@pytest.mark.exercise("5.1")
@pytest.mark.parametrize("f", FLOAT32_CASES)
def test_float32_stays_float32(f):
    x = tensor([[0.25, 0.5], [0.75, 1.0]], dtype=np.float32, requires_grad=True)
    y = f(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
