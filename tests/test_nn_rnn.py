"""Recurrent layers, cells and embeddings: gradients, properties and errors.

The comparison with PyTorch is in test_nn_rnn_torch.py; these tests need
nothing but the framework: gradient checks against central differences,
the fused layers against the cells they fuse, embeddings with repeated
indices, and clear errors for bad input.
"""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framework import nn
from framework.autograd.gradcheck import gradcheck
from framework.autograd.tensor import Tensor
from framework.nn.embedding import Embedding, GatherRows, ScatterAddRows, embedding
from framework.nn.rnn import (
    GRU,
    LSTM,
    RNN,
    GRUCell,
    LSTMCell,
    Recurrence,
    RNNCell,
    detach_state,
    gru_cell,
    lstm_cell,
    rnn_cell,
    set_forget_gate_bias_,
    unrolled,
)

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
# Tests that run code of an exercise carry its mark: the cells use the
# backward of tanh (Exercise 4.1), the fused GRU is Exercise 11.1.
TANH_BACKWARD = pytest.mark.exercise("4.1")
GRU_BACKWARD = pytest.mark.exercise("11.1")
MODES = [pytest.param(mode, marks=GRU_BACKWARD) if mode == "GRU" else mode for mode in sorted(GATES)]


def leaf(rng, *shape, scale=1.0):
    return Tensor(rng.standard_normal(shape) * scale, requires_grad=True)


# ---------------------------------------------------------------------------
# Gradient checks
# ---------------------------------------------------------------------------


@TANH_BACKWARD
@pytest.mark.parametrize("bias", [True, False])
def test_gradcheck_of_the_lstm_cell(bias):
    rng = np.random.default_rng(0)
    batch, inputs, hidden = 3, 4, 5
    args = [leaf(rng, batch, inputs), leaf(rng, batch, hidden), leaf(rng, batch, hidden),
            leaf(rng, 4 * hidden, inputs), leaf(rng, 4 * hidden, hidden)]
    biases = [leaf(rng, 4 * hidden), leaf(rng, 4 * hidden)] if bias else []

    def f(x, h, c, w_ih, w_hh, *b):
        new_h, new_c = lstm_cell(x, (h, c), w_ih, w_hh, *b)
        return new_h * 2 + new_c

    gradcheck(f, *args, *biases)


@pytest.mark.parametrize("nonlinearity", [pytest.param("tanh", marks=TANH_BACKWARD), "relu"])
def test_gradcheck_of_the_rnn_cell(nonlinearity):
    rng = np.random.default_rng(1)
    args = [leaf(rng, 3, 4), leaf(rng, 3, 5), leaf(rng, 5, 4), leaf(rng, 5, 5), leaf(rng, 5), leaf(rng, 5)]
    gradcheck(lambda x, h, *w: rnn_cell(x, h, *w, nonlinearity=nonlinearity), *args)


@TANH_BACKWARD
def test_gradcheck_of_the_gru_cell():
    rng = np.random.default_rng(2)
    args = [leaf(rng, 3, 4), leaf(rng, 3, 5), leaf(rng, 15, 4), leaf(rng, 15, 5), leaf(rng, 15), leaf(rng, 15)]
    gradcheck(gru_cell, *args)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bias", [True, False])
def test_gradcheck_of_the_fused_recurrence(mode, bias):
    """Backpropagation through time, written by hand, against central differences."""
    rng = np.random.default_rng(3)
    steps, batch, inputs, hidden = 4, 2, 3, 3
    gates = GATES[mode] * hidden
    states = [leaf(rng, batch, hidden) for _ in range(2 if mode == "LSTM" else 1)]
    weights = [leaf(rng, gates, inputs), leaf(rng, gates, hidden)]
    biases = [leaf(rng, gates), leaf(rng, gates)] if bias else []
    x = leaf(rng, steps, batch, inputs)
    gradcheck(lambda *args: Recurrence(mode, bias)(*args), x, *states, *weights, *biases)


# ---------------------------------------------------------------------------
# The fused layers compute what the cells compute
# ---------------------------------------------------------------------------


@TANH_BACKWARD
@pytest.mark.parametrize("layer_class", [RNN, LSTM, pytest.param(GRU, marks=GRU_BACKWARD)])
@pytest.mark.parametrize("batch_first", [False, True])
def test_fused_layers_equal_their_cells_step_by_step(layer_class, batch_first):
    rng = np.random.default_rng(4)
    layer = layer_class(3, 4, num_layers=2, batch_first=batch_first, dtype=np.float64,
                        generator=np.random.default_rng(0))
    x = rng.standard_normal((2, 6, 3) if batch_first else (6, 2, 3))
    results = []
    for run in (layer, lambda x: unrolled(layer, x)):
        layer.zero_grad()
        output, final = run(Tensor(x))
        loss = (output * output).sum() + sum((s * s).sum() for s in (final if isinstance(final, tuple) else (final,)))
        loss.backward()
        results.append([output.data] + [p.grad.data for p in layer.parameters()])
    for fused, by_cells in zip(*results):
        np.testing.assert_allclose(fused, by_cells, rtol=1e-12, atol=1e-13)


def test_a_sequence_in_two_chunks_with_the_state_carried_gives_the_whole_sequences_output():
    layer = LSTM(2, 3, dtype=np.float64, generator=np.random.default_rng(0))
    x = np.random.default_rng(5).standard_normal((8, 1, 2))
    whole, _ = layer(Tensor(x))
    first, state = layer(Tensor(x[:5]))
    second, _ = layer(Tensor(x[5:]), detach_state(state))
    np.testing.assert_allclose(np.concatenate([first.data, second.data]), whole.data, rtol=1e-12)


def test_detach_state_cuts_the_graph_but_keeps_the_values():
    layer = LSTM(2, 3, dtype=np.float64)
    _, state = layer(Tensor(np.ones((4, 1, 2))))
    detached = detach_state(state)
    assert all(s.grad_fn is not None for s in state)
    assert all(d.grad_fn is None and not d.requires_grad for d in detached)
    assert all(np.array_equal(d.data, s.data) for d, s in zip(detached, state))
    h = detach_state(state[0])
    assert h.grad_fn is None and np.array_equal(h.data, state[0].data)


# ---------------------------------------------------------------------------
# Parameters: PyTorch's names, shapes and initialisation
# ---------------------------------------------------------------------------


def test_parameter_names_and_shapes_follow_pytorch():
    lstm = LSTM(10, 20, num_layers=2)
    shapes = {name: p.shape for name, p in lstm.named_parameters()}
    assert shapes == {
        "weight_ih_l0": (80, 10), "weight_hh_l0": (80, 20), "bias_ih_l0": (80,), "bias_hh_l0": (80,),
        "weight_ih_l1": (80, 20), "weight_hh_l1": (80, 20), "bias_ih_l1": (80,), "bias_hh_l1": (80,),
    }
    assert [name for name, _ in GRU(3, 5, bias=False).named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    assert {name: p.shape for name, p in GRUCell(3, 5).named_parameters()} == {
        "weight_ih": (15, 3), "weight_hh": (15, 5), "bias_ih": (15,), "bias_hh": (15,)
    }


def test_initialisation_is_uniform_within_one_over_the_root_of_the_hidden_size():
    lstm = LSTM(30, 25, num_layers=2, generator=np.random.default_rng(0))
    values = np.concatenate([p.data.ravel() for p in lstm.parameters()])
    bound = 1 / np.sqrt(25)
    assert values.min() >= -bound and values.max() <= bound
    assert values.min() < -0.95 * bound and values.max() > 0.95 * bound  # the whole range is used
    assert abs(values.mean()) < 0.01 and abs(values.var() - bound**2 / 3) < 0.05 * bound**2


def test_the_forget_gate_bias_is_set_in_every_layer_and_only_there():
    lstm = LSTM(3, 4, num_layers=2, generator=np.random.default_rng(0))
    before = lstm.state_dict()
    set_forget_gate_bias_(lstm, 2.5)
    for name, value in lstm.state_dict().items():
        if name.startswith("bias"):
            forget = value[4:8]
            assert np.all(forget == (2.5 if name.startswith("bias_ih") else 0)), name
            assert np.array_equal(np.delete(value, range(4, 8)), np.delete(before[name], range(4, 8))), name
        else:
            assert np.array_equal(value, before[name]), name
    with pytest.raises(TypeError, match="expected an LSTM or LSTMCell, got GRU"):
        set_forget_gate_bias_(GRU(3, 4), 1.0)


def test_the_same_generator_seed_gives_the_same_layer():
    first = LSTM(3, 4, generator=np.random.default_rng(7)).state_dict()
    second = LSTM(3, 4, generator=np.random.default_rng(7)).state_dict()
    assert all(np.array_equal(first[name], second[name]) for name in first)


def test_the_layers_are_reachable_from_nn_without_loading_them_early():
    assert nn.LSTM is LSTM and nn.Embedding is Embedding and nn.GRUCell is GRUCell
    code = "import sys, framework.nn; print('framework.nn.rnn' in sys.modules, 'framework.nn.embedding' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]
    with pytest.raises(AttributeError, match="no attribute 'Conv3d'"):
        nn.Conv3d  # noqa: B018


def test_float32_layers_compute_in_float32():
    output, (h, c) = LSTM(3, 4)(Tensor(np.ones((2, 1, 3), dtype=np.float32)))
    assert output.dtype == h.dtype == c.dtype == np.float32


# ---------------------------------------------------------------------------
# Embeddings
# ---------------------------------------------------------------------------


@settings(max_examples=60)
@given(data=st.data())
def test_embedding_gradient_adds_the_gradients_of_repeated_indices(data):
    count = data.draw(st.integers(1, 6), label="num_embeddings")
    dim = data.draw(st.integers(1, 4), label="embedding_dim")
    shape = tuple(data.draw(st.lists(st.integers(1, 5), min_size=1, max_size=3), label="indices shape"))
    indices = np.array(
        data.draw(st.lists(st.integers(0, count - 1), min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))),
        dtype=np.int64,
    ).reshape(shape)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    weight = Tensor(rng.standard_normal((count, dim)), requires_grad=True)
    upstream = rng.standard_normal(shape + (dim,))
    rows = embedding(indices, weight)
    assert np.array_equal(rows.data, weight.data[indices])
    (rows * upstream).sum().backward()
    # The same gradient through the one-hot matrix product the lookup stands for.
    one_hot = np.eye(count)[indices.reshape(-1)]
    expected = one_hot.T @ upstream.reshape(-1, dim)
    np.testing.assert_allclose(weight.grad.data, expected, rtol=1e-12, atol=1e-12)
    counts = np.bincount(indices.reshape(-1), minlength=count)
    assert np.all(weight.grad.data[counts == 0] == 0)


def test_embedding_gradient_of_an_index_used_three_times_is_three_times_one():
    weight = Tensor(np.zeros((4, 2)), requires_grad=True)
    embedding(np.array([1, 3, 1, 1]), weight).sum().backward()
    assert weight.grad.data.tolist() == [[0, 0], [3, 3], [0, 0], [1, 1]]


def test_gather_and_scatter_add_are_each_others_backward_and_differentiate_again():
    rng = np.random.default_rng(8)
    indices = np.array([[0, 2, 2], [1, 2, 0]])
    gradcheck(lambda w: GatherRows(indices)(w), leaf(rng, 3, 2))
    gradcheck(lambda g: ScatterAddRows(indices, 4)(g), leaf(rng, 2, 3, 2))
    # The gradient of the lookup, taken as a function of the upstream gradient, is linear:
    # scatter-add with tensors records a graph whose own backward is the lookup.
    weight = leaf(rng, 3, 2)
    upstream = leaf(rng, 2, 3, 2)
    first = GatherRows(indices)(weight)
    grad_of_weight = first.grad_fn.backward(upstream)
    assert isinstance(grad_of_weight, Tensor) and grad_of_weight.requires_grad
    (grad_of_weight * grad_of_weight).sum().backward()
    expected = 2 * ScatterAddRows(indices, 3).forward(upstream.data)[indices]
    np.testing.assert_allclose(upstream.grad.data, expected, rtol=1e-12)


def test_embedding_accepts_tensors_of_whole_numbers():
    layer = Embedding(5, 3, dtype=np.float64)
    assert np.array_equal(layer(Tensor([[4.0, 0.0]])).data, layer.weight.data[[[4, 0]]])


def test_embedding_is_normal_at_initialisation_and_prints_its_sizes():
    layer = Embedding(400, 50, generator=np.random.default_rng(0))
    assert abs(layer.weight.data.mean()) < 0.02 and abs(layer.weight.data.std() - 1) < 0.02
    assert repr(layer) == "Embedding(400, 50)"


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


def test_an_index_out_of_range_is_named_with_its_position():
    layer = Embedding(10, 3)
    with pytest.raises(IndexError, match=r"Embedding: index 12 at position \(1, 0\) .*shape \(2, 2\).* 10 embeddings"):
        layer(np.array([[1, 2], [12, 3]]))
    with pytest.raises(IndexError, match="index -1 at position"):
        layer(np.array([-1]))
    with pytest.raises(TypeError, match="Embedding: indices must be whole numbers"):
        layer(Tensor([0.5]))
    with pytest.raises(TypeError, match="Embedding: indices must be integers, got dtype <U1"):
        layer(np.array(["a"]))


@pytest.mark.parametrize("layer_class", [RNN, LSTM, GRU])
def test_wrong_input_rank_or_size_names_the_layer_and_the_shapes(layer_class):
    name = layer_class.__name__
    layer = layer_class(4, 3)
    with pytest.raises(ValueError, match=rf"{name}: expected input of shape \(seq_len, batch, 4\).*got \(5, 2, 7\)"):
        layer(np.zeros((5, 2, 7), dtype=np.float32))
    with pytest.raises(ValueError, match=rf"{name}: expected input .*got \(5,\)"):
        layer(np.zeros(5, dtype=np.float32))
    with pytest.raises(ValueError, match=rf"{name}: expected input of shape \(batch, seq_len, 4\)"):
        layer_class(4, 3, batch_first=True)(np.zeros((1, 2, 3, 4), dtype=np.float32))
    with pytest.raises(TypeError, match=rf"{name}: the input has dtype float64 but the layer has dtype float32"):
        layer(np.zeros((5, 2, 4)))
    with pytest.raises(ValueError, match=rf"{name}: the input sequence is empty"):
        layer(np.zeros((0, 2, 4), dtype=np.float32))


def test_an_initial_state_of_the_wrong_shape_names_the_layer_and_both_shapes():
    x = np.zeros((5, 2, 4), dtype=np.float32)
    with pytest.raises(ValueError, match=r"GRU: the h0 has shape \(1, 3, 3\), expected \(2, 2, 3\)"):
        GRU(4, 3, num_layers=2)(x, np.zeros((1, 3, 3), dtype=np.float32))
    good = np.zeros((1, 2, 3), dtype=np.float32)
    with pytest.raises(ValueError, match=r"LSTM: the c0 has shape \(1, 2, 4\), expected \(1, 2, 3\)"):
        LSTM(4, 3)(x, (good, np.zeros((1, 2, 4), dtype=np.float32)))
    with pytest.raises(TypeError, match=r"LSTM: the initial state must be a pair \(h0, c0\)"):
        LSTM(4, 3)(x, good)
    with pytest.raises(ValueError, match=r"LSTMCell: the c has shape \(2, 4\), expected \(2, 3\)"):
        LSTMCell(4, 3)(x[0], (good[0], np.zeros((2, 4), dtype=np.float32)))


@pytest.mark.parametrize("cell_class", [RNNCell, LSTMCell, GRUCell])
def test_cells_name_themselves_in_errors(cell_class):
    name = cell_class.__name__
    with pytest.raises(ValueError, match=rf"{name}: expected input of shape \(batch, 4\) or \(4,\), got \(2, 5\)"):
        cell_class(4, 3)(np.zeros((2, 5), dtype=np.float32))


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="LSTM: hidden_size must be a positive whole number, got 0"):
        LSTM(3, 0)
    with pytest.raises(ValueError, match="RNN: nonlinearity must be 'tanh' or 'relu', got 'sigmoid'"):
        RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="Embedding: embedding_dim must be a positive whole number"):
        Embedding(3, 2.5)
