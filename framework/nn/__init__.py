"""Neural network building blocks (Chapter 6): modules, layers, losses, initialisation.

``from framework import nn`` gives ``nn.Module``, ``nn.Linear``, ``nn.ReLU``,
``nn.CrossEntropyLoss``, ...; the same operations as functions are in
``framework.nn.functional`` and the initialisers in ``framework.nn.init``.
"""

from framework.nn import functional, init
from framework.nn.layers import (
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from framework.nn.losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from framework.nn.module import Module, Sequential
from framework.nn.parameter import Parameter

__all__ = [
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "Flatten",
    "Identity",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "Module",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "functional",
    "init",
]

# The layers of Chapter 9 (convolution, pooling, batch normalisation,
# dropout) live in modules of that chapter. They are imported the first time
# they are asked for, ``nn.Conv2d`` loading ``framework.nn.conv``: importing
# ``framework.nn`` itself runs only the code of Chapter 6, as a module of
# Chapter 6 must, while ``nn.Conv2d`` works as in PyTorch.
LATER_LAYERS = {
    "Conv2d": "framework.nn.conv",
    "MaxPool2d": "framework.nn.pooling",
    "AvgPool2d": "framework.nn.pooling",
    "BatchNorm1d": "framework.nn.normalization",
    "BatchNorm2d": "framework.nn.normalization",
    "Dropout": "framework.nn.dropout",
}


def __getattr__(name):
    """Load a layer of a later chapter on first use (PEP 562)."""
    import importlib

    module = LATER_LAYERS.get(name)
    if module is None:
        raise AttributeError(f"module 'framework.nn' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *LATER_LAYERS])
