"""The two ways of each step of a convolution, timed inside the training of Chapter 9's network.

``framework.nn.conv`` computes the columns (im2col), the input gradient and
the batch's columns in two ways each, and picks one. Timed alone, on arrays
that stay in the cache, a way can look faster than it is in training, where
the other layers push its arrays out of the cache. So each choice is timed
here the way it is used: the chapter's network (``mnist_cnn(batch_norm=True)``)
trains on the same batches with the package's choice and with the other way,
taking turns, and the script prints the milliseconds per batch of each and,
for the first two, how many of them the step itself took:

- im2col: by rows against from the window view;
- the input gradient: by rows against by columns;
- the columns of the second convolution: made a chunk at a time against made
  for the whole batch at once and kept.

Run ``python -m benchmarks.conv_ways`` with ``FRAMEWORK_DATA_DIR`` pointing at
the MNIST files; BLAS runs on one thread.
"""

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import time  # noqa: E402
from collections import defaultdict  # noqa: E402

import numpy as np  # noqa: E402

from framework.convnet import framework_trainer, mnist_cnn  # noqa: E402
from framework.data.mnist import load_mnist  # noqa: E402
from framework.nn import conv  # noqa: E402

BATCHES, ROUNDS = 60, 6


def timed(function, calls):
    """``function``, adding the seconds of each call to ``calls[number of input channels]``."""
    def wrapper(first, *rest):
        start = time.perf_counter()
        result = function(first, *rest)
        calls[first.shape[1]] += time.perf_counter() - start
        return result
    return wrapper


def compare(title, name, ways, batches, per_call=True):
    """Train one network per way of ``conv.<name>``, in turns; print ms per batch (and in the way itself)."""
    original = getattr(conv, name)
    calls = {way: defaultdict(float) for way in ways}
    runs = {way: framework_trainer(mnist_cnn(batch_norm=True), 0.05) for way in ways}
    seconds = dict.fromkeys(ways, 0.0)
    try:
        for _ in range(ROUNDS):
            for way, function in ways.items():
                setattr(conv, name, timed(function, calls[way]))
                start = time.perf_counter()
                runs[way](batches)
                seconds[way] += time.perf_counter() - start
    finally:
        setattr(conv, name, original)
    steps = ROUNDS * len(batches)
    print(title)
    for way in ways:
        parts = "; in it: " + ", ".join(f"{1000 * t / steps:.2f} on {c}-channel arrays"
                                        for c, t in sorted(calls[way].items())) if per_call else ""
        print(f"  {way:32} {1000 * seconds[way] / steps:6.2f} ms per batch{parts}")


CHUNKS = conv.image_chunks


def keeping(keep_bytes):
    """conv.image_chunks with the columns of batches up to ``keep_bytes`` made at once and kept."""
    def chunks(x, kernel, geo, out):
        saved, conv.KEEP_BYTES = conv.KEEP_BYTES, keep_bytes
        try:
            return CHUNKS(x, kernel, geo, out)
        finally:
            conv.KEEP_BYTES = saved
    return chunks


def main():
    images, labels = load_mnist("train", subset=100 * BATCHES)
    images = images.reshape(-1, 1, 28, 28)
    batches = [(images[i:i + 100], labels[i:i + 100]) for i in range(0, len(images), 100)]
    compare("im2col", "im2col", {"by rows (the package's choice)": conv.im2col,
                                 "from the window view": conv.im2col_from_windows}, batches)
    compare("the input gradient", "conv_input_grad",
            {"by rows (the package's choice)": conv.conv_input_grad,
             "by columns": conv.input_grad_by_columns}, batches)
    compare("the columns", "image_chunks", {"in chunks (the package's choice)": CHUNKS,
                                            "whole batch, kept": keeping(np.inf)}, batches, per_call=False)


if __name__ == "__main__":
    main()
