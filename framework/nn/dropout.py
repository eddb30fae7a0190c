r"""Dropout (Chapter 9): ``dropout`` and the ``Dropout`` layer.

In training, dropout sets each value to zero with probability $p$, a new
random choice at every step, so no unit can count on any particular other
unit being there: the network learns redundant, more robust features
instead of memorising the training set through fragile co-adaptations.

The values that survive are multiplied by $1/(1-p)$ (*inverted* dropout).
Each value is then kept with probability $1-p$ and scaled by $1/(1-p)$, so
its expected value is unchanged, and in evaluation mode the layer can simply
pass its input through: the next layer sees values of the same average size
in both modes.

The random choices come from the generator of ``framework.nn.init``
(``init.manual_seed`` seeds it, as ``torch.manual_seed`` seeds PyTorch's),
or from a ``generator`` given to the layer.
"""

import numpy as np

from framework.autograd.tensor import Function, Tensor
from framework.nn import init
from framework.nn.module import Module


class DropoutFunction(Function):
    """y = x * m with a fixed mask m of 0 and 1/(1-p);  dy/dx = m."""

    def __init__(self, mask):
        self.mask = mask

    def forward(self, x):
        return x * self.mask

    def backward(self, gy):
        return gy * self.mask


def _check_probability(p, owner):
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)) or not 0 <= p <= 1:
        raise ValueError(f"{owner}: the probability p of zeroing a value must lie in [0, 1], got {p!r}")
    return float(p)


def dropout_mask(shape, p, dtype, generator=None):
    """0 with probability p, else 1/(1-p): the mask of one step of inverted dropout."""
    generator = init.default_generator() if generator is None else generator
    keep = generator.random(shape) >= p
    if p == 1:
        return np.zeros(shape, dtype=dtype)
    return keep * np.asarray(1 / (1 - p), dtype=dtype)


def _check_not_in_place(inplace, owner):
    if inplace:
        raise ValueError(
            f"{owner}: inplace=True is not supported: the framework's operations never change their "
            "input, whose values backward may still need; use inplace=False (the default)"
        )


def dropout(input, p=0.5, training=True, inplace=False, generator=None):
    """Zero each value with probability ``p`` and scale the rest by 1/(1-p); identity if not ``training``.

    PyTorch's arguments in PyTorch's order; ``inplace`` must stay False.
    ``generator`` (a NumPy generator) draws the mask instead of the
    generator of ``framework.nn.init``.
    """
    p = _check_probability(p, "dropout")
    _check_not_in_place(inplace, "dropout")
    x = input if isinstance(input, Tensor) else Tensor(input)
    if not training or p == 0:
        return x
    return DropoutFunction(dropout_mask(x.shape, p, x.dtype, generator))(x)


class Dropout(Module):
    """Inverted dropout, as ``torch.nn.Dropout``: active in training mode, the identity in evaluation mode."""

    def __init__(self, p=0.5, inplace=False, generator=None):
        super().__init__()
        self.p = _check_probability(p, "Dropout")
        _check_not_in_place(inplace, "Dropout")
        self.generator = generator

    def forward(self, x):
        return dropout(x, self.p, self.training, generator=self.generator)

    def extra_repr(self):
        return f"p={self.p}"
