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

# Layers of later chapters are loaded on first use (``nn.Conv2d`` imports
# framework.nn.conv then, ``nn.LSTM`` framework.nn.rnn), so that importing
# framework.nn loads only the code of Chapter 6 and a chapter never depends on
# a later one, while the names work as in PyTorch.
LATER_LAYERS = {
    "Conv2d": "framework.nn.conv",
    "MaxPool2d": "framework.nn.pooling",
    "AvgPool2d": "framework.nn.pooling",
    "BatchNorm1d": "framework.nn.normalization",
    "BatchNorm2d": "framework.nn.normalization",
    "Dropout": "framework.nn.dropout",
    "Embedding": "framework.nn.embedding",
    "RNN": "framework.nn.rnn",
    "RNNCell": "framework.nn.rnn",
    "LSTM": "framework.nn.rnn",
    "LSTMCell": "framework.nn.rnn",
    "GRU": "framework.nn.rnn",
    "GRUCell": "framework.nn.rnn",
}


def __getattr__(name):
    """``nn.Conv2d``, ``nn.LSTM`` and the other layers of later chapters, imported when first used."""
    module_name = LATER_LAYERS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'framework.nn' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)


def __dir__():
    return sorted(set(globals()) | set(LATER_LAYERS))
