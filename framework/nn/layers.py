"""Layers and activations as modules.

Each module stores its settings and parameters and calls the matching
function of ``framework.nn.functional`` in ``forward``.
"""

import numpy as np

from framework.nn import functional as F
from framework.nn import init
from framework.nn.module import Module
from framework.nn.parameter import Parameter


class Linear(Module):
    """A fully connected layer: y = x W^T + b.

    ``weight`` has shape (out_features, in_features) and ``bias`` shape
    (out_features,), as in PyTorch: row j of the weight holds the input
    weights of output neuron j, and state dicts carry over between the two
    frameworks. Storing W as (in, out) would spare the transpose, but the
    transpose is free here: ``F.linear`` is one fused operation and NumPy
    multiplies by the transposed view ``W.T`` without copying it. In memory
    the weight is stored column by column (``order="F"``), which is byte
    for byte the (in, out) matrix of a hand-written ``x @ W``, and makes the
    matrix products a little faster (see ``F.LinearFunction``).

    The parameters are float32 by default: half the memory of float64,
    faster matrix products, and precise enough for training. Pass ``dtype=np.float64`` for gradient checks. Inputs must
    have the same dtype as the weight.

    Initialisation as in PyTorch: weight and bias uniform in
    [-1/sqrt(in_features), 1/sqrt(in_features)], drawn from the generator of
    ``framework.nn.init`` (or ``generator``), so one seed gives one network.
    """

    def __init__(self, in_features, out_features, bias=True, dtype=np.float32, generator=None):
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Linear: {name} must be a positive whole number, got {value!r}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype, order="F"))
        self.bias = Parameter(np.empty(out_features, dtype=dtype)) if bias else None
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None):
        """Draw fresh weights and biases, uniform in +-1/sqrt(in_features)."""
        bound = 1 / np.sqrt(self.in_features)
        init.uniform_(self.weight, -bound, bound, generator=generator)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound, generator=generator)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        has_bias = self.bias is not None
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={has_bias}"


class Identity(Module):
    """Returns its input unchanged (a placeholder where a layer is optional)."""

    def forward(self, x):
        return x


class Flatten(Module):
    """Merges axes ``start_axis`` to ``end_axis``: (N, 28, 28) -> (N, 784) by default."""

    def __init__(self, start_axis=1, end_axis=-1):
        super().__init__()
        self.start_axis = start_axis
        self.end_axis = end_axis

    def forward(self, x):
        return F.flatten(x, self.start_axis, self.end_axis)

    def extra_repr(self):
        return f"start_axis={self.start_axis}, end_axis={self.end_axis}"


class ReLU(Module):
    """max(x, 0) elementwise."""

    def forward(self, x):
        return F.relu(x)


class Sigmoid(Module):
    """1 / (1 + exp(-x)) elementwise."""

    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    """tanh(x) elementwise."""

    def forward(self, x):
        return F.tanh(x)


class LeakyReLU(Module):
    """x where x > 0, else negative_slope * x."""

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Softmax(Module):
    """Probabilities along ``axis`` (the last by default)."""

    def __init__(self, axis=-1):
        super().__init__()
        self.axis = axis

    def forward(self, x):
        return F.softmax(x, self.axis)

    def extra_repr(self):
        return f"axis={self.axis}"


class LogSoftmax(Module):
    """log(softmax(x)) along ``axis`` (the last by default), computed stably."""

    def __init__(self, axis=-1):
        super().__init__()
        self.axis = axis

    def forward(self, x):
        return F.log_softmax(x, self.axis)

    def extra_repr(self):
        return f"axis={self.axis}"
