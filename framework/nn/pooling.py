r"""Pooling (Chapter 9): ``max_pool2d``, ``avg_pool2d`` and their layers.

Pooling summarises each window of a feature map by one number: its largest
value (max pooling) or its mean (average pooling). With a 2x2 window and a
stride of 2 it halves the height and the width, so later layers see a wider
part of the image for the same cost, and a small shift of the input often
leaves the output unchanged.

**Max pooling** passes each output gradient to the one input that was the
maximum of its window (the first one, in reading order, when several tie,
as PyTorch does); the other inputs had no influence. Choosing, then
scattering back, are a pair of linear operations with fixed positions:
``gather_at`` and ``scatter_to``, each the other's backward, so the
backward of max pooling can be differentiated again.

**Average pooling** multiplies every window by the same weights 1/(kH kW):
it is a convolution of each channel with a constant filter, and its
backward is the transposed convolution with that filter.
"""

import numpy as np

from framework.autograd.tensor import Function, Tensor
from framework.nn.conv import (
    Geometry,
    check_image_batch,
    conv_transpose,
    output_shape,
    pad,
    pair,
    windows,
)
from framework.nn.module import Module

# ---------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------


def pool_geometry(kernel_size, stride, padding, dilation, owner):
    """Checked (kernel, Geometry) of a pooling; the stride defaults to the kernel size."""
    kernel = pair(kernel_size, "kernel_size", owner)
    stride = kernel if stride is None else pair(stride, "stride", owner)
    geo = Geometry(stride, pair(padding, "padding", owner, minimum=0), pair(dilation, "dilation", owner), 1)
    for axis in (0, 1):
        if 2 * geo.padding[axis] > kernel[axis]:
            raise ValueError(f"{owner}: padding {geo.padding} must be at most half the kernel size {kernel}")
    return kernel, geo


def _pool_output(x, kernel, geo, owner):
    """(Ho, Wo) of a pooling of x, or an error naming the pooling and the shapes."""
    shape = np.shape(x.data if isinstance(x, Tensor) else x)
    check_image_batch(shape, None, owner)
    return output_shape(shape, kernel, geo, owner)


def _is_tiling(kernel, geo):
    """Windows that tile the image: no padding, no dilation, stride = kernel."""
    return geo.stride == kernel and geo.padding == (0, 0) and geo.dilation == (1, 1)


# ---------------------------------------------------------------------------
# Choosing and scattering back
# ---------------------------------------------------------------------------


def _gather(x, index):
    """out[n, c, r, s] = x[n, c].flat[index[n, c, r, s]] on arrays."""
    n, c = x.shape[:2]
    flat = x.reshape(n, c, int(np.prod(x.shape[2:])))                # sizes, not -1: the batch may be empty
    chosen = index.reshape(n, c, int(np.prod(index.shape[2:])))
    return np.take_along_axis(flat, chosen, axis=2).reshape(index.shape)


def _scatter(values, index, shape):
    """The adjoint of ``_gather``: zeros of ``shape`` with each value added at its position."""
    n, c = shape[:2]
    plane = int(np.prod(shape[2:]))
    offsets = (np.arange(n * c) * plane).reshape((n, c) + (1,) * (index.ndim - 2))
    flat = np.bincount((index + offsets).ravel(), weights=values.ravel(), minlength=n * c * plane)
    return flat.astype(values.dtype, copy=False).reshape(shape)


class GatherAt(Function):
    """y = x at fixed positions (one per output element); backward scatters back."""

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        self.save_for_backward(x.shape)
        return _gather(x, self.index)

    def backward(self, gy):
        (shape,) = self.saved
        return scatter_to(gy, self.index, shape)


class ScatterTo(Function):
    """y = zeros with x added at fixed positions; backward gathers from them."""

    def __init__(self, index, shape):
        self.index, self.shape = index, tuple(shape)

    def forward(self, x):
        return _scatter(x, self.index, self.shape)

    def backward(self, gy):
        return gather_at(gy, self.index)


def gather_at(x, index):
    """Pick x[n, c].flat[index[n, c, ...]]: recorded on tensors, NumPy on arrays."""
    return GatherAt(index)(x) if isinstance(x, Tensor) else _gather(x, index)


def scatter_to(values, index, shape):
    """Add values into zeros of ``shape`` at x[n, c].flat[index]: recorded on tensors."""
    return ScatterTo(index, shape)(values) if isinstance(values, Tensor) else _scatter(values, index, shape)


# ---------------------------------------------------------------------------
# Max pooling
# ---------------------------------------------------------------------------


def max_positions(x, kernel, geo, out):
    """For each window, the flat position (in its H*W plane) of its first maximum, and the maxima.

    A dilated window can lie entirely in the padding; its maximum is then
    -inf, as in PyTorch, and its position (set to 0) gets no gradient:
    the third result, ``inside``, is False there (None when every window
    has a pixel of the image).
    """
    n, c, h, w = x.shape
    fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    view = windows(pad(x, geo.padding, fill), kernel, geo.stride, geo.dilation, out)
    taps = view.reshape(n, c, kernel[0] * kernel[1], out[0], out[1])
    best = taps.argmax(axis=2)                             # the first maximum, in reading order
    maxima = np.take_along_axis(taps, best[:, :, None], axis=2)[:, :, 0]
    i, j = np.divmod(best, kernel[1])
    rows = np.arange(out[0]).reshape(-1, 1) * geo.stride[0] + i * geo.dilation[0] - geo.padding[0]
    columns = np.arange(out[1]) * geo.stride[1] + j * geo.dilation[1] - geo.padding[1]
    inside = (rows >= 0) & (rows < h) & (columns >= 0) & (columns < w)
    if inside.all():
        return rows * w + columns, maxima, None
    return np.where(inside, rows * w + columns, 0), maxima, inside


class MaxPool2dFunction(Function):
    """y = the maximum of each window; the gradient goes to that maximum.

    Two ways, tested to agree: in general the position of each window's
    maximum is found once (``max_positions``) and the gradient is scattered
    back to it. When the windows tile the image (stride = kernel, the usual
    2x2), each of the kH*kW taps is a strided slice, the maximum is
    ``np.maximum`` over the slices, and backward hands each slice the
    gradients of the windows it was the first maximum of.
    """

    def __init__(self, kernel, geo, tiling=None):
        self.kernel, self.geo = kernel, geo
        self.tiling = _is_tiling(kernel, geo) if tiling is None else tiling

    def _taps(self, x, out):
        """The strided slices x[:, :, i::kH, j::kW], one per tap of a tiling window."""
        kh, kw = self.kernel
        return [x[:, :, i:i + kh * out[0]:kh, j:j + kw * out[1]:kw] for i in range(kh) for j in range(kw)]

    def forward(self, x):
        out = _pool_output(x, self.kernel, self.geo, "max_pool2d")
        if self.tiling:
            taps = self._taps(x, out)
            y = taps[0].copy()
            for tap in taps[1:]:
                np.maximum(y, tap, out=y)
            self.save_for_backward(x, y)
            return y
        index, maxima, inside = max_positions(x, self.kernel, self.geo, out)
        self.save_for_backward(x, (index, inside))
        return maxima

    def backward(self, gy):
        x, kept = self.saved
        if isinstance(gy, Tensor) or isinstance(x, Tensor):
            x_values = x.data if isinstance(x, Tensor) else x
            index, _, inside = max_positions(x_values, self.kernel, self.geo, gy.shape[2:])
            return scatter_to(gy if inside is None else gy * inside, index, x.shape)
        if not self.tiling:
            index, inside = kept
            return _scatter(gy if inside is None else gy * inside, index, x.shape)
        covered = x.shape[2] % self.kernel[0] == 0 and x.shape[3] % self.kernel[1] == 0
        gx = np.empty_like(x) if covered else np.zeros_like(x)   # the taps write every covered pixel
        taps, grad_taps = self._taps(x, gy.shape[2:]), self._taps(gx, gy.shape[2:])
        taken = np.zeros(gy.shape, dtype=bool)               # windows whose maximum an earlier tap holds
        # A window holding nan has the maximum nan, which equals nothing: its first nan takes the
        # gradient, as argmax chooses in the general way (looked for only when there is a nan).
        with_nan = x.dtype.kind == "f" and np.isnan(kept).any()
        for tap, grad_tap in zip(taps[:-1], grad_taps[:-1]):
            hit = (tap == kept) | np.isnan(tap) if with_nan else tap == kept
            np.multiply(gy, hit & ~taken, out=grad_tap)      # this tap is the window's first maximum
            taken |= hit
        # The maximum is one of the taps: where no earlier tap holds it, the last one does.
        np.multiply(gy, ~taken, out=grad_taps[-1])
        return gx


# Why each of PyTorch's pooling options that these poolings lack cannot be given.
UNSUPPORTED = {
    "ceil_mode": "the output size is rounded down, so that every window lies in the padded input",
    "return_indices": "max pooling returns its output only",
    "count_include_pad": "the zeros of the padding count in each mean (without padding the two agree)",
}


def refuse_options(owner, **options):
    """A ValueError naming the first of PyTorch's pooling options given a value this pooling lacks.

    ``options`` maps each name to (value given, the one value supported);
    accepting the names keeps PyTorch's argument order.
    """
    for name, (value, supported) in options.items():
        if value != supported:
            raise ValueError(f"{owner}: {name}={value!r} is not supported, only {name}={supported!r}: "
                             f"{UNSUPPORTED[name]}")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """The maximum of each kH x kW window of a batch (N, C, H, W), as in PyTorch.

    ``stride`` defaults to the kernel size; ``padding`` (at most half the
    kernel) adds -inf borders, which never win. ``ceil_mode`` and
    ``return_indices`` keep PyTorch's places, but only False is supported.
    """
    refuse_options("max_pool2d", ceil_mode=(ceil_mode, False), return_indices=(return_indices, False))
    kernel, geo = pool_geometry(kernel_size, stride, padding, dilation, "max_pool2d")
    _pool_output(input, kernel, geo, "max_pool2d")
    return MaxPool2dFunction(kernel, geo)(input)


# ---------------------------------------------------------------------------
# Average pooling
# ---------------------------------------------------------------------------


def _window_sum(x, kernel, geo, out):
    """The sum of each window, one strided slice per tap."""
    view = windows(pad(x, geo.padding), kernel, geo.stride, geo.dilation, out)
    total = view[:, :, 0, 0].copy()
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            if i or j:
                total += view[:, :, i, j]
    return total


def averaging_filter(channels, kernel, dtype):
    """The weight (C, 1, kH, kW) of the per-channel convolution that averages each window."""
    return np.full((channels, 1, *kernel), 1 / (kernel[0] * kernel[1]), dtype=dtype)


class AvgPool2dFunction(Function):
    """y = the mean of each window (zero padding counts, as PyTorch's default).

    Backward spreads each output gradient evenly over its window: the
    transposed convolution of the gradient with the averaging filter,
    channel by channel (groups = C).
    """

    def __init__(self, kernel, geo):
        self.kernel, self.geo = kernel, geo

    def forward(self, x):
        out = _pool_output(x, self.kernel, self.geo, "avg_pool2d")
        self.save_for_backward(x.shape, x.dtype)
        return _window_sum(x, self.kernel, self.geo, out) / np.asarray(self.kernel[0] * self.kernel[1], x.dtype)

    def backward(self, gy):
        ### BEGIN SOLUTION
        (n, c, h, w), dtype = self.saved
        per_channel = self.geo._replace(groups=c)  # each channel has its own filter
        return conv_transpose(gy, averaging_filter(c, self.kernel, dtype), per_channel, (n, c, h, w))
        ### END SOLUTION


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """The mean of each kH x kW window of a batch (N, C, H, W), as in PyTorch.

    ``stride`` defaults to the kernel size; the zeros of the ``padding``
    count in the mean (``count_include_pad=True``; False is the same
    without padding). ``divisor_override`` d divides each window's sum by d
    instead of kH kW. ``ceil_mode`` keeps PyTorch's place; only False.
    """
    kernel, geo = pool_geometry(kernel_size, stride, padding, 1, "avg_pool2d")
    check_average_options(geo, ceil_mode, count_include_pad, divisor_override, "avg_pool2d")
    return average(input, kernel, geo, divisor_override, "avg_pool2d")


def check_average_options(geo, ceil_mode, count_include_pad, divisor_override, owner):
    refuse_options(owner, ceil_mode=(ceil_mode, False),
                   count_include_pad=(count_include_pad or geo.padding == (0, 0), True))
    whole = isinstance(divisor_override, (int, np.integer)) and not isinstance(divisor_override, bool)
    if divisor_override is not None and not (whole and divisor_override >= 1):
        raise ValueError(f"{owner}: divisor_override must be a positive whole number, got {divisor_override!r}")


def average(x, kernel, geo, divisor_override, owner):
    """The mean of each window, or its sum over ``divisor_override`` when that is given."""
    _pool_output(x, kernel, geo, owner)
    y = AvgPool2dFunction(kernel, geo)(x)
    if divisor_override is None:
        return y
    return y * (kernel[0] * kernel[1] / divisor_override)


# ---------------------------------------------------------------------------
# The layers
# ---------------------------------------------------------------------------


class MaxPool2d(Module):
    """Max pooling over kH x kW windows, as ``torch.nn.MaxPool2d`` (stride defaults to the kernel)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        refuse_options("MaxPool2d", return_indices=(return_indices, False), ceil_mode=(ceil_mode, False))
        self.kernel_size, self.geo = pool_geometry(kernel_size, stride, padding, dilation, "MaxPool2d")

    def forward(self, x):
        owner = f"MaxPool2d({self.extra_repr()})"
        _pool_output(x, self.kernel_size, self.geo, owner)
        return MaxPool2dFunction(self.kernel_size, self.geo)(x)

    def extra_repr(self):
        text = f"kernel_size={self.kernel_size}, stride={self.geo.stride}"
        if self.geo.padding != (0, 0):
            text += f", padding={self.geo.padding}"
        if self.geo.dilation != (1, 1):
            text += f", dilation={self.geo.dilation}"
        return text


class AvgPool2d(Module):
    """Average pooling over kH x kW windows, as ``torch.nn.AvgPool2d`` (zero padding counts)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size, self.geo = pool_geometry(kernel_size, stride, padding, 1, "AvgPool2d")
        check_average_options(self.geo, ceil_mode, count_include_pad, divisor_override, "AvgPool2d")
        self.divisor_override = divisor_override

    def forward(self, x):
        return average(x, self.kernel_size, self.geo, self.divisor_override, f"AvgPool2d({self.extra_repr()})")

    def extra_repr(self):
        text = f"kernel_size={self.kernel_size}, stride={self.geo.stride}"
        if self.geo.padding != (0, 0):
            text += f", padding={self.geo.padding}"
        if self.divisor_override is not None:
            text += f", divisor_override={self.divisor_override}"
        return text
