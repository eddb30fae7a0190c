"""What does a Hessian-vector product cost, against a gradient?

For a two-layer tanh network (32 inputs, ``width`` hidden units, one
output; batch 64; mean squared error) the script times, alternately in the
same process on the same parameters:

- a gradient: the forward pass and one backward pass (``grad``);
- a Hessian-vector product: the forward pass, a backward pass that records
  its graph (``create_graph=True``), the dot product of that gradient with a
  fixed vector, and a backward pass through the recorded graph.

It prints the median CPU time of each and their ratio for several widths.
The ratio is expected to stay a small constant whatever the width, since
both are a fixed number of passes over graphs of proportional size. BLAS
runs on one thread unless ``OPENBLAS_NUM_THREADS`` (or ``OMP_NUM_THREADS``)
says otherwise.

Run ``python -m benchmarks.hvp``; ``--help`` lists the options.
"""

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import framework.autograd as ag  # noqa: E402
from framework.nn import functional as F  # noqa: E402

INPUTS, BATCH = 32, 64


def network(width, seed=0):
    """Parameters [W1, b1, W2, b2] (leaves that require grad), a batch, targets and a direction per parameter."""
    rng = np.random.default_rng(seed)
    shapes = [(width, INPUTS), (width,), (1, width), (1,)]
    params = [ag.tensor(rng.standard_normal(s) / np.sqrt(s[-1]), requires_grad=True) for s in shapes]
    x = ag.tensor(rng.standard_normal((BATCH, INPUTS)))
    y = ag.tensor(rng.standard_normal((BATCH, 1)))
    directions = [ag.tensor(rng.standard_normal(s)) for s in shapes]
    return params, x, y, directions


def loss_of(params, x, y):
    w1, b1, w2, b2 = params
    return F.mse_loss(F.linear(ag.tanh(F.linear(x, w1, b1)), w2, b2), y)


def gradient(params, x, y, directions):
    return ag.grad(loss_of(params, x, y), params)


def hessian_vector_product(params, x, y, directions):
    gradients = ag.grad(loss_of(params, x, y), params, create_graph=True)
    dot = sum((g * v).sum() for g, v in zip(gradients, directions))
    return ag.grad(dot, params)


def measure(widths=(16, 64, 256, 1024), repeats=50):
    """{width: (median gradient time, median Hessian-vector product time)} in seconds of CPU time."""
    results = {}
    for width in widths:
        args = network(width)
        times = {gradient: [], hessian_vector_product: []}
        for _ in range(3):  # warm-up
            gradient(*args), hessian_vector_product(*args)
        for _ in range(repeats):
            for function in times:
                start = time.process_time()
                function(*args)
                times[function].append(time.process_time() - start)
        results[width] = (float(np.median(times[gradient])), float(np.median(times[hessian_vector_product])))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50, help="timed runs of each (default 50)")
    parser.add_argument("--widths", type=int, nargs="+", default=[16, 64, 256, 1024], help="hidden widths")
    options = parser.parse_args()
    print(f"two-layer tanh network, {INPUTS} inputs, batch {BATCH}; median CPU time of {options.repeats} runs")
    print("   width   parameters     gradient   Hessian-vector product   ratio")
    for width, (g, h) in measure(options.widths, options.repeats).items():
        parameters = width * INPUTS + 2 * width + 1
        print(f"  {width:6d}   {parameters:10,d}   {g * 1e3:7.3f} ms   {h * 1e3:18.3f} ms   {h / g:6.2f}")


if __name__ == "__main__":
    main()
