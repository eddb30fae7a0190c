r"""Convolution (Chapter 9): ``conv2d``, ``conv_transpose2d`` and the ``Conv2d`` layer.

A convolution slides a small filter over an image and takes a dot product
at every position. With an input $x$ of shape (N, C, H, W) and a weight
$w$ of shape (O, C, kH, kW), laid out as in PyTorch,

$$y_{n,o,r,s} = b_o + \sum_{c,i,j} w_{o,c,i,j}\;
  x_{n,\,c,\; r s_h + i d_h - p_h,\; s s_w + j d_w - p_w},$$

with stride $s$, zero padding $p$ and dilation $d$ (the gaps between the
filter's taps). The output has $\lfloor (H + 2p - d(k-1) - 1)/s \rfloor + 1$
rows (``conv_output_size``), and the same for columns.

**The window view.** Every output position reads one window of the input.
NumPy can present all the windows at once, without copying, as an array
whose strides step through the input (``windows``). Copied into a matrix
of C·kH·kW rows and one column per output position of every image
(*im2col*), they turn the convolution of a batch into one batched matrix
product, filters times windows (a chunk of images at a time when the
columns of the whole batch would be large, ``image_chunks``).

**Backward is a convolution too.** $y$ is linear in $x$ and linear in $w$.
The gradient with respect to $x$ spreads each output gradient back over
the window it came from: a *transposed convolution* (``conv_transpose2d``).
The gradient with respect to $w$ correlates the input with the output
gradient (``conv2d_weight``). The backward of each of these three
operations is made of the other two, so differentiating a gradient again
needs nothing new. On arrays the backward runs on NumPy directly
(reusing the windows copied by the forward pass when it kept them);
handed tensors, it calls the three operations as recorded ``Function``\ s
instead.
"""

from collections import namedtuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from framework.autograd.tensor import Function, Tensor
from framework.nn import init
from framework.nn.functional import check_dtype
from framework.nn.module import Module
from framework.nn.parameter import Parameter

Geometry = namedtuple("Geometry", ["stride", "padding", "dilation", "groups"])
Geometry.__doc__ = "How a filter moves: stride, padding and dilation (pairs, rows then columns) and groups."


# ---------------------------------------------------------------------------
# Shapes and checks
# ---------------------------------------------------------------------------


def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    """The number of positions a filter takes along one axis.

    A filter of ``kernel_size`` taps, ``dilation`` apart, covers
    d(k - 1) + 1 pixels. On an axis of ``size`` pixels padded by ``padding``
    on both sides it fits at the positions 0, s, 2s, ... up to the last one
    where it still ends inside:  floor((size + 2p - d(k - 1) - 1) / s) + 1.
    """
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1


def pair(value, name, owner, minimum=1):
    """``value`` as a pair of whole numbers (an int means the same for rows and columns)."""
    values = (value, value) if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else value
    try:
        values = tuple(values)
    except TypeError:
        values = None
    if (
        values is None
        or len(values) != 2
        or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in values)
    ):
        raise TypeError(f"{owner}: {name} must be a whole number or a pair of them, got {value!r}")
    if min(values) < minimum:
        kind = "positive" if minimum == 1 else "at least 0"
        raise ValueError(f"{owner}: {name} must be {kind}, got {value!r}")
    return tuple(int(v) for v in values)


def geometry(stride, padding, dilation, groups, owner):
    """Checked settings of a convolution or a pooling."""
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{owner}: groups must be a positive whole number, got {groups!r}")
    return Geometry(pair(stride, "stride", owner), pair(padding, "padding", owner, minimum=0),
                    pair(dilation, "dilation", owner), int(groups))


def padding_by_name(padding, kernel, stride, dilation, owner):
    """``padding`` as numbers: "valid" is none, "same" keeps the size of a stride-1 convolution.

    "same" pads d (k - 1) / 2 on each side of each axis, so the output is
    as large as the input. PyTorch pads one more row or column after than
    before when d (k - 1) is odd; this convolution pads both sides alike,
    so it refuses those kernels rather than give another size. Numbers
    and pairs pass through unchanged.
    """
    if not isinstance(padding, str):
        return padding
    if padding == "valid":
        return 0
    if padding != "same":
        raise ValueError(f"{owner}: padding must be a number, a pair, 'valid' or 'same', got {padding!r}")
    kernel = pair(kernel, "kernel_size", owner)
    if pair(stride, "stride", owner) != (1, 1):
        raise ValueError(f"{owner}: padding='same' needs stride 1 (the output keeps the input's size), got "
                         f"stride {stride!r}")
    spans = [d * (k - 1) for d, k in zip(pair(dilation, "dilation", owner), kernel)]
    if any(span % 2 for span in spans):
        raise ValueError(f"{owner}: padding='same' with kernel {kernel} and dilation {dilation!r} needs "
                         f"{tuple(spans)} pixels of padding per axis, which cannot be split evenly between "
                         "the two sides; use an odd kernel, or pad the input and use padding='valid'")
    return tuple(span // 2 for span in spans)


def check_padding_mode(padding_mode, owner):
    """Only zeros pad a convolution here; PyTorch's other modes are refused by name."""
    if padding_mode != "zeros":
        known = ("reflect", "replicate", "circular")
        problem = "is not supported" if padding_mode in known else "is not a padding mode"
        raise ValueError(f"{owner}: padding_mode {padding_mode!r} {problem}; only 'zeros' pads these convolutions")


def output_shape(input_shape, kernel, geo, owner):
    """(Ho, Wo) for an input (N, C, H, W); a clear error when the filter does not fit."""
    sizes = []
    for axis, name in ((0, "height"), (1, "width")):
        size = input_shape[2 + axis]
        span = geo.dilation[axis] * (kernel[axis] - 1) + 1
        padded = size + 2 * geo.padding[axis]
        if span > padded:
            raise ValueError(
                f"{owner}: the kernel {tuple(kernel)} (dilation {geo.dilation}) spans {span} pixels, "
                f"more than the padded input {name} {padded} (input shape {tuple(input_shape)}, "
                f"padding {geo.padding}); use a smaller kernel or more padding"
            )
        sizes.append(conv_output_size(size, kernel[axis], geo.stride[axis], geo.padding[axis], geo.dilation[axis]))
    return tuple(sizes)


def check_image_batch(shape, channels, owner):
    """An input must be (N, C, H, W) with the expected number of channels."""
    if len(shape) != 4:
        hint = " (a single image? add the batch axis: x.reshape(1, *x.shape))" if len(shape) == 3 else ""
        raise ValueError(
            f"{owner}: expected an input of shape (batch, channels, height, width), "
            f"got shape {tuple(shape)}{hint}"
        )
    if channels is not None and shape[1] != channels:
        raise ValueError(
            f"{owner}: expected {channels} input channels, got an input of shape {tuple(shape)} "
            f"with {shape[1]} in axis 1"
        )


# ---------------------------------------------------------------------------
# The three operations on arrays
# ---------------------------------------------------------------------------


def pad(x, padding, value=0):
    """x (N, C, H, W) with ``padding`` rows and columns of ``value`` added on each side."""
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    n, c, h, w = x.shape
    padded = np.full((n, c, h + 2 * ph, w + 2 * pw), value, dtype=x.dtype)
    padded[:, :, ph:ph + h, pw:pw + w] = x
    return padded


def windows(padded, kernel, stride, dilation, out):
    """Every window of a padded input at once, as a view (no copy).

    Shape (N, C, kH, kW, Ho, Wo): element [n, c, i, j, r, s] is
    padded[n, c, r*stride + i*dilation, s*stride + j*dilation], the tap
    (i, j) of the window of output position (r, s). Moving one step along an
    axis of the view moves a fixed number of bytes in the input: its
    ``strides`` are made from the input's own.
    """
    n, c = padded.shape[:2]
    sn, sc, sh, sw = padded.strides
    return as_strided(
        padded,
        shape=(n, c, kernel[0], kernel[1], out[0], out[1]),
        strides=(sn, sc, sh * dilation[0], sw * dilation[1], sh * stride[0], sw * stride[1]),
        writeable=False,
    )


def rows_fit(input_shape, geo, out):
    """True when the stride is 1 and each output row is as wide as an input row.

    That is the case of the usual "same" convolutions (3x3 filters with
    padding 1, 5x5 with padding 2, 1x1 without): then ``im2col_by_rows``
    copies whole runs of rows, and ``input_grad_by_rows`` shifts them.
    """
    return geo.stride == (1, 1) and out[1] == input_shape[3]


def im2col(x, kernel, geo, out):
    """The windows of x copied into columns: shape (N, groups, C/groups * kH * kW, Ho * Wo).

    For each image, row (c, i, j) holds tap (i, j) of channel c at every
    output position, so the filters of a group times its matrix of columns
    give that group's output maps. One batched matrix product
    (``np.matmul`` broadcasts over the images) convolves the whole batch and
    leaves the result already in the (N, C, H, W) layout. Two ways to the
    same columns, tested to agree: ``im2col_by_rows`` where it applies
    (``rows_fit``), faster there (about 1.7 times on the second convolution
    of Chapter 9, timed in training), else ``im2col_from_windows``.
    """
    if rows_fit(x.shape, geo, out):
        return im2col_by_rows(x, kernel, geo, out)
    return im2col_from_windows(x, kernel, geo, out)


def im2col_from_windows(x, kernel, geo, out):
    """im2col in general: the window view of the padded images, copied in its own order, image by image."""
    n, c = x.shape[:2]
    view = windows(pad(x, geo.padding), kernel, geo.stride, geo.dilation, out)
    cols = np.empty(view.shape, dtype=x.dtype)                 # (N, C, kH, kW, Ho, Wo)
    np.copyto(cols, view)
    return cols.reshape(n, geo.groups, c // geo.groups * kernel[0] * kernel[1], out[0] * out[1])


def im2col_by_rows(x, kernel, geo, out):
    """im2col when ``rows_fit``: each tap of a channel is one run of Ho * W values.

    Pad the images with rows of zeros only, above and below, and lay them
    end to end in one flat array. Tap (i, j) reads, for output position
    (r, s), the pixel (r + i d_h, s + j d_w - p_w) of the padded rows: the
    same number of places, i d_h W + j d_w - p_w, after pixel (r, s) for
    every r and s. So a tap of one channel is a contiguous run of the flat
    array (``_taps_by_rows``), copied in one piece, where the window view
    is copied Wo values at a time. Near the left and right edges the
    shifted run reads the end of the row above or the start of the row
    below instead of the zero padding: ``_zero_wrapped`` clears those.
    """
    n, c, h, w = x.shape
    ph, pw = geo.padding
    rows = h + 2 * ph
    flat = np.zeros(n * c * rows * w + 2 * pw, dtype=x.dtype)       # pw zeros before and after
    flat[pw:pw + n * c * rows * w].reshape(n, c, rows, w)[:, :, ph:ph + h] = x
    view = _taps_by_rows(flat, (n, c, rows, w), kernel, geo, out[0] * w)
    cols = np.empty(view.shape, dtype=x.dtype)                 # (N, C, kH, kW, Ho * W)
    np.copyto(cols, view)
    _zero_wrapped(cols, kernel, geo, w)
    return cols.reshape(n, geo.groups, c // geo.groups * kernel[0] * kernel[1], out[0] * w)


def _taps_by_rows(flat, shape, kernel, geo, length):
    """View (N, C, kH, kW, length) of row-padded images laid end to end in ``flat``, after p_w zeros.

    ``shape`` is (N, C, rows, W) of the row-padded images. Element
    [n, c, i, j, t] lies i d_h W + j d_w - p_w places after position t of
    image n, channel c: it is tap (i, j) of output position t = r W + s.
    """
    n, c, rows, w = shape
    step = flat.itemsize
    dh, dw = geo.dilation
    return as_strided(flat, shape=(n, c, kernel[0], kernel[1], length),
                      strides=(c * rows * w * step, rows * w * step, dh * w * step, dw * step, step),
                      writeable=False)


def _zero_wrapped(cols, kernel, geo, w):
    """Set to zero the entries of ``cols`` (N, C, kH, kW, Ho * W) that a row shift took across a row's end.

    Tap (i, j) shifts by j d_w - p_w columns: where that moves output column
    s out of 0 .. W - 1, the entry belongs to the zero padding.
    """
    n, c, kh, kw, length = cols.shape
    by_row = cols.reshape(n, c, kh, kw, length // w, w)
    for j in range(kw):
        shift = j * geo.dilation[1] - geo.padding[1]
        if shift < 0:
            by_row[:, :, :, j, :, :-shift] = 0
        elif shift > 0:
            by_row[:, :, :, j, :, max(0, w - shift):] = 0


def col2im(cols, input_shape, kernel, geo, out):
    """The adjoint of ``im2col``: add every column entry back to the pixel it was read from.

    Here the columns are laid out channel first, which suits the input
    gradient: one row per (channel, tap) and one column per output position
    of every image, shape (C * kH * kW, N * Ho * Wo) (groups one after another).
    A pixel that lies in several windows receives the sum of their entries.
    One strided slice per filter tap: kH * kW additions of whole arrays,
    each reading a long contiguous run of ``cols``.
    """
    n, c, h, w = input_shape
    (ph, pw), (sh, sw), (dh, dw) = geo.padding, geo.stride, geo.dilation
    grad = np.zeros((c, n, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)   # channels first, as the columns
    taps = cols.reshape(c, kernel[0], kernel[1], n, out[0], out[1])
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            rows = slice(i * dh, i * dh + sh * (out[0] - 1) + 1, sh)
            columns = slice(j * dw, j * dw + sw * (out[1] - 1) + 1, sw)
            grad[:, :, rows, columns] += taps[:, i, j]
    return np.ascontiguousarray(grad[:, :, ph:ph + h, pw:pw + w].transpose(1, 0, 2, 3))


def _grouped_weight(weight, groups):
    """(O, C/g, kH, kW) -> (g, O/g, C/g * kH * kW): one filter matrix per group."""
    return weight.reshape(groups, weight.shape[0] // groups, -1)


def _grouped_gradient(gy, groups):
    """dL/dy (N, O, Ho, Wo) as (N, g, O/g, Ho * Wo), the layout of the outputs of a group (a view)."""
    n, o = gy.shape[:2]
    return gy.reshape(n, groups, o // groups, gy.shape[2] * gy.shape[3])


CHUNK_BYTES = 1 << 20      # columns of about 1 MiB at a time: they stay in a core's own cache
KEEP_BYTES = 4 << 20       # the columns of a batch up to 4 MiB are made at once, and kept for the weight gradient


def image_chunks(x, kernel, geo, out):
    """Slices of the batch x: all of it when its columns take at most ``KEEP_BYTES``, else chunks
    whose columns take about ``CHUNK_BYTES`` (at least one image).

    The columns of a whole batch can be many times the size of its images
    (for the second convolution of Chapter 9, 11 MB for 1.25 MB of images).
    Made and used a few images at a time, they are still in the core's own
    cache (1 MiB on the machine of Chapter 9's timings) when the matrix
    product reads them, instead of going out to the larger, slower caches
    and coming back. The weight gradient then makes them again,
    chunk by chunk, which costs less than reading them back. Smaller
    columns are made once, for the whole batch, and kept.
    """
    n, c = x.shape[:2]
    per_image = c * kernel[0] * kernel[1] * out[0] * out[1] * x.itemsize
    if n * per_image <= KEEP_BYTES:
        return [slice(0, n)]
    step = max(1, CHUNK_BYTES // max(1, per_image))
    return [slice(start, start + step) for start in range(0, n, step)]


def conv_forward(x, weight, geo, out=None):
    """y = conv(x, w) on arrays: the filters times the columns, a chunk of images at a time.

    Returns y and, when the batch is a single chunk, its columns, for the
    weight gradient to reuse (else None). ``out`` (rows, columns) keeps
    only the first output positions (the adjoint of a transposed
    convolution whose output has extra rows).
    """
    kernel = weight.shape[2:]
    out = output_shape(x.shape, kernel, geo, "conv2d") if out is None else out
    n, o = x.shape[0], weight.shape[0]
    y = np.empty((n, o, out[0], out[1]), dtype=np.result_type(x, weight))
    filters = _grouped_weight(weight, geo.groups)                      # (g, O/g, K)
    chunks = image_chunks(x, kernel, geo, out)
    for part in chunks:
        cols = im2col(x[part], kernel, geo, out)                       # (images, g, K, Ho*Wo)
        outputs = y[part].reshape(-1, geo.groups, o // geo.groups, out[0] * out[1])   # a view of y
        np.matmul(filters, cols, out=outputs)                          # filters times windows
    return y, (cols if len(chunks) == 1 else None)


def conv_input_grad(gy, weight, geo, input_shape):
    """dL/dx = the transposed convolution of dL/dy with w, on arrays.

    Two ways to the same numbers, tested to agree: by shifted products
    where rows fit (``rows_fit``: stride 1, output rows as wide as input
    rows), faster there, and by columns in general.
    """
    if rows_fit(input_shape, geo, gy.shape[2:]):
        return input_grad_by_rows(gy, weight, geo, input_shape)
    return input_grad_by_columns(gy, weight, geo, input_shape)


def input_grad_by_columns(gy, weight, geo, input_shape):
    """dL/dx by columns: each filter's transpose spreads dL/dy over the taps of the windows.

    One product for the whole batch, with the gradient laid out channel
    first (g, O/g, N * Ho * Wo), gives the columns that ``col2im`` adds back.
    """
    grouped = _grouped_gradient(gy, geo.groups)                               # (N, g, O/g, Ho*Wo)
    n, groups, per_group, positions = grouped.shape
    channel_first = grouped.transpose(1, 2, 0, 3).reshape(groups, per_group, n * positions)
    gcols = _grouped_weight(weight, geo.groups).transpose(0, 2, 1) @ channel_first   # (g, K, N*Ho*Wo)
    return col2im(gcols, input_shape, weight.shape[2:], geo, gy.shape[2:])


def input_grad_by_rows(gy, weight, geo, input_shape):
    r"""dL/dx when ``rows_fit``: a sum over the filter's taps of shifted products, without columns.

    With stride 1, tap (i, j) links output position (r, s) to input pixel
    (r + i d_h - p_h, s + j d_w - p_w), so with G = dL/dy

    $$\frac{\partial L}{\partial x}[n, c, p, q] = \sum_{i,j} \sum_o
      w[o, c, i, j]\, G[n, o, p + p_h - i d_h, q + p_w - j d_w].$$

    Lay G out channel first, image after image, row after row, with rows
    of zeros below each image, and flatten it: as output rows are as wide
    as input rows (W), pixel (p, q) of the input gradient takes tap (i, j)
    from one fixed distance, (p_h - i d_h) W + p_w - j d_w places further
    on, for every p and q. Each tap is then one matrix product of
    w[:, :, i, j] transposed with a shifted view of G (no copy). A read
    above an image's top lands on the zero rows of the image before it (or
    on the zeros in front); a read off the left or the right of a row wraps
    to the row next to it, and those columns of the product are set to
    zero. This is the arithmetic of ``col2im`` without its kH kW strided
    additions, which cost more than the products (timed in training).
    """
    n, c, h, w = input_shape
    o, _, kh, kw = weight.shape
    (ph, pw), (dh, dw), groups = geo.padding, geo.dilation, geo.groups
    ho = gy.shape[2]
    rows = max(h + ph, ho)                                      # rows per image, those below G's zero
    length = n * rows * w
    front = max(0, (kh - 1) * dh - ph) * w + max(0, (kw - 1) * dw - pw)   # room for the shifts back
    back = ph * w + pw                                          # and forward
    flat = np.zeros((o, front + length + back), dtype=gy.dtype)
    flat[:, front:front + length].reshape(o, n, rows, w)[:, :, :ho] = gy.transpose(1, 0, 2, 3)
    flat = flat.reshape(groups, o // groups, -1)
    filters = weight.reshape(groups, o // groups, c // groups, kh, kw)
    grad = np.zeros((groups, c // groups, length), dtype=gy.dtype)
    product = np.empty_like(grad)
    by_column = product.reshape(groups, c // groups, n * rows, w)
    for i in range(kh):
        for j in range(kw):
            start = front + (ph - i * dh) * w + pw - j * dw
            np.matmul(filters[:, :, :, i, j].transpose(0, 2, 1), flat[:, :, start:start + length], out=product)
            shift = pw - j * dw                                 # columns read to the right
            if shift < 0:
                by_column[..., :-shift] = 0                     # read off the left of a row
            elif shift > 0:
                by_column[..., max(0, w - shift):] = 0          # read off the right of a row
            grad += product
    grad = grad.reshape(c, n, rows, w)[:, :, :h]
    return np.ascontiguousarray(grad.transpose(1, 0, 2, 3))


def conv_weight_grad(x, gy, geo, weight_shape, cols=None):
    """dL/dw = dL/dy times the columns of each image, summed over the batch, a chunk of images at a time.

    Computed as columns times dL/dy transposed, (K, Ho*Wo) x (Ho*Wo, O/g)
    for each image, then transposed back: the same numbers as the product
    the other way round, but a faster shape for the matrix routine when the
    filters have many taps (K = C * kH * kW is large). ``cols`` are the
    columns of the whole batch, when the forward pass kept them; else they
    are made again from x, chunk by chunk (``image_chunks``).
    """
    kernel, out = weight_shape[2:], gy.shape[2:]
    groups = geo.groups
    total = np.zeros((groups, weight_shape[1] * kernel[0] * kernel[1], weight_shape[0] // groups),
                     dtype=np.result_type(x, gy))
    for part in image_chunks(x, kernel, geo, out):
        part_cols = im2col(x[part], kernel, geo, out) if cols is None else cols[part]   # (images, g, K, Ho*Wo)
        by_position = _grouped_gradient(gy[part], groups).transpose(0, 1, 3, 2)        # (images, g, Ho*Wo, O/g)
        if part_cols.shape[2] >= 64:
            # With many taps the product is large next to dL/dy, and the matrix
            # routine runs faster on a contiguous copy.
            by_position = np.ascontiguousarray(by_position)
        total += (part_cols @ by_position).sum(axis=0)                                 # (g, K, O/g)
    return total.transpose(0, 2, 1).reshape(weight_shape)


# ---------------------------------------------------------------------------
# The three operations as Functions
# ---------------------------------------------------------------------------


def _recording(*values):
    """True when backward was handed tensors: then it records the graph of the gradient."""
    return any(isinstance(v, Tensor) for v in values)


class Conv2dFunction(Function):
    r"""y = conv(x, w) + b, the convolution of a batch of images.

    Backward, with G = dL/dy:

    $$\frac{\partial L}{\partial x} = \operatorname{conv\_transpose}(G, w),\quad
      \frac{\partial L}{\partial w} = \operatorname{conv\_weight}(x, G),\quad
      \frac{\partial L}{\partial b_o} = \textstyle\sum_{n,r,s} G_{n,o,r,s}.$$
    """

    def __init__(self, geo, out=None):
        self.geo, self.out = geo, out

    def forward(self, x, weight, *bias):
        y, cols = conv_forward(x, weight, self.geo, self.out)
        if bias:
            y += bias[0].reshape(1, -1, 1, 1)
        self.save_for_backward(x, weight, cols)
        return y

    def backward(self, gy):
        x, weight, cols = self.saved
        needs = self.needs_input_grad
        if _recording(gy, x, weight):
            gx = conv_transpose(gy, weight, self.geo, x.shape) if needs[0] else None
            gw = conv_weight(x, gy, self.geo, weight.shape) if needs[1] else None
        else:
            gx = conv_input_grad(gy, weight, self.geo, x.shape) if needs[0] else None
            gw = conv_weight_grad(x, gy, self.geo, weight.shape, cols) if needs[1] else None
        if len(needs) == 2:
            return gx, gw
        return gx, gw, (gy.sum(axis=(0, 2, 3)) if needs[2] else None)


class ConvTransposeFunction(Function):
    """gx = conv_transpose(gy, w): the input gradient of a convolution, as an operation.

    Linear in both arguments. Its own backward, with G = dL/dgx, is made of
    the other two operations: dL/dgy = conv(G, w), dL/dw = conv_weight(G, gy).
    """

    def __init__(self, geo, input_shape):
        self.geo, self.input_shape = geo, tuple(input_shape)

    def forward(self, gy, weight):
        self.save_for_backward(gy, weight)
        return conv_input_grad(gy, weight, self.geo, self.input_shape)

    def backward(self, grad):
        gy, weight = self.saved
        needs = self.needs_input_grad
        return (conv(grad, weight, self.geo, gy.shape[2:]) if needs[0] else None,
                conv_weight(grad, gy, self.geo, weight.shape) if needs[1] else None)


class ConvWeightFunction(Function):
    """gw = conv_weight(x, gy): the weight gradient of a convolution, as an operation.

    Linear in both arguments; its backward, with G = dL/dgw:
    dL/dx = conv_transpose(gy, G), dL/dgy = conv(x, G).
    """

    def __init__(self, geo, weight_shape):
        self.geo, self.weight_shape = geo, tuple(weight_shape)

    def forward(self, x, gy):
        self.save_for_backward(x, gy)
        return conv_weight_grad(x, gy, self.geo, self.weight_shape)

    def backward(self, grad):
        x, gy = self.saved
        needs = self.needs_input_grad
        return (conv_transpose(gy, grad, self.geo, x.shape) if needs[0] else None,
                conv(x, grad, self.geo, gy.shape[2:]) if needs[1] else None)


def conv(x, weight, geo, out=None):
    """conv(x, w) without bias (its first ``out`` positions): recorded on tensors, NumPy on arrays."""
    if _recording(x, weight):
        return Conv2dFunction(geo, out)(x, weight)
    return conv_forward(x, weight, geo, out)[0]


def conv_transpose(gy, weight, geo, input_shape):
    """The input gradient of conv for an input of ``input_shape``: recorded on tensors."""
    if _recording(gy, weight):
        return ConvTransposeFunction(geo, input_shape)(gy, weight)
    return conv_input_grad(gy, weight, geo, input_shape)


def conv_weight(x, gy, geo, weight_shape):
    """The weight gradient of conv: recorded on tensors."""
    if _recording(x, gy):
        return ConvWeightFunction(geo, weight_shape)(x, gy)
    return conv_weight_grad(x, gy, geo, weight_shape)


# ---------------------------------------------------------------------------
# The functions of nn.functional
# ---------------------------------------------------------------------------


def _shape(x):
    return x.shape if isinstance(x, (Tensor, np.ndarray)) else np.shape(x)


def check_conv_arguments(x, weight, bias, geo, owner):
    """Shapes of input, weight and bias that fit together, or an error naming them."""
    w_shape = _shape(weight)
    if len(w_shape) != 4:
        raise ValueError(f"{owner}: the weight must have shape (out_channels, in_channels/groups, kH, kW), "
                         f"got {tuple(w_shape)}")
    out_channels, group_channels = w_shape[:2]
    if out_channels % geo.groups:
        raise ValueError(f"{owner}: {out_channels} output channels cannot be split into {geo.groups} groups")
    x_shape = _shape(x)
    check_image_batch(x_shape, group_channels * geo.groups, owner)
    if bias is not None and tuple(_shape(bias)) != (out_channels,):
        raise ValueError(f"{owner}: the bias must have shape ({out_channels},), got {tuple(_shape(bias))}")
    check_dtype(owner, x, weight)
    output_shape(x_shape, w_shape[2:], geo, owner)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution of a batch (N, C, H, W) with filters (O, C/groups, kH, kW), as in PyTorch.

    ``stride``, ``padding`` (zeros) and ``dilation`` are whole numbers or
    (rows, columns) pairs; ``padding`` may also be "valid" (none) or "same"
    (``padding_by_name``). With ``groups`` g the channels are split into g
    groups, each convolved with its own O/g filters. Returns (N, O, Ho, Wo).
    """
    kernel = tuple(_shape(weight)[2:])   # a weight of another rank is named by check_conv_arguments
    padding = padding_by_name(padding, kernel if len(kernel) == 2 else 1, stride, dilation, "conv2d")
    geo = geometry(stride, padding, dilation, groups, "conv2d")
    check_conv_arguments(input, weight, bias, geo, "conv2d")
    if bias is None:
        return Conv2dFunction(geo)(input, weight)
    return Conv2dFunction(geo)(input, weight, bias)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The transposed convolution, as in PyTorch: the input gradient of ``conv2d`` as an operation.

    ``weight`` (C_in, C_out/groups, kH, kW) is the weight of the convolution
    from C_out to C_in channels whose backward this is. Each output has
    (H - 1) s - 2p + d (k - 1) + output_padding + 1 rows; ``output_padding``
    (less than the stride or the dilation) picks among the sizes that a
    strided convolution maps to the same output size.
    """
    owner = "conv_transpose2d"
    geo = geometry(stride, padding, dilation, groups, owner)
    extra = pair(output_padding, "output_padding", owner, minimum=0)
    w_shape = _shape(weight)
    if len(w_shape) != 4:
        raise ValueError(f"{owner}: the weight must have shape (in_channels, out_channels/groups, kH, kW), "
                         f"got {tuple(w_shape)}")
    check_image_batch(_shape(input), w_shape[0], owner)
    if w_shape[0] % geo.groups:
        raise ValueError(f"{owner}: {w_shape[0]} input channels cannot be split into {geo.groups} groups")
    for axis in (0, 1):
        if extra[axis] >= max(geo.stride[axis], geo.dilation[axis]):
            raise ValueError(f"{owner}: output_padding {extra} must be smaller than the stride {geo.stride} "
                             f"or the dilation {geo.dilation}")
    check_dtype(owner, input, weight)
    n, _, h, w = _shape(input)
    size = [(s - 1) * geo.stride[a] - 2 * geo.padding[a] + geo.dilation[a] * (w_shape[2 + a] - 1) + extra[a] + 1
            for a, s in enumerate((h, w))]
    if min(size) < 1:
        raise ValueError(f"{owner}: an input of shape {tuple(_shape(input))} gives an empty output {tuple(size)}")
    input_shape = (n, w_shape[1] * geo.groups, size[0], size[1])
    y = ConvTransposeFunction(geo, input_shape)(input, weight)
    return y if bias is None else y + bias.reshape(1, -1, 1, 1)


# ---------------------------------------------------------------------------
# The layer
# ---------------------------------------------------------------------------


class Conv2d(Module):
    """A 2-D convolution layer, as ``torch.nn.Conv2d``.

    ``weight`` has shape (out_channels, in_channels/groups, kH, kW) and
    ``bias`` (out_channels,). They are initialised as in PyTorch: uniform
    in +-1/sqrt(fan_in), fan_in = in_channels/groups * kH * kW (PyTorch's
    ``kaiming_uniform_`` with a = sqrt(5) gives the same bound), so a state
    dict copied from a PyTorch layer gives the same outputs. Float32 by
    default, like ``Linear``. As in PyTorch, ``padding`` may be "valid" or
    "same" (``padding_by_name``); the only ``padding_mode`` is "zeros".
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", dtype=np.float32, generator=None):
        super().__init__()
        owner = "Conv2d"
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{owner}: {name} must be a positive whole number, got {value!r}")
        check_padding_mode(padding_mode, owner)
        padding = padding_by_name(padding, kernel_size, stride, dilation, owner)
        self.geo = geometry(stride, padding, dilation, groups, owner)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{owner}: in_channels {in_channels} and out_channels {out_channels} must both "
                             f"be divisible by groups {groups}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = pair(kernel_size, "kernel_size", owner)
        self.weight = Parameter(np.empty((out_channels, in_channels // groups, *self.kernel_size), dtype=dtype))
        self.bias = Parameter(np.empty(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters(generator)

    @property
    def stride(self):
        return self.geo.stride

    @property
    def padding(self):
        return self.geo.padding

    @property
    def dilation(self):
        return self.geo.dilation

    @property
    def groups(self):
        return self.geo.groups

    def reset_parameters(self, generator=None):
        """Weights and bias uniform in +-1/sqrt(fan_in), as PyTorch draws them."""
        fan_in, _ = init.fan_in_and_fan_out(self.weight)
        bound = 1 / np.sqrt(fan_in)
        init.uniform_(self.weight, -bound, bound, generator=generator)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound, generator=generator)

    def forward(self, x):
        owner = f"Conv2d({self.extra_repr()})"
        check_conv_arguments(x, self.weight, self.bias, self.geo, owner)
        if self.bias is None:
            return Conv2dFunction(self.geo)(x, self.weight)
        return Conv2dFunction(self.geo)(x, self.weight, self.bias)

    def extra_repr(self):
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text
