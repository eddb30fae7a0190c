"""Losses as modules: ``loss_fn = CrossEntropyLoss(); loss = loss_fn(logits, labels)``."""

from framework.nn import functional as F
from framework.nn.module import Module


class _Loss(Module):
    """A loss with a ``reduction``: "mean" (default), "sum" or "none"."""

    def __init__(self, reduction="mean"):
        super().__init__()
        F._check_reduction(reduction, type(self).__name__)
        self.reduction = reduction

    def extra_repr(self):
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """Mean squared error: mean of (prediction - target)^2."""

    def forward(self, prediction, target):
        return F.mse_loss(prediction, target, self.reduction)


class CrossEntropyLoss(_Loss):
    """Cross-entropy from logits (N, C) and class indices (N,)."""

    def forward(self, logits, target):
        return F.cross_entropy(logits, target, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy from logits and 0/1 targets of the same shape."""

    def forward(self, logits, target):
        return F.binary_cross_entropy_with_logits(logits, target, self.reduction)
