"""One epoch of a small CNN on MNIST: the framework against NumPy by hand and PyTorch.

The network of ``framework.convnet.small_cnn``: a convolution of 8 filters
3x3, ReLU, 2x2 max pooling and a linear layer to 10 classes, float32, trained
for one epoch of the 60,000 training images in batches of 100 (shuffled the
same way for everyone) with plain SGD:

- with the framework: ``train_epoch``, the loop of ``fit``;
- written by hand in NumPy (``framework.convnet.HandWrittenCNN``): the same
  arithmetic, every gradient spelled out, no input gradient for the images;
- with PyTorch on the CPU, when it is installed.

All start from the same weights and must compute the same losses on the
first batches. They take turns, one epoch each, ``--repeats`` times; the
report gives the median seconds per epoch, the best, and the ratios to
PyTorch. Target: the framework's epoch at most 0.8 times PyTorch's.

Then the chapter's own network (``mnist_cnn(batch_norm=True)``: two
convolutions of 16 and 32 filters, 128 hidden units, batch normalisation) is timed against PyTorch on ``--batches``
batches, taking turns every 25 batches. Target: at most 1.0 times PyTorch.
Last, each of its layers is timed alone, forward and backward, against the
same layer in PyTorch: where the time goes.

BLAS and PyTorch run on ``--threads`` threads (default 1). Run
``python -m benchmarks.cnn_epoch`` with ``FRAMEWORK_DATA_DIR`` pointing at the
MNIST files; ``--help`` lists the options.
"""

import os
import sys

from benchmarks.mnist_epoch import _threads_from_arguments

THREADS = _threads_from_arguments(sys.argv[1:])
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = THREADS

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.mnist_epoch import cpu_name  # noqa: E402
from framework.convnet import (  # noqa: E402
    framework_trainer,
    mnist_cnn,
    numpy_trainer,
    layer_times,
    pytorch_trainer,
    small_cnn,
    time_in_turns,
)
from framework.data.loader import DataLoader  # noqa: E402
from framework.data.mnist import load_mnist  # noqa: E402

BATCH = 100
LEARNING_RATE = 0.1
SEED = 0
TARGET_SMALL = 0.8
TARGET_CHAPTER = 1.0


def check_agreement(losses, reference_name, steps=20, tolerance=1e-4):
    """Every contender computed the same losses on the first batches (float32 rounding apart)."""
    reference = np.array(losses[reference_name][:steps])
    for name, values in losses.items():
        difference = float(np.max(np.abs(np.array(values[:steps]) - reference)))
        if not difference <= tolerance:
            raise AssertionError(
                f"{name} computed other losses than {reference_name} on the first {steps} batches "
                f"(largest difference {difference:.2e}): the comparison would not be fair"
            )


def epochs_in_turns(builders, batches, repeats):
    """Seconds per epoch of each contender (a fresh model each epoch), taking turns; and the losses."""
    seconds = {name: [] for name in builders}
    losses = {}
    names = list(builders)
    for repeat in range(repeats):
        order = names[repeat % len(names):] + names[:repeat % len(names)]  # rotate who goes first
        for name in order:
            run = builders[name]()
            took, lost = time_in_turns({name: run}, batches, chunk=len(batches))
            seconds[name].append(took[name])
            losses[name] = lost[name]
    return seconds, losses


def report(seconds, reference):
    base = statistics.median(seconds[reference])
    print(f"  {'':16} {'s/epoch':>9} {'best':>8} {'/ ' + reference:>12}")
    for name, times in seconds.items():
        median = statistics.median(times)
        print(f"  {name:16} {median:9.3f} {min(times):8.3f} {median / base:12.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="epochs timed per contender (default 3)")
    parser.add_argument("--batches", type=int, default=600,
                        help="batches of the chapter's network timed per contender (default 600: one epoch)")
    parser.add_argument("--layer-repeats", type=int, default=20,
                        help="calls of each layer timed in the breakdown by layer (default 20)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and PyTorch threads (default 1)")
    parser.add_argument("--data-dir", help="MNIST folder (default: $FRAMEWORK_DATA_DIR)")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    args = parser.parse_args(argv)
    if str(args.threads) != THREADS:
        parser.error("--threads must be given on the command line (it is read before NumPy starts)")

    images, labels = load_mnist("train", args.data_dir)
    images = images.reshape(-1, 1, 28, 28)
    batches = list(DataLoader(images, labels, BATCH, shuffle=True, seed=SEED))

    builders = {
        "framework": lambda: framework_trainer(small_cnn(seed=SEED), LEARNING_RATE),
        "NumPy by hand": lambda: numpy_trainer(small_cnn(seed=SEED), LEARNING_RATE),
    }
    torch_version = None
    if not args.no_torch and pytorch_trainer(small_cnn(seed=SEED), LEARNING_RATE, args.threads) is not None:
        import torch

        torch_version = torch.__version__
        builders["PyTorch"] = lambda: pytorch_trainer(small_cnn(seed=SEED), LEARNING_RATE, args.threads)
    for build in builders.values():  # warm up: caches, allocator, PyTorch's first calls
        build()(batches[:20])
    seconds, losses = epochs_in_turns(builders, batches, args.repeats)
    check_agreement(losses, "NumPy by hand")

    print(f"MNIST, one epoch of {len(images):,} images, batches of {BATCH}, SGD lr {LEARNING_RATE}, float32")
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores; Python {platform.python_version()}, "
          f"NumPy {np.__version__}" + (f", PyTorch {torch_version}" if torch_version else "")
          + f"; {THREADS} thread(s) each")
    print()
    print(f"conv 1->8 3x3, ReLU, 2x2 max pool, linear 1352->10: median and best of {args.repeats} epochs, in turns")
    reference = "PyTorch" if torch_version else "NumPy by hand"
    report(seconds, reference)
    if torch_version:
        ratio = statistics.median(seconds["framework"]) / statistics.median(seconds["PyTorch"])
        print(f"framework / PyTorch: {ratio:.3f} (target <= {TARGET_SMALL}: "
              f"{'met' if ratio <= TARGET_SMALL else 'NOT met'})")
    else:
        print("PyTorch: not installed, not compared")
    numpy_ratio = statistics.median(seconds["framework"]) / statistics.median(seconds["NumPy by hand"])
    print(f"framework / NumPy by hand: {numpy_ratio:.3f}")

    if not torch_version:
        return
    print()
    chapter_batches = batches[:args.batches]
    trainers = {"framework": framework_trainer(mnist_cnn(batch_norm=True, seed=SEED), LEARNING_RATE / 10),
                "PyTorch": pytorch_trainer(mnist_cnn(batch_norm=True, seed=SEED), LEARNING_RATE / 10, args.threads)}
    for run in trainers.values():
        run(batches[-5:])  # warm up, on batches not timed
    seconds, losses = time_in_turns(trainers, chapter_batches, chunk=25)
    check_agreement(losses, "PyTorch", steps=5, tolerance=1e-3)
    per_epoch = {name: [s * len(batches) / len(chapter_batches)] for name, s in seconds.items()}
    print(f"the chapter's CNN (conv 16, conv 32, 128 hidden, batch norm): {len(chapter_batches)} batches each, "
          "in turns every 25, scaled to an epoch")
    report(per_epoch, "PyTorch")
    ratio = seconds["framework"] / seconds["PyTorch"]
    print(f"framework / PyTorch: {ratio:.3f} (target <= {TARGET_CHAPTER}: "
          f"{'met' if ratio <= TARGET_CHAPTER else 'NOT met'})")

    print()
    print(f"where the time goes: each layer of the chapter's CNN, forward and backward on a batch of {BATCH}, "
          f"median of {args.layer_repeats} calls in turns (ms)")
    rows = layer_times(mnist_cnn(batch_norm=True, seed=SEED), batches[0][0], args.layer_repeats, args.threads)
    print(f"  {'layer':20} {'framework':>10} {'PyTorch':>9} {'ratio':>7}")
    for name, ours, theirs in rows:
        print(f"  {name:20} {1000 * ours:10.2f} {1000 * theirs:9.2f} {ours / theirs:7.2f}")
    total_ours, total_theirs = sum(row[1] for row in rows), sum(row[2] for row in rows)
    print(f"  {'all layers':20} {1000 * total_ours:10.2f} {1000 * total_theirs:9.2f} {total_ours / total_theirs:7.2f}")


if __name__ == "__main__":
    main()
