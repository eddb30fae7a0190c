"""The operations: one ``Function`` subclass each, and a function to apply it.

Every ``forward`` and ``backward`` is written with NumPy. Binary operations
broadcast like NumPy, so their backward sums each gradient back to the shape
of its input (``sum_to``): an input that was stretched along an axis was used
once per position along it, and the gradients of all those uses add up.

Backward methods are written with operators, array methods that ``Tensor``
shares with NumPy arrays (``.T``, ``.reshape``, ``.sum``) and NumPy functions
that ``Tensor`` accepts (``np.cos(x)``, ``np.where``, ``np.broadcast_to``; see
``UFUNCS`` and ``FUNCTIONS`` at the end). On the ordinary path they run on
arrays at NumPy's speed; handed tensors instead, the same lines record a
graph of the gradient computation itself, which is how higher-order
derivatives can reuse them rather than needing a second copy of each.
"""

import numpy as np

from framework.autograd.tensor import Function, Tensor

# ---------------------------------------------------------------------------
# Broadcasting helpers
# ---------------------------------------------------------------------------


def sum_to(x, shape):
    """Sum ``x`` down to ``shape``: the reverse of broadcasting ``shape`` up to ``x.shape``.

    Broadcasting adds leading axes and stretches axes of length 1. Summing
    over exactly those axes undoes it. Works on arrays and on tensors.
    """
    shape = tuple(shape)
    if x.shape == shape:
        return x
    lead = len(x.shape) - len(shape)
    if lead < 0:
        raise ValueError(f"sum_to: cannot sum shape {x.shape} down to the larger shape {shape}")
    stretched = tuple(i + lead for i, n in enumerate(shape) if n == 1 and x.shape[i + lead] != 1)
    for i, n in enumerate(shape):
        if n != 1 and x.shape[i + lead] != n:
            raise ValueError(f"sum_to: shape {x.shape} was not broadcast from {shape}")
    summed = x.sum(axis=tuple(range(lead)) + stretched, keepdims=True)
    return summed.reshape(shape)


def _unbroadcast(grad, shape):
    """``sum_to`` with the common case (no broadcasting) kept cheap."""
    return grad if grad.shape == shape else sum_to(grad, shape)


# ---------------------------------------------------------------------------
# Arithmetic
# ---------------------------------------------------------------------------


class Add(Function):
    """y = a + b;  dy/da = 1, dy/db = 1."""

    def forward(self, a, b):
        self.save_for_backward(a.shape, b.shape)
        return a + b

    def backward(self, gy):
        a_shape, b_shape = self.saved
        ga = _unbroadcast(gy, a_shape) if self.needs_input_grad[0] else None
        gb = _unbroadcast(gy, b_shape) if self.needs_input_grad[1] else None
        return ga, gb


class Sub(Function):
    """y = a - b;  dy/da = 1, dy/db = -1."""

    def forward(self, a, b):
        self.save_for_backward(a.shape, b.shape)
        return a - b

    def backward(self, gy):
        a_shape, b_shape = self.saved
        ga = _unbroadcast(gy, a_shape) if self.needs_input_grad[0] else None
        gb = _unbroadcast(-gy, b_shape) if self.needs_input_grad[1] else None
        return ga, gb


class Mul(Function):
    """y = a * b;  dy/da = b, dy/db = a."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b

    def backward(self, gy):
        a, b = self.saved
        ga = _unbroadcast(gy * b, a.shape) if self.needs_input_grad[0] else None
        gb = _unbroadcast(gy * a, b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    """y = a / b;  dy/da = 1 / b, dy/db = -a / b**2."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a / b

    def backward(self, gy):
        a, b = self.saved
        ga = _unbroadcast(gy / b, a.shape) if self.needs_input_grad[0] else None
        gb = _unbroadcast(-gy * a / (b * b), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    """y = -x;  dy/dx = -1."""

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class Pow(Function):
    """y = a ** b;  dy/da = b a**(b-1), dy/db = a**b log(a).

    The derivative with respect to the exponent uses log(a), which exists
    only for a > 0; where a <= 0 it is taken to be 0.
    """

    def forward(self, a, b):
        y = a**b
        self.save_for_backward(a, b, y)
        return y

    def backward(self, gy):
        a, b, y = self.saved
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = _unbroadcast(gy * b * a ** (b - 1), a.shape)
        if self.needs_input_grad[1]:
            positive = a > 0
            log_a = np.log(np.where(positive, a, 1))
            gb = _unbroadcast(gy * np.where(positive, y * log_a, 0), b.shape)
        return ga, gb


def add(a, b):
    """a + b, broadcasting."""
    return Add()(a, b)


def sub(a, b):
    """a - b, broadcasting."""
    return Sub()(a, b)


def mul(a, b):
    """a * b elementwise, broadcasting."""
    return Mul()(a, b)


def div(a, b):
    """a / b elementwise, broadcasting."""
    return Div()(a, b)


def neg(x):
    """-x."""
    return Neg()(x)


def pow(a, b):
    """a ** b elementwise; the exponent may be a tensor too."""
    return Pow()(a, b)


# ---------------------------------------------------------------------------
# Elementwise functions
# ---------------------------------------------------------------------------


class Exp(Function):
    """y = exp(x);  dy/dx = exp(x) = y."""

    def forward(self, x):
        y = np.exp(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        ### BEGIN SOLUTION
        (y,) = self.saved
        return gy * y
        ### END SOLUTION


class Log(Function):
    """y = log(x);  dy/dx = 1 / x."""

    def forward(self, x):
        self.save_for_backward(x)
        return np.log(x)

    def backward(self, gy):
        (x,) = self.saved
        return gy / x


class Sqrt(Function):
    """y = sqrt(x);  dy/dx = 1 / (2 sqrt(x)) = 1 / (2y)."""

    def forward(self, x):
        y = np.sqrt(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved
        return gy / (2 * y)


class Sin(Function):
    """y = sin(x);  dy/dx = cos(x)."""

    def forward(self, x):
        self.save_for_backward(x)
        return np.sin(x)

    def backward(self, gy):
        (x,) = self.saved
        return gy * np.cos(x)


class Cos(Function):
    """y = cos(x);  dy/dx = -sin(x)."""

    def forward(self, x):
        self.save_for_backward(x)
        return np.cos(x)

    def backward(self, gy):
        (x,) = self.saved
        return -gy * np.sin(x)


class Tanh(Function):
    """y = tanh(x);  dy/dx = 1 - tanh(x)**2 = 1 - y**2."""

    def forward(self, x):
        y = np.tanh(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        ### BEGIN SOLUTION
        (y,) = self.saved
        return gy * (1 - y * y)
        ### END SOLUTION


def stable_sigmoid(x):
    """The logistic function of an array, and the exp(-|x|) it is computed from: ``(y, e)``.

    e = exp(-|x|) lies in (0, 1], so it never overflows. For x >= 0,
    y = 1 / (1 + e) is the usual formula; for x < 0, y = e / (1 + e) is the
    same value written with exp(x) = e. (Binary cross-entropy reuses e.)
    """
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)), e


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x));  dy/dx = y (1 - y).  Computed without overflow (``stable_sigmoid``)."""

    def forward(self, x):
        y, _ = stable_sigmoid(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved
        return gy * y * (1 - y)


class ReLU(Function):
    """y = max(x, 0);  dy/dx = 1 where x > 0, else 0."""

    def forward(self, x):
        # np.clip with both bounds runs NumPy's vectorised loop: two to three
        # times faster than np.maximum(x, 0) on float arrays of a few thousand
        # values or more (measured). Same values, NaN kept; only -0.0 stays -0.0.
        y = np.clip(x, 0, np.inf) if x.dtype.kind == "f" else np.maximum(x, 0)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved
        # The mask in gy's own type: a product of two float arrays runs NumPy's
        # vectorised loop, while float times bool converts the bools on the way
        # (about 1.2 times slower on the feature maps of Chapter 9, timed in training).
        return gy * (y > 0).astype(gy.dtype)


class Abs(Function):
    """y = |x|;  dy/dx = sign(x) (0 at x = 0)."""

    def forward(self, x):
        self.save_for_backward(x)
        return np.abs(x)

    def backward(self, gy):
        (x,) = self.saved
        return gy * np.sign(x)


class Maximum(Function):
    """y = max(a, b) elementwise; the gradient goes to the larger input, split evenly on ties."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return np.maximum(a, b)

    def backward(self, gy):
        a, b = self.saved
        share_a = ((a > b) + 0.5 * (a == b)).astype(gy.dtype)
        ga = _unbroadcast(gy * share_a, a.shape) if self.needs_input_grad[0] else None
        gb = _unbroadcast(gy * (1 - share_a), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Minimum(Function):
    """y = min(a, b) elementwise; the gradient goes to the smaller input, split evenly on ties."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return np.minimum(a, b)

    def backward(self, gy):
        a, b = self.saved
        share_a = ((a < b) + 0.5 * (a == b)).astype(gy.dtype)
        ga = _unbroadcast(gy * share_a, a.shape) if self.needs_input_grad[0] else None
        gb = _unbroadcast(gy * (1 - share_a), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Clip(Function):
    """y = min(max(x, low), high);  dy/dx = 1 where low <= x <= high, else 0."""

    def __init__(self, low, high):
        self.low, self.high = low, high

    def forward(self, x):
        self.save_for_backward(x)
        return np.clip(x, self.low, self.high)

    def backward(self, gy):
        (x,) = self.saved
        inside = np.ones(x.shape, dtype=bool)
        if self.low is not None:
            inside &= x >= self.low
        if self.high is not None:
            inside &= x <= self.high
        return gy * inside


def exp(x):
    """e ** x elementwise."""
    return Exp()(x)


def log(x):
    """Natural logarithm elementwise."""
    return Log()(x)


def sqrt(x):
    """Square root elementwise."""
    return Sqrt()(x)


def sin(x):
    """Sine elementwise."""
    return Sin()(x)


def cos(x):
    """Cosine elementwise."""
    return Cos()(x)


def tanh(x):
    """Hyperbolic tangent elementwise."""
    return Tanh()(x)


def sigmoid(x):
    """The logistic function 1 / (1 + exp(-x)) elementwise, without overflow."""
    return Sigmoid()(x)


def relu(x):
    """max(x, 0) elementwise."""
    return ReLU()(x)


def abs(x):
    """|x| elementwise."""
    return Abs()(x)


def maximum(a, b):
    """The larger of a and b elementwise, broadcasting."""
    return Maximum()(a, b)


def minimum(a, b):
    """The smaller of a and b elementwise, broadcasting."""
    return Minimum()(a, b)


def clip(x, low, high):
    """Limit x to [low, high]; either bound (not both) may be None."""
    if low is None and high is None:
        raise ValueError("clip: give a lower bound, an upper bound or both (not two None)")
    if low is not None and high is not None and low > high:
        raise ValueError(f"clip: the lower bound {low} is above the upper bound {high}")
    return Clip(low, high)(x)


# ---------------------------------------------------------------------------
# Matrix product
# ---------------------------------------------------------------------------


class MatMul(Function):
    """Y = A @ B;  dL/dA = dL/dY @ B^T,  dL/dB = A^T @ dL/dY.

    As in NumPy, a 1-D first argument is a row vector, a 1-D second
    argument a column vector, and leading (batch) axes broadcast.
    """

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("matmul needs arrays with at least one dimension; use mul for scalars")
        if a.shape[-1] != b.shape[0 if b.ndim == 1 else -2]:
            inner_b = b.shape[0 if b.ndim == 1 else -2]
            raise ValueError(
                f"the last dimension of the first argument ({a.shape[-1]}) must equal the "
                f"{'first' if b.ndim == 1 else 'second-to-last'} dimension of the second ({inner_b}); "
                "check the order of the arguments, or transpose one of them (.T)"
            )
        self.save_for_backward(a, b)
        return a @ b

    def backward(self, gy):
        a, b = self.saved
        if a.ndim == 2 and b.ndim == 2:  # the common case, kept short
            ga = gy @ b.T if self.needs_input_grad[0] else None
            gb = a.T @ gy if self.needs_input_grad[1] else None
            return ga, gb
        # Make vectors into matrices (and gy to match), then reduce batch axes.
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        g2 = gy.reshape(gy.shape[:-1] + (1,) + gy.shape[-1:]) if a.ndim == 1 else gy
        g2 = g2.reshape(g2.shape + (1,)) if b.ndim == 1 else g2
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = sum_to(g2 @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            gb = sum_to(np.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(b.shape)
        return ga, gb


def matmul(a, b):
    """Matrix product a @ b (vectors and batches as in NumPy)."""
    return MatMul()(a, b)


# ---------------------------------------------------------------------------
# Reductions
# ---------------------------------------------------------------------------


def _normalize_axis(axis, ndim):
    """axis as a sorted tuple of non-negative axes (all axes for None)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    result = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(
                f"axis {a} is out of range for a tensor with {ndim} dimensions "
                f"(axes run from {-ndim} to {ndim - 1})"
            )
        result.append(a + ndim if a < 0 else a)
    if len(set(result)) != len(result):
        raise ValueError(f"axis {axis} names an axis twice")
    return tuple(sorted(result))


def _keepdims_shape(shape, axes):
    """The shape a reduction over ``axes`` has with keepdims=True."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    """y = sum of x over axes;  each x_i contributes once, so dy/dx_i = 1."""

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.axes = _normalize_axis(self.axis, x.ndim)
        self.save_for_backward(x.shape)
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        (shape,) = self.saved
        gy = gy.reshape(_keepdims_shape(shape, self.axes))
        return np.broadcast_to(gy, shape)


class Mean(Function):
    """y = mean of x over axes;  dy/dx_i = 1 / n, n the number of values averaged.

    The mean of no values (n = 0) is nan, as 0 / 0 is.
    """

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.axes = _normalize_axis(self.axis, x.ndim)
        self.save_for_backward(x.shape)
        if all(x.shape[i] for i in self.axes):
            return x.mean(axis=self.axes, keepdims=self.keepdims)
        return x.sum(axis=self.axes, keepdims=self.keepdims) / 0  # 0 / 0, without NumPy's warning

    def backward(self, gy):
        (shape,) = self.saved
        count = int(np.prod([shape[i] for i in self.axes]))
        gy = gy.reshape(_keepdims_shape(shape, self.axes)) / count
        return np.broadcast_to(gy, shape)


class _Extreme(Function):
    """Shared code of Max and Min: the gradient goes to the extreme values.

    When several values tie for the extreme, the gradient is split evenly
    between them (a subgradient; the derivative does not exist there).
    """

    reduce = None

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        if x.size == 0:
            raise ValueError("the tensor is empty, so it has no extreme value")
        self.axes = _normalize_axis(self.axis, x.ndim)
        y = self.reduce(x, axis=self.axes, keepdims=True)
        self.save_for_backward(x, y)
        return y if self.keepdims else y.reshape([n for i, n in enumerate(x.shape) if i not in self.axes])

    def backward(self, gy):
        x, y = self.saved
        hits = (x == y).astype(gy.dtype)
        share = hits / hits.sum(axis=self.axes, keepdims=True)
        return gy.reshape(y.shape) * share


class Max(_Extreme):
    """y = max of x over axes; the gradient flows to the arg-max."""

    reduce = staticmethod(np.max)


class Min(_Extreme):
    """y = min of x over axes; the gradient flows to the arg-min."""

    reduce = staticmethod(np.min)


def sum(x, axis=None, keepdims=False):
    """Sum over ``axis`` (all axes by default)."""
    return Sum(axis, keepdims)(x)


def mean(x, axis=None, keepdims=False):
    """Mean over ``axis`` (all axes by default)."""
    return Mean(axis, keepdims)(x)


def max(x, axis=None, keepdims=False):
    """Maximum over ``axis`` (all axes by default)."""
    return Max(axis, keepdims)(x)


def min(x, axis=None, keepdims=False):
    """Minimum over ``axis`` (all axes by default)."""
    return Min(axis, keepdims)(x)


# ---------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------


class Reshape(Function):
    """Same values, new shape; the gradient is reshaped back."""

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.save_for_backward(x.shape)
        return x.reshape(self.shape)

    def backward(self, gy):
        (shape,) = self.saved
        return gy.reshape(shape)


class Transpose(Function):
    """Permute the axes (reverse them by default); the gradient is permuted back."""

    def __init__(self, axes=None):
        self.axes = axes

    def forward(self, x):
        if self.axes is None:
            return x.transpose()
        axes = [a + x.ndim if a < 0 else a for a in self.axes]
        if sorted(axes) != list(range(x.ndim)):
            raise ValueError(
                f"axes {tuple(self.axes)} are not a permutation of the {x.ndim} axes; "
                f"name each of 0 to {x.ndim - 1} once"
            )
        self.inverse = tuple(int(i) for i in np.argsort(axes))
        return x.transpose(axes)

    def backward(self, gy):
        if self.axes is None:
            return gy.transpose()
        return gy.transpose(self.inverse)


class BroadcastTo(Function):
    """Stretch x to ``shape`` as broadcasting does; backward sums back (``sum_to``)."""

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        self.save_for_backward(x.shape)
        return np.broadcast_to(x, self.shape)

    def backward(self, gy):
        (shape,) = self.saved
        return sum_to(gy, shape)


class GetItem(Function):
    """y = x[index]; backward scatters the gradient back into x's shape (``ScatterAdd``)."""

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        self.save_for_backward(x.shape, x.dtype)
        return x[self.index]

    def backward(self, gy):
        shape, dtype = self.saved
        if isinstance(gy, Tensor):  # a recorded backward: the scatter as an operation
            return ScatterAdd(self.index, shape)(gy)
        return scatter_add(gy, self.index, shape, dtype)


def scatter_add(values, index, shape, dtype):
    """An array of zeros of ``shape`` with ``values`` added at ``index``.

    ``np.add.at`` adds rather than assigns, so a position named several
    times (``x[[0, 0]]``) receives the sum of its values.
    """
    result = np.zeros(shape, dtype=dtype)
    np.add.at(result, index, values)
    return result


class ScatterAdd(Function):
    """y = zeros(shape) with g added at ``index``: the backward of ``GetItem`` as an operation.

    It is linear in g, and its own derivative picks the positions back:
    dL/dg = (dL/dy)[index], a ``GetItem``. The two are each other's
    backward, so indexing can be differentiated to any order.
    """

    def __init__(self, index, shape):
        self.index, self.shape = index, shape

    def forward(self, g):
        return scatter_add(g, self.index, self.shape, g.dtype)

    def backward(self, gy):
        return gy[self.index]


class Concatenate(Function):
    """Join tensors along an existing axis; backward cuts the gradient into pieces."""

    def __init__(self, axis=0):
        self.axis = axis

    def forward(self, *xs):
        y = np.concatenate(xs, axis=self.axis)
        axis = self.axis % y.ndim
        self.save_for_backward(axis, [x.shape[axis] for x in xs])
        return y

    def backward(self, gy):
        ### BEGIN SOLUTION
        axis, sizes = self.saved
        grads, start = [], 0
        for size in sizes:
            grads.append(gy[(slice(None),) * axis + (slice(start, start + size),)])
            start += size
        return tuple(grads)
        ### END SOLUTION


class Stack(Function):
    """Join same-shaped tensors along a new axis; backward takes each slice."""

    def __init__(self, axis=0):
        self.axis = axis

    def forward(self, *xs):
        y = np.stack(xs, axis=self.axis)
        self.save_for_backward(self.axis % y.ndim)
        return y

    def backward(self, gy):
        (axis,) = self.saved
        return tuple(gy[(slice(None),) * axis + (i,)] for i in range(gy.shape[axis]))


class Where(Function):
    """y = a where condition else b; the gradient goes to whichever was chosen."""

    def __init__(self, condition):
        self.condition = np.asarray(condition, dtype=bool)

    def forward(self, a, b):
        self.save_for_backward(a.shape, b.shape)
        return np.where(self.condition, a, b)

    def backward(self, gy):
        ### BEGIN SOLUTION
        a_shape, b_shape = self.saved
        ga = _unbroadcast(gy * self.condition, a_shape) if self.needs_input_grad[0] else None
        gb = _unbroadcast(gy * ~self.condition, b_shape) if self.needs_input_grad[1] else None
        return ga, gb
        ### END SOLUTION


def reshape(x, shape):
    """The same values in a new shape (one dimension may be -1)."""
    return Reshape(shape)(x)


def transpose(x, axes=None):
    """Permute the axes; by default reverse them (``x.T``)."""
    return Transpose(axes)(x)


def swapaxes(x, axis1, axis2):
    """x with two axes exchanged (``np.swapaxes``): a transpose that moves only those two."""
    axes = list(range(x.ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(x, tuple(axes))


def broadcast_to(x, shape):
    """Stretch x to ``shape`` following NumPy's broadcasting rules."""
    return BroadcastTo(shape)(x)


def getitem(x, index):
    """x[index]: integers, slices, boolean masks and integer arrays."""
    return GetItem(_plain_index(index))(x)


def _plain_index(index):
    """An index with tensors in it replaced by arrays of integers.

    Tensors hold floats by default, so ``tensor([0, 2])`` becomes the
    integers ``[0, 2]``. A boolean mask is a NumPy array, which is what
    comparisons of tensors give: ``x[x > 0]``.
    """
    if isinstance(index, tuple):
        return tuple(_plain_index(i) for i in index)
    if not isinstance(index, Tensor):
        return index
    values = index.data
    if values.dtype.kind == "f":
        if not np.all(values == np.round(values)):
            raise IndexError(f"getitem: a tensor used as an index must hold whole numbers, got {values}")
        values = values.astype(np.intp)
    return values


def concatenate(tensors, axis=0):
    """Join a sequence of tensors along an existing axis."""
    return Concatenate(axis)(*tensors)


def stack(tensors, axis=0):
    """Join a sequence of same-shaped tensors along a new axis."""
    return Stack(axis)(*tensors)


def where(condition, a, b):
    """Choose elementwise: a where condition is true, else b."""
    if isinstance(condition, Tensor):
        condition = condition.data
    return Where(condition)(a, b)


# NumPy ufuncs that act on tensors through ``Tensor.__array_ufunc__``.
UFUNCS = {
    np.add: add,
    np.subtract: sub,
    np.multiply: mul,
    np.divide: div,
    np.negative: neg,
    np.power: pow,
    np.exp: exp,
    np.log: log,
    np.sqrt: sqrt,
    np.sin: sin,
    np.cos: cos,
    np.tanh: tanh,
    np.absolute: abs,
    np.maximum: maximum,
    np.minimum: minimum,
    np.matmul: matmul,
}

# Ufuncs whose derivative is zero wherever it exists: on tensors they act on
# the values and return plain arrays (masks, signs), which are constants.
CONSTANT_UFUNCS = {
    np.equal,
    np.not_equal,
    np.less,
    np.less_equal,
    np.greater,
    np.greater_equal,
    np.sign,
    np.isfinite,
    np.isnan,
    np.isinf,
    np.floor,
    np.ceil,
}

# Other NumPy functions that act on tensors through ``Tensor.__array_function__``.
FUNCTIONS = {
    np.where: where,
    np.broadcast_to: broadcast_to,
    np.sum: sum,
    np.mean: mean,
    np.max: max,
    np.amax: max,
    np.min: min,
    np.amin: min,
    np.clip: clip,
    np.reshape: reshape,
    np.transpose: transpose,
    np.swapaxes: swapaxes,
    np.concatenate: concatenate,
    np.stack: stack,
}
