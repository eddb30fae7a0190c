"""The operations of neural networks as functions: layers, activations, losses.

The layers in ``framework.nn`` are thin modules around these functions. The
heavy ones are single ``Function`` subclasses with a hand-written backward
rather than compositions of the basic operations of Chapter 5:

- a fused function records one node in the graph instead of several, so
  the backward pass visits fewer nodes and allocates fewer arrays;
- the derivative of a fused function often simplifies: the gradient of
  cross-entropy with respect to the logits is just ``softmax - one_hot``;
- it can be numerically stable where the composition is not (log-sum-exp).

Every formula is written in the docstring; the gradient check in the tests
confirms each backward against finite differences.
"""

import numpy as np

from framework.autograd import ops
from framework.autograd.tensor import Function, Tensor

REDUCTIONS = ("mean", "sum", "none")

# ---------------------------------------------------------------------------
# Linear layer
# ---------------------------------------------------------------------------


class LinearFunction(Function):
    r"""y = x W^T + b for a batch of rows x, one fused operation.

    Shapes: x is (..., in), W is (out, in) as in PyTorch, b is (out,), y is
    (..., out). With the gradient G = dL/dy:

    $$\frac{\partial L}{\partial x} = G W, \qquad
      \frac{\partial L}{\partial W} = G^T x, \qquad
      \frac{\partial L}{\partial b} = \textstyle\sum_{\text{rows}} G.$$

    ``W.T`` is a view: NumPy hands the transposed layout to the matrix
    product routine without copying, so the transpose costs no copy.

    ``nn.Linear`` stores W column by column (Fortran order), so that
    ``W.T`` is stored row by row, like x. The weight gradient is then
    computed as (x^T G)^T, which comes out column by column too, and the
    optimizer updates W with a gradient of the same layout. On the MLPs of
    Chapter 8 an epoch takes a few percent less time than with W stored
    row by row (the row "W row by row" of ``python -m
    benchmarks.mnist_epoch``). Mathematically nothing changes, but a matrix
    product may add its terms in another order, which changes the last
    bits of some results. A weight stored row by row gets its gradient row
    by row.
    """

    def forward(self, x, weight, *bias):
        if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
            raise ValueError(
                f"the input has {x.shape[-1] if x.ndim else 0} features in its last axis "
                f"(shape {x.shape}), but the weight {weight.shape} expects {weight.shape[1]}"
            )
        y = x @ weight.T
        if bias:
            y += bias[0]
        self.save_for_backward(x, weight)
        return y

    def backward(self, gy):
        x, weight = self.saved
        needs = self.needs_input_grad
        gx = gy @ weight if needs[0] else None
        if x.ndim != 2:  # fold batch axes into the rows
            x = x.reshape(-1, x.shape[-1])
            gy = gy.reshape(-1, gy.shape[-1])
        if not needs[1]:
            gw = None
        elif _column_major(weight):  # (x^T G)^T = G^T x, computed so that it comes out in the weight's layout
            gw = (x.T @ gy).T
        else:
            gw = gy.T @ x
        if len(needs) == 2:
            return gx, gw
        gb = gy.sum(axis=0) if needs[2] else None
        return gx, gw, gb


def _column_major(array):
    """True for a NumPy array stored column by column only (Fortran order, not also row order)."""
    return isinstance(array, np.ndarray) and array.flags.f_contiguous and not array.flags.c_contiguous


def check_dtype(owner, value, parameter, what="input", holder="the weight"):
    """A TypeError naming ``owner`` if ``value`` (a tensor or an array) and ``parameter`` differ in dtype.

    Layers refuse to mix float32 and float64: NumPy would silently compute
    in float64 (slowly) and hand float64 gradients to float32 parameters.
    Values without a dtype (numbers, lists) are left to the operation.
    """
    dtype = value.dtype if isinstance(value, (Tensor, np.ndarray)) else None
    expected = parameter.dtype
    if dtype is not None and dtype != expected:
        raise TypeError(
            f"{owner}: the {what} has dtype {dtype} but {holder} has dtype {expected}; convert the "
            f"{what} (e.g. tensor(x, dtype=np.{expected})) or the layer (layer.to(np.{dtype}))"
        )


def linear(x, weight, bias=None):
    """x @ weight.T + bias, with weight of shape (out_features, in_features).

    The input and the weight must have the same dtype (``check_dtype``).
    """
    check_dtype("linear", x, weight)
    if bias is None:
        return LinearFunction()(x, weight)
    return LinearFunction()(x, weight, bias)


# ---------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------


relu = ops.relu  # max(x, 0) elementwise, the operation of Chapter 4 (the same function, not a wrapper)


def sigmoid(x):
    """1 / (1 + exp(-x)) elementwise, without overflow."""
    return ops.sigmoid(x)


def tanh(x):
    """Hyperbolic tangent elementwise."""
    return ops.tanh(x)


class LeakyReLUFunction(Function):
    """y = x where x > 0, else a x (a small slope, 0.01 by default).

    dy/dx = 1 where x > 0, else a. Unlike ReLU, the gradient never vanishes
    completely, so a neuron whose inputs are all negative can still learn.
    """

    def __init__(self, negative_slope=0.01):
        self.negative_slope = negative_slope

    def forward(self, x):
        ### BEGIN SOLUTION
        positive = x > 0
        self.save_for_backward(positive)
        return np.where(positive, x, x * self.negative_slope)
        ### END SOLUTION

    def backward(self, gy):
        ### BEGIN SOLUTION
        (positive,) = self.saved
        return np.where(positive, gy, gy * self.negative_slope)
        ### END SOLUTION


def leaky_relu(x, negative_slope=0.01):
    """x where x > 0, else negative_slope * x, elementwise."""
    return LeakyReLUFunction(negative_slope)(x)


def shifted_exp(x, axis):
    """The stable core of softmax and log-sum-exp along ``axis``: ``(shifted, e, total)``.

    shifted = x - m with m = max_j x_j, e = exp(shifted) and total = sum_j e_j
    (axis kept). No exp overflows (every exponent is <= 0) and total >= 1,
    so its log is finite. From these pieces:

        log sum_j exp(x_j) = m + log(total),
        softmax(x) = e / total,    log softmax(x) = shifted - log(total).
    """
    shifted = x - x.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    return shifted, e, e.sum(axis=axis, keepdims=True)


class SoftmaxFunction(Function):
    """y_i = exp(x_i) / sum_j exp(x_j) along one axis.

    Computed as exp(x_i - m) / sum_j exp(x_j - m) with m = max_j x_j: the
    same value (the factor exp(-m) cancels), but no exp overflows.
    Backward, with g = dL/dy:  dL/dx_i = y_i (g_i - sum_j g_j y_j).
    """

    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, x):
        _, e, total = shifted_exp(x, self.axis)
        y = e / total
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved
        return y * (gy - (gy * y).sum(axis=self.axis, keepdims=True))


class LogSoftmaxFunction(Function):
    """y_i = x_i - log sum_j exp(x_j) along one axis (log-sum-exp, stable).

    log sum_j exp(x_j) = m + log sum_j exp(x_j - m) with m = max_j x_j.
    Backward:  dL/dx_i = g_i - softmax(x)_i sum_j g_j, and softmax = exp(y).
    """

    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, x):
        shifted, _, total = shifted_exp(x, self.axis)
        y = shifted - np.log(total)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved
        return gy - np.exp(y) * gy.sum(axis=self.axis, keepdims=True)


def softmax(x, axis=-1):
    """Probabilities along ``axis``: positive, summing to 1."""
    return SoftmaxFunction(axis)(x)


def log_softmax(x, axis=-1):
    """log(softmax(x)) along ``axis``, computed without overflow or log(0)."""
    return LogSoftmaxFunction(axis)(x)


def flatten(x, start_axis=1, end_axis=-1):
    """Merge axes start_axis..end_axis into one: (N, 28, 28) -> (N, 784)."""
    shape = x.shape
    for axis in (start_axis, end_axis):
        if not -len(shape) <= axis < len(shape):
            raise ValueError(
                f"flatten: axis {axis} is out of range for shape {shape} "
                f"(axes run from {-len(shape)} to {len(shape) - 1})"
            )
    start = start_axis % len(shape)
    end = end_axis % len(shape)
    if start > end:
        raise ValueError(
            f"flatten: start_axis {start_axis} comes after end_axis {end_axis} for shape {shape}"
        )
    merged = int(np.prod(shape[start : end + 1]))
    return ops.reshape(x, shape[:start] + (merged,) + shape[end + 1 :])


# ---------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------


def _check_reduction(reduction, loss_name):
    if reduction not in REDUCTIONS:
        raise ValueError(f"{loss_name}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _reduce(losses, reduction):
    """The mean, the sum, or all of the per-element losses."""
    if reduction == "mean":
        return losses.sum() / losses.size  # as losses.mean(), with less overhead
    if reduction == "sum":
        return losses.sum()
    return losses


def _reduction_scale(gy, count, reduction):
    """dL/d(loss_i): gy / count for the mean, gy for the sum and for none."""
    return gy / count if reduction == "mean" else gy


def _target_array(target, like, loss_name):
    """A target that needs no gradient as an array of the predictions' dtype."""
    values = target.data if isinstance(target, Tensor) else np.asarray(target)
    if values.dtype.kind not in "fiub":
        raise TypeError(f"{loss_name}: targets must be numbers, got dtype {values.dtype}")
    return values.astype(like.dtype, copy=False)


def _check_same_shape(prediction_shape, target_shape, loss_name):
    if prediction_shape == target_shape:
        return
    batch = ""
    if prediction_shape[:1] != target_shape[:1]:
        batch = (
            f" The batch sizes disagree: {prediction_shape[0] if prediction_shape else 1} "
            f"predictions but {target_shape[0] if target_shape else 1} targets."
        )
    raise ValueError(
        f"{loss_name}: the predictions have shape {prediction_shape} but the targets have shape "
        f"{target_shape}; they must be equal.{batch} (A column (N, 1) against a vector (N,) would "
        "broadcast to (N, N) and give a wrong loss: reshape one of them.)"
    )


class MSEFunction(Function):
    """Mean squared error: L = mean_i (a_i - b_i)^2 (or the sum, or each term).

    dL/da_i = 2 (a_i - b_i) / n for the mean, and dL/db_i = -dL/da_i.
    """

    def __init__(self, reduction="mean"):
        self.reduction = reduction

    def forward(self, prediction, target):
        diff = prediction - target
        self.save_for_backward(diff)
        return _reduce(diff * diff, self.reduction)

    def backward(self, gy):
        (diff,) = self.saved
        grad = diff * (2 * _reduction_scale(gy, diff.size, self.reduction))
        return (
            grad if self.needs_input_grad[0] else None,
            -grad if self.needs_input_grad[1] else None,
        )

    def composite(self, prediction, target):
        """The same loss from recorded operations, for second derivatives (Chapter 10)."""
        diff = prediction - target
        return _reduce(diff * diff, self.reduction)


def mse_loss(prediction, target, reduction="mean"):
    """Mean squared error between predictions and targets of the same shape.

    ``reduction``: "mean" (default), "sum", or "none" (one loss per element).
    """
    _check_reduction(reduction, "mse_loss")
    if not isinstance(prediction, Tensor):
        prediction = Tensor(prediction)
    target_shape = target.shape if isinstance(target, Tensor) else np.shape(target)
    _check_same_shape(prediction.shape, target_shape, "mse_loss")
    if not (isinstance(target, Tensor) and target.requires_grad):
        target = _target_array(target, prediction, "mse_loss")
    return MSEFunction(reduction)(prediction, target)


class CrossEntropyFunction(Function):
    r"""Cross-entropy of class-index targets given raw scores (logits).

    For one example with logits z (C classes) and target class t:

    $$L = -\log \operatorname{softmax}(z)_t
        = \log \sum_j e^{z_j} - z_t
        = m + \log \sum_j e^{z_j - m} - z_t, \quad m = \max_j z_j,$$

    finite for logits of any size (log-sum-exp). The gradient is
    dL/dz = softmax(z) - onehot(t): the predicted probabilities minus
    the true ones. Averaged over the batch for reduction="mean".
    """

    def __init__(self, target, reduction="mean"):
        self.target = target
        self.reduction = reduction

    def forward(self, logits):
        rows = np.arange(logits.shape[0])
        shifted, e, total = shifted_exp(logits, axis=1)
        losses = np.log(total[:, 0]) - shifted[rows, self.target]
        self.save_for_backward(e / total, rows)
        return _reduce(losses, self.reduction)

    def backward(self, gy):
        probabilities, rows = self.saved
        grad = probabilities.copy()  # softmax(z) - onehot(t), row by row, in a new array we may change
        grad[rows, self.target] -= 1
        if self.reduction == "none":  # one loss per row, each with its own incoming gradient
            return grad * gy[:, None]
        grad *= _reduction_scale(gy, len(rows), self.reduction)
        return grad

    def composite(self, logits):
        """The same loss from recorded operations, for second derivatives (Chapter 10)."""
        picked = log_softmax(logits, axis=1)[np.arange(logits.shape[0]), self.target]
        return _reduce(-picked, self.reduction)


def class_indices(target, n_rows, n_classes, loss_name="cross_entropy"):
    """Check targets and return them as an int64 array of class indices.

    Accepts an integer array or list, or a tensor (whose values are stored
    as floats) holding whole numbers. Each must lie in [0, n_classes).
    """
    values = target.data if isinstance(target, Tensor) else np.asarray(target)
    if values.dtype.kind == "f":
        if not np.all(values == np.round(values)):
            raise TypeError(f"{loss_name}: targets must be class indices (whole numbers), got {values}")
    elif values.dtype.kind not in "iu":
        raise TypeError(f"{loss_name}: targets must be class indices (integers), got dtype {values.dtype}")
    if values.ndim != 1:
        hint = " (one-hot targets? pass their argmax(axis=1) instead)" if values.ndim == 2 else ""
        raise ValueError(
            f"{loss_name}: targets must be a vector of class indices, got shape {values.shape}{hint}"
        )
    if len(values) != n_rows:
        raise ValueError(
            f"{loss_name}: the batch sizes disagree: {n_rows} rows of logits but {len(values)} targets; "
            "give one target per row"
        )
    # The position of a bad target is looked for only when there is one.
    if values.size and not _within(values, n_classes):
        position = int(np.argmax((values < 0) | (values >= n_classes)))
        raise ValueError(
            f"{loss_name}: target {values[position]:g} at position {position} is not a class index: "
            f"with {n_classes} classes (logits of shape ({n_rows}, {n_classes})) targets lie in "
            f"[0, {n_classes})"
        )
    return values.astype(np.int64, copy=False)


def _within(values, n_classes):
    """True if every value lies in [0, n_classes).

    For integers one reduction does: read as unsigned integers, negative
    numbers are huge, so the largest one checks both bounds.
    """
    if values.dtype.kind == "f":  # whole numbers, perhaps infinite
        return values.min() >= 0 and values.max() < n_classes
    return values.astype(np.int64, copy=False).view(np.uint64).max() < n_classes


def cross_entropy(logits, target, reduction="mean"):
    """Cross-entropy loss from raw scores and class indices.

    ``logits``: (N, C), one row of unnormalised scores per example;
    ``target``: (N,) class indices in [0, C); ``reduction``: "mean"
    (default), "sum" or "none". Equal to ``-log_softmax(logits)[i, target_i]``
    averaged over the batch, computed in one stable step.
    """
    _check_reduction(reduction, "cross_entropy")
    if not isinstance(logits, Tensor):
        logits = Tensor(logits)
    if logits.ndim != 2:
        raise ValueError(
            f"cross_entropy: logits must have shape (batch, classes), got {logits.shape}; "
            "for a single example use logits.reshape(1, -1)"
        )
    indices = class_indices(target, logits.shape[0], logits.shape[1])
    return CrossEntropyFunction(indices, reduction)(logits)


class BCEWithLogitsFunction(Function):
    r"""Binary cross-entropy of targets y in [0, 1] given logits x.

    With p = sigmoid(x):  L = -[y log p + (1 - y) log(1 - p)], rewritten as

    $$L = \max(x, 0) - x y + \log(1 + e^{-|x|}),$$

    which never overflows and never takes log(0). dL/dx = sigmoid(x) - y.
    """

    def __init__(self, target, reduction="mean"):
        self.target = target
        self.reduction = reduction

    def forward(self, x):
        probability, e = ops.stable_sigmoid(x)
        losses = np.maximum(x, 0) - x * self.target + np.log1p(e)
        self.save_for_backward(probability)
        return _reduce(losses, self.reduction)

    def backward(self, gy):
        (probability,) = self.saved
        return (probability - self.target) * _reduction_scale(gy, probability.size, self.reduction)

    def composite(self, x):
        """The same loss from recorded operations, for second derivatives (Chapter 10)."""
        # max(x, 0) and |x| as choices, so that at x = 0 each takes the side x >= 0 whole
        # and the sum is differentiated as the smooth function it is there
        positive = x.data >= 0
        magnitude = ops.where(positive, x, -x)
        losses = ops.where(positive, x, 0.0) - x * self.target + ops.log(1 + ops.exp(-magnitude))
        return _reduce(losses, self.reduction)


def binary_cross_entropy_with_logits(logits, target, reduction="mean"):
    """Binary cross-entropy from logits (sigmoid and log fused, stable).

    ``logits`` and ``target`` have the same shape; targets are 0 or 1 (or
    probabilities between). ``reduction``: "mean", "sum" or "none".
    """
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    if not isinstance(logits, Tensor):
        logits = Tensor(logits)
    name = "binary_cross_entropy_with_logits"
    values = _target_array(target, logits, name)
    _check_same_shape(logits.shape, values.shape, name)
    return BCEWithLogitsFunction(values, reduction)(logits)


# ---------------------------------------------------------------------------
# Functions of later chapters
# ---------------------------------------------------------------------------

# Convolution, pooling, batch normalisation and dropout belong to Chapter 9
# and live in its modules; ``F.conv2d`` imports ``framework.nn.conv`` the
# first time it is asked for, so this module runs only Chapter 6's code.
LATER_FUNCTIONS = {
    "conv2d": "framework.nn.conv",
    "conv_transpose2d": "framework.nn.conv",
    "max_pool2d": "framework.nn.pooling",
    "avg_pool2d": "framework.nn.pooling",
    "batch_norm": "framework.nn.normalization",
    "dropout": "framework.nn.dropout",
}


def __getattr__(name):
    """Load a function of a later chapter on first use (PEP 562)."""
    import importlib

    module = LATER_FUNCTIONS.get(name)
    if module is None:
        raise AttributeError(f"module 'framework.nn.functional' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
