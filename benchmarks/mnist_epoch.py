"""One epoch of MNIST: the framework against NumPy by hand and PyTorch, for two MLPs.

Two ReLU networks (float32, He initialisation) are each trained for one
epoch of the 60,000 training images, batches of 100 shuffled the same way:

- 784-100-10 with plain SGD (learning rate 0.1), where the framework's
  fixed cost per step weighs most;
- 784-512-256-10 with Adam (learning rate 0.001), the network of
  Chapter 8's recipe, where the optimizer's arithmetic weighs most.

Each network is trained three ways, and the framework two more:

- with the framework: ``framework.train.train_epoch`` (the loop ``fit``
  runs: model, cross-entropy, ``zero_grad``, ``backward``, ``step``,
  running loss and accuracy);
- the framework without its graph (``operations_trainer``): the same
  operations' ``forward`` and ``backward`` methods called by hand, the
  gradients handed to the parameters as ``backward`` hands them, and the
  same optimizer. Its gap to the framework is what the graph costs; its
  gap to NumPy is what the operations and the optimizer cost;
- the framework with each ``Linear`` weight stored row by row (C order)
  instead of column by column, the layout ``nn.Linear`` chooses (see
  ``F.LinearFunction``) and the NumPy by hand uses too: the gap between
  the two rows is what the layout is worth;
- written by hand in NumPy (``framework.train.HandWrittenMLP`` for SGD,
  ``HandWrittenAdamMLP`` for Adam): the same arithmetic with every
  gradient and update spelled out, no graph;
- with PyTorch on the CPU, when it is installed.

All start from the same weights, compute the same losses (checked on
the first batches), keep the same score (loss and accuracy), and take
turns, one epoch each, ``--repeats`` times; the report gives the median
seconds per epoch, the best, and the ratios. Targets: framework / NumPy at
most 1.05 with SGD and at most 1.0 with Adam; the framework faster than
PyTorch.

BLAS runs on ``--threads`` threads (default 1: the matrices of a batch of
100 are small, and a shared machine makes threaded timings erratic), and
PyTorch is given the same number. Peak memory is the process's maximum
resident set size (``ru_maxrss``), read before PyTorch is imported (the
framework and NumPy alone) and at the end; the target is under 1 GiB.

Run ``python -m benchmarks.mnist_epoch`` (or ``python benchmarks/mnist_epoch.py``)
with ``FRAMEWORK_DATA_DIR`` pointing at the MNIST files; ``--help`` lists the
options (``--case sgd`` or ``--case adam`` runs one network only).
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
from collections import namedtuple  # noqa: E402

import numpy as np  # noqa: E402

from framework import nn  # noqa: E402
from framework.autograd.ops import ReLU  # noqa: E402
from framework.autograd.tensor import _accumulate_leaf  # noqa: E402
from framework.data.loader import DataLoader  # noqa: E402
from framework.data.mnist import load_mnist  # noqa: E402
from framework.nn import functional as F  # noqa: E402
from framework.nn.functional import CrossEntropyFunction, LinearFunction  # noqa: E402
from framework.train import (  # noqa: E402
    HandWrittenAdamMLP,
    HandWrittenMLP,
    make_optimizer,
    mlp_mnist_net,
    train_epoch,
)

BATCH = 100
SEED = 0
MEMORY_LIMIT_MIB = 1024

# key: the optimizer's name for make_optimizer; target: the largest ratio framework / NumPy.
Case = namedtuple("Case", ["key", "name", "hidden", "lr", "by_hand", "target"])
CASES = {
    "sgd": Case("sgd", "SGD", (100,), 0.1, HandWrittenMLP, 1.05),
    "adam": Case("adam", "Adam", (512, 256), 1e-3, HandWrittenAdamMLP, 1.0),
}


def describe(case):
    """For example ``784-100-10 ReLU, SGD lr 0.1``."""
    return f"{'-'.join(map(str, (784, *case.hidden, 10)))} ReLU, {case.name} lr {case.lr:g}"


# ---------------------------------------------------------------------------
# The contenders: each returns a function that trains one epoch
# ---------------------------------------------------------------------------


def framework_trainer(case, x, y, weights_by_rows=False):
    def run_epoch():
        model = mlp_mnist_net(case.hidden, seed=SEED)
        if weights_by_rows:  # the same values, stored row by row
            for layer in model.modules():
                if isinstance(layer, nn.Linear):
                    layer.weight.data = np.ascontiguousarray(layer.weight.data)
        optimizer = make_optimizer(case.key, model.parameters(), case.lr)
        loader = DataLoader(x, y, BATCH, shuffle=True, seed=SEED)
        losses = []
        train_epoch(model, optimizer, loader, batch_loss=losses)
        return losses

    return run_epoch


def operations_trainer(case, x, y):
    """The framework without its graph: the same operations and optimizer, called by hand.

    Each batch runs the ``forward`` methods of the network's operations
    (``LinearFunction``, ``ReLU``, ``CrossEntropyFunction``) on arrays, then
    their ``backward`` methods in reverse order, hands the gradients to the
    parameters and calls the optimizer. Nothing is recorded and nothing is
    walked: the difference between this row and the framework's is the
    cost of the graph (recording it, walking it, wrapping the gradients).
    """

    def run_epoch():
        model = mlp_mnist_net(case.hidden, seed=SEED)
        optimizer = make_optimizer(case.key, model.parameters(), case.lr)
        linears = [module for module in model.modules() if isinstance(module, nn.Linear)]
        losses, correct = [], 0
        for inputs, labels in DataLoader(x, y, BATCH, shuffle=True, seed=SEED):
            operations, h = [], inputs
            for i, layer in enumerate(linears):
                linear = LinearFunction()
                linear.needs_input_grad = (i > 0, True, True)  # no gradient for the images
                h = linear.forward(h, layer.weight.data, layer.bias.data)
                operations.append((linear, layer))
                if i < len(linears) - 1:
                    relu = ReLU()
                    h = relu.forward(h)
                    operations.append((relu, None))
            loss_function = CrossEntropyFunction(F.class_indices(labels, *h.shape))
            loss = loss_function.forward(h)
            grad = loss_function.backward(np.ones((), dtype=h.dtype))
            optimizer.zero_grad()
            for operation, layer in reversed(operations):
                if layer is None:
                    grad = operation.backward(grad)
                else:  # the parameters take their gradients as backward hands them over
                    grad, weight_grad, bias_grad = operation.backward(grad)
                    _accumulate_leaf(layer.weight, weight_grad)
                    _accumulate_leaf(layer.bias, bias_grad)
            optimizer.step()
            losses.append(float(loss))  # the same score keeping as the others
            correct += int(np.count_nonzero(h.argmax(axis=1) == labels))
        return losses

    return run_epoch


def numpy_trainer(case, x, y):
    # SGD's hand-written step takes the learning rate as a float32 scalar, as the
    # framework's float32 arithmetic uses it; Adam's combines it with Python floats first.
    lr = np.float32(case.lr) if case.key == "sgd" else case.lr

    def run_epoch():
        by_hand = case.by_hand.from_model(mlp_mnist_net(case.hidden, seed=SEED))
        losses, correct = [], 0
        for inputs, labels in DataLoader(x, y, BATCH, shuffle=True, seed=SEED):
            loss, right = by_hand.train_step(inputs, labels, lr)
            losses.append(loss)  # the same score keeping as the others
            correct += right
        return losses

    return run_epoch


def torch_trainer(case, x, y, torch):
    functional = torch.nn.functional
    sizes = (784, *case.hidden, 10)

    def run_epoch():
        start = mlp_mnist_net(case.hidden, seed=SEED)
        layers = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            layers += [torch.nn.Linear(fan_in, fan_out), torch.nn.ReLU()]
        model = torch.nn.Sequential(*layers[:-1])
        with torch.no_grad():
            for mine, theirs in zip(start.parameters(), model.parameters()):
                theirs.copy_(torch.from_numpy(mine.data))
        if case.key == "sgd":
            optimizer = torch.optim.SGD(model.parameters(), lr=case.lr)
        else:
            optimizer = torch.optim.Adam(model.parameters(), lr=case.lr)
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

    return run_epoch


def load_torch(threads):
    """PyTorch, set to ``threads`` threads, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    return torch


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
            losses[name] = trainers[name]()
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
        if len(values) != len(losses["NumPy by hand"]):
            raise AssertionError(f"{name} trained {len(values)} batches, NumPy {len(losses['NumPy by hand'])}")


def verdict(met):
    return "met" if met else "NOT met"


def report_case(case, seconds, torch_absent):
    """The table of one network and its ratios against the targets.

    ``torch_absent`` says why PyTorch is missing from ``seconds``, if it is.
    """
    print(describe(case))
    numpy_median = statistics.median(seconds["NumPy by hand"])
    print(f"  {'':16} {'s/epoch':>9} {'best':>8} {'/ NumPy':>8}")
    for name, times in seconds.items():
        median = statistics.median(times)
        print(f"  {name:16} {median:9.3f} {min(times):8.3f} {median / numpy_median:8.3f}")
    framework = statistics.median(seconds["framework"])
    ratio = framework / numpy_median
    print(f"  framework / NumPy: {ratio:.3f} (target <= {case.target}: {verdict(ratio <= case.target)})")
    if "PyTorch" in seconds:
        torch_ratio = framework / statistics.median(seconds["PyTorch"])
        print(f"  framework / PyTorch: {torch_ratio:.3f} (target < 1, faster than PyTorch: "
              f"{verdict(torch_ratio < 1)})")
    else:
        print(f"  PyTorch: {torch_absent}, not compared")


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
    parser.add_argument("--case", choices=["both", *CASES], default="both",
                        help="sgd: 784-100-10 with SGD; adam: 784-512-256-10 with Adam (default both)")
    parser.add_argument("--data-dir", help="MNIST folder (default: $FRAMEWORK_DATA_DIR)")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    args = parser.parse_args(argv)
    if str(args.threads) != THREADS:
        parser.error("--threads must be given on the command line (it is read before NumPy starts)")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    x, y = load_mnist("train", args.data_dir, flatten=True)
    cases = list(CASES.values()) if args.case == "both" else [CASES[args.case]]
    trainers = {case.key: {"NumPy by hand": numpy_trainer(case, x, y),
                           "framework": framework_trainer(case, x, y),
                           "  without graph": operations_trainer(case, x, y),
                           "  W row by row": framework_trainer(case, x, y, weights_by_rows=True)}
                for case in cases}
    for contenders in trainers.values():
        time_epochs(contenders, 1)  # a warm-up epoch each, which also shows their memory use alone
    memory_without_torch = peak_memory_mib()

    torch = None if args.no_torch else load_torch(args.threads)
    if torch is not None:
        for case in cases:
            trainers[case.key]["PyTorch"] = torch_trainer(case, x, y, torch)
            trainers[case.key]["PyTorch"]()  # its warm-up epoch

    print(f"MNIST, one epoch of {len(x):,} training images, float32, batch {BATCH}, He initialisation")
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores; Python {platform.python_version()}, "
          f"NumPy {np.__version__}" + (f", PyTorch {torch.__version__}" if torch else ""))
    print(f"BLAS threads: {THREADS}" + (f", PyTorch threads: {args.threads}" if torch else "")
          + f"; median and best of {args.repeats} epochs each, taken in turns", flush=True)
    for case in cases:
        seconds, losses = time_epochs(trainers[case.key], args.repeats)
        check_agreement(losses)
        print()
        report_case(case, seconds, "left out (--no-torch)" if args.no_torch else "not installed")
        sys.stdout.flush()
    memory_at_end = peak_memory_mib()
    print()
    print(f"peak memory: {memory_without_torch:.0f} MiB with the framework and NumPy"
          + (f", {memory_at_end:.0f} MiB once PyTorch is loaded" if torch else "")
          + f" (target < {MEMORY_LIMIT_MIB} MiB: {verdict(memory_without_torch < MEMORY_LIMIT_MIB)})")


if __name__ == "__main__":
    main()
