"""Convolution, pooling, batch normalisation and dropout against PyTorch (when installed).

Random shapes, strides, paddings, dilations, groups and channel counts, in
float64: outputs and every gradient must equal PyTorch's to near rounding.
Batch normalisation is also compared after several training steps (running
statistics) and in evaluation mode, and state dicts are copied both ways.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framework import nn
from framework.autograd.tensor import Tensor, tensor
from framework.nn import functional as F

torch = pytest.importorskip("torch")

TOLERANCE = dict(rtol=1e-10, atol=1e-10)


def both(values):
    """The same float64 values as a framework tensor and a torch tensor, both requiring grad."""
    return tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)


def assert_close(mine, theirs, what):
    mine = mine.data if isinstance(mine, Tensor) else np.asarray(mine)
    np.testing.assert_allclose(mine, theirs.detach().numpy(), **TOLERANCE, err_msg=what)


@st.composite
def convolutions(draw):
    """A random convolution that fits its input."""
    groups = draw(st.integers(1, 3))
    in_channels = groups * draw(st.integers(1, 3))
    out_channels = groups * draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 2)))
    span = [d * (k - 1) + 1 for d, k in zip(dilation, kernel)]
    height = draw(st.integers(max(1, span[0] - 2 * padding[0]), 9))
    width = draw(st.integers(max(1, span[1] - 2 * padding[1]), 9))
    batch = draw(st.integers(1, 3))
    bias = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    return dict(shape=(batch, in_channels, height, width), out_channels=out_channels, kernel=kernel,
                stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias, seed=seed)


@settings(max_examples=60)
@given(convolutions())
def test_conv2d_output_and_gradients_equal_pytorch(case):
    rng = np.random.default_rng(case["seed"])
    x, tx = both(rng.standard_normal(case["shape"]))
    weight_shape = (case["out_channels"], case["shape"][1] // case["groups"], *case["kernel"])
    w, tw = both(rng.standard_normal(weight_shape))
    b, tb = both(rng.standard_normal(case["out_channels"])) if case["bias"] else (None, None)
    settings_ = dict(stride=case["stride"], padding=case["padding"], dilation=case["dilation"], groups=case["groups"])
    y = F.conv2d(x, w, b, **settings_)
    ty = torch.nn.functional.conv2d(tx, tw, tb, **settings_)
    assert_close(y, ty, "output")
    direction = rng.standard_normal(ty.shape)
    y.backward(direction)
    ty.backward(torch.tensor(direction))
    assert_close(x.grad, tx.grad, "input gradient")
    assert_close(w.grad, tw.grad, "weight gradient")
    if case["bias"]:
        assert_close(b.grad, tb.grad, "bias gradient")


@settings(max_examples=40)
@given(convolutions(), st.integers(0, 2))
def test_conv_transpose2d_equals_pytorch(case, extra):
    rng = np.random.default_rng(case["seed"])
    groups = case["groups"]
    in_channels = case["out_channels"]          # the transposed direction
    shape = (case["shape"][0], in_channels, *case["shape"][2:])
    x, tx = both(rng.standard_normal(shape))
    w, tw = both(rng.standard_normal((in_channels, case["shape"][1] // groups, *case["kernel"])))
    output_padding = tuple(min(extra, max(s, d) - 1) for s, d in zip(case["stride"], case["dilation"]))
    settings_ = dict(stride=case["stride"], padding=case["padding"], output_padding=output_padding,
                     groups=groups, dilation=case["dilation"])
    try:
        ty = torch.nn.functional.conv_transpose2d(tx, tw, None, **settings_)
    except RuntimeError:
        with pytest.raises(ValueError, match="conv_transpose2d"):
            F.conv_transpose2d(x, w, None, **settings_)
        return
    y = F.conv_transpose2d(x, w, None, **settings_)
    assert_close(y, ty, "output")
    direction = rng.standard_normal(ty.shape)
    y.backward(direction)
    ty.backward(torch.tensor(direction))
    assert_close(x.grad, tx.grad, "input gradient")
    assert_close(w.grad, tw.grad, "weight gradient")


@settings(max_examples=30)
@given(convolutions())
def test_second_derivatives_of_conv2d_equal_pytorch(case):
    """The backward of conv2d, recorded as operations and differentiated again."""
    from framework.nn.conv import Conv2dFunction, geometry

    rng = np.random.default_rng(case["seed"])
    x, tx = both(rng.standard_normal(case["shape"]))
    w, tw = both(rng.standard_normal((case["out_channels"], case["shape"][1] // case["groups"], *case["kernel"])))
    geo = geometry(case["stride"], case["padding"], case["dilation"], case["groups"], "test")
    fn = Conv2dFunction(geo)
    y = fn(x, w)
    gy, tgy = both(rng.standard_normal(y.shape))
    fn.saved = (x, w, None)                     # backward handed tensors records its graph
    gx, gw = fn.backward(gy)
    ty = torch.nn.functional.conv2d(tx, tw, stride=geo.stride, padding=geo.padding, dilation=geo.dilation,
                                    groups=geo.groups)
    tgx, tgw = torch.autograd.grad(ty, (tx, tw), tgy, create_graph=True)
    assert_close(gx, tgx, "input gradient")
    assert_close(gw, tgw, "weight gradient")
    u, v = rng.standard_normal(gx.shape), rng.standard_normal(gw.shape)
    ((gx * u).sum() + (gw * v).sum()).backward()
    second = torch.autograd.grad((tgx * torch.tensor(u)).sum() + (tgw * torch.tensor(v)).sum(), (tx, tw, tgy))
    for mine, theirs, name in zip((x.grad, w.grad, gy.grad), second, ("x", "w", "gy")):
        assert_close(mine, theirs, f"second derivative through {name}")


@st.composite
def poolings(draw):
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    height = draw(st.integers(max(1, kernel[0] - 2 * padding[0]), 9))
    width = draw(st.integers(max(1, kernel[1] - 2 * padding[1]), 9))
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3)), height, width)
    return dict(shape=shape, kernel=kernel, stride=stride, padding=padding, seed=draw(st.integers(0, 2**16)),
                ties=draw(st.booleans()))


@settings(max_examples=60)
@given(poolings(), st.integers(1, 2))
def test_max_pool2d_equals_pytorch(case, dilation):
    rng = np.random.default_rng(case["seed"])
    values = rng.standard_normal(case["shape"])
    if case["ties"]:  # after a ReLU many values are 0: the first maximum must win, as in PyTorch
        values = np.maximum(np.round(values), 0)
    x, tx = both(values)
    kernel, stride, padding = case["kernel"], case["stride"], case["padding"]
    if dilation > 1:  # a dilated window may lie wholly in the padding, where PyTorch's backward misbehaves
        padding = (0, 0)
    span = [dilation * (k - 1) + 1 for k in kernel]
    if any(s > n + 2 * p for s, n, p in zip(span, case["shape"][2:], padding)):
        with pytest.raises(ValueError, match="max_pool2d.*kernel"):
            F.max_pool2d(x, kernel, stride, padding, dilation)
        return
    y = F.max_pool2d(x, kernel, stride, padding, dilation)
    ty = torch.nn.functional.max_pool2d(tx, kernel, stride, padding, dilation)
    assert_close(y, ty, "output")
    direction = rng.standard_normal(ty.shape)
    y.backward(direction)
    ty.backward(torch.tensor(direction))
    assert_close(x.grad, tx.grad, "input gradient")


@settings(max_examples=40)
@given(poolings())
@pytest.mark.exercise("9.1")
def test_avg_pool2d_equals_pytorch(case):
    rng = np.random.default_rng(case["seed"])
    x, tx = both(rng.standard_normal(case["shape"]))
    y = F.avg_pool2d(x, case["kernel"], case["stride"], case["padding"])
    ty = torch.nn.functional.avg_pool2d(tx, case["kernel"], case["stride"], case["padding"])
    assert_close(y, ty, "output")
    direction = rng.standard_normal(ty.shape)
    y.backward(direction)
    ty.backward(torch.tensor(direction))
    assert_close(x.grad, tx.grad, "input gradient")


def copy_to_torch(mine, theirs):
    """Load a framework model's state dict into a torch model (names are the same)."""
    theirs.load_state_dict({name: torch.from_numpy(np.array(value)) for name, value in mine.state_dict().items()})


def copy_from_torch(theirs, mine):
    mine.load_state_dict({name: value.detach().numpy() for name, value in theirs.state_dict().items()})


@pytest.mark.parametrize("rank", [2, 3, 4])
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batch_norm_training_steps_running_statistics_and_eval_equal_pytorch(rank, momentum):
    rng = np.random.default_rng(rank)
    channels = 3
    layer_class = nn.BatchNorm2d if rank == 4 else nn.BatchNorm1d
    torch_class = torch.nn.BatchNorm2d if rank == 4 else torch.nn.BatchNorm1d
    mine = layer_class(channels, momentum=momentum, dtype=np.float64)
    theirs = torch_class(channels, momentum=momentum).double()
    shape = {2: (6, channels), 3: (4, channels, 5), 4: (4, channels, 3, 5)}[rank]
    with torch.no_grad():  # learned-looking scale and shift
        theirs.weight.copy_(torch.tensor(rng.uniform(0.5, 2, channels)))
        theirs.bias.copy_(torch.tensor(rng.standard_normal(channels)))
    copy_from_torch(theirs, mine)
    for step in range(4):
        values = rng.standard_normal(shape) * 3 + step
        x, tx = both(values)
        y, ty = mine(x), theirs(tx)
        assert_close(y, ty, f"training output, step {step}")
        direction = rng.standard_normal(shape)
        y.backward(direction)
        ty.backward(torch.tensor(direction))
        assert_close(x.grad, tx.grad, f"input gradient, step {step}")
        assert_close(mine.weight.grad, theirs.weight.grad, f"weight gradient, step {step}")
        assert_close(mine.bias.grad, theirs.bias.grad, f"bias gradient, step {step}")
        mine.zero_grad()
        theirs.zero_grad()
    for name in ("running_mean", "running_var"):
        assert_close(getattr(mine, name), getattr(theirs, name), name)
    assert int(mine.num_batches_tracked) == int(theirs.num_batches_tracked) == 4
    mine.eval()
    theirs.eval()
    x, tx = both(rng.standard_normal(shape))
    y, ty = mine(x), theirs(tx)
    assert_close(y, ty, "evaluation output")
    direction = rng.standard_normal(shape)
    y.backward(direction)
    ty.backward(torch.tensor(direction))
    assert_close(x.grad, tx.grad, "evaluation input gradient")
    assert_close(mine.weight.grad, theirs.weight.grad, "evaluation weight gradient")


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("kernel, dilation", [(3, 1), ((3, 5), 1), (5, 2), ((1, 3), (3, 1))])
def test_conv2d_padding_by_name_equals_pytorch(padding, kernel, dilation):
    rng = np.random.default_rng(3)
    theirs = torch.nn.Conv2d(2, 3, kernel, padding=padding, dilation=dilation).double()
    mine = nn.Conv2d(2, 3, kernel, padding=padding, dilation=dilation, dtype=np.float64)
    copy_from_torch(theirs, mine)
    x, tx = both(rng.standard_normal((2, 2, 11, 10)))
    y, ty = mine(x), theirs(tx)
    assert_close(y, ty, "output")
    direction = rng.standard_normal(y.shape)
    y.backward(direction)
    ty.backward(torch.tensor(direction))
    assert_close(x.grad, tx.grad, "input gradient")
    assert_close(mine.weight.grad, theirs.weight.grad, "weight gradient")


@pytest.mark.exercise("9.1")  # it runs the backward of average pooling
@pytest.mark.parametrize("divisor", [1, 3, 10])
def test_avg_pool2d_divisor_override_equals_pytorch(divisor):
    rng = np.random.default_rng(divisor)
    x, tx = both(rng.standard_normal((2, 3, 7, 6)))
    y = nn.AvgPool2d(3, 2, 1, divisor_override=divisor)(x)
    ty = torch.nn.AvgPool2d(3, 2, 1, divisor_override=divisor)(tx)
    assert_close(y, ty, "output")
    direction = rng.standard_normal(y.shape)
    y.backward(direction)
    ty.backward(torch.tensor(direction))
    assert_close(x.grad, tx.grad, "input gradient")


@pytest.mark.parametrize("given", ["weight", "bias"])
@pytest.mark.parametrize("training", [True, False])
def test_functional_batch_norm_with_a_weight_or_a_bias_alone_equals_pytorch(given, training):
    rng = np.random.default_rng(11)
    values, parameter = rng.standard_normal((5, 3, 4)), rng.uniform(0.5, 2, 3)
    x, tx = both(values)
    p, tp = both(parameter)
    running = (np.zeros(3), np.ones(3))
    mine = F.batch_norm(x, *running, **{given: p}, training=training)
    theirs = torch.nn.functional.batch_norm(tx, *(torch.tensor(r) for r in running), **{given: tp}, training=training)
    assert_close(mine, theirs, "output")
    direction = rng.standard_normal(values.shape)
    mine.backward(direction)
    theirs.backward(torch.tensor(direction))
    assert_close(x.grad, tx.grad, "input gradient")
    assert_close(p.grad, tp.grad, f"{given} gradient")


def test_max_pool2d_sends_the_gradient_to_a_windows_only_nan_as_pytorch_does():
    values = np.array([[[[1.0, 2.0, 5.0, 4.0], [np.nan, 0.0, 1.0, np.nan]]]])
    for stride in (2, 1):
        x, tx = both(values)
        F.max_pool2d(x, 2, stride).sum().backward()
        torch.nn.functional.max_pool2d(tx, 2, stride).sum().backward()
        assert_close(x.grad, tx.grad, f"gradient, stride {stride}")


def small_cnn(library, dropout=True):
    """The same small network in both libraries."""
    n = library
    layers = [n.Conv2d(2, 4, 3, padding=1), n.BatchNorm2d(4), n.ReLU(), n.MaxPool2d(2),
              n.Conv2d(4, 6, (2, 3), stride=(1, 2), dilation=(2, 1)), n.AvgPool2d(2, padding=1), n.Flatten(),
              n.BatchNorm1d(6 * 2 * 1)]
    if dropout:
        layers.append(n.Dropout(0.3))
    layers.append(n.Linear(12, 5))
    return n.Sequential(*layers)


def test_state_dicts_copy_both_ways_and_give_the_same_outputs():
    rng = np.random.default_rng(0)
    mine = small_cnn(nn).to(np.float64)
    theirs = small_cnn(torch.nn).double()
    assert list(mine.state_dict()) == list(theirs.state_dict())
    batches = [rng.standard_normal((5, 2, 8, 8)) for _ in range(3)]

    copy_from_torch(theirs, mine)               # PyTorch -> framework
    for batch in batches:                       # a few training-mode passes move the running statistics
        mine(tensor(batch)), theirs(torch.tensor(batch))
    mine.eval(), theirs.eval()
    test = rng.standard_normal((7, 2, 8, 8))
    assert_close(mine(tensor(test)), theirs(torch.tensor(test)), "outputs after copying from PyTorch")

    fresh_mine, fresh_theirs = small_cnn(nn).to(np.float64), small_cnn(torch.nn).double()
    copy_to_torch(mine, fresh_theirs)           # framework -> PyTorch
    copy_from_torch(fresh_theirs, fresh_mine)   # and back
    fresh_mine.eval(), fresh_theirs.eval()
    assert_close(fresh_mine(tensor(test)), theirs(torch.tensor(test)), "framework after a round trip")
    assert_close(mine(tensor(test)), fresh_theirs(torch.tensor(test)), "PyTorch loaded from the framework")


def test_default_initialisation_has_pytorchs_bounds_and_spread():
    """Weights and biases uniform in +-1/sqrt(fan_in), as PyTorch draws them."""
    mine = nn.Conv2d(6, 64, (3, 5), groups=2)
    theirs = torch.nn.Conv2d(6, 64, (3, 5), groups=2)
    bound = 1 / np.sqrt(3 * 3 * 5)
    for name in ("weight", "bias"):
        a, b = getattr(mine, name).data, getattr(theirs, name).detach().numpy()
        assert a.shape == b.shape and a.dtype == b.dtype == np.float32
        assert np.abs(a).max() <= bound and np.abs(b).max() <= bound
        # A uniform law on [-bound, bound] has standard deviation bound / sqrt(3).
        tolerance = 0.05 if name == "weight" else 0.3    # 2,880 weights, 64 biases
        for values in (a, b):
            assert abs(values.std() - bound / np.sqrt(3)) < tolerance * bound / np.sqrt(3)
