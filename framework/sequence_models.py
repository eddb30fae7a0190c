"""Networks that read sequences, and how to train, measure and sample them (Chapter 11).

- ``SequenceClassifier``: embedding, recurrent layer, one linear layer on
  the last step's output (the memory task);
- ``CharModel``: a character-level language model, which predicts the next
  character at every step;
- ``train_truncated``: training on contiguous chunks with the state carried
  over and detached (truncated backpropagation through time);
- ``perplexity``: exp of the mean cross-entropy per character;
- ``sample``: text drawn from the model, one character at a time, with a
  temperature.
"""

import math

import numpy as np

from framework.autograd import ops
from framework.autograd.tensor import no_grad
from framework.nn import functional as F
from framework.nn.embedding import Embedding
from framework.nn.layers import Linear
from framework.nn.module import Module
from framework.nn.rnn import GRU, LSTM, RNN, detach_state, set_forget_gate_bias_
from framework.data.text import recall_task
from framework.optim.adam import Adam
from framework.optim.clip import clip_grad_norm_

RECURRENT_LAYERS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


def recurrent_layer(kind, input_size, hidden_size, num_layers=1, generator=None, forget_bias=None):
    """An RNN, LSTM or GRU layer by name (float32); an LSTM's forget-gate bias set if given."""
    if kind not in RECURRENT_LAYERS:
        raise ValueError(f"recurrent_layer: kind must be one of {sorted(RECURRENT_LAYERS)}, got {kind!r}")
    layer = RECURRENT_LAYERS[kind](input_size, hidden_size, num_layers=num_layers, generator=generator)
    if forget_bias is not None:
        set_forget_gate_bias_(layer, forget_bias)
    return layer


class SequenceClassifier(Module):
    """Reads a sequence of symbols (T, B) and scores the classes after the last step: (B, classes)."""

    def __init__(self, kind, vocabulary_size, classes, embedding_dim=8, hidden_size=32, seed=0, forget_bias=None):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.embedding = Embedding(vocabulary_size, embedding_dim, generator=rng)
        self.recurrent = recurrent_layer(kind, embedding_dim, hidden_size, generator=rng, forget_bias=forget_bias)
        self.head = Linear(hidden_size, classes, generator=rng)

    def forward(self, indices):
        output, _ = self.recurrent(self.embedding(indices))
        return self.head(output[-1])


class CharModel(Module):
    """Embedding, recurrent layer(s), and a linear layer giving next-character scores.

    ``forward(indices, state=None)`` takes indices of shape (T, B) and
    returns the logits (T, B, vocabulary_size) and the state after the last
    step, to be passed to the next call.
    """

    def __init__(self, vocabulary_size, embedding_dim=16, hidden_size=64, num_layers=1, kind="lstm", seed=0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.embedding = Embedding(vocabulary_size, embedding_dim, generator=rng)
        self.recurrent = recurrent_layer(kind, embedding_dim, hidden_size, num_layers, generator=rng)
        self.head = Linear(hidden_size, vocabulary_size, generator=rng)

    def forward(self, indices, state=None):
        output, state = self.recurrent(self.embedding(indices), state)
        return self.head(output), state


def train_recall(kind, distance, steps=400, batch=32, lr=0.005, hidden_size=32, forget_bias=None,
                 symbols=4, distractors=16, test_count=1000, seed=0):
    """Train a ``SequenceClassifier`` on ``recall_task`` at one distance; its accuracy on fresh sequences.

    Each step draws a new batch (seeded by the step), so the network never
    sees a sequence twice; the test sequences come from another seed.
    """
    model = SequenceClassifier(kind, symbols + distractors, symbols, hidden_size=hidden_size, seed=seed,
                               forget_bias=forget_bias)
    optimizer = Adam(model.parameters(), lr=lr)
    for step in range(steps):
        inputs, targets = recall_task(distance, batch, symbols, distractors, seed=seed * 100_000 + step + 1)
        loss = F.cross_entropy(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    inputs, targets = recall_task(distance, test_count, symbols, distractors, seed=10**9 + seed)
    with no_grad():
        predicted = model(inputs).data.argmax(axis=1)
    return float(np.mean(predicted == targets))


def sequence_loss(logits, targets):
    """Mean cross-entropy over every position of logits (T, B, V) and targets (T, B)."""
    steps, batch, classes = logits.shape
    return F.cross_entropy(ops.reshape(logits, (steps * batch, classes)), np.reshape(targets, -1))


def train_truncated(model, chunks, optimizer, epochs=1, max_norm=None):
    """Truncated backpropagation through time over ``chunks`` (a ``SequenceChunks``).

    The state left by one chunk starts the next one, detached, so that the
    network sees the sequence as one, but backward stops at the start of the
    chunk and costs no more than ``chunk_length`` steps. With ``max_norm``
    the gradients are clipped to that norm. Returns the loss of every step.
    """
    losses = []
    for _ in range(epochs):
        state = None
        for inputs, targets in chunks:
            logits, state = model(inputs, state)
            state = detach_state(state)
            loss = sequence_loss(logits, targets)
            optimizer.zero_grad()
            loss.backward()
            if max_norm is not None:
                clip_grad_norm_(model.parameters(), max_norm)
            optimizer.step()
            losses.append(loss.item())
    return losses


def perplexity(model, sequence, chunk_length=256):
    """exp of the mean cross-entropy (in nats) of predicting each next symbol of ``sequence``.

    The sequence is read as one stream, in chunks with the state carried
    over, under ``no_grad``. A model that spreads its bets evenly over k
    symbols has perplexity k.
    """
    sequence = np.asarray(sequence)
    total, state = 0.0, None
    with no_grad():
        for start in range(0, len(sequence) - 1, chunk_length):
            stop = min(start + chunk_length, len(sequence) - 1)
            inputs = sequence[start:stop].reshape(-1, 1)
            logits, state = model(inputs, state)
            targets = sequence[start + 1 : stop + 1].reshape(-1, 1)
            total += sequence_loss(logits, targets).item() * (stop - start)
    return math.exp(total / (len(sequence) - 1))


def next_symbol_probabilities(logits, temperature):
    """softmax(logits / temperature): sharper below 1, flatter above 1."""
    if not temperature > 0:
        raise ValueError(f"sample: the temperature must be positive, got {temperature!r}")
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    e = np.exp(scaled - scaled.max())
    return e / e.sum()


def sample(model, vocabulary, start, length, temperature=1.0, seed=0, stop=None):
    """Text written by the model after ``start``: one character at a time, each fed back.

    Each next character is drawn from softmax(logits / temperature) with a
    generator seeded by ``seed``, so a seed gives one text. Stops after
    ``length`` characters, or after the character ``stop``, if given.
    """
    rng = np.random.default_rng(seed)
    indices = vocabulary.encode(start)
    written = []
    with no_grad():
        logits, state = model(indices.reshape(-1, 1))
        for _ in range(length):
            probabilities = next_symbol_probabilities(logits.data[-1, 0], temperature)
            symbol = vocabulary.symbols[int(rng.choice(len(probabilities), p=probabilities))]
            written.append(symbol)
            if symbol == stop:
                break
            logits, state = model(vocabulary.encode(symbol).reshape(1, 1), state)
    return "".join(written)


def time_lstm_step(steps=32, batch=32, input_size=16, hidden_size=64, repeats=30, seed=0):
    """Median seconds of one forward and backward pass of an LSTM layer, three ways.

    The same float32 weights and input go through the fused ``LSTM``, the
    same layer run with its cells (``unrolled``), and, when PyTorch is
    installed, ``torch.nn.LSTM`` (limited to one thread, as is BLAS here if
    ``OPENBLAS_NUM_THREADS=1``). The three are timed in turn, ``repeats``
    times each, so that a busy machine slows them alike. Returns a dict
    name -> seconds (no "pytorch" entry without PyTorch).
    """
    from framework.autograd.tensor import Tensor
    from framework.nn.rnn import unrolled

    rng = np.random.default_rng(seed)
    layer = LSTM(input_size, hidden_size, generator=rng)
    x = rng.standard_normal((steps, batch, input_size)).astype(np.float32)
    weights = rng.standard_normal((steps, batch, hidden_size)).astype(np.float32)

    def ours(run):
        def step():
            layer.zero_grad()
            output, _ = run(Tensor(x))
            (output * weights).sum().backward()
        return step

    runs = {"fused": ours(layer), "unrolled": ours(lambda inputs: unrolled(layer, inputs))}
    torch_step = _torch_lstm_step(layer, x, weights)
    if torch_step is not None:
        runs["pytorch"] = torch_step
    return _median_seconds_in_turns(runs, repeats)


def _torch_lstm_step(layer, x, weights):
    """The same step with torch.nn.LSTM and the same weights, or None without PyTorch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    theirs = torch.nn.LSTM(layer.input_size, layer.hidden_size)
    theirs.load_state_dict({name: torch.tensor(value) for name, value in layer.state_dict().items()})
    x, weights = torch.tensor(x), torch.tensor(weights)

    def step():
        theirs.zero_grad()
        output, _ = theirs(x)
        (output * weights).sum().backward()

    return step


def time_char_model_step(vocabulary_size=27, embedding_dim=16, hidden_size=64, steps=32, batch=32,
                         repeats=30, seed=0):
    """Median seconds of one training step of ``CharModel``, and of the same model in PyTorch.

    One step: embedding, LSTM, linear layer, cross-entropy over every
    position, backward, and an Adam update. PyTorch (when installed, on one
    thread) gets the same weights, the same batch and the same learning
    rate; the losses of the first step are checked to agree, so both time
    the same computation. The two take turns, ``repeats`` times. Returns a
    dict name -> seconds ("framework", and "pytorch" when installed).
    """
    rng = np.random.default_rng(seed)
    model = CharModel(vocabulary_size, embedding_dim, hidden_size, seed=seed)
    inputs = rng.integers(0, vocabulary_size, size=(steps, batch))
    targets = rng.integers(0, vocabulary_size, size=(steps, batch))
    optimizer = Adam(model.parameters(), lr=1e-3)

    def ours():
        loss = sequence_loss(model(inputs)[0], targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    runs = {"framework": ours}
    theirs = _torch_char_model_step(model, inputs, targets)
    if theirs is not None:
        first_ours, first_theirs = ours(), theirs()
        if not math.isclose(first_ours, first_theirs, rel_tol=1e-4):
            raise AssertionError(f"time_char_model_step: the losses differ: {first_ours} and {first_theirs}")
        runs["pytorch"] = theirs
    return _median_seconds_in_turns(runs, repeats)


def _torch_char_model_step(model, inputs, targets):
    """The same training step in PyTorch, from the same weights, or None without PyTorch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    vocabulary_size, embedding_dim = model.embedding.weight.shape
    network = torch.nn.ModuleDict({
        "embedding": torch.nn.Embedding(vocabulary_size, embedding_dim),
        "recurrent": torch.nn.LSTM(embedding_dim, model.recurrent.hidden_size),
        "head": torch.nn.Linear(model.recurrent.hidden_size, vocabulary_size),
    })
    network.load_state_dict({name: torch.tensor(value) for name, value in model.state_dict().items()})
    optimizer = torch.optim.Adam(network.parameters(), lr=1e-3)
    inputs, targets = torch.tensor(inputs), torch.tensor(targets).reshape(-1)

    def step():
        output, _ = network["recurrent"](network["embedding"](inputs))
        logits = network["head"](output)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocabulary_size), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def _median_seconds_in_turns(runs, repeats):
    """Median seconds of each of ``runs`` (name -> function), called in turn ``repeats`` times.

    Taking turns exposes every contender to the same load of the machine,
    so the ratios between them are fair even when the load changes.
    """
    import time

    times = {name: [] for name in runs}
    for _ in range(repeats):
        for name, step in runs.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(values)) for name, values in times.items()}
