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
