"""One forward and backward pass of an LSTM layer: the framework against PyTorch.

Times the fused ``LSTM`` (one operation per layer, backpropagation through
time in NumPy), the same layer run step by step with its cells
(``unrolled``: a dozen graph nodes per step), and ``torch.nn.LSTM`` with
the same weights when PyTorch is installed, on several sizes. Everything
runs on one thread (BLAS and PyTorch), in turn, in the same process, and
the median of the repeats is reported with the ratios to PyTorch.

Run ``python -m benchmarks.lstm_step`` (``--help`` for the options).
"""

import os

# Must happen before NumPy is imported.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402

from framework.sequence_models import time_lstm_step  # noqa: E402

# (sequence length, batch, input size, hidden size)
SIZES = [(32, 32, 16, 64), (32, 32, 64, 128), (100, 16, 32, 64), (16, 64, 128, 256)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed passes of each version (default 30)")
    args = parser.parse_args(argv)
    print(f"{'T':>4} {'batch':>5} {'input':>5} {'hidden':>6} | {'fused ms':>9} {'cells ms':>9} "
          f"{'torch ms':>9} | {'fused/torch':>11} {'cells/torch':>11}")
    for steps, batch, input_size, hidden_size in SIZES:
        times = time_lstm_step(steps, batch, input_size, hidden_size, repeats=args.repeats)
        torch_time = times.get("pytorch")
        row = f"{steps:>4} {batch:>5} {input_size:>5} {hidden_size:>6} | {times['fused'] * 1e3:>9.2f} {times['unrolled'] * 1e3:>9.2f} "
        if torch_time is None:
            row += f"{'-':>9} | {'-':>11} {'-':>11}"
        else:
            row += (f"{torch_time * 1e3:>9.2f} | {times['fused'] / torch_time:>11.2f} "
                    f"{times['unrolled'] / torch_time:>11.2f}")
        print(row, flush=True)
    if "pytorch" not in times:
        print("PyTorch is not installed: only the framework's two versions were timed.")


if __name__ == "__main__":
    main()
