"""Optimizers, learning-rate schedules and gradient clipping (Chapter 7).

``from framework import optim`` gives ``optim.SGD``, ``optim.Adagrad``,
``optim.RMSprop``, ``optim.Adam``, ``optim.AdamW``, ``optim.Adamax`` (all
subclasses of ``optim.Optimizer``), the schedules in ``optim.lr_scheduler`` and
``optim.clip_grad_norm_`` / ``optim.clip_grad_value_``. Names, settings and
formulas follow ``torch.optim``.
"""

from framework.optim import lr_scheduler
from framework.optim.adagrad import Adagrad
from framework.optim.adam import Adam, Adamax, AdamW
from framework.optim.clip import clip_grad_norm_, clip_grad_value_
from framework.optim.optimizer import Optimizer
from framework.optim.rmsprop import RMSprop
from framework.optim.sgd import SGD

__all__ = [
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Optimizer",
    "RMSprop",
    "SGD",
    "clip_grad_norm_",
    "clip_grad_value_",
    "lr_scheduler",
]
