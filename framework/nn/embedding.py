"""Embeddings: a learned vector for each symbol of a vocabulary (Chapter 11).

A character, a word or any other symbol is an index ``k`` into a table of
``num_embeddings`` rows. The embedding of ``k`` is row ``k`` of a weight
matrix ``W`` (num_embeddings, embedding_dim). Looking rows up is the same
as multiplying a one-hot vector by ``W``, without building the one-hot
vector:

$$\\operatorname{embedding}(k) = e_k^T W = W_{k,:}.$$

Backward follows from the product: the gradient of ``W`` is
$\\sum_{\\text{positions } p} e_{k_p} g_p^T$, that is, each position's
gradient ``g_p`` is *added* to row ``k_p``. A symbol that occurs several
times in a batch receives the sum of all its gradients (a scatter-add);
rows of symbols that do not occur receive zero.

The two operations, gathering rows and scatter-adding rows, are each
other's backward. Both are written as ``Function`` subclasses, and each
backward calls the other through a function that works on arrays (NumPy,
the usual fast path) and on tensors (recording a graph), so the backward of
an embedding can itself be differentiated.
"""

import numpy as np

from framework.autograd.tensor import Function, Tensor
from framework.nn import init
from framework.nn.module import Module
from framework.nn.parameter import Parameter


class GatherRows(Function):
    """y[p] = W[k_p] for every position p of an integer index array k.

    The indices are a setting of the operation, not an input: they are
    integers and have no gradient. Backward: dL/dW = scatter_add_rows(g, k).
    """

    def __init__(self, indices):
        self.indices = indices

    def forward(self, weight):
        self.save_for_backward(weight.shape[0])
        return weight[self.indices]

    def backward(self, gy):
        (num_rows,) = self.saved
        return scatter_add_rows(gy, self.indices, num_rows)


class ScatterAddRows(Function):
    """W[r] = sum of g[p] over the positions p with k_p = r; zero for other rows.

    ``g`` has shape ``k.shape + (D,)``, the result (num_rows, D). This is the
    backward of ``GatherRows``, and ``GatherRows`` is its backward:
    dL/dg[p] = G[k_p] for the gradient G of the result.
    """

    def __init__(self, indices, num_rows):
        self.indices = indices
        self.num_rows = num_rows

    def forward(self, values):
        return _scatter_add(values, self.indices, self.num_rows)

    def backward(self, g_rows):
        return gather_rows(g_rows, self.indices)


def _scatter_add(values, indices, num_rows):
    """The scatter-add on arrays: each value is added once per occurrence of its index.

    ``np.add.at(out, indices, values)`` says exactly this (plain
    ``out[indices] += values`` would keep only one of the values of a
    repeated index: NumPy writes each distinct position once). ``np.bincount``
    computes the same sums faster: every element (position p, column j)
    goes to bin ``k_p * width + j``, and the bins, read as a table of
    ``num_rows`` rows, are the result. It sums in float64.
    """
    width = values.shape[-1]
    bins = (indices.reshape(-1, 1) * width + np.arange(width)).reshape(-1)
    sums = np.bincount(bins, weights=values.reshape(-1), minlength=num_rows * width)
    return sums.reshape(num_rows, width).astype(values.dtype, copy=False)


def gather_rows(weight, indices):
    """Rows ``weight[indices]``: a tensor records a graph, an array is indexed directly."""
    if isinstance(weight, Tensor):
        return GatherRows(indices)(weight)
    return weight[indices]


def scatter_add_rows(values, indices, num_rows):
    """Rows of ``values`` added into a (num_rows, D) table at ``indices``; tensors record a graph."""
    if isinstance(values, Tensor):
        return ScatterAddRows(indices, num_rows)(values)
    return _scatter_add(values, indices, num_rows)


def embedding_indices(indices, num_embeddings, owner="embedding"):
    """Check indices and return them as an int64 array.

    Accepts integer arrays and lists, and tensors holding whole numbers
    (tensors store floats). Each index must lie in [0, num_embeddings).
    """
    values = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
    if values.dtype.kind == "f":
        if not np.all(values == np.round(values)):
            raise TypeError(f"{owner}: indices must be whole numbers, got {values}")
    elif values.dtype.kind not in "iu":
        raise TypeError(f"{owner}: indices must be integers, got dtype {values.dtype}")
    if values.size and (values.min() < 0 or values.max() >= num_embeddings):
        bad = (values < 0) | (values >= num_embeddings)
        position = tuple(int(p) for p in np.argwhere(bad)[0])
        raise IndexError(
            f"{owner}: index {values[position]:g} at position {position} of the indices "
            f"(shape {values.shape}) is out of range for {num_embeddings} embeddings; "
            f"indices lie in [0, {num_embeddings})"
        )
    return values.astype(np.int64, copy=False)


def embedding(indices, weight):
    """The rows of ``weight`` (num_embeddings, D) picked by ``indices``: shape indices.shape + (D,)."""
    if weight.ndim != 2:
        raise ValueError(f"embedding: the weight must have shape (num_embeddings, dim), got {weight.shape}")
    return gather_rows(weight, embedding_indices(indices, weight.shape[0]))


class Embedding(Module):
    """A table of ``num_embeddings`` learned vectors of size ``embedding_dim``.

    ``Embedding(65, 16)(indices)`` maps integer indices of any shape to
    vectors: the result has shape ``indices.shape + (16,)``. The weight is
    drawn from the standard normal distribution, as in PyTorch.
    """

    def __init__(self, num_embeddings, embedding_dim, dtype=np.float32, generator=None):
        super().__init__()
        for name, value in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Embedding: {name} must be a positive whole number, got {value!r}")
        self.num_embeddings = int(num_embeddings)
        self.embedding_dim = int(embedding_dim)
        self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dtype=dtype))
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None):
        """Draw fresh vectors from N(0, 1)."""
        init.normal_(self.weight, 0.0, 1.0, generator=generator)

    def forward(self, indices):
        checked = embedding_indices(indices, self.num_embeddings, owner="Embedding")
        return GatherRows(checked)(self.weight)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"
