"""How much does the framework cost over NumPy written by hand?

Two measurements, printed as a small report:

1. One training step of a 784-100-10 ReLU network on a batch of 100
   (forward, softmax cross-entropy, backward, SGD update), written by hand
   in NumPy and with the framework. The framework step comes in two
   versions: with the loss as one fused operation (as a library provides
   it: the target ratio of at most 1.25 applies to this one) and with the
   loss composed of nine elementary operations (to show what each node of a
   graph costs). All run alternately in the same process on the same data
   from the same starting weights, so a busy machine slows them alike; the
   report gives the median time of each and the ratios to NumPy. All
   compute the same numbers, which the script checks first.
2. Backward through chains of 10^3, 10^4 and 10^5 elementwise operations,
   timed per node: the time per node must stay flat, i.e. the cost of
   backward grows linearly with the size of the graph.

Times are CPU time of this process by default (``time.process_time``),
which other programs on a shared machine do not inflate; ``--wall`` uses
wall-clock time instead. BLAS runs on one thread unless
``OPENBLAS_NUM_THREADS`` (or ``OMP_NUM_THREADS``) says otherwise: the
matrices of one step are small, threads cost more than they save on them,
and on a shared machine they make timings erratic. All versions use the
same setting.

Run ``python -m benchmarks.step`` (or ``python benchmarks/step.py``);
``--help`` lists the options.
"""

import os

# Must happen before NumPy is imported.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from framework.autograd import Function, exp, log, relu, sin, tensor  # noqa: E402

SIZES = (784, 100, 10)
BATCH = 100
LEARNING_RATE = 0.01
CHAIN_LENGTHS = (1_000, 10_000, 100_000)
TARGET_RATIO = 1.25


# ---------------------------------------------------------------------------
# The data and the starting point
# ---------------------------------------------------------------------------


def initial_parameters(seed=0):
    """He-initialised weights (float32) and zero biases: [W1, b1, W2, b2]."""
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        params.append((rng.standard_normal((fan_in, fan_out)) * np.sqrt(2 / fan_in)).astype(np.float32))
        params.append(np.zeros(fan_out, dtype=np.float32))
    return params


def synthetic_batch(seed=1):
    """Pixels in [0, 1) and random labels: the shapes and dtypes of an MNIST batch."""
    rng = np.random.default_rng(seed)
    x = rng.random((BATCH, SIZES[0]), dtype=np.float32)
    labels = rng.integers(0, SIZES[-1], size=BATCH)
    return x, labels


# ---------------------------------------------------------------------------
# The step written by hand
# ---------------------------------------------------------------------------


def numpy_step(params, x, labels, lr):
    """One SGD step written by hand; updates ``params`` in place, returns the loss."""
    w1, b1, w2, b2 = params
    n = len(x)
    rows = np.arange(n)
    # forward
    a = x @ w1 + b1
    h = np.maximum(a, 0)
    z = h @ w2 + b2
    shifted = z - z.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=1, keepdims=True)
    loss = np.mean(np.log(total[:, 0]) - shifted[rows, labels])
    # backward
    dz = e / total
    dz[rows, labels] -= 1
    dz /= n
    dw2 = h.T @ dz
    db2 = dz.sum(axis=0)
    da = (dz @ w2.T) * (a > 0)
    dw1 = x.T @ da
    db1 = da.sum(axis=0)
    # update
    for p, g in zip(params, (dw1, db1, dw2, db2)):
        p -= lr * g
    return loss


# ---------------------------------------------------------------------------
# The step with the framework
# ---------------------------------------------------------------------------


class SoftmaxCrossEntropy(Function):
    """Mean cross-entropy of class labels given logits, as one operation.

    With p = softmax(z) row by row and n rows,

        L = mean_i (log sum_j exp(z_ij) - z_{i, t_i}),   dL/dz = (p - onehot(t)) / n,

    computed with the row maximum subtracted first, so exp never overflows.
    """

    def __init__(self, labels):
        self.labels = labels

    def forward(self, logits):
        rows = np.arange(len(logits))
        shifted = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        self.save_for_backward(e / total)
        return np.mean(np.log(total[:, 0]) - shifted[rows, self.labels])

    def backward(self, gy):
        (probabilities,) = self.saved
        n = len(probabilities)
        grad = probabilities.copy()
        grad[np.arange(n), self.labels] -= 1
        return grad * (gy / n)


def fused_cross_entropy(logits, labels, onehot):
    """The loss as one node of the graph."""
    return SoftmaxCrossEntropy(labels)(logits)


def composed_cross_entropy(logits, labels, onehot):
    """The same loss composed of nine of the framework's elementary operations.

    log softmax(z) = s - log sum exp(s) with s = z - max(z) row by row. The
    shift is a constant taken from the values (it cancels in the loss, so
    no gradient needs to flow through it) and keeps exp from overflowing.
    """
    shifted = logits - logits.data.max(axis=1, keepdims=True)
    log_probabilities = shifted - log(exp(shifted).sum(axis=1, keepdims=True))
    return -(log_probabilities * onehot).sum() / len(onehot)


def framework_step(params, x, labels, onehot, lr, loss_function):
    """The same step with the framework; ``params`` are tensors that require grad."""
    w1, b1, w2, b2 = params
    hidden = relu(x @ w1 + b1)
    loss = loss_function(hidden @ w2 + b2, labels, onehot)
    for p in params:
        p.zero_grad()
    loss.backward()
    for p in params:
        p.data -= lr * p.grad.data
    return loss.item()


# ---------------------------------------------------------------------------
# Timing the steps
# ---------------------------------------------------------------------------

VERSIONS = {
    "NumPy written by hand": None,
    "framework, fused cross-entropy": fused_cross_entropy,
    "framework, cross-entropy of 9 operations": composed_cross_entropy,
}


def make_steps():
    """One function of no arguments per version, each with its own copy of the parameters."""
    x, labels = synthetic_batch()
    onehot = np.eye(SIZES[-1], dtype=np.float32)[labels]
    lr = np.float32(LEARNING_RATE)
    x_tensor = tensor(x)
    steps = {}
    for name, loss_function in VERSIONS.items():
        if loss_function is None:
            params = initial_parameters()
            steps[name] = lambda params=params: (numpy_step(params, x, labels, lr), params)
        else:
            params = [tensor(p, requires_grad=True) for p in initial_parameters()]
            steps[name] = lambda params=params, f=loss_function: (
                framework_step(params, x_tensor, labels, onehot, lr, f),
                [p.data for p in params],
            )
    return steps


def check_agreement(steps=5):
    """All versions give the same losses and parameters (float32 rounding aside)."""
    runs = make_steps()
    for _ in range(steps):
        results = {name: run() for name, run in runs.items()}
        (_, (reference_loss, reference_params)), *others = results.items()
        for name, (loss, params) in others:
            if not np.isclose(loss, reference_loss, rtol=1e-5):
                raise AssertionError(f"{name}: loss {loss} differs from NumPy's {reference_loss}")
            for p, q in zip(params, reference_params):
                if not np.allclose(p, q, rtol=1e-5, atol=1e-7):
                    raise AssertionError(f"{name}: the parameters differ from NumPy's")


def time_steps(repeats, warmup, clock):
    """Median seconds per step of each version, interleaved."""
    runs = make_steps()
    names = list(runs)
    times = {name: [] for name in names}
    for i in range(warmup + repeats):
        # Rotate the order, so no version always follows the same other one.
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            start = clock()
            runs[name]()
            elapsed = clock() - start
            if i >= warmup:
                times[name].append(elapsed)
    return {name: float(np.median(t)) for name, t in times.items()}


# ---------------------------------------------------------------------------
# Deep chains
# ---------------------------------------------------------------------------


def time_chain_backward(length, repeats, clock):
    """Smallest time of ``backward`` through ``length`` sines in a row, in seconds.

    Python's cyclic garbage collector is run before the clock starts, so
    that a collection the building of the graph made due is not counted as
    time of the backward pass.
    """
    best = float("inf")
    for _ in range(repeats):
        x = tensor(np.linspace(0.1, 0.5, 4), requires_grad=True)
        y = x
        for _ in range(length):
            y = sin(y)
        loss = y.sum()
        gc.collect()
        start = clock()
        loss.backward()
        best = min(best, clock() - start)
        del loss, y  # free the graph before building the next one
    return best


# ---------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=500, help="timed steps of each version (default 500)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed steps first (default 20)")
    parser.add_argument("--chain-repeats", type=int, default=3, help="runs per chain length (default 3)")
    parser.add_argument("--skip-chains", action="store_true", help="only time the training step")
    parser.add_argument("--wall", action="store_true", help="wall-clock time instead of CPU time")
    args = parser.parse_args(argv)
    clock = time.perf_counter if args.wall else time.process_time
    clock_name = "wall-clock" if args.wall else "CPU"

    threads = os.environ.get("OPENBLAS_NUM_THREADS")
    print(f"One training step: {'-'.join(map(str, SIZES))} ReLU network, batch {BATCH}, float32, "
          "softmax cross-entropy, SGD")
    print(f"median {clock_name} time of {args.repeats} interleaved runs; BLAS threads: {threads}")
    check_agreement()
    medians = time_steps(args.repeats, args.warmup, clock)
    (numpy_name, numpy_seconds), *framework = medians.items()
    width = max(map(len, medians))
    print(f"  {'':{width}}  {'time':>9}     {'ratio':>5}")
    print(f"  {numpy_name:{width}}  {numpy_seconds * 1e6:6.1f} us")
    for index, (name, seconds) in enumerate(framework):
        ratio = seconds / numpy_seconds
        verdict = ""
        if index == 0:
            verdict = f"   (target <= {TARGET_RATIO}: {'met' if ratio <= TARGET_RATIO else 'NOT met'})"
        print(f"  {name:{width}}  {seconds * 1e6:6.1f} us  {ratio:6.3f}{verdict}")

    if args.skip_chains:
        return
    print()
    print(f"Backward through a chain of elementwise operations (sin), best {clock_name} time of "
          f"{args.chain_repeats}")
    print(f"  {'nodes':>9}  {'backward':>11}  {'per node':>9}")
    per_node = []
    for length in CHAIN_LENGTHS:
        seconds = time_chain_backward(length, args.chain_repeats, clock)
        per_node.append(seconds / length)
        print(f"  {length:9,d}  {seconds * 1e3:8.1f} ms  {seconds / length * 1e6:6.2f} us")
    print(f"  per node at {CHAIN_LENGTHS[-1]:,} / per node at {CHAIN_LENGTHS[0]:,}: "
          f"{per_node[-1] / per_node[0]:.2f} (flat is 1)")


if __name__ == "__main__":
    main()
