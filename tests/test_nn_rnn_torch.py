"""Recurrent layers, cells and embeddings agree with PyTorch's (when PyTorch is installed).

A torch module is built first; its state dict is loaded into the
framework's module of the same kind, so both compute with the same float64
weights. Outputs, final states and the gradients of every parameter, of
the input and of the initial states must then agree to about 1e-12. Sizes
are drawn at random (seeded) for each case.
"""

import zlib

import numpy as np
import pytest

from framework.autograd.tensor import Tensor
from framework.nn.embedding import Embedding
from framework.nn.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell, unrolled

torch = pytest.importorskip("torch")

TOLERANCE = 1e-11

LAYERS = {
    "lstm": (LSTM, lambda *a, **k: torch.nn.LSTM(*a, **k), {}),
    "rnn_tanh": (RNN, lambda *a, **k: torch.nn.RNN(*a, **k), {}),
    "rnn_relu": (RNN, lambda *a, **k: torch.nn.RNN(*a, nonlinearity="relu", **k), {"nonlinearity": "relu"}),
    "gru": (GRU, lambda *a, **k: torch.nn.GRU(*a, **k), {}),
}
CELLS = {
    "lstm": (LSTMCell, lambda *a, **k: torch.nn.LSTMCell(*a, **k)),
    "rnn": (RNNCell, lambda *a, **k: torch.nn.RNNCell(*a, **k)),
    "gru": (GRUCell, lambda *a, **k: torch.nn.GRUCell(*a, **k)),
}


# Tests that run code of an exercise carry its mark: the cells use the
# backward of tanh (Exercise 4.1), the fused GRU is Exercise 11.1.
TANH_BACKWARD = pytest.mark.exercise("4.1")
GRU_BACKWARD = pytest.mark.exercise("11.1")
LAYER_KINDS = [pytest.param(kind, marks=GRU_BACKWARD) if kind == "gru" else kind for kind in sorted(LAYERS)]


def kind_and_path(kind, path):
    """The pair as a test parameter, with the marks of the exercises whose code it runs."""
    if path == "unrolled":
        marks = [] if kind == "rnn_relu" else [TANH_BACKWARD]
    else:
        marks = [GRU_BACKWARD] if kind == "gru" else []
    return pytest.param(kind, path, marks=marks, id=f"{kind}-{path}")


def copy_of(torch_module, ours):
    """Load the torch module's float64 state dict into ``ours``; return ``ours``."""
    ours.load_state_dict({name: value.detach().numpy() for name, value in torch_module.state_dict().items()})
    return ours


def as_tuple(state):
    return state if isinstance(state, tuple) else (state,)


def assert_close(ours, theirs, what):
    theirs = theirs.detach().numpy()
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} against torch's {theirs.shape}"
    error = np.max(np.abs(ours - theirs)) if ours.size else 0.0
    assert error < TOLERANCE, f"{what}: largest difference {error:.3g}"


def stable_seed(*settings):
    """A seed from the test's settings, the same in every run (unlike ``hash`` of strings)."""
    return zlib.crc32(repr(settings).encode())


def random_case(seed):
    rng = np.random.default_rng(seed)
    return rng, dict(
        steps=int(rng.integers(1, 7)),
        batch=int(rng.integers(1, 5)),
        input_size=int(rng.integers(1, 6)),
        hidden_size=int(rng.integers(1, 7)),
    )


def run_both(ours, theirs, x, state, rng, forward=None):
    """Forward and backward through both modules; the values, then the gradients."""
    forward = forward or ours
    x_ours = Tensor(x.copy(), requires_grad=True)
    x_theirs = torch.tensor(x, requires_grad=True)
    state_ours = None if state is None else tuple(Tensor(s.copy(), requires_grad=True) for s in state)
    state_theirs = None if state is None else tuple(torch.tensor(s, requires_grad=True) for s in state)

    def unpack(s):
        return None if s is None else (s if len(s) == 2 else s[0])

    output, final = forward(x_ours, unpack(state_ours))
    output_t, final_t = theirs(x_theirs, unpack(state_theirs))
    weights = rng.standard_normal(output.shape)
    final_weights = [rng.standard_normal(s.shape) for s in as_tuple(final)]
    loss = (output * weights).sum() + sum((s * w).sum() for s, w in zip(as_tuple(final), final_weights))
    loss_t = (output_t * torch.tensor(weights)).sum() + sum(
        (s * torch.tensor(w)).sum() for s, w in zip(as_tuple(final_t), final_weights)
    )
    loss.backward()
    loss_t.backward()
    return (output, final, x_ours, state_ours), (output_t, final_t, x_theirs, state_theirs)


@pytest.mark.parametrize(("kind", "path"), [kind_and_path(k, p) for k in sorted(LAYERS) for p in ("fused", "unrolled")])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("given_state", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_layer_outputs_and_gradients_equal_pytorchs(kind, batch_first, num_layers, given_state, bias, path):
    ours_class, theirs_class, options = LAYERS[kind]
    seed = stable_seed(kind, batch_first, num_layers, given_state, bias)
    rng, size = random_case(seed)
    torch.manual_seed(seed % 2**31)
    theirs = theirs_class(size["input_size"], size["hidden_size"], num_layers=num_layers, bias=bias,
                          batch_first=batch_first).double()
    ours = copy_of(theirs, ours_class(size["input_size"], size["hidden_size"], num_layers=num_layers,
                                      bias=bias, batch_first=batch_first, dtype=np.float64, **options))
    shape = (size["steps"], size["batch"], size["input_size"])
    x = rng.standard_normal(shape[1::-1] + shape[2:] if batch_first else shape)
    state_shape = (num_layers, size["batch"], size["hidden_size"])
    state = None
    if given_state:
        state = tuple(rng.standard_normal(state_shape) for _ in range(2 if kind == "lstm" else 1))
    forward = (lambda x, s: unrolled(ours, x, s)) if path == "unrolled" else None
    (output, final, x_ours, state_ours), (output_t, final_t, x_t, state_t) = run_both(
        ours, theirs, x, state, rng, forward
    )
    assert_close(output.data, output_t, "output")
    for k, (mine, their) in enumerate(zip(as_tuple(final), as_tuple(final_t))):
        assert_close(mine.data, their, f"final state {k}")
    torch_parameters = dict(theirs.named_parameters())
    for name, parameter in ours.named_parameters():
        assert_close(parameter.grad.data, torch_parameters[name].grad, f"gradient of {name}")
    assert_close(x_ours.grad.data, x_t.grad, "gradient of the input")
    if given_state:
        for k, (mine, their) in enumerate(zip(state_ours, state_t)):
            assert_close(mine.grad.data, their.grad, f"gradient of initial state {k}")


@pytest.mark.parametrize("kind", LAYER_KINDS)
def test_an_unbatched_sequence_gives_pytorchs_result(kind):
    ours_class, theirs_class, options = LAYERS[kind]
    rng, size = random_case(7)
    torch.manual_seed(7)
    theirs = theirs_class(size["input_size"], size["hidden_size"], num_layers=2).double()
    ours = copy_of(theirs, ours_class(size["input_size"], size["hidden_size"], num_layers=2,
                                      dtype=np.float64, **options))
    x = rng.standard_normal((size["steps"], size["input_size"]))
    state = tuple(rng.standard_normal((2, size["hidden_size"])) for _ in range(2 if kind == "lstm" else 1))
    (output, final, x_ours, _), (output_t, final_t, x_t, _) = run_both(ours, theirs, x, state, rng)
    assert_close(output.data, output_t, "output")
    for mine, their in zip(as_tuple(final), as_tuple(final_t)):
        assert_close(mine.data, their, "final state")
    assert_close(x_ours.grad.data, x_t.grad, "gradient of the input")


@TANH_BACKWARD
@pytest.mark.parametrize("kind", sorted(CELLS))
@pytest.mark.parametrize("given_state", [False, True])
@pytest.mark.parametrize("batched", [True, False])
def test_cells_equal_pytorchs(kind, given_state, batched):
    ours_class, theirs_class = CELLS[kind]
    rng, size = random_case(stable_seed(kind, given_state, batched))
    torch.manual_seed(3)
    theirs = theirs_class(size["input_size"], size["hidden_size"]).double()
    ours = copy_of(theirs, ours_class(size["input_size"], size["hidden_size"], dtype=np.float64))
    lead = (size["batch"],) if batched else ()
    x = rng.standard_normal(lead + (size["input_size"],))
    x_ours, x_t = Tensor(x.copy(), requires_grad=True), torch.tensor(x, requires_grad=True)
    state = None
    if given_state:
        values = [rng.standard_normal(lead + (size["hidden_size"],)) for _ in range(2 if kind == "lstm" else 1)]
        state = [Tensor(v.copy(), requires_grad=True) for v in values], [torch.tensor(v, requires_grad=True) for v in values]
    arguments = (None, None) if state is None else (
        tuple(state[0]) if kind == "lstm" else state[0][0],
        tuple(state[1]) if kind == "lstm" else state[1][0],
    )
    new, new_t = ours(x_ours, arguments[0]), theirs(x_t, arguments[1])
    weights = [rng.standard_normal(s.shape) for s in as_tuple(new)]
    sum((s * w).sum() for s, w in zip(as_tuple(new), weights)).backward()
    sum((s * torch.tensor(w)).sum() for s, w in zip(as_tuple(new_t), weights)).backward()
    for mine, their in zip(as_tuple(new), as_tuple(new_t)):
        assert_close(mine.data, their, "new state")
    torch_parameters = dict(theirs.named_parameters())
    for name, parameter in ours.named_parameters():
        assert_close(parameter.grad.data, torch_parameters[name].grad, f"gradient of {name}")
    assert_close(x_ours.grad.data, x_t.grad, "gradient of the input")
    if state is not None:
        for mine, their in zip(*state):
            assert_close(mine.grad.data, their.grad, "gradient of the state")


@pytest.mark.parametrize("seed", range(5))
def test_embedding_equals_pytorchs(seed):
    rng = np.random.default_rng(seed)
    count, dim = int(rng.integers(1, 9)), int(rng.integers(1, 5))
    shape = tuple(int(n) for n in rng.integers(1, 5, size=rng.integers(1, 4)))
    indices = rng.integers(0, count, size=shape)
    torch.manual_seed(seed)
    theirs = torch.nn.Embedding(count, dim).double()
    ours = copy_of(theirs, Embedding(count, dim, dtype=np.float64))
    weights = rng.standard_normal(shape + (dim,))
    out, out_t = ours(indices), theirs(torch.tensor(indices))
    (out * weights).sum().backward()
    (out_t * torch.tensor(weights)).sum().backward()
    assert_close(out.data, out_t, "embedding")
    assert_close(ours.weight.grad.data, theirs.weight.grad, "gradient of the weight")
