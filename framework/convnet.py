"""Convolutional networks for MNIST (Chapter 9), and how fast they train.

- ``small_cnn``: one convolution of 8 filters 3x3, ReLU, 2x2 max pooling
  and a linear layer to 10 classes: the network the speed comparison uses.
- ``mnist_cnn``: the chapter's network, two convolutions and two linear
  layers, with optional batch normalisation and dropout.
- ``HandWrittenCNN``: ``small_cnn`` and its SGD step written directly in
  NumPy, the yardstick of the framework's speed.
- ``to_pytorch`` builds the same network in PyTorch (when it is installed)
  with the same weights; ``time_in_turns`` times the contenders on the same
  batches, taking turns.
"""

import itertools
import time

import numpy as np

from framework import nn, optim
from framework.autograd.tensor import Tensor, no_grad, walk_backward
from framework.nn.conv import windows
from framework.train import train_epoch

# ---------------------------------------------------------------- the networks


def small_cnn(channels=8, dtype=np.float32, seed=0):
    """Conv 1 -> ``channels`` (3x3), ReLU, 2x2 max pooling, linear to 10: 28x28 -> 26x26 -> 13x13."""
    generator = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Conv2d(1, channels, 3, dtype=dtype, generator=generator), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(channels * 13 * 13, 10, dtype=dtype, generator=generator),
    )


def mnist_cnn(channels=(16, 32), hidden=128, batch_norm=False, dropout=0.0, dtype=np.float32, seed=0):
    """Two blocks of conv 3x3 (padding 1), ReLU and 2x2 max pooling, then a hidden linear layer.

    28x28 -> 14x14 -> 7x7 images of ``channels`` feature maps, flattened
    into ``channels[1] * 49`` values, ``hidden`` ReLU units, 10 scores.
    ``batch_norm`` adds batch normalisation after each convolution and the
    hidden layer (their biases are then left out: the normalisation's shift
    takes their place); ``dropout`` > 0 adds dropout before the last layers.
    Weights start as He initialisation draws them (as in ``mlp_mnist_net``),
    biases at zero.
    """
    generator = np.random.default_rng(seed)
    first, second = channels
    layers = []
    for in_channels, out_channels in ((1, first), (first, second)):
        layers.append(nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=not batch_norm, dtype=dtype,
                                generator=generator))
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels, dtype=dtype))
        layers += [nn.ReLU(), nn.MaxPool2d(2)]
    layers.append(nn.Flatten())
    if dropout:
        layers.append(nn.Dropout(dropout, generator=generator))
    layers.append(nn.Linear(second * 7 * 7, hidden, bias=not batch_norm, dtype=dtype, generator=generator))
    if batch_norm:
        layers.append(nn.BatchNorm1d(hidden, dtype=dtype))
    layers.append(nn.ReLU())
    if dropout:
        layers.append(nn.Dropout(dropout, generator=generator))
    layers.append(nn.Linear(hidden, 10, dtype=dtype, generator=generator))
    model = nn.Sequential(*layers)
    for layer in model:
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu", generator=generator)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return model


# ---------------------------------------------------------------- the yardstick


class HandWrittenCNN:
    """``small_cnn`` and its SGD step written out in NumPy: what the framework must not be slower than.

    Images stay in the (N, C, H, W) layout. The forward pass copies the
    windows of the batch into a buffer allocated once and multiplies them by
    the filters, one matrix product per image; max pooling compares the four
    pixels of each 2x2 window; the backward pass reuses the copied windows
    for the filters' gradient and computes no gradient for the input images.
    """

    def __init__(self, conv_weight, conv_bias, weight, bias):
        self.conv_weight = np.array(conv_weight)             # (O, C, k, k)
        self.conv_bias = np.array(conv_bias)
        # column by column, as nn.Linear stores it: in memory the (in, out) matrix of a hand-written x @ W
        self.weight, self.bias = np.array(weight, order="F"), np.array(bias)
        self.buffer = None

    @classmethod
    def from_model(cls, model):
        """The weights of a ``small_cnn`` (copied)."""
        conv, linear = model[0], model[4]
        if conv.stride != (1, 1) or conv.padding != (0, 0) or conv.dilation != (1, 1) or conv.groups != 1:
            raise ValueError("HandWrittenCNN: only a plain convolution (stride 1, no padding) is written by hand")
        return cls(conv.weight.data, conv.bias.data, linear.weight.data, linear.bias.data)

    def _columns(self, x, out):
        """The windows of x copied into the reused buffer: (N, C*k*k, Ho*Wo)."""
        n, c = x.shape[:2]
        k = self.conv_weight.shape[2]
        if self.buffer is None or self.buffer.shape[0] < n or self.buffer.dtype != x.dtype:
            self.buffer = np.empty((n, c, k, k, *out), dtype=x.dtype)
        cols = self.buffer[:n]
        np.copyto(cols, windows(x, (k, k), (1, 1), (1, 1), out))
        return cols.reshape(n, c * k * k, out[0] * out[1])

    def train_step(self, x, labels, lr):
        """One SGD step on a batch (N, C, H, W); returns (mean cross-entropy, number correct)."""
        n = len(x)
        o, _, k, _ = self.conv_weight.shape
        out = (x.shape[2] - k + 1, x.shape[3] - k + 1)
        cols = self._columns(x, out)
        z = self.conv_weight.reshape(o, -1) @ cols            # (N, O, Ho*Wo)
        z += self.conv_bias[:, None]
        np.clip(z, 0, np.inf, out=z)                          # ReLU in place, NumPy's fastest way (see ops.ReLU)
        z = z.reshape(n, o, *out)
        taps = [z[:, :, i:out[0] - 1 + i:2, j:out[1] - 1 + j:2] for i in (0, 1) for j in (0, 1)]
        pooled = np.maximum(np.maximum(taps[0], taps[1]), np.maximum(taps[2], taps[3]))
        flat = pooled.reshape(n, -1)
        logits = flat @ self.weight.T
        logits += self.bias
        rows = np.arange(n)
        shifted = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        loss = float(np.mean(np.log(total[:, 0]) - shifted[rows, labels]))
        correct = int(np.count_nonzero(logits.argmax(axis=1) == labels))
        grad = e / total                                      # dL/dlogits = (softmax - onehot) / n
        grad[rows, labels] -= 1
        grad /= n
        grad_weight, grad_bias = (flat.T @ grad).T, grad.sum(axis=0)   # in the weight's layout
        grad_pooled = (grad @ self.weight).reshape(pooled.shape)
        grad_z = np.zeros_like(z)                             # each window's gradient to its first maximum
        taken = np.zeros(pooled.shape, dtype=bool)
        for (i, j), tap in zip(((0, 0), (0, 1), (1, 0), (1, 1)), taps):
            first = (tap == pooled) & ~taken
            taken |= first
            first &= tap > 0                                  # ReLU: no gradient where it gave 0
            grad_z[:, :, i:out[0] - 1 + i:2, j:out[1] - 1 + j:2] = grad_pooled * first
        grad_z = grad_z.reshape(n, o, -1)
        grad_conv = (grad_z @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(self.conv_weight.shape)
        self.conv_weight -= lr * grad_conv
        self.conv_bias -= lr * grad_z.sum(axis=(0, 2))
        self.weight -= lr * grad_weight
        self.bias -= lr * grad_bias
        return loss, correct


# ---------------------------------------------------------------- PyTorch's twin


def to_pytorch(model):
    """The same network in PyTorch, with the same weights and buffers (None without PyTorch).

    Knows the layers of the book's CNNs: Conv2d, Linear, ReLU, MaxPool2d,
    AvgPool2d, Flatten, BatchNorm1d/2d and Dropout, in a Sequential.
    """
    try:
        import torch
    except ImportError:
        return None
    layers = []
    for layer in model:
        name = type(layer).__name__
        if name == "Conv2d":
            twin = torch.nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride,
                                   layer.padding, layer.dilation, layer.groups, bias=layer.bias is not None)
        elif name == "Linear":
            twin = torch.nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None)
        elif name in ("MaxPool2d", "AvgPool2d"):
            twin = getattr(torch.nn, name)(layer.kernel_size, layer.geo.stride, layer.geo.padding)
        elif name in ("BatchNorm1d", "BatchNorm2d"):
            twin = getattr(torch.nn, name)(layer.num_features, layer.eps, layer.momentum)
        elif name == "Dropout":
            twin = torch.nn.Dropout(layer.p)
        elif name in ("ReLU", "Flatten"):
            twin = getattr(torch.nn, name)()
        else:
            raise TypeError(f"to_pytorch: no PyTorch twin for {name}")
        layers.append(twin)
    twin = torch.nn.Sequential(*layers)
    dtype = next(model.parameters()).dtype
    twin.to(torch.float64 if dtype == np.float64 else torch.float32)
    twin.load_state_dict({name: torch.from_numpy(np.array(value)) for name, value in model.state_dict().items()})
    return twin


# ---------------------------------------------------------------- timing


def framework_trainer(model, lr):
    """Train ``model`` with SGD on a list of batches: ``train_epoch``, the loop of ``fit``."""
    optimizer = optim.SGD(model.parameters(), lr=lr)

    def run(batches):
        losses = []
        train_epoch(model, optimizer, batches, batch_loss=losses)
        return losses

    return run


def numpy_trainer(model, lr):
    """``HandWrittenCNN`` with the weights of ``model`` (a ``small_cnn``)."""
    by_hand = HandWrittenCNN.from_model(model)
    lr = np.asarray(lr, dtype=model[0].weight.dtype)

    def run(batches):
        return [by_hand.train_step(x, labels, lr)[0] for x, labels in batches]

    return run


def pytorch_trainer(model, lr, threads=1):
    """PyTorch training its twin of ``model`` with the same loop (None when PyTorch is not installed)."""
    twin = to_pytorch(model)
    if twin is None:
        return None
    import torch

    torch.set_num_threads(threads)
    optimizer = torch.optim.SGD(twin.parameters(), lr=lr)
    loss_function = torch.nn.functional.cross_entropy

    def run(batches):
        twin.train()
        losses, correct = [], 0
        for x, labels in batches:
            x, labels = torch.from_numpy(x), torch.from_numpy(labels)
            outputs = twin(x)
            loss = loss_function(outputs, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())                      # the same score keeping as the others
            correct += int((outputs.argmax(dim=1) == labels).sum().item())
        return losses

    return run


def time_in_turns(trainers, batches, chunk=50):
    """Seconds each trainer takes for ``batches``, taking turns ``chunk`` batches at a time.

    A machine busy with other work then slows every contender alike.
    Returns (seconds by name, losses by name).
    """
    seconds = {name: 0.0 for name in trainers}
    losses = {name: [] for name in trainers}
    batches = iter(batches)
    while True:
        part = list(itertools.islice(batches, chunk))
        if not part:
            return seconds, losses
        for name, run in trainers.items():
            start = time.perf_counter()
            losses[name] += run(part)
            seconds[name] += time.perf_counter() - start


def layer_times(model, x, repeats=10, threads=1, seed=0):
    """Where the time goes: each layer's forward and backward, the framework against PyTorch.

    ``x`` is run through ``model`` once (in training mode) to find the input
    each layer receives; then every layer is timed on that input, forward
    and backward with a fixed random output gradient, ``repeats`` times,
    taking turns with PyTorch's twin of the layer (same weights) when it is
    installed. The first layer, like the first layer of training, computes
    no gradient for its input. The weights are left as they were and their
    gradients cleared; batch normalisation's running statistics do move, as
    in any forward pass in training mode. Returns a list of rows
    ``(short_name(layer), framework seconds, PyTorch seconds or None)``,
    the medians per call.
    """
    twin = to_pytorch(model)
    if twin is not None:
        import torch

        torch.set_num_threads(threads)
        twin.train()
    model.train()
    values = [np.asarray(x)]                               # the input of each layer, then the output
    with no_grad():
        for layer in model:
            values.append(layer(Tensor(values[-1])).data)
    rng = np.random.default_rng(seed)
    rows = []
    for index, (layer, layer_input, layer_output) in enumerate(zip(model, values, values[1:])):
        needs_input_grad = index > 0
        gradient = rng.standard_normal(layer_output.shape).astype(layer_input.dtype)

        def ours():
            given = Tensor(layer_input, requires_grad=needs_input_grad)
            output = layer(given)
            # The walk of output.backward(gradient) without its first step, a
            # private copy of ``gradient``: training starts from a scalar loss
            # and copies nothing, and PyTorch's backward makes no such copy.
            walk_backward(output, gradient)
            return given, output

        contenders = {"framework": ours}
        if twin is not None:
            torch_input, torch_gradient = torch.from_numpy(layer_input), torch.from_numpy(gradient)

            def theirs(twin_layer=twin[index]):
                given = torch_input.detach().requires_grad_(needs_input_grad)
                output = twin_layer(given)
                output.backward(torch_gradient)
                return given, output

            contenders["PyTorch"] = theirs
        seconds = {name: [] for name in contenders}
        # Each call's results stay alive until the next call of the same
        # contender, as a training step's arrays do: when everything is freed
        # between calls, the C library hands large blocks back to the
        # operating system, and every call would pay to get them back
        # (page faults), which training does not.
        kept = {}
        for _ in range(repeats + 1):                       # one more: the first call warms up
            for name, run in contenders.items():
                start = time.perf_counter()
                kept[name] = run()
                seconds[name].append(time.perf_counter() - start)
        seconds = {name: times[1:] for name, times in seconds.items()}
        medians = {name: float(np.median(times)) for name, times in seconds.items()}
        rows.append((short_name(layer), medians["framework"], medians.get("PyTorch")))
    model.zero_grad()
    return rows


def short_name(layer):
    """A layer in a few words: "Conv2d 16->32 3x3", "BatchNorm2d 32", "MaxPool2d 2x2", "ReLU"."""
    name = type(layer).__name__
    if name == "Conv2d":
        return f"{name} {layer.in_channels}->{layer.out_channels} {layer.kernel_size[0]}x{layer.kernel_size[1]}"
    if name == "Linear":
        return f"{name} {layer.in_features}->{layer.out_features}"
    if name.startswith("BatchNorm"):
        return f"{name} {layer.num_features}"
    if name in ("MaxPool2d", "AvgPool2d"):
        return f"{name} {layer.kernel_size[0]}x{layer.kernel_size[1]}"
    return name
