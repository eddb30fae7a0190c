"""Initialising parameters: Xavier/Glorot, He/Kaiming, constants.

Each function fills a tensor in place (the name ends in ``_``, as in
PyTorch) and returns it. Random values come from one NumPy generator kept
by this module, so

    init.manual_seed(0)
    net = Sequential(Linear(2, 16), ReLU(), Linear(16, 1))

builds the same network on every machine and in every run; the numbers are
drawn in float64 and then rounded to the tensor's dtype, so a float32 and a
float64 network built from one seed agree up to that rounding. Every
function also takes ``generator=`` to use another ``numpy.random.Generator``.

Why the scales: a layer with n inputs adds up n products w x. If the
weights have variance s^2 and the inputs variance v, the sum has variance
n s^2 v. To keep activations from growing or shrinking layer after layer,
s^2 should be about 1/n (Xavier, for tanh and sigmoid, averaging the fan-in
and fan-out so gradients keep their size too) or 2/n (He, for ReLU, which
zeroes half of its inputs).
"""

import math

import numpy as np

DEFAULT_SEED = 0

_generator = np.random.default_rng(DEFAULT_SEED)


def manual_seed(seed):
    """Restart the generator of this module from ``seed``."""
    global _generator
    _generator = np.random.default_rng(seed)


def default_generator():
    """The generator the functions of this module use when given none."""
    return _generator


def _pick(generator):
    return _generator if generator is None else generator


def _fill(tensor, values):
    """Write ``values`` into the tensor's array in place and return the tensor."""
    tensor.data[...] = values
    return tensor


def calculate_gain(nonlinearity, param=None):
    """The factor by which to scale the standard deviation for an activation.

    linear, identity, sigmoid: 1; tanh: 5/3; relu: sqrt(2);
    leaky_relu with slope a (default 0.01): sqrt(2 / (1 + a^2)). The same
    values as PyTorch's ``calculate_gain``.
    """
    if nonlinearity in ("linear", "identity", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    raise ValueError(
        f"calculate_gain: unknown nonlinearity {nonlinearity!r}; "
        "use 'linear', 'identity', 'sigmoid', 'tanh', 'relu' or 'leaky_relu'"
    )


def fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel).

    For a Linear weight (out_features, in_features): fan_in = in_features,
    fan_out = out_features. For a convolution weight the kernel size
    multiplies both.
    """
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(
            f"fan_in_and_fan_out: a weight needs at least 2 dimensions (out, in), got shape {shape}; "
            "initialise biases with uniform_, zeros_ or constant_"
        )
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _fan(tensor, mode):
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    raise ValueError(f"kaiming: mode must be 'fan_in' or 'fan_out', got {mode!r}")


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with values drawn uniformly from [a, b)."""
    return _fill(tensor, _pick(generator).uniform(a, b, size=tensor.shape))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with values drawn from the normal distribution N(mean, std^2)."""
    return _fill(tensor, _pick(generator).normal(mean, std, size=tensor.shape))


def constant_(tensor, value):
    """Fill with ``value``."""
    return _fill(tensor, value)


def zeros_(tensor):
    """Fill with 0."""
    return _fill(tensor, 0)


def ones_(tensor):
    """Fill with 1."""
    return _fill(tensor, 1)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Xavier/Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)).

    Its variance a^2/3 = gain^2 * 2 / (fan_in + fan_out).
    """
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator=generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Xavier/Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator=generator)


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He/Kaiming uniform: U(-b, b) with b = gain * sqrt(3 / fan).

    gain = calculate_gain(nonlinearity, a); with the defaults (a = 0, a
    leaky ReLU of slope 0, i.e. ReLU) gain = sqrt(2) and the variance is
    2 / fan_in.
    """
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator=generator)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He/Kaiming normal: N(0, std^2) with std = gain / sqrt(fan) (sqrt(2 / fan_in) for ReLU)."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator=generator)
