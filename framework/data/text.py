"""Sequences of symbols: a text corpus, characters as indices, chunks for training (Chapter 11).

- ``load_first_names``: the corpus of Chapter 11, 5,163 first names from
  the 1990 United States census, shipped with the package (public domain;
  see ``corpora/README.md``), so nothing is downloaded;
- ``CharVocabulary``: characters to integer indices and back;
- ``SequenceChunks``: a long sequence of indices cut into contiguous
  chunks, the batches of truncated backpropagation through time;
- ``recall_task``: the synthetic memory task of the chapter.

Like the rest of ``framework.data``, this module needs only NumPy.
"""

from numbers import Integral
from pathlib import Path

import numpy as np

CORPORA_DIR = Path(__file__).resolve().parent / "corpora"


def load_first_names():
    """The first names of the corpus, lower case, in alphabetical order."""
    text = (CORPORA_DIR / "first_names.txt").read_text(encoding="ascii")
    return text.split()


class CharVocabulary:
    """The distinct characters of a text, each with an index: 0, 1, ... in sorted order.

    ``encode("ann")`` gives an int64 array of indices, ``decode`` a string.
    """

    def __init__(self, text):
        self.symbols = sorted(set(text))
        if not self.symbols:
            raise ValueError("CharVocabulary: the text is empty, so there are no characters to index")
        self.index = {symbol: k for k, symbol in enumerate(self.symbols)}

    def __len__(self):
        return len(self.symbols)

    def encode(self, text):
        """The indices of the characters of ``text`` (an int64 array)."""
        try:
            return np.array([self.index[symbol] for symbol in text], dtype=np.int64)
        except KeyError as error:
            raise ValueError(
                f"CharVocabulary: the character {error.args[0]!r} is not in the vocabulary "
                f"{''.join(self.symbols)!r}"
            ) from None

    def decode(self, indices):
        """The text spelled by a sequence of indices."""
        return "".join(self.symbols[int(k)] for k in np.ravel(indices))

    def __repr__(self):
        return f"CharVocabulary({len(self)} symbols: {''.join(self.symbols)!r})"


def _whole_number(owner, name, value, low=1):
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
        raise ValueError(f"{owner}: {name} must be a whole number >= {low}, got {value!r}")
    return int(value)


class SequenceChunks:
    """One long sequence as ``batch_size`` parallel streams, cut into chunks of ``chunk_length``.

    The sequence s_0, s_1, ... is cut into ``batch_size`` equal rows (the few
    values left over at the end are dropped): row b holds the positions
    b R, ..., (b + 1) R - 1, with R = len(s) // batch_size. Chunk k holds the
    columns k L to (k + 1) L - 1 of every row as inputs, and the same columns
    shifted by one as targets (the next symbol at every position):

        inputs[t, b] = s[b R + k L + t],    targets[t, b] = s[b R + k L + t + 1].

    Row b of chunk k + 1 continues exactly where row b of chunk k stopped, so
    a recurrent network can carry its state from one chunk to the next
    (detached: truncated backpropagation through time). The last chunk may
    be shorter. Batches are (chunk_length, batch_size), time first, or
    (batch_size, chunk_length) with ``batch_first=True``.
    """

    def __init__(self, sequence, batch_size, chunk_length, batch_first=False):
        owner = "SequenceChunks"
        self.batch_size = _whole_number(owner, "batch_size", batch_size)
        self.chunk_length = _whole_number(owner, "chunk_length", chunk_length)
        self.batch_first = bool(batch_first)
        values = np.asarray(sequence)
        if values.ndim != 1:
            raise ValueError(f"{owner}: the sequence must be one-dimensional, got shape {values.shape}")
        row_length = len(values) // self.batch_size
        if row_length < 2:
            raise ValueError(
                f"{owner}: a sequence of {len(values)} values gives rows of {row_length} for "
                f"batch_size={self.batch_size}; each row needs at least 2 (an input and its target)"
            )
        self.rows = values[: row_length * self.batch_size].reshape(self.batch_size, row_length)

    def __len__(self):
        """The number of chunks: ceil((R - 1) / L), the last input of a row needing a target."""
        return -(-(self.rows.shape[1] - 1) // self.chunk_length)

    def __iter__(self):
        for start in range(0, self.rows.shape[1] - 1, self.chunk_length):
            stop = min(start + self.chunk_length, self.rows.shape[1] - 1)
            inputs, targets = self.rows[:, start:stop], self.rows[:, start + 1 : stop + 1]
            if not self.batch_first:
                inputs, targets = inputs.T, targets.T
            yield inputs, targets

    def __repr__(self):
        return (f"SequenceChunks(batch_size={self.batch_size}, chunk_length={self.chunk_length}, "
                f"rows of {self.rows.shape[1]}, chunks={len(self)})")


def recall_task(distance, count, symbols=4, distractors=4, seed=0):
    """Sequences whose target is their first symbol, seen ``distance`` steps before the end.

    Each sequence has ``distance`` steps: a symbol in [0, symbols) at step 0,
    then ``distance - 1`` distractors drawn from [symbols, symbols +
    distractors). A network reads the whole sequence and must name the first
    symbol at the last step; guessing is right with probability 1/symbols.
    Returns (inputs of shape (distance, count), targets of shape (count,)),
    int64 indices into a vocabulary of symbols + distractors.
    """
    distance = _whole_number("recall_task", "distance", distance)
    count = _whole_number("recall_task", "count", count)
    rng = np.random.default_rng([seed, distance])
    targets = rng.integers(0, symbols, size=count)
    noise = rng.integers(symbols, symbols + distractors, size=(distance - 1, count))
    return np.concatenate([targets[None, :], noise]).astype(np.int64), targets.astype(np.int64)
