r"""Batch normalisation (Chapter 9): ``batch_norm``, ``BatchNorm1d`` and ``BatchNorm2d``.

In training, each channel of a batch is standardised with the batch's own
statistics and then scaled and shifted by two learned parameters:

$$\hat x = \frac{x - \mu_B}{\sqrt{\sigma_B^2 + \varepsilon}}, \qquad
  y = \gamma \hat x + \beta,$$

$\mu_B$ and $\sigma_B^2$ being the mean and the (biased) variance over the
batch and, for images, over all positions. Whatever the earlier layers do
to the scale of their outputs, the next layer sees values of mean $\beta$
and standard deviation $\gamma$, which lets a network train with larger
learning rates.

A trained network must answer for one image at a time, so in evaluation
mode the batch statistics are replaced by *running* statistics, averages
kept during training: after each training batch

$$\mu \leftarrow (1 - m)\,\mu + m\,\mu_B, \qquad
  \sigma^2 \leftarrow (1 - m)\,\sigma^2 + m\,\tfrac{n}{n-1}\,\sigma_B^2,$$

with momentum $m = 0.1$ and the unbiased variance of the $n$ values per
channel, as PyTorch does. They are buffers: saved in the state dict, not
learned.
"""

import math

import numpy as np

from framework.autograd.tensor import Function, Tensor
from framework.nn.functional import check_dtype
from framework.nn.module import Module
from framework.nn.parameter import Parameter


def channel_sum(x, other=None):
    """The sum over every axis but axis 1 (the channels) of x, or of x * other: shape (C,).

    ``einsum`` adds up each channel's values in one pass over the memory,
    without the temporary array that ``(x * other).sum(axis=...)`` would
    make, and faster than a reduction over several axes at once.
    """
    shape = x.shape[:2] + (math.prod(x.shape[2:]),)       # (N, C, positions), explicit for an empty batch
    if other is None:
        return np.einsum("ncl->c", x.reshape(shape))
    return np.einsum("ncl,ncl->c", x.reshape(shape), other.reshape(shape))


class BatchNormFunction(Function):
    r"""y = gamma * (x - mean) / sqrt(var + eps) + beta with the batch's own mean and variance.

    The statistics depend on every value of the batch, so the gradient of
    each input has three parts: through itself, through the mean, through
    the variance. With $g = \gamma\, \partial L/\partial y$ and averages
    $\langle\cdot\rangle$ over the batch and positions, per channel:

    $$\frac{\partial L}{\partial x} = \frac{1}{\sqrt{\sigma^2 + \varepsilon}}
      \left(g - \langle g \rangle - \hat x\,\langle g \hat x \rangle\right),\quad
      \frac{\partial L}{\partial \gamma} = \sum \frac{\partial L}{\partial y}\hat x,\quad
      \frac{\partial L}{\partial \beta} = \sum \frac{\partial L}{\partial y}.$$
    """

    def __init__(self, eps):
        self.eps = eps

    def forward(self, x, *affine):
        self.axes = (0,) + tuple(range(2, x.ndim))          # all axes but the channels
        self.shape = (1, -1) + (1,) * (x.ndim - 2)          # a per-channel value, broadcast
        count = max(x.size // x.shape[1], 1)                # values per channel (an empty batch: sums of 0)
        self.mean = channel_sum(x) / count
        centred = x - self.mean.reshape(self.shape)
        self.var = channel_sum(centred, centred) / count
        inv_std = 1 / np.sqrt(self.var + np.asarray(self.eps, x.dtype))
        # x_hat = centred * inv_std is never stored: backward folds inv_std into
        # its per-channel factors, and y needs one multiplication less.
        self.save_for_backward(centred, inv_std, *affine[:1])
        if not affine:
            return centred * inv_std.reshape(self.shape)
        weight, bias = affine
        y = centred * (weight * inv_std).reshape(self.shape)
        y += bias.reshape(self.shape)
        return y

    def backward(self, gy):
        centred, inv_std, *weight = self.saved
        needs = self.needs_input_grad
        sum_gy = channel_sum(gy)
        sum_gy_x_hat = channel_sum(gy, centred) * inv_std
        gx = None
        if needs[0]:
            # With s = gamma / sqrt(var + eps) and x_hat = centred / sqrt(var + eps):
            #   dL/dx = s gy - s <gy> - centred (s <gy x_hat> / sqrt(var + eps)).
            count = gy.size // gy.shape[1]
            scale = inv_std * weight[0] if weight else inv_std
            gx = gy * scale.reshape(self.shape)
            gx -= centred * (scale * inv_std * sum_gy_x_hat / count).reshape(self.shape)
            gx -= (scale * sum_gy / count).reshape(self.shape)
        if len(needs) == 1:
            return gx
        return gx, (sum_gy_x_hat if needs[1] else None), (sum_gy if needs[2] else None)

    def composite(self, x, *affine):
        """The same normalisation from recorded operations, for second derivatives (Chapter 10).

        ``backward`` uses ``x_hat`` and ``inv_std``, which are computed from
        ``x`` but are not ``x`` itself; differentiating the gradient needs
        them as functions of ``x``, so the whole layer is written out again.
        """
        centred = x - x.mean(axis=self.axes, keepdims=True)
        variance = (centred * centred).mean(axis=self.axes, keepdims=True)
        x_hat = centred / (variance + self.eps) ** 0.5
        if not affine:
            return x_hat
        weight, bias = affine
        return x_hat * weight.reshape(self.shape) + bias.reshape(self.shape)


def _values(x):
    return x.data if isinstance(x, Tensor) else x


def _update_running(running, batch_value, momentum):
    """running <- (1 - momentum) running + momentum batch_value, in place."""
    running *= 1 - momentum
    running += momentum * batch_value.astype(running.dtype, copy=False)


def _scale_and_shift(x_hat, weight, bias):
    """x_hat * weight + bias per channel (axis 1), for a weight or a bias alone (either may be None)."""
    shape = (1, -1) + (1,) * (x_hat.ndim - 2)
    y = x_hat if weight is None else x_hat * weight.reshape(shape)
    return y if bias is None else y + bias.reshape(shape)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5):
    """Batch normalisation over axis 1 (the channels), as PyTorch's ``batch_norm``.

    ``training=True``: normalise with the batch's statistics and, when
    ``running_mean`` and ``running_var`` (arrays, updated in place) are
    given, fold the batch's mean and unbiased variance into them with
    ``momentum``. ``training=False``: normalise with the running statistics.
    ``weight`` and ``bias`` (gamma and beta) are optional.
    """
    x = input if isinstance(input, Tensor) else Tensor(input)
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of shape (batch, channels, ...), got shape {x.shape}")
    for what, value in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                        ("bias", bias)):
        if value is not None and np.shape(_values(value)) != (x.shape[1],):
            raise ValueError(
                f"batch_norm: the input of shape {x.shape} has {x.shape[1]} channels in axis 1, so {what} "
                f"must have shape ({x.shape[1]},), got {np.shape(_values(value))}"
            )
    if training:
        per_channel = x.size // x.shape[1] if x.shape[1] else 0
        if per_channel == 1:
            raise ValueError(
                f"batch_norm: in training mode each channel needs more than one value to have a "
                f"variance, but an input of shape {x.shape} has {per_channel}; use a larger batch, "
                "or evaluation mode (model.eval())"
            )
        fn = BatchNormFunction(eps)
        if weight is not None and bias is not None:  # the usual case: one fused operation
            y = fn(x, weight, bias)
        else:
            y = _scale_and_shift(fn(x), weight, bias)
        if running_mean is not None and per_channel:  # an empty batch leaves them as they are
            _update_running(_values(running_mean), fn.mean, momentum)
            _update_running(_values(running_var), fn.var * (per_channel / (per_channel - 1)), momentum)
        return y
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: evaluation mode needs running_mean and running_var")
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mean, var = _values(running_mean), _values(running_var)
    inv_std = (1 / np.sqrt(var + eps)).astype(x.dtype)
    scale = inv_std if weight is None else weight * inv_std          # a tensor when weight is one
    shift = -mean.astype(x.dtype) * scale
    if bias is not None:
        shift = shift + bias
    return x * scale.reshape(shape) + shift.reshape(shape)


class _BatchNorm(Module):
    """What BatchNorm1d and BatchNorm2d share; they differ in the shapes they accept."""

    ranks = ()
    shapes = ""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 dtype=np.float32):
        super().__init__()
        name = type(self).__name__
        if isinstance(num_features, bool) or not isinstance(num_features, (int, np.integer)) or num_features < 1:
            raise ValueError(f"{name}: num_features must be a positive whole number, got {num_features!r}")
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"{name}: momentum must lie in [0, 1] (or be None for a plain average), got {momentum}")
        if not eps > 0:
            raise ValueError(f"{name}: eps must be positive, got {eps}")
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dtype))
            self.bias = Parameter(np.zeros(num_features, dtype=dtype))
        else:
            self.weight = self.bias = None
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def reset_running_stats(self):
        """Back to mean 0, variance 1 and no batch seen."""
        if self.track_running_stats:
            self.running_mean[...] = 0
            self.running_var[...] = 1
            self.num_batches_tracked[...] = 0

    def _check(self, x):
        shape = np.shape(_values(x))
        name = f"{type(self).__name__}({self.extra_repr()})"
        if len(shape) not in self.ranks:
            raise ValueError(f"{name}: expected an input of shape {self.shapes}, got shape {tuple(shape)}")
        if shape[1] != self.num_features:
            raise ValueError(f"{name}: expected {self.num_features} channels in axis 1, got shape {tuple(shape)}")
        per_channel = int(np.prod(shape)) // shape[1]
        if per_channel == 1 and self.training:
            raise ValueError(
                f"{name}: in training mode each channel needs more than one value, but the input of shape "
                f"{tuple(shape)} has {per_channel}; use a batch of two or more, or evaluation mode (model.eval())"
            )
        if per_channel == 1 and not self.track_running_stats:
            raise ValueError(
                f"{name}: without running statistics (track_running_stats=False) it normalises with the "
                f"batch's own, in evaluation mode too, so each channel needs more than one value; the input "
                f"of shape {tuple(shape)} has {per_channel}"
            )
        reference = self.weight if self.affine else self.running_mean
        if reference is not None:
            check_dtype(name, x, reference, holder="the layer")

    def forward(self, x):
        self._check(x)
        if not self.training and self.track_running_stats:  # the running statistics
            return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                              training=False, eps=self.eps)
        running, momentum = (None, None), self.momentum
        if self.training and self.track_running_stats:
            running = (self.running_mean, self.running_var)
            self.num_batches_tracked += 1
            if momentum is None:  # a plain average of all batches so far
                momentum = 1 / int(self.num_batches_tracked)
        return batch_norm(x, *running, self.weight, self.bias, training=True, momentum=momentum, eps=self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps:g}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs, per channel C, as ``torch.nn.BatchNorm1d``."""

    ranks = (2, 3)
    shapes = "(batch, features) or (batch, channels, length)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of images (N, C, H, W), per channel, as ``torch.nn.BatchNorm2d``."""

    ranks = (4,)
    shapes = "(batch, channels, height, width)"
