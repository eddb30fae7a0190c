"""Mini-batches: cutting a dataset into batches, in order or shuffled.

Training looks at a few examples at a time. ``DataLoader`` hands out
``(inputs, targets)`` batches of ``batch_size`` examples; one pass over
the loader is one epoch. All the work is done with index arrays (one
NumPy indexing per batch, never a Python loop over examples), so cutting
batches costs little next to the arithmetic of training.
"""

from numbers import Integral

import numpy as np


class DataLoader:
    """Iterate over ``(inputs, targets)`` in batches of ``batch_size`` rows.

    - ``inputs`` and ``targets`` are arrays (or anything ``np.asarray`` takes)
      with one example per row, so they must have the same length.
    - ``shuffle=True`` visits the examples in a new random order each epoch.
      The order of epoch ``e`` depends only on ``(seed, e)``: the same seed
      gives the same sequence of epochs, bit for bit, on every run.
    - ``drop_last=True`` skips a last batch smaller than ``batch_size``
      (so every batch has the same size).
    - ``as_tensor=True`` yields ``framework.autograd`` tensors instead of
      NumPy arrays; ``to_tensor`` may name any other conversion function.

    ``len(loader)`` is the number of batches per epoch. Batches are fresh
    arrays when shuffling, and read-only views of the data otherwise (no
    copy; an accidental write raises an error instead of changing the data).
    """

    def __init__(self, inputs, targets, batch_size=32, shuffle=False, seed=0,
                 drop_last=False, as_tensor=False, to_tensor=None):
        self.inputs = _read_only(inputs, "inputs")
        self.targets = _read_only(targets, "targets")
        if len(self.inputs) != len(self.targets):
            raise ValueError(
                f"DataLoader: inputs have {len(self.inputs)} examples (shape "
                f"{self.inputs.shape}) but targets have {len(self.targets)} (shape "
                f"{self.targets.shape}); give one target per input row."
            )
        if len(self.inputs) == 0:
            raise ValueError("DataLoader: the dataset is empty (0 examples).")
        if isinstance(batch_size, bool) or not isinstance(batch_size, Integral) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a whole number >= 1, not {batch_size!r}.")
        if drop_last and batch_size > len(self.inputs):
            raise ValueError(
                f"DataLoader: batch_size={batch_size} is larger than the {len(self.inputs)} "
                "examples, so drop_last=True would leave no batch at all; use a smaller "
                "batch_size or drop_last=False."
            )
        if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
            raise ValueError(f"DataLoader: seed must be a whole number >= 0, not {seed!r}.")
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        if to_tensor is None and as_tensor:
            to_tensor = autograd_tensor()
        self.to_tensor = to_tensor
        self.epoch = 0  # epochs started so far; the next epoch has this number

    @property
    def num_examples(self):
        return len(self.inputs)

    def __len__(self):
        """Batches per epoch: $\\lfloor N/B \\rfloor$ with drop_last, else $\\lceil N/B \\rceil$."""
        full, rest = divmod(self.num_examples, self.batch_size)
        return full if self.drop_last or rest == 0 else full + 1

    def order(self, epoch):
        """The example indices of epoch ``epoch``, in the order they are visited."""
        if not self.shuffle:
            return np.arange(self.num_examples)
        return np.random.default_rng([self.seed, epoch]).permutation(self.num_examples)

    def __iter__(self):
        epoch, self.epoch = self.epoch, self.epoch + 1
        order = self.order(epoch) if self.shuffle else None
        return self._batches(order)

    def _batches(self, order):
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            stop = min(start + self.batch_size, self.num_examples)
            if order is None:
                rows = slice(start, stop)  # a view, no copy
            else:
                rows = order[start:stop]   # fancy indexing: one gather per batch
            yield self._convert(self.inputs[rows]), self._convert(self.targets[rows])

    def _convert(self, batch):
        return batch if self.to_tensor is None else self.to_tensor(batch)

    def __repr__(self):
        return (f"DataLoader(examples={self.num_examples}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, seed={self.seed}, drop_last={self.drop_last}, "
                f"batches={len(self)})")


def autograd_tensor():
    """A conversion to ``framework.autograd`` tensors, imported only when asked for.

    The data module itself needs nothing but NumPy, so it can be used before
    the autograd package exists; the import happens here, on demand. Each
    batch keeps its dtype: float32 images stay float32, and int64 class
    labels stay integers (``tensor`` alone would make them float64).
    """
    try:
        from framework.autograd import tensor
    except ImportError as error:
        raise ImportError(
            "DataLoader(as_tensor=True) needs framework.autograd's tensor constructor "
            f"({error}); use as_tensor=False to get NumPy arrays."
        ) from error

    def to_tensor(batch):
        return tensor(batch, dtype=batch.dtype)

    return to_tensor


def _read_only(data, name):
    array = np.asarray(data).view()
    if array.ndim == 0:
        raise ValueError(f"DataLoader: {name} must have one row per example, got a scalar.")
    array.flags.writeable = False
    return array
