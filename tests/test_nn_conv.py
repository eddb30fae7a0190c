"""Convolution, pooling, batch normalisation and dropout: gradients, modes and errors.

The gradients are checked against central differences (``gradcheck``) on
random shapes and settings; the fast NumPy backward of each operation is
checked against the backward recorded from operations, which is what a
second derivative goes through.
"""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framework import nn
from framework.autograd.gradcheck import gradcheck
from framework.autograd.tensor import Tensor, no_grad, tensor
from framework.convnet import mnist_cnn
from framework.nn import functional as F
from framework.nn import conv as conv_module
from framework.nn.conv import (
    Conv2dFunction,
    ConvTransposeFunction,
    ConvWeightFunction,
    conv_forward,
    conv_output_size,
    conv_weight_grad,
    geometry,
    image_chunks,
    im2col_by_rows,
    im2col_from_windows,
    input_grad_by_columns,
    input_grad_by_rows,
    output_shape,
    rows_fit,
)
from framework.nn.pooling import GatherAt, MaxPool2dFunction, ScatterTo, pool_geometry


def leaf(rng, shape):
    return tensor(rng.standard_normal(shape), requires_grad=True)


@st.composite
def convolutions(draw):
    groups = draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    geo = geometry((draw(st.integers(1, 2)), draw(st.integers(1, 3))),
                   (draw(st.integers(0, 2)), draw(st.integers(0, 1))),
                   (draw(st.integers(1, 2)), draw(st.integers(1, 2))), groups, "test")
    span = [d * (k - 1) + 1 for d, k in zip(geo.dilation, kernel)]
    height = draw(st.integers(max(1, span[0] - 2 * geo.padding[0]), 6))
    width = draw(st.integers(max(1, span[1] - 2 * geo.padding[1]), 6))
    shape = (draw(st.integers(1, 2)), groups * draw(st.integers(1, 2)), height, width)
    weight_shape = (groups * draw(st.integers(1, 2)), shape[1] // groups, *kernel)
    return shape, weight_shape, geo, draw(st.integers(0, 2**16))


def as_arguments(geo):
    return dict(stride=geo.stride, padding=geo.padding, dilation=geo.dilation, groups=geo.groups)


# ---------------------------------------------------------------- convolution


@settings(max_examples=25)
@given(convolutions())
def test_conv2d_gradients_pass_the_gradient_check(case):
    shape, weight_shape, geo, seed = case
    rng = np.random.default_rng(seed)
    x, w, b = leaf(rng, shape), leaf(rng, weight_shape), leaf(rng, weight_shape[0])
    gradcheck(lambda x, w, b: F.conv2d(x, w, b, **as_arguments(geo)), x, w, b)


@settings(max_examples=20)
@given(convolutions())
def test_the_operations_of_convs_backward_pass_the_gradient_check(case):
    """Transposed convolution and weight gradient, each differentiated: conv2d's second derivatives."""
    shape, weight_shape, geo, seed = case
    rng = np.random.default_rng(seed)
    out = [conv_output_size(n, k, s, p, d) for n, k, s, p, d in
           zip(shape[2:], weight_shape[2:], geo.stride, geo.padding, geo.dilation)]
    gy, w, x = leaf(rng, (shape[0], weight_shape[0], *out)), leaf(rng, weight_shape), leaf(rng, shape)
    gradcheck(lambda gy, w: ConvTransposeFunction(geo, shape)(gy, w), gy, w)
    gradcheck(lambda x, gy: ConvWeightFunction(geo, weight_shape)(x, gy), x, gy)


@settings(max_examples=20)
@given(convolutions())
def test_conv_backward_on_arrays_equals_the_backward_recorded_from_operations(case):
    shape, weight_shape, geo, seed = case
    rng = np.random.default_rng(seed)
    x, w = leaf(rng, shape), leaf(rng, weight_shape)
    fn = Conv2dFunction(geo)
    y = fn(x, w)
    gy = rng.standard_normal(y.shape)
    fast = fn.backward(gy)
    fn.saved = (x, w, None)
    recorded = fn.backward(Tensor(gy))
    for a, b in zip(fast, recorded):
        assert isinstance(a, np.ndarray) and isinstance(b, Tensor) and b.grad_fn is not None
        np.testing.assert_allclose(a, b.data, rtol=1e-12, atol=1e-12)


def test_a_convolution_is_a_sliding_dot_product():
    """Every output value is the dot product of the filter with one window, computed by loops."""
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 2))
    stride, padding, dilation = (2, 1), (1, 2), (2, 1)
    y = F.conv2d(tensor(x), tensor(w), stride=stride, padding=padding, dilation=dilation).data
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (2, 2)))
    for n, o, r, s in np.ndindex(y.shape):
        rows = r * stride[0] + dilation[0] * np.arange(3)
        columns = s * stride[1] + dilation[1] * np.arange(2)
        window = padded[n][:, rows][:, :, columns]
        assert np.isclose(y[n, o, r, s], np.sum(window * w[o]))


@pytest.mark.parametrize("channels, groups", [(2, 1), (8, 1), (16, 2)])
def test_weight_gradient_is_the_sum_over_positions_with_few_and_many_taps(channels, groups):
    """dL/dw[o, c, i, j] = sum over n, r, s of dL/dy[n, o, r, s] x_padded[n, c, r + i, s + j].

    2 channels give 18 taps per filter, 8 give 72, and 16 in two groups 72
    per group: the weight gradient takes another path from 64 taps on.
    """
    rng = np.random.default_rng(channels)
    x, w = rng.standard_normal((3, channels, 6, 5)), tensor(rng.standard_normal((4, channels // groups, 3, 3)),
                                                            requires_grad=True)
    y = F.conv2d(tensor(x), w, padding=1, groups=groups)
    gy = rng.standard_normal(y.shape)
    y.backward(gy)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    per_group = w.shape[0] // groups
    expected = np.zeros(w.shape)
    for o, c, i, j in np.ndindex(w.shape):
        channel = (o // per_group) * w.shape[1] + c              # the input channel this filter tap reads
        expected[o, c, i, j] = np.sum(gy[:, o] * padded[:, channel, i:i + 6, j:j + 5])
    np.testing.assert_allclose(w.grad, expected, rtol=1e-12, atol=1e-12)


ROWS_FIT = [  # stride 1, output rows as wide as the input's: input shape, kernel, padding, dilation, groups, trimmed
    ((3, 4, 6, 5), (3, 3), (1, 1), (1, 1), 1, 0),       # "same" convolution, as in the chapter
    ((2, 3, 7, 6), (2, 5), (0, 2), (1, 1), 1, 0),       # rectangular kernel, no padding of the rows
    ((2, 4, 9, 8), (3, 3), (2, 2), (2, 2), 2, 0),       # dilated, two groups
    ((2, 2, 5, 6), (3, 3), (1, 2), (1, 1), 1, 1),       # the first rows and W columns of a wider output
    ((2, 6, 4, 4), (1, 1), (0, 0), (1, 1), 3, 0),       # 1x1 filters: a single tap
    ((1, 1, 1, 1), (3, 3), (1, 1), (1, 1), 1, 0),       # a single pixel
    ((2, 1, 3, 2), (1, 7), (0, 3), (1, 1), 1, 0),       # shifts by more than a row's width
    ((2, 2, 4, 4), (3, 3), (3, 1), (1, 1), 1, 0),       # more padding rows than the kernel needs
]


def _rows_fit_case(input_shape, kernel, padding, dilation, groups, trimmed):
    geo = geometry(1, padding, dilation, groups, "test")
    full = output_shape(input_shape, kernel, geo, "test")
    out = (full[0] - trimmed, input_shape[3])        # W columns: all of them, or the first W of a wider output
    assert rows_fit(input_shape, geo, out)
    return geo, out


@pytest.mark.parametrize("input_shape, kernel, padding, dilation, groups, trimmed", ROWS_FIT)
def test_im2col_by_rows_equals_the_columns_of_the_window_view(input_shape, kernel, padding, dilation, groups,
                                                               trimmed):
    geo, out = _rows_fit_case(input_shape, kernel, padding, dilation, groups, trimmed)
    x = np.random.default_rng(sum(input_shape)).standard_normal(input_shape)
    np.testing.assert_array_equal(im2col_by_rows(x, kernel, geo, out), im2col_from_windows(x, kernel, geo, out))


@pytest.mark.parametrize("input_shape, kernel, padding, dilation, groups, trimmed", ROWS_FIT)
def test_input_gradient_by_rows_equals_the_input_gradient_by_columns(input_shape, kernel, padding, dilation,
                                                                     groups, trimmed):
    """The two ways of conv_input_grad give the same numbers where rows fit.

    ``trimmed`` removes the last rows of dL/dy, as the adjoint of a
    transposed convolution with output_padding does.
    """
    geo, out = _rows_fit_case(input_shape, kernel, padding, dilation, groups, trimmed)
    rng = np.random.default_rng(len(input_shape) + trimmed)
    weight = rng.standard_normal((groups * 2, input_shape[1] // groups) + kernel)
    gy = rng.standard_normal((input_shape[0], weight.shape[0]) + out)
    by_rows = input_grad_by_rows(gy, weight, geo, input_shape)
    assert by_rows.shape == input_shape and by_rows.flags.c_contiguous
    np.testing.assert_allclose(by_rows, input_grad_by_columns(gy, weight, geo, input_shape), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("chunk_bytes, stride, padding, groups", [(1, 1, 1, 1), (3000, 1, 1, 2), (2000, 2, 0, 1)])
def test_convolution_a_chunk_of_images_at_a_time_equals_the_whole_batch_at_once(monkeypatch, chunk_bytes, stride,
                                                                                padding, groups):
    """The forward pass and the weight gradient give the same numbers whatever the chunks of images.

    A batch in one chunk keeps its columns for the weight gradient; in
    several, the weight gradient makes them again.
    """
    rng = np.random.default_rng(chunk_bytes)
    x, weight = rng.standard_normal((7, 4, 6, 5)), rng.standard_normal((6, 4 // groups, 3, 3))
    geo = geometry(stride, padding, 1, groups, "test")
    whole, cols = conv_forward(x, weight, geo)
    gy = rng.standard_normal(whole.shape)
    whole_gradient = conv_weight_grad(x, gy, geo, weight.shape, cols)
    assert cols is not None and len(image_chunks(x, (3, 3), geo, whole.shape[2:])) == 1
    monkeypatch.setattr(conv_module, "KEEP_BYTES", 0)
    monkeypatch.setattr(conv_module, "CHUNK_BYTES", chunk_bytes)
    assert len(image_chunks(x, (3, 3), geo, whole.shape[2:])) > 1
    chunked, kept = conv_forward(x, weight, geo)
    assert kept is None
    np.testing.assert_allclose(chunked, whole, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(conv_weight_grad(x, gy, geo, weight.shape), whole_gradient, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("size, kernel, stride, padding, dilation, expected",
                         [(28, 3, 1, 0, 1, 26), (28, 3, 1, 1, 1, 28), (28, 2, 2, 0, 1, 14), (27, 2, 2, 0, 1, 13),
                          (7, 3, 2, 1, 1, 4), (10, 3, 1, 0, 2, 6), (5, 5, 1, 0, 1, 1)])
def test_output_size_formula(size, kernel, stride, padding, dilation, expected):
    assert conv_output_size(size, kernel, stride, padding, dilation) == expected
    layer = nn.Conv2d(1, 1, kernel, stride, padding, dilation)
    assert layer(Tensor(np.zeros((1, 1, size, size), np.float32))).shape == (1, 1, expected, expected)


def test_conv_keeps_float32_and_refuses_mixed_dtypes():
    layer = nn.Conv2d(2, 3, 3)
    y = layer(Tensor(np.ones((1, 2, 5, 5), np.float32)))
    y.sum().backward()
    assert y.dtype == layer.weight.grad.dtype == layer.bias.grad.dtype == np.float32
    with pytest.raises(TypeError, match=r"Conv2d\(2, 3.*dtype float64.*float32"):
        layer(Tensor(np.ones((1, 2, 5, 5))))


# ---------------------------------------------------------------- pooling


@st.composite
def poolings(draw):
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    height = draw(st.integers(max(1, kernel[0] - 2 * padding[0]), 6))
    width = draw(st.integers(max(1, kernel[1] - 2 * padding[1]), 6))
    return (draw(st.integers(1, 2)), draw(st.integers(1, 2)), height, width), kernel, stride, padding, \
        draw(st.integers(0, 2**16))


@settings(max_examples=25)
@given(poolings())
def test_max_pool2d_passes_the_gradient_check(case):
    shape, kernel, stride, padding, seed = case
    x = leaf(np.random.default_rng(seed), shape)  # distinct values: the maximum is unique
    gradcheck(lambda x: F.max_pool2d(x, kernel, stride, padding), x)


@settings(max_examples=25)
@given(poolings())
@pytest.mark.exercise("9.1")
def test_avg_pool2d_passes_the_gradient_check(case):
    shape, kernel, stride, padding, seed = case
    x = leaf(np.random.default_rng(seed), shape)
    gradcheck(lambda x: F.avg_pool2d(x, kernel, stride, padding), x)


@pytest.mark.exercise("9.1")
def test_avg_pool2d_backward_spreads_each_gradient_evenly_over_its_window():
    x = tensor(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
    F.avg_pool2d(x, 2).backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    expected = np.kron(np.array([[1.0, 2.0], [3.0, 4.0]]), np.ones((2, 2))) / 4
    np.testing.assert_array_equal(x.grad.data, expected[None, None])
    x.grad = None
    F.avg_pool2d(x, 3, stride=1).sum().backward()  # overlapping windows: a pixel gets a share of each
    np.testing.assert_allclose(x.grad.data[0, 0], np.outer([1, 2, 2, 1], [1, 2, 2, 1]) / 9)


@pytest.mark.exercise("9.1")
def test_avg_pool2d_backward_can_be_recorded():
    rng = np.random.default_rng(1)
    x = leaf(rng, (2, 3, 5, 5))
    fn = nn.AvgPool2d(3, stride=2, padding=1)
    y = fn(x)
    gy = rng.standard_normal(y.shape)
    fast = y.grad_fn.backward(gy)
    recorded = y.grad_fn.backward(tensor(gy, requires_grad=True))
    assert isinstance(fast, np.ndarray) and isinstance(recorded, Tensor) and recorded.grad_fn is not None
    np.testing.assert_allclose(fast, recorded.data, rtol=1e-12)


@pytest.mark.parametrize("shape", [(2, 3, 8, 8), (1, 2, 7, 9), (3, 1, 6, 5)])
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool_tiling_path_equals_the_general_path(shape, ties):
    rng = np.random.default_rng(0)
    values = rng.standard_normal(shape)
    if ties:  # as after a ReLU: many zeros, so many windows have several maxima
        values = np.maximum(np.round(values), 0)
    kernel, geo = pool_geometry(2, None, 0, 1, "test")
    outputs, grads = [], []
    gy = rng.standard_normal((shape[0], shape[1], shape[2] // 2, shape[3] // 2))
    for tiling in (True, False):
        x = tensor(values, requires_grad=True)
        y = MaxPool2dFunction(kernel, geo, tiling=tiling)(x)
        y.backward(gy)
        outputs.append(y.data)
        grads.append(x.grad.data)
    np.testing.assert_array_equal(outputs[0], outputs[1])
    np.testing.assert_array_equal(grads[0], grads[1])
    # Each window passes its gradient to exactly one input.
    assert np.count_nonzero(grads[0]) == np.count_nonzero(gy)


@pytest.mark.parametrize("tiling", [True, False])
def test_max_pool_sends_the_gradient_of_a_window_holding_nan_to_its_first_nan(tiling):
    """nan is the maximum of its window (np.maximum and argmax agree), and it takes the gradient."""
    values = np.array([[[[1.0, 2.0, 5.0, np.nan],
                         [np.nan, 0.0, np.nan, 3.0]]]])
    kernel, geo = pool_geometry(2, None, 0, 1, "test")
    x = tensor(values, requires_grad=True)
    y = MaxPool2dFunction(kernel, geo, tiling=tiling)(x)
    y.backward(np.array([[[[10.0, 20.0]]]]))
    assert np.all(np.isnan(y.data))
    expected = np.array([[[[0, 0, 0, 20.0],      # the right window's first nan in reading order
                           [10.0, 0, 0, 0]]]])   # the left window has one nan
    np.testing.assert_array_equal(x.grad.data, expected)


@pytest.mark.parametrize("stride", [2, 1])
def test_max_pool_backward_on_arrays_equals_the_backward_recorded_from_operations(stride):
    rng = np.random.default_rng(2)
    x = tensor(np.maximum(np.round(rng.standard_normal((2, 2, 6, 6))), 0), requires_grad=True)
    y = F.max_pool2d(x, 2, stride)
    gy = rng.standard_normal(y.shape)
    fast = y.grad_fn.backward(gy)
    recorded = y.grad_fn.backward(tensor(gy, requires_grad=True))
    assert recorded.grad_fn is not None
    np.testing.assert_array_equal(fast, recorded.data)


def test_gather_and_scatter_are_each_others_backward():
    rng = np.random.default_rng(3)
    index = rng.integers(0, 12, size=(2, 3, 5))        # repeated positions: the scatter adds up
    gradcheck(lambda x: GatherAt(index)(x), leaf(rng, (2, 3, 3, 4)))
    gradcheck(lambda v: ScatterTo(index, (2, 3, 3, 4))(v), leaf(rng, (2, 3, 5)))


def test_a_dilated_window_wholly_in_the_padding_gives_minus_infinity_and_no_gradient():
    x = tensor(np.ones((1, 1, 1, 3)), requires_grad=True)
    y = F.max_pool2d(x, (2, 1), stride=1, padding=(1, 0), dilation=2)
    assert y.shape == (1, 1, 1, 3) and np.all(y.data == -np.inf)
    y.backward(np.ones(y.shape))
    assert np.all(x.grad.data == 0)


# ---------------------------------------------------------------- batch normalisation


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 6), (3, 3, 4, 2)])
def test_batch_norm_passes_the_gradient_check_in_both_modes(shape):
    rng = np.random.default_rng(4)
    x, w, b = leaf(rng, shape), leaf(rng, 3), leaf(rng, 3)
    gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), x, w, b)
    gradcheck(lambda x: F.batch_norm(x, None, None, training=True), x)
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    gradcheck(lambda x, w, b: F.batch_norm(x, mean, var, w, b, training=False), x, w, b)


@settings(max_examples=20)
@given(st.lists(st.integers(1, 4), min_size=0, max_size=2), st.integers(2, 5), st.integers(1, 3),
       st.integers(0, 2**16))
def test_batch_norm_passes_the_gradient_check_on_random_shapes(positions, batch, channels, seed):
    rng = np.random.default_rng(seed)
    shape = (batch, channels, *positions)
    x, w, b = leaf(rng, shape), leaf(rng, channels), leaf(rng, channels)
    gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), x, w, b)


@settings(max_examples=10)
@given(st.floats(0.05, 0.95), st.integers(0, 2**16))
def test_dropout_passes_the_gradient_check_with_a_fixed_mask(p, seed):
    x = leaf(np.random.default_rng(seed), (3, 4, 5))
    gradcheck(lambda x: F.dropout(x, p, generator=np.random.default_rng(seed)), x)


def test_batch_norm_standardises_each_channel_in_training_and_uses_running_statistics_in_eval():
    rng = np.random.default_rng(5)
    layer = nn.BatchNorm2d(4, dtype=np.float64)
    x = rng.standard_normal((8, 4, 5, 5)) * np.array([1, 2, 3, 4]).reshape(1, 4, 1, 1) + 10
    y = layer(tensor(x)).data
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, rtol=1e-3)   # eps = 1e-5 keeps it just under 1
    n = 8 * 5 * 5
    np.testing.assert_allclose(layer.running_mean, 0.1 * x.mean(axis=(0, 2, 3)))
    np.testing.assert_allclose(layer.running_var, 0.9 + 0.1 * x.var(axis=(0, 2, 3)) * n / (n - 1))
    layer.eval()
    y_eval = layer(tensor(x[:1])).data
    expected = (x[:1] - layer.running_mean.reshape(1, 4, 1, 1)) / np.sqrt(layer.running_var.reshape(1, 4, 1, 1) + 1e-5)
    np.testing.assert_allclose(y_eval, expected, rtol=1e-12)
    before = layer.running_mean.copy()
    layer(tensor(x))
    np.testing.assert_array_equal(layer.running_mean, before)   # evaluation never changes them


def test_batch_norm_buffers_are_in_the_state_dict_and_not_parameters():
    layer = nn.BatchNorm1d(3)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert list(layer.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    layer(Tensor(np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)))
    saved = layer.state_dict()
    other = nn.BatchNorm1d(3)
    other.load_state_dict(saved)
    np.testing.assert_array_equal(other.running_var, layer.running_var)
    assert int(other.num_batches_tracked) == 1
    other.double()
    assert other.running_mean.dtype == np.float64 and other.num_batches_tracked.dtype == np.int64


def test_batch_norm_without_running_statistics_uses_the_batch_in_both_modes():
    layer = nn.BatchNorm1d(2, track_running_stats=False, affine=False).eval()
    x = np.array([[1.0, 2.0], [3.0, 6.0]], np.float32)
    np.testing.assert_allclose(layer(Tensor(x)).data, [[-1, -1], [1, 1]], atol=1e-4)
    assert list(layer.state_dict()) == []


# ---------------------------------------------------------------- dropout


def test_dropout_zeroes_a_fraction_p_and_scales_the_rest():
    x = np.ones((200, 500), np.float32)
    nn.init.manual_seed(0)
    y = F.dropout(Tensor(x), p=0.3).data
    dropped = np.mean(y == 0)
    # 100,000 independent draws: the fraction is within 5 standard deviations of p.
    assert abs(dropped - 0.3) < 5 * np.sqrt(0.3 * 0.7 / y.size)
    np.testing.assert_allclose(y[y != 0], 1 / 0.7, rtol=1e-6)
    assert abs(y.mean() - 1) < 0.01 and y.dtype == np.float32


def test_dropout_is_seeded_and_its_gradient_uses_the_same_mask():
    x = tensor(np.arange(1.0, 41.0).reshape(4, 10), requires_grad=True)
    nn.init.manual_seed(7)
    first = F.dropout(x, 0.5)
    nn.init.manual_seed(7)
    np.testing.assert_array_equal(F.dropout(x, 0.5).data, first.data)
    assert not np.array_equal(F.dropout(x, 0.5).data, first.data)      # the next call draws anew
    own = [F.dropout(x, 0.5, generator=np.random.default_rng(3)).data for _ in range(2)]
    np.testing.assert_array_equal(own[0], own[1])
    first.sum().backward()
    np.testing.assert_array_equal(x.grad.data, first.data / x.data)    # 0 or 2 where the mask is


def test_dropout_is_the_identity_in_eval_mode_and_for_p_zero_and_zero_for_p_one():
    x = Tensor(np.ones((3, 4)))
    layer = nn.Dropout(0.5).eval()
    assert layer(x) is x
    assert F.dropout(x, 0.0) is x
    assert np.all(F.dropout(x, 1.0).data == 0)
    for p in (-0.1, 1.5, "half"):
        with pytest.raises(ValueError, match="Dropout: the probability p"):
            nn.Dropout(p)


# ---------------------------------------------------------------- modes


def network():
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Dropout(0.5), nn.Linear(2 * 3 * 3, 3))


def test_train_and_eval_switch_every_layer_and_change_what_dropout_and_batch_norm_do():
    net = network()
    x = Tensor(np.random.default_rng(0).standard_normal((4, 1, 8, 8)).astype(np.float32))
    assert all(module.training for module in net.modules())
    with no_grad():
        train_outputs = [net(x).data for _ in range(2)]
    assert not np.array_equal(*train_outputs)          # new dropout masks, new batch statistics
    assert int(net[1].num_batches_tracked) == 2
    net.eval()
    assert not any(module.training for module in net.modules())
    with no_grad():
        eval_outputs = [net(x).data for _ in range(2)]
        single = net(Tensor(x.data[:1])).data
    np.testing.assert_array_equal(*eval_outputs)
    np.testing.assert_allclose(single, eval_outputs[0][:1], rtol=1e-5)   # one image alone gives the same
    assert int(net[1].num_batches_tracked) == 2
    net.train()
    assert all(module.training for module in net.modules())


def test_fit_trains_in_training_mode_and_validates_in_eval_mode():
    from framework import optim
    from framework.train import evaluate, fit

    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 3, 40)
    net = network()
    history = fit(net, optim.SGD(net.parameters(), lr=0.01), [(x[:20], y[:20]), (x[20:], y[20:])], epochs=1,
                  validation_data=(x, y), progress=False)
    assert net.training                                   # back in training mode afterwards
    again = evaluate(net, (x, y))                          # eval mode: no dropout, running statistics
    assert history.val_loss[0] == pytest.approx(again.loss, rel=1e-6)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("shape, message", [
    ((3, 28, 28), r"Conv2d\(3, 8.*shape \(batch, channels, height, width\), got shape \(3, 28, 28\).*batch axis"),
    ((2, 1, 28, 28), r"Conv2d\(3, 8.*expected 3 input channels.*\(2, 1, 28, 28\)"),
    ((2, 3, 2, 28), r"Conv2d\(3, 8.*kernel \(5, 5\).*spans 5 pixels.*height 4.*\(2, 3, 2, 28\)"),
])
def test_conv2d_explains_bad_inputs(shape, message):
    layer = nn.Conv2d(3, 8, 5, padding=1)
    with pytest.raises(ValueError, match=message):
        layer(Tensor(np.zeros(shape, np.float32)))


@pytest.mark.parametrize("arguments, error, message", [
    (dict(stride=0), ValueError, "Conv2d: stride must be positive, got 0"),
    (dict(stride=(1, -2)), ValueError, r"Conv2d: stride must be positive, got \(1, -2\)"),
    (dict(padding=-1), ValueError, "Conv2d: padding must be at least 0"),
    (dict(dilation=1.5), TypeError, "Conv2d: dilation must be a whole number or a pair"),
    (dict(groups=2), ValueError, "in_channels 3 and out_channels 8 must both be divisible by groups 2"),
])
def test_conv2d_refuses_bad_settings(arguments, error, message):
    with pytest.raises(error, match=message):
        nn.Conv2d(3, 8, 3, **arguments)


def test_functional_forms_and_pooling_layers_explain_bad_inputs():
    x = Tensor(np.zeros((1, 2, 3, 3)))
    with pytest.raises(ValueError, match=r"conv2d: expected 4 input channels.*\(1, 2, 3, 3\)"):
        F.conv2d(x, Tensor(np.zeros((5, 4, 3, 3))))
    with pytest.raises(ValueError, match=r"MaxPool2d\(kernel_size=\(4, 4\).*spans 4 pixels.*\(1, 2, 3, 3\)"):
        nn.MaxPool2d(4)(x)
    with pytest.raises(ValueError, match=r"max_pool2d: expected an input of shape .*got shape \(2, 3, 3\)"):
        F.max_pool2d(Tensor(np.zeros((2, 3, 3))), 2)
    with pytest.raises(ValueError, match="AvgPool2d: padding .* at most half the kernel size"):
        nn.AvgPool2d(2, padding=2)
    with pytest.raises(ValueError, match="MaxPool2d: stride must be positive"):
        nn.MaxPool2d(2, stride=0)


def test_batch_norm_explains_bad_inputs():
    layer = nn.BatchNorm1d(4)
    with pytest.raises(ValueError, match=r"BatchNorm1d\(4.*more than one value.*\(1, 4\).*model.eval\(\)"):
        layer(Tensor(np.zeros((1, 4), np.float32)))
    layer.eval()
    assert layer(Tensor(np.zeros((1, 4), np.float32))).shape == (1, 4)   # fine in evaluation mode
    with pytest.raises(ValueError, match=r"BatchNorm1d\(4.*expected 4 channels in axis 1, got shape \(2, 3\)"):
        layer(Tensor(np.zeros((2, 3), np.float32)))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3.*\(batch, channels, height, width\), got shape \(2, 3\)"):
        nn.BatchNorm2d(3)(Tensor(np.zeros((2, 3), np.float32)))
    with pytest.raises(ValueError, match="batch_norm: in training mode each channel needs more than one value"):
        F.batch_norm(Tensor(np.zeros((1, 3))), None, None, training=True)
    no_running = nn.BatchNorm2d(4, track_running_stats=False).eval()
    with pytest.raises(ValueError, match=r"BatchNorm2d\(4.*track_running_stats=False.*evaluation mode too.*"
                                         r"\(1, 4, 1, 1\) has 1"):
        no_running(Tensor(np.zeros((1, 4, 1, 1), np.float32)))
    for affine in (True, False):
        with pytest.raises(TypeError, match=r"BatchNorm2d\(4.*input has dtype float64 but the layer has dtype float32"):
            nn.BatchNorm2d(4, affine=affine)(Tensor(np.zeros((2, 4, 3, 3))))


@pytest.mark.parametrize("kernel, dilation", [(3, 1), (5, 1), ((3, 5), 1), (3, 2), ((1, 3), (3, 2))])
def test_padding_same_keeps_the_size_and_valid_pads_nothing(kernel, dilation):
    x = Tensor(np.random.default_rng(0).standard_normal((2, 3, 9, 8)).astype(np.float32))
    same = nn.Conv2d(3, 4, kernel, padding="same", dilation=dilation)
    assert same(x).shape == (2, 4, 9, 8)
    numbers = nn.Conv2d(3, 4, kernel, padding=same.padding, dilation=dilation)
    numbers.load_state_dict(same.state_dict())
    np.testing.assert_array_equal(same(x).data, numbers(x).data)
    valid = nn.Conv2d(3, 4, kernel, padding="valid", dilation=dilation)
    assert valid.padding == (0, 0)
    assert F.conv2d(x, same.weight, same.bias, padding="same", dilation=dilation).shape == (2, 4, 9, 8)


def test_padding_by_name_and_padding_mode_refuse_what_they_cannot_do():
    with pytest.raises(ValueError, match="Conv2d: padding='same' needs stride 1"):
        nn.Conv2d(1, 1, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match=r"Conv2d: padding='same' with kernel \(2, 2\).*cannot be split evenly"):
        nn.Conv2d(1, 1, 2, padding="same")
    with pytest.raises(ValueError, match="conv2d: padding must be a number, a pair, 'valid' or 'same', got 'full'"):
        F.conv2d(Tensor(np.zeros((1, 1, 4, 4))), Tensor(np.zeros((1, 1, 3, 3))), padding="full")
    with pytest.raises(ValueError, match="conv2d: the weight must have shape"):
        F.conv2d(Tensor(np.zeros((1, 1, 4, 4))), Tensor(np.zeros((1, 3, 3))), padding="same")
    assert nn.Conv2d(1, 1, 3, padding_mode="zeros").padding == (0, 0)
    with pytest.raises(ValueError, match="Conv2d: padding_mode 'reflect' is not supported; only 'zeros'"):
        nn.Conv2d(1, 1, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="Conv2d: padding_mode 'mirror' is not a padding mode"):
        nn.Conv2d(1, 1, 3, padding_mode="mirror")


def test_poolings_take_pytorchs_options_in_their_places_and_refuse_what_they_lack():
    x = Tensor(np.arange(2 * 36, dtype=np.float32).reshape(1, 2, 6, 6))
    assert F.max_pool2d(x, 2, 2, 0, 1, False, False).shape == (1, 2, 3, 3)
    assert F.avg_pool2d(x, 2, 2, 0, False, False).shape == (1, 2, 3, 3)   # no padding: both counts agree
    refusals = [
        (lambda: nn.MaxPool2d(2, 2, 0, 1, False, True), "MaxPool2d: ceil_mode=True is not supported"),
        (lambda: nn.MaxPool2d(2, return_indices=True), "MaxPool2d: return_indices=True is not supported"),
        (lambda: F.max_pool2d(x, 2, ceil_mode=True), "max_pool2d: ceil_mode=True is not supported"),
        (lambda: nn.AvgPool2d(3, 1, 1, False, False), "AvgPool2d: count_include_pad=False is not supported"),
        (lambda: F.avg_pool2d(x, 2, ceil_mode=True), "avg_pool2d: ceil_mode=True is not supported"),
        (lambda: nn.AvgPool2d(2, divisor_override=0), "AvgPool2d: divisor_override must be a positive whole"),
        (lambda: nn.AvgPool2d(2, divisor_override="2"), "AvgPool2d: divisor_override must be a positive whole"),
    ]
    for make, message in refusals:
        with pytest.raises(ValueError, match=message):
            make()


def test_divisor_override_divides_each_windows_sum():
    x = Tensor(np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4))
    sums = F.avg_pool2d(x, 2).data * 4
    np.testing.assert_allclose(F.avg_pool2d(x, 2, divisor_override=3).data, sums / 3)
    np.testing.assert_allclose(nn.AvgPool2d(2, divisor_override=5)(x).data, sums / 5)


def test_functional_batch_norm_names_a_statistic_or_parameter_of_the_wrong_length():
    x = Tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"batch_norm: the input of shape \(2, 3\) has 3 channels.*running_mean "
                                         r"must have shape \(3,\), got \(4,\)"):
        F.batch_norm(x, np.zeros(4), np.ones(4))
    with pytest.raises(ValueError, match=r"batch_norm: .*weight must have shape \(3,\), got \(2,\)"):
        F.batch_norm(x, None, None, Tensor(np.ones(2)), Tensor(np.zeros(3)), training=True)


def test_functional_batch_norm_takes_a_weight_or_a_bias_alone():
    """Each alone acts as if the other were there with its neutral value (1 or 0)."""
    rng = np.random.default_rng(5)
    values, weight, bias = rng.standard_normal((4, 3, 2)), rng.uniform(0.5, 2, 3), rng.standard_normal(3)
    for training in (True, False):
        def normalised(w, b):
            return F.batch_norm(Tensor(values), np.zeros(3), np.ones(3), w, b, training=training).data

        np.testing.assert_allclose(normalised(Tensor(weight), None), normalised(Tensor(weight), Tensor(np.zeros(3))))
        np.testing.assert_allclose(normalised(None, Tensor(bias)), normalised(Tensor(np.ones(3)), Tensor(bias)))
    x, w = tensor(values, requires_grad=True), tensor(weight, requires_grad=True)
    gradcheck(lambda x, w: F.batch_norm(x, None, None, w, None, training=True), x, w)


def test_an_empty_batch_trains_batch_norm_as_in_pytorch():
    """No values: an empty output, zero gradients, running statistics unchanged but the batch counted."""
    layer = nn.BatchNorm2d(3, dtype=np.float64)
    x = Tensor(np.zeros((0, 3, 4, 4)), requires_grad=True)
    y = layer(x)
    y.sum().backward()
    assert y.shape == x.grad.shape == (0, 3, 4, 4)
    assert np.all(layer.weight.grad.data == 0) and np.all(layer.bias.grad.data == 0)
    np.testing.assert_array_equal(layer.running_mean, np.zeros(3))
    np.testing.assert_array_equal(layer.running_var, np.ones(3))
    assert int(layer.num_batches_tracked) == 1
    assert nn.BatchNorm1d(3, track_running_stats=False).eval()(Tensor(np.zeros((0, 3), np.float32))).shape == (0, 3)


def test_dropout_takes_pytorchs_arguments_in_pytorchs_order():
    x = Tensor(np.ones((2, 5), np.float32))
    assert F.dropout(x, 0.5, False, False) is x                     # (input, p, training, inplace)
    assert F.dropout(x, 0.5, True, False).shape == (2, 5)
    assert nn.Dropout(0.2, False).p == 0.2                          # (p, inplace)
    with pytest.raises(ValueError, match="dropout: inplace=True is not supported"):
        F.dropout(x, 0.5, True, True)
    with pytest.raises(ValueError, match="Dropout: inplace=True is not supported"):
        nn.Dropout(0.5, inplace=True)


def test_an_empty_batch_goes_through_a_cnn_in_evaluation_mode():
    """No images in, no scores out, as in PyTorch; gradients of the right (empty) shapes."""
    model = mnist_cnn(batch_norm=True).eval()
    x = Tensor(np.zeros((0, 1, 28, 28), np.float32), requires_grad=True)
    scores = model(x)
    assert scores.shape == (0, 10)
    scores.sum().backward()
    assert x.grad.shape == (0, 1, 28, 28)
    assert all(p.grad is not None and np.all(p.grad.data == 0) for p in model.parameters())
    for layer in (nn.Conv2d(4, 4, 3, stride=2, groups=2), nn.MaxPool2d(3, stride=2, padding=1), nn.AvgPool2d(2)):
        assert layer(Tensor(np.zeros((0, 4, 8, 8), np.float32))).shape[0] == 0


# ---------------------------------------------------------------- chapters


def test_importing_nn_runs_no_code_of_later_chapters():
    code = ("import sys; from framework import nn; from framework.nn import functional; "
            "print(sorted(m for m in sys.modules if m.split('.')[-1] in "
            "('conv', 'pooling', 'normalization', 'dropout')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_every_later_name_resolves_to_a_module_of_a_later_chapter():
    import importlib

    from framework import nn as package
    from tools.chapters import chapter_of_module

    for owner, names in ((package, package.LATER_LAYERS), (F, F.LATER_FUNCTIONS)):
        for name, module in names.items():
            assert chapter_of_module(module) > 6, f"{module} should belong to a chapter after Chapter 6"
            assert getattr(owner, name) is getattr(importlib.import_module(module), name)
    assert package.LATER_LAYERS["Conv2d"] == "framework.nn.conv" and chapter_of_module("framework.nn.conv") == 9
    with pytest.raises(AttributeError, match="framework.nn' has no attribute 'Conv3d'"):
        package.Conv3d


def test_no_chapter_uses_a_later_layer_before_its_chapter():
    """The import check cannot see ``nn.Conv2d``; this one reads the chapters' code for it."""
    import ast

    from framework import nn as package
    from tests.test_chapter_imports import CHAPTERS, chapter_code
    from tools.chapters import chapter_of_module

    later = {**package.LATER_LAYERS, **F.LATER_FUNCTIONS}
    for chapter in CHAPTERS:
        for index, code in chapter_code(chapter):
            for node in ast.walk(ast.parse(code)):
                name = node.attr if isinstance(node, ast.Attribute) else (
                    node.id if isinstance(node, ast.Name) else None)
                if name in later:
                    assert chapter_of_module(later[name]) <= chapter.number, (
                        f"{chapter.stem}, code cell {index}, uses {name} of a later chapter")
