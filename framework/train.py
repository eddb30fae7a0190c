"""Training a classifier: the loop, its progress report, its history, and a command line.

``fit`` runs the loop every chapter so far has written by hand, for a
number of epochs::

    for inputs, targets in loader:          # one epoch
        loss = loss_fn(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

and around it keeps score: the running loss and accuracy of the epoch (shown
live), an evaluation on held-out data after each epoch, the learning-rate
schedule, a checkpoint, and a ``History`` of every epoch for plotting.
``evaluate`` and ``predict`` run a model on a whole dataset, in batches,
without recording a graph.

The MNIST networks of Chapter 8 are built by ``classic_mnist_net`` and
``mlp_mnist_net``. ``HandWrittenMLP`` is the same kind of network trained
by NumPy code written out by hand, the yardstick against which
``time_against_numpy`` (and ``benchmarks/mnist_epoch.py``) measure the
framework's overhead; ``HandWrittenAdamMLP`` is its sibling trained with
Adam.

From a terminal, ``python -m framework.train mnist --model mlp --epochs 5``
trains on MNIST with a progress bar and prints the test accuracy
(``--help`` lists the options).
"""

import argparse
import itertools
import math
import sys
import time
from collections import namedtuple
from pathlib import Path

import numpy as np

from framework import nn, optim
from framework.autograd.tensor import Tensor, no_grad
from framework.checkpoint import load_checkpoint, save_checkpoint
from framework.data.loader import DataLoader
from framework.data.mnist import MNISTError, load_mnist
from framework.metrics import accuracy
from framework.nn import functional as F
from framework.optim.lr_scheduler import CosineAnnealingLR

# ---------------------------------------------------------------- history


class History:
    """What happened in each epoch: one list per quantity, one entry per epoch.

    ``fit`` records ``epoch``, ``train_loss``, ``train_accuracy``, ``lr``,
    ``seconds`` (of the training pass) and, with validation data,
    ``val_loss`` and ``val_accuracy``; read them as attributes
    (``history.val_accuracy``) or by name (``history["val_accuracy"]``).
    ``batch_loss`` holds the loss of every single batch, in order.
    """

    def __init__(self, records=None, batch_loss=None):
        self.records = {name: list(values) for name, values in (records or {}).items()}
        self.batch_loss = list(batch_loss or [])

    def append(self, **values):
        """Add one epoch's values (every epoch gives the same quantities)."""
        if self.records and set(values) != set(self.records):
            raise ValueError(
                f"History.append: got quantities {sorted(values)}, but earlier epochs recorded "
                f"{sorted(self.records)}"
            )
        for name, value in values.items():
            self.records.setdefault(name, []).append(value)

    def __getattr__(self, name):
        records = self.__dict__.get("records", {})
        if name in records:
            return records[name]
        raise AttributeError(f"History has no {name!r}; it recorded {sorted(records)}")

    def __getitem__(self, name):
        return self.__getattr__(name)

    def __len__(self):
        """The number of epochs recorded."""
        return len(next(iter(self.records.values()), []))

    def to_dict(self):
        """Plain lists of floats, for a checkpoint's metadata or a JSON file."""
        return {"records": {k: list(v) for k, v in self.records.items()}, "batch_loss": list(self.batch_loss)}

    @classmethod
    def from_dict(cls, saved):
        return cls(saved.get("records"), saved.get("batch_loss"))

    def __repr__(self):
        return f"History(epochs={len(self)}, recorded={list(self.records)})"


def epoch_summary(record, epochs=None):
    """One line about one epoch, e.g. ``epoch  3/10  loss 0.0712  accuracy 97.85%  ...``.

    ``record`` maps quantity names to values (one epoch of a History).
    Only rounded values appear: the loss to 4 decimals, accuracies to 0.01%.
    """
    width = len(str(epochs)) if epochs else 1
    parts = [f"epoch {record['epoch']:>{width}}" + (f"/{epochs}" if epochs else "")]
    for prefix, label in (("train", "train"), ("val", "val")):
        if f"{prefix}_loss" in record:
            text = f"{label} loss {record[f'{prefix}_loss']:.4f}"
            if record.get(f"{prefix}_accuracy") is not None:
                text += f"  accuracy {record[f'{prefix}_accuracy']:6.2%}"
            parts.append(text)
    return "  |  ".join(parts)


# ---------------------------------------------------------------- progress


class SilentProgress:
    """Reports nothing. The other reporters override the hooks they need."""

    def start_epoch(self, epoch, epochs, batches):
        pass

    def update(self, loss, accuracy):
        pass

    def end_epoch(self, record, epochs):
        pass


class PlainProgress(SilentProgress):
    """One line per epoch on standard output: for logs, files and notebooks."""

    def __init__(self, file=None):
        self.file = file

    def end_epoch(self, record, epochs):
        print(epoch_summary(record, epochs), file=self.file or sys.stdout, flush=True)


class BarProgress(SilentProgress):
    """A tqdm progress bar per epoch, with the running loss and accuracy beside it."""

    def __init__(self, file=None):
        self.file = file
        self.bar = None

    def start_epoch(self, epoch, epochs, batches):
        from tqdm import tqdm

        self.bar = tqdm(total=batches, desc=f"epoch {epoch}/{epochs}", unit="batch",
                        file=self.file or sys.stderr, dynamic_ncols=True, leave=True)

    def update(self, loss, accuracy):
        text = f"loss {loss:.4f}" + ("" if accuracy is None else f", accuracy {accuracy:.2%}")
        self.bar.set_postfix_str(text, refresh=False)  # drawn at the bar's next refresh
        self.bar.update()

    def end_epoch(self, record, epochs):
        summary = epoch_summary(record, epochs).split("  |  ", 1)[1:]
        self.bar.set_postfix_str("  |  ".join(summary), refresh=False)
        self.bar.close()


def progress_reporter(progress, file=None):
    """The reporter for ``fit(progress=...)``.

    ``"bar"``: a tqdm bar; ``"plain"``: one line per epoch; ``False`` (or
    ``"off"``): nothing; ``None`` or ``True``: a bar when the output is a
    terminal, otherwise plain lines (a bar redrawn with carriage returns
    makes a mess of log files and notebook outputs).
    """
    if progress is None or progress is True:
        stream = file or sys.stderr
        progress = "bar" if getattr(stream, "isatty", lambda: False)() else "plain"
    if progress is False or progress == "off":
        return SilentProgress()
    if progress == "plain":
        return PlainProgress(file)
    if progress == "bar":
        return BarProgress(file)
    if isinstance(progress, SilentProgress):
        return progress
    raise ValueError(f"fit: progress must be 'bar', 'plain', False or None (automatic), got {progress!r}")


# ---------------------------------------------------------------- the loop


Evaluation = namedtuple("Evaluation", ["loss", "accuracy"])


def _as_input(batch):
    """A batch of inputs as a tensor (a NumPy array is wrapped, not copied)."""
    return batch if isinstance(batch, Tensor) else Tensor(batch)


def _values(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def train_epoch(model, optimizer, loader, loss_fn=F.cross_entropy, progress=None,
                track_accuracy=True, batch_loss=None):
    """One pass over ``loader``, one optimizer step per batch.

    Returns ``(mean loss, accuracy)`` over the epoch's examples, measured
    on each batch as it was trained (so early batches count with the
    weights of early in the epoch). The accuracy is ``None`` when
    ``track_accuracy`` is false (for outputs that are not class scores).
    The loss of each batch is appended to the list ``batch_loss`` if given.
    """
    model.train()
    loss_sum, correct, count = 0.0, 0, 0
    for inputs, targets in loader:
        outputs = model(_as_input(inputs))
        loss = loss_fn(outputs, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        # Keeping score: a few microseconds next to the step itself.
        value = loss.item()
        n = len(outputs.data)
        loss_sum += value * n
        count += n
        if batch_loss is not None:
            batch_loss.append(value)
        if track_accuracy:
            correct += int(np.count_nonzero(outputs.data.argmax(axis=1) == _values(targets)))
        if progress is not None:
            progress.update(loss_sum / count, correct / count if track_accuracy else None)
    if count == 0:
        raise ValueError("train_epoch: the loader gave no batches")
    return loss_sum / count, (correct / count if track_accuracy else None)


def predict(model, inputs, batch_size=1000):
    """The model's outputs for every row of ``inputs``, as one NumPy array.

    Runs in evaluation mode and under ``no_grad`` (no graph is kept, which
    saves time and memory), ``batch_size`` rows at a time; the model's
    mode is restored afterwards.
    """
    inputs = _values(inputs)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            outputs = [_values(model(_as_input(inputs[start:start + batch_size])))
                       for start in range(0, len(inputs), batch_size)]
    finally:
        model.train(was_training)
    if not outputs:
        raise ValueError("predict: no inputs (0 rows)")
    return np.concatenate(outputs)


def evaluate(model, data, loss_fn=F.cross_entropy, batch_size=1000, track_accuracy=True):
    """``Evaluation(loss, accuracy)`` of ``model`` on ``data``.

    ``data`` is a pair ``(inputs, targets)`` of arrays, or a loader of
    such batches. The loss is the mean over all examples (as if the whole
    set were one batch); the accuracy is the fraction predicted correctly
    (``None`` when ``track_accuracy`` is false).
    """
    batches = [data] if isinstance(data, tuple) else data
    loss_sum, correct, count = 0.0, 0, 0
    for inputs, targets in batches:
        outputs = predict(model, inputs, batch_size)
        targets = _values(targets)
        n = len(outputs)
        loss_sum += float(_values(loss_fn(Tensor(outputs), targets))) * n
        if track_accuracy:
            correct += int(np.count_nonzero(outputs.argmax(axis=1) == targets))
        count += n
    if count == 0:
        raise ValueError("evaluate: no examples")
    return Evaluation(loss_sum / count, correct / count if track_accuracy else None)


def fit(model, optimizer, train_loader, epochs=1, *, validation_data=None, loss_fn=F.cross_entropy,
        scheduler=None, progress=None, checkpoint=None, resume=False, track_accuracy=True,
        eval_batch_size=1000):
    """Train ``model`` for ``epochs`` epochs; returns the ``History``.

    - ``train_loader``: batches ``(inputs, targets)``, e.g. a ``DataLoader``
      with ``shuffle=True``; one pass over it is one epoch.
    - ``validation_data``: ``(inputs, targets)`` (or a loader) evaluated
      after every epoch; it is never trained on.
    - ``loss_fn(outputs, targets)``: cross-entropy from logits by default.
    - ``scheduler``: a learning-rate schedule, stepped after every epoch.
    - ``progress``: ``"bar"``, ``"plain"``, ``False``, or ``None`` for a
      bar in a terminal and plain lines elsewhere (see ``progress_reporter``).
    - ``checkpoint``: a file path; model, optimizer, schedule and history
      are saved there after every epoch (atomically). With ``resume=True``
      an existing checkpoint is loaded first and training continues after
      its last epoch, on the same data order, as if it had not stopped.
    """
    reporter = progress_reporter(progress)
    history = History()
    first_epoch = 1
    if resume and checkpoint is not None and Path(checkpoint).exists():
        saved = load_checkpoint(checkpoint, model, optimizer, scheduler)
        history = History.from_dict(saved.metadata["history"])
        first_epoch = int(saved.metadata["epoch"]) + 1
        if hasattr(train_loader, "epoch"):
            train_loader.epoch = first_epoch - 1  # the next epoch's shuffle, as if never stopped
    for epoch in range(first_epoch, epochs + 1):
        lr = optimizer.param_groups[0]["lr"]
        reporter.start_epoch(epoch, epochs, len(train_loader) if hasattr(train_loader, "__len__") else None)
        start = time.perf_counter()
        loss, train_accuracy = train_epoch(model, optimizer, train_loader, loss_fn, reporter,
                                           track_accuracy, history.batch_loss)
        record = {"epoch": epoch, "train_loss": loss, "train_accuracy": train_accuracy, "lr": lr,
                  "seconds": time.perf_counter() - start}
        if validation_data is not None:
            val = evaluate(model, validation_data, loss_fn, eval_batch_size, track_accuracy)
            record.update(val_loss=val.loss, val_accuracy=val.accuracy)
        if not math.isfinite(loss):
            reporter.end_epoch(record, epochs)
            raise FloatingPointError(
                f"fit: the training loss became {loss} in epoch {epoch}; the learning rate "
                f"({lr:g}) is probably too large, or the inputs hold inf/NaN"
            )
        history.append(**record)
        if scheduler is not None:
            scheduler.step()
        reporter.end_epoch(record, epochs)
        if checkpoint is not None:
            save_checkpoint(checkpoint, model, optimizer, scheduler,
                            metadata={"epoch": epoch, "history": history.to_dict()})
    return history


# ---------------------------------------------------------------- MNIST models


def classic_mnist_net(dtype=np.float32, seed=0):
    """The network of many introductions: 784-50-100-10, sigmoid hidden layers.

    The output layer gives 10 scores (logits); the softmax that turns them
    into probabilities is part of the cross-entropy loss, computed there in
    one stable step. Weights start as ``Linear`` draws them (uniform in
    $\\pm 1/\\sqrt{\\text{fan-in}}$), from the generator seeded with ``seed``.
    """
    generator = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Linear(784, 50, dtype=dtype, generator=generator), nn.Sigmoid(),
        nn.Linear(50, 100, dtype=dtype, generator=generator), nn.Sigmoid(),
        nn.Linear(100, 10, dtype=dtype, generator=generator),
    )


def mlp_mnist_net(hidden=(512, 256), dtype=np.float32, seed=0):
    """A ReLU network 784-hidden-10 (784-512-256-10 by default), He initialisation, zero biases.

    He (Kaiming) initialisation draws each weight from $N(0, 2/\\text{fan-in})$,
    which keeps the size of the activations about the same from layer to
    layer when half of them are zeroed by ReLU.
    """
    generator = np.random.default_rng(seed)
    sizes = (784, *hidden, 10)
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layer = nn.Linear(fan_in, fan_out, dtype=dtype, generator=generator)
        nn.init.kaiming_normal_(layer.weight, nonlinearity="relu", generator=generator)
        nn.init.zeros_(layer.bias)
        layers += [layer, nn.ReLU()]
    return nn.Sequential(*layers[:-1])  # no ReLU after the output layer


# Model name -> (builder, optimizer, learning rate, batch size, cosine schedule?)
MNIST_RECIPES = {
    "classic": dict(build=classic_mnist_net, optimizer="sgd", lr=0.5, batch_size=100, cosine=False),
    "mlp": dict(build=mlp_mnist_net, optimizer="adam", lr=1e-3, batch_size=100, cosine=True),
}


# ---------------------------------------------------------------- the yardstick


class HandWrittenMLP:
    """A ReLU network and its SGD step written directly in NumPy: the yardstick.

    This is what the framework saves us from writing, and what it must not
    be much slower than. It holds the same weights as a framework model
    (``from_model`` copies them, shape (out, in) and layout as in
    ``Linear``) and does the same arithmetic, with no graph, no tensors and
    no optimizer objects: every gradient is written out by hand.
    """

    def __init__(self, weights, biases):
        # column by column, as nn.Linear stores them: in memory the (in, out) matrices of a hand-written x @ W
        self.weights = [np.array(w, order="F") for w in weights]
        self.biases = [np.array(b) for b in biases]

    @classmethod
    def from_model(cls, model):
        layers = [module for module in model.modules() if isinstance(module, nn.Linear)]
        return cls([layer.weight.data for layer in layers], [layer.bias.data for layer in layers])

    def forward(self, x):
        """The activations of every layer: [x, h1, ..., logits]."""
        activations = [x]
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = activations[-1] @ w.T
            z += b
            # ReLU in place; np.clip with both bounds is NumPy's fastest way (as in ``ops.ReLU``)
            activations.append(np.clip(z, 0, np.inf, out=z) if i < last else z)
        return activations

    def train_step(self, x, labels, lr):
        """One step on a batch (SGD, by ``update``); returns (mean cross-entropy, number correct)."""
        activations = self.forward(x)
        logits = activations[-1]
        rows = np.arange(len(x))
        shifted = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        loss = float(np.mean(np.log(total[:, 0]) - shifted[rows, labels]))
        correct = int(np.count_nonzero(logits.argmax(axis=1) == labels))
        grad = e / total                  # dL/dlogits = (softmax - onehot) / n
        grad[rows, labels] -= 1
        grad /= len(x)
        for i in reversed(range(len(self.weights))):
            grad_w = (activations[i].T @ grad).T  # G^T a, computed in the weight's layout
            grad_b = grad.sum(axis=0)
            if i > 0:
                grad = grad @ self.weights[i]    # with the weights as they were, before the update
                grad *= activations[i] > 0       # ReLU: the gradient passes where h > 0
            self.update(i, grad_w, grad_b, lr)
        return loss, correct

    def update(self, i, grad_w, grad_b, lr):
        """SGD on layer ``i``: every weight and bias moves against its gradient."""
        self.weights[i] -= lr * grad_w
        self.biases[i] -= lr * grad_b


class HandWrittenAdamMLP(HandWrittenMLP):
    """The same network trained with Adam, written directly in NumPy: Adam's yardstick.

    The arithmetic of ``optim.Adam`` (bias correction included), done the
    plain way: the two running averages of each array are updated in
    place, and the step itself is one NumPy expression. Each layer is
    updated as soon as its gradients are known, as ``HandWrittenMLP`` does.
    """

    def __init__(self, weights, biases, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(weights, biases)
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.steps = 0
        self.averages = [(np.zeros_like(p), np.zeros_like(p)) for p in self.weights + self.biases]

    def train_step(self, x, labels, lr):
        """One Adam step on a batch; returns (mean cross-entropy, number correct)."""
        self.steps += 1
        return super().train_step(x, labels, lr)

    def update(self, i, grad_w, grad_b, lr):
        """Adam on layer ``i``, each array with its own two running averages."""
        self.adam(self.weights[i], grad_w, *self.averages[i], lr)
        self.adam(self.biases[i], grad_b, *self.averages[len(self.weights) + i], lr)

    def adam(self, param, grad, m, v, lr):
        """Adam's step, as ``optim.Adam`` computes it::

            m ← β₁ m + (1 − β₁) g,   v ← β₂ v + (1 − β₂) g²,
            θ ← θ − (η √c₂ / c₁) m / (√v + ε √c₂),   c₁ = 1 − β₁ᵗ, c₂ = 1 − β₂ᵗ
        """
        beta1, beta2, t = self.beta1, self.beta2, self.steps
        c1, root_c2 = 1 - beta1**t, math.sqrt(1 - beta2**t)
        m *= beta1
        m += (1 - beta1) * grad
        v *= beta2
        v += (1 - beta2) * grad * grad
        param -= lr * root_c2 / c1 * (m / (np.sqrt(v) + self.eps * root_c2))


def time_against_numpy(hidden, inputs, targets, batch_size=100, lr=0.1, chunk=50, seed=0):
    """Seconds per epoch of the framework and of ``HandWrittenMLP``, same network and data.

    Both train a fresh ReLU network ``784-hidden-10`` (the same initial
    weights) with plain SGD for one epoch over the same shuffled batches.
    They take turns, ``chunk`` batches at a time, so that a machine busy
    with something else slows both alike. Returns a dict with the seconds
    of each, their ratio, and the largest difference between the two
    runs' losses on the first ten batches (float32 rounding apart, the
    two compute the same numbers).
    """
    model = mlp_mnist_net(hidden, seed=seed)
    by_hand = HandWrittenMLP.from_model(model)
    optimizer = optim.SGD(model.parameters(), lr=lr)
    lr = np.float32(lr)
    batches = {name: iter(DataLoader(inputs, targets, batch_size, shuffle=True, seed=seed))
               for name in ("framework", "numpy")}
    seconds = {"framework": 0.0, "numpy": 0.0}
    losses = {"framework": [], "numpy": []}
    while True:
        chunks = {name: list(itertools.islice(batches[name], chunk)) for name in batches}
        if not chunks["framework"]:
            break
        start = time.perf_counter()
        train_epoch(model, optimizer, chunks["framework"], batch_loss=losses["framework"])
        seconds["framework"] += time.perf_counter() - start
        start = time.perf_counter()
        for x, labels in chunks["numpy"]:
            losses["numpy"].append(by_hand.train_step(x, labels, lr)[0])
        seconds["numpy"] += time.perf_counter() - start
    # Float32 rounding differs a little between the two (the gradient of the
    # loss is computed in another order), and training amplifies it slowly;
    # on the first batches both must agree closely.
    first = slice(0, 10)
    difference = float(np.max(np.abs(np.subtract(losses["framework"][first], losses["numpy"][first]))))
    return {**seconds, "ratio": seconds["framework"] / seconds["numpy"], "loss_difference": difference}


def make_optimizer(name, parameters, lr):
    if name == "sgd":
        return optim.SGD(parameters, lr=lr)
    if name == "adam":
        return optim.Adam(parameters, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}; use 'sgd' or 'adam'")


# ---------------------------------------------------------------- command line


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m framework.train",
        description="Train a network on MNIST with the framework and print its test accuracy.",
    )
    parser.add_argument("dataset", choices=["mnist"], help="the dataset (only mnist for now)")
    parser.add_argument("--model", choices=sorted(MNIST_RECIPES), default="mlp",
                        help="mlp: 784-512-256-10 ReLU, Adam; classic: 784-50-100-10 sigmoid, SGD")
    parser.add_argument("--epochs", type=int, default=5, help="epochs to train (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and shuffling (default 0)")
    parser.add_argument("--batch-size", type=int, help="batch size (default: the model's recipe)")
    parser.add_argument("--lr", type=float, help="learning rate (default: the model's recipe)")
    parser.add_argument("--data-dir", help="folder of the MNIST files (default: $FRAMEWORK_DATA_DIR, "
                        "else ../shared/datasets/mnist beside the repository, else a cache folder)")
    parser.add_argument("--no-download", action="store_true",
                        help="stop with a message when the MNIST files are missing, instead of "
                        "downloading them")
    parser.add_argument("--validation", type=int, default=5000,
                        help="training images held out for validation (default 5000; 0 for none)")
    parser.add_argument("--subset", type=int,
                        help="use only the first N training and N test images (a quick trial)")
    parser.add_argument("--checkpoint", help="save model and optimizer to this file after every epoch")
    parser.add_argument("--resume", action="store_true", help="continue from --checkpoint if it exists")
    parser.add_argument("--progress", choices=["auto", "bar", "plain", "off"], default="auto",
                        help="progress display (default: a bar in a terminal, plain lines otherwise)")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    if args.resume and not args.checkpoint:
        parser.error("--resume needs --checkpoint PATH")
    return args


def main(argv=None):
    """Train as the command line says; return the test accuracy.

    Missing or damaged MNIST files end the program with the loader's
    message (which files, which folders, what to do) and exit status 1,
    without a traceback.
    """
    args = parse_arguments(argv)
    try:
        (x_train, y_train), (x_test, y_test) = load_data(args)
    except MNISTError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    return train_and_report(args, x_train, y_train, x_test, y_test)


def load_data(args):
    """The training and test images the command line asks for, flattened."""
    download = not args.no_download
    train = load_mnist("train", args.data_dir, flatten=True, subset=args.subset, download=download)
    test = load_mnist("test", args.data_dir, flatten=True, download=download,
                      subset=None if args.subset is None else min(args.subset, 10_000))
    return train, test


def plural(count, noun):
    """``1 epoch``, ``2 epochs``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def train_and_report(args, x_train, y_train, x_test, y_test):
    """Train the recipe's network, print the progress and the test accuracy."""
    recipe = MNIST_RECIPES[args.model]
    batch_size = args.batch_size or recipe["batch_size"]
    lr = args.lr if args.lr is not None else recipe["lr"]
    validation_data = None
    if args.validation:
        if args.validation >= len(x_train):
            raise SystemExit(f"--validation {args.validation} leaves no training images "
                             f"(there are {len(x_train)}); choose fewer")
        split = len(x_train) - args.validation
        validation_data = (x_train[split:], y_train[split:])
        x_train, y_train = x_train[:split], y_train[:split]

    model = recipe["build"](seed=args.seed)
    optimizer = make_optimizer(recipe["optimizer"], model.parameters(), lr)
    scheduler = CosineAnnealingLR(optimizer, T_max=args.epochs) if recipe["cosine"] else None
    loader = DataLoader(x_train, y_train, batch_size=batch_size, shuffle=True, seed=args.seed)
    print(f"{args.model}: {len(x_train):,} training, "
          f"{0 if validation_data is None else len(validation_data[1]):,} validation, "
          f"{len(x_test):,} test images; batch {batch_size}, {recipe['optimizer']} lr {lr:g}, "
          f"{plural(args.epochs, 'epoch')}, seed {args.seed}", flush=True)

    start = time.perf_counter()
    history = fit(model, optimizer, loader, args.epochs, validation_data=validation_data,
                  scheduler=scheduler, checkpoint=args.checkpoint, resume=args.resume,
                  progress=None if args.progress == "auto" else args.progress)
    seconds = time.perf_counter() - start
    test_accuracy = accuracy(predict(model, x_test), y_test)
    trained = sum(history.seconds) if len(history) else 0.0
    print(f"training: {seconds:.1f} s ({trained / max(len(history), 1):.2f} s per epoch)")
    if args.checkpoint:
        print(f"checkpoint: {args.checkpoint}")
    print(f"test accuracy: {test_accuracy:.2%} ({len(y_test):,} test images)")
    return test_accuracy


if __name__ == "__main__":
    main()
