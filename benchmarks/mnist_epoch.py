"""One epoch of MNIST: the framework against NumPy by hand and PyTorch.

The same network, 784-100-10 with ReLU (float32, He initialisation), is
trained for one epoch of the 60,000 training images, batches of 100
shuffled the same way, with plain SGD (learning rate 0.1):

- with the framework: ``framework.train.train_epoch`` (the loop ``fit``
  runs: model, cross-entropy, ``zero_grad``, ``backward``, ``SGD.step``,
  running loss and accuracy);
- written by hand in NumPy (``framework.train.HandWrittenMLP``): the same
  arithmetic with every gradient spelled out, no graph;
- with PyTorch on the CPU, when it is installed.

All three start from the same weights, compute the same losses (checked on
the first batches), keep the same score (loss and accuracy), and take
turns, one epoch each, ``--repeats`` times; the report gives the median
seconds per epoch, the best, and the ratios to NumPy. Targets: framework /
NumPy at most 1.25, the framework faster than PyTorch.

BLAS runs on ``--threads`` threads (default 1: the matrices of a batch of
100 are small, and a shared machine makes threaded timings erratic), and
PyTorch is given the same number. Peak memory is the process's maximum
resident set size (``ru_maxrss``), read before PyTorch is imported (the
framework and NumPy alone) and at the end; the target is under 1 GiB.

Run ``python -m benchmarks.mnist_epoch`` (or ``python benchmarks/mnist_epoch.py``)
with ``FRAMEWORK_DATA_DIR`` pointing at the MNIST files; ``--help`` lists the options.
"""

import os
import sys


def _threads_from_arguments(argv):
    """The --threads value, read before NumPy is imported (BLAS reads it once)."""
    for i, argument in enumerate(argv):
        if argument == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if argument.startswith("--threads="):
            return argument.split("=", 1)[1]
    return "1"


THREADS = _threads_from_arguments(sys.argv[1:])
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = THREADS

import argparse  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from framework import optim  # noqa: E402
from framework.data.loader import DataLoader  # noqa: E402
from framework.data.mnist import load_mnist  # noqa: E402
from framework.train import HandWrittenMLP, mlp_mnist_net, train_epoch  # noqa: E402

HIDDEN = (100,)
BATCH = 100
LEARNING_RATE = 0.1
SEED = 0
TARGET_RATIO = 1.25
MEMORY_LIMIT_MIB = 1024


# ---------------------------------------------------------------------------
# The three contenders: each returns a function that trains one epoch
# ---------------------------------------------------------------------------


def framework_trainer(x, y):
    def run_epoch(epoch):
        model = mlp_mnist_net(HIDDEN, seed=SEED)
        optimizer = optim.SGD(model.parameters(), lr=LEARNING_RATE)
        loader = DataLoader(x, y, BATCH, shuffle=True, seed=SEED)
        losses = []
        train_epoch(model, optimizer, loader, batch_loss=losses)
        return losses

    return run_epoch


def numpy_trainer(x, y):
    lr = np.float32(LEARNING_RATE)

    def run_epoch(epoch):
        by_hand = HandWrittenMLP.from_model(mlp_mnist_net(HIDDEN, seed=SEED))
        losses = []
        for inputs, labels in DataLoader(x, y, BATCH, shuffle=True, seed=SEED):
            losses.append(by_hand.train_step(inputs, labels, lr)[0])
        return losses

    return run_epoch


def torch_trainer(x, y, threads):
    """PyTorch's version, or None when PyTorch is not installed."""
    try:
        import torch
    except ImportError:
        return None, None
    torch.set_num_threads(threads)
    functional = torch.nn.functional

    def run_epoch(epoch):
        start = mlp_mnist_net(HIDDEN, seed=SEED)
        model = torch.nn.Sequential(torch.nn.Linear(784, HIDDEN[0]), torch.nn.ReLU(),
                                    torch.nn.Linear(HIDDEN[0], 10))
        with torch.no_grad():
            for mine, theirs in zip(start.parameters(), model.parameters()):
                theirs.copy_(torch.from_numpy(mine.data))
        optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
        losses, correct, seen = [], 0, 0
        for inputs, labels in DataLoader(x, y, BATCH, shuffle=True, seed=SEED):
            inputs, labels = torch.from_numpy(inputs), torch.from_numpy(labels)
            outputs = model(inputs)
            loss = functional.cross_entropy(outputs, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())  # the same score keeping as the others
            correct += int((outputs.argmax(dim=1) == labels).sum().item())
            seen += len(labels)
        return losses

    return run_epoch, torch.__version__


# ---------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------


def peak_memory_mib():
    """The largest resident set size of this process so far, in MiB (Linux: KiB units)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20


def time_epochs(trainers, repeats):
    """Seconds of each trainer's epochs, taking turns; also each one's losses."""
    seconds = {name: [] for name in trainers}
    losses = {}
    names = list(trainers)
    for repeat in range(repeats):
        order = names[repeat % len(names):] + names[:repeat % len(names)]  # rotate who goes first
        for name in order:
            start = time.perf_counter()
            losses[name] = trainers[name](repeat)
            seconds[name].append(time.perf_counter() - start)
    return seconds, losses


def check_agreement(losses, steps=20, tolerance=1e-4):
    """Everyone computed the same losses on the first batches (float32 rounding apart)."""
    reference = np.array(losses["NumPy by hand"][:steps])
    for name, values in losses.items():
        difference = np.max(np.abs(np.array(values[:steps]) - reference))
        if not difference <= tolerance:
            raise AssertionError(
                f"{name} computed other losses than NumPy by hand on the first {steps} batches "
                f"(largest difference {difference:.2e}): the comparison would not be fair"
            )
        if len(values) != len(reference) and len(values) != len(losses["NumPy by hand"]):
            raise AssertionError(f"{name} trained {len(values)} batches, NumPy {len(losses['NumPy by hand'])}")


def cpu_name():
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="epochs timed per contender (default 5)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and PyTorch threads (default 1)")
    parser.add_argument("--data-dir", help="MNIST folder (default: $FRAMEWORK_DATA_DIR)")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    args = parser.parse_args(argv)
    if str(args.threads) != THREADS:
        parser.error("--threads must be given on the command line (it is read before NumPy starts)")

    x, y = load_mnist("train", args.data_dir, flatten=True)
    trainers = {"NumPy by hand": numpy_trainer(x, y), "framework": framework_trainer(x, y)}
    time_epochs(trainers, 1)  # a warm-up epoch each, which also shows their memory use alone
    memory_without_torch = peak_memory_mib()

    torch_version = None
    if not args.no_torch:
        run_torch, torch_version = torch_trainer(x, y, args.threads)
        if run_torch is not None:
            trainers["PyTorch"] = run_torch
            trainers["PyTorch"](0)  # its warm-up epoch
    seconds, losses = time_epochs(trainers, args.repeats)
    check_agreement(losses)
    memory_at_end = peak_memory_mib()

    print(f"MNIST, one epoch of {len(x):,} training images: 784-{'-'.join(map(str, HIDDEN))}-10 ReLU, "
          f"float32, batch {BATCH}, SGD lr {LEARNING_RATE}")
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores; Python {platform.python_version()}, "
          f"NumPy {np.__version__}" + (f", PyTorch {torch_version}" if torch_version else ""))
    print(f"BLAS threads: {THREADS}" + (f", PyTorch threads: {args.threads}" if torch_version else "")
          + f"; median and best of {args.repeats} epochs each, taken in turns")
    print()
    numpy_median = statistics.median(seconds["NumPy by hand"])
    print(f"  {'':16} {'s/epoch':>9} {'best':>8} {'ratio':>7}")
    for name, times in seconds.items():
        median = statistics.median(times)
        print(f"  {name:16} {median:9.3f} {min(times):8.3f} {median / numpy_median:7.2f}")
    print()
    ratio = statistics.median(seconds["framework"]) / numpy_median
    print(f"framework / NumPy: {ratio:.3f} (target <= {TARGET_RATIO}: {'met' if ratio <= TARGET_RATIO else 'NOT met'})")
    if "PyTorch" in seconds:
        torch_ratio = statistics.median(seconds["framework"]) / statistics.median(seconds["PyTorch"])
        print(f"framework / PyTorch: {torch_ratio:.3f} "
              f"(target < 1, faster than PyTorch: {'met' if torch_ratio < 1 else 'NOT met'})")
    else:
        print("PyTorch: not installed, not compared")
    print(f"peak memory: {memory_without_torch:.0f} MiB with the framework and NumPy"
          + (f", {memory_at_end:.0f} MiB once PyTorch is loaded" if torch_version else "")
          + f" (target < {MEMORY_LIMIT_MIB} MiB: "
          + f"{'met' if memory_without_torch < MEMORY_LIMIT_MIB else 'NOT met'})")


if __name__ == "__main__":
    main()
