"""An LSTM layer and Chapter 11's character model: the framework against PyTorch.

1. One training step of the character model of Chapter 11 (embedding 16,
   LSTM 64, linear layer to 27 characters; 32 steps by 32 sequences;
   cross-entropy, backward, Adam), in the framework and in PyTorch from
   the same weights (the first losses are checked to agree).
2. One forward and backward pass of an LSTM layer alone: the fused ``LSTM`` (one operation per layer, backpropagation through
time in NumPy), the same layer run step by step with its cells
   (``unrolled``: sixteen graph nodes per step), and ``torch.nn.LSTM`` with
   the same weights, on several sizes.

PyTorch is used only when it is installed. Everything runs on one thread
(BLAS and PyTorch), in turn, in the same process, and the median of the
repeats is reported with the ratios to PyTorch.

Run ``python -m benchmarks.lstm_step`` (``--help`` for the options).
"""

import os

# Must happen before NumPy is imported.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402

from framework.sequence_models import time_char_model_step, time_lstm_step  # noqa: E402

# (sequence length, batch, input size, hidden size)
SIZES = [(32, 32, 16, 64), (32, 32, 64, 128), (100, 16, 32, 64), (16, 64, 128, 256)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed passes of each version (default 30)")
    args = parser.parse_args(argv)
    model = time_char_model_step(repeats=args.repeats)
    line = f"character model, one training step: framework {model['framework'] * 1e3:.2f} ms"
    if "pytorch" in model:
        line += (f", PyTorch {model['pytorch'] * 1e3:.2f} ms, "
                 f"framework / PyTorch {model['framework'] / model['pytorch']:.2f}")
    print(line + "\n")
    print("LSTM layer alone, one forward and backward pass:")
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
