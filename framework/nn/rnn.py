"""Recurrent layers: RNN, LSTM, GRU and their cells (Chapter 11).

A recurrent layer reads a sequence x_1, ..., x_T one step at a time and
carries a state from each step to the next. The same weights are used at
every step:

- plain RNN:  h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh);
- LSTM: four gates from the same two products, and a second state, the
  cell c_t, which is updated by addition (see ``lstm_cell``);
- GRU: three gates, one state (see ``gru_cell``).

Names, shapes, gate order and initialisation follow PyTorch, so a state
dict copied from ``torch.nn.LSTM`` gives the same outputs here:
``weight_ih_l0`` (G*H, input_size), ``weight_hh_l0`` (G*H, H),
``bias_ih_l0`` and ``bias_hh_l0`` (G*H,), with G = 1 (RNN), 4 (LSTM: input,
forget, cell, output) or 3 (GRU: reset, update, new), all drawn uniformly
from [-1/sqrt(H), 1/sqrt(H)].

The package computes each step in two ways that agree:

- the **cells** (``rnn_cell``, ``lstm_cell``, ``gru_cell``) are written with
  the framework's operations, a few nodes per step: readable, and the graph
  they record can be drawn and differentiated again;
- the **layers** (``RNN``, ``LSTM``, ``GRU``) run a whole sequence as one
  ``Function``, ``Recurrence``, whose backward is backpropagation through
  time written in NumPy: one node per layer instead of a dozen per step.
  ``unrolled`` runs a layer with the cells instead, step by step.
"""

import numpy as np

from framework.autograd import ops
from framework.autograd.tensor import Function, Tensor
from framework.nn import functional as F
from framework.nn import init
from framework.nn.module import Module
from framework.nn.parameter import Parameter

# ---------------------------------------------------------------------------
# The cells, from the framework's operations
# ---------------------------------------------------------------------------


def split_gates(gates, count):
    """Cut the last axis of ``gates`` into ``count`` equal parts (the gates, in order)."""
    size = gates.shape[-1] // count
    return [gates[..., k * size : (k + 1) * size] for k in range(count)]


def rnn_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    """One step of a plain RNN: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)."""
    pre_activation = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)
    return ops.tanh(pre_activation) if nonlinearity == "tanh" else ops.relu(pre_activation)


def lstm_cell(x, state, w_ih, w_hh, b_ih=None, b_hh=None):
    r"""One step of an LSTM: the new ``(h, c)`` from the input x and the state ``(h, c)``.

    $$\begin{aligned}
    i &= \sigma(a_i), \quad f = \sigma(a_f), \quad g = \tanh(a_g), \quad o = \sigma(a_o),
       \qquad (a_i, a_f, a_g, a_o) = x W_{ih}^T + b_{ih} + h W_{hh}^T + b_{hh},\\
    c' &= f \odot c + i \odot g, \qquad h' = o \odot \tanh(c').
    \end{aligned}$$

    The forget gate f decides how much of the cell state to keep, the input
    gate i how much of the candidate g to add, the output gate o how much
    of the cell to show as h'.
    """
    h, c = state
    gates = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)
    a_i, a_f, a_g, a_o = split_gates(gates, 4)
    i, f, g, o = ops.sigmoid(a_i), ops.sigmoid(a_f), ops.tanh(a_g), ops.sigmoid(a_o)
    c = f * c + i * g
    h = o * ops.tanh(c)
    return h, c


def gru_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    r"""One step of a GRU: the new h from the input x and the state h.

    $$r = \sigma(x_r + h_r), \quad z = \sigma(x_z + h_z), \quad
      n = \tanh(x_n + r \odot h_n), \quad h' = (1 - z) \odot n + z \odot h,$$

    where (x_r, x_z, x_n) = x W_ih^T + b_ih and (h_r, h_z, h_n) = h W_hh^T + b_hh.
    """
    x_r, x_z, x_n = split_gates(F.linear(x, w_ih, b_ih), 3)
    h_r, h_z, h_n = split_gates(F.linear(h, w_hh, b_hh), 3)
    r = ops.sigmoid(x_r + h_r)
    z = ops.sigmoid(x_z + h_z)
    n = ops.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h


# ---------------------------------------------------------------------------
# One step forward and backward in NumPy, for the fused layers
# ---------------------------------------------------------------------------
#
# A step receives xw = x_t W_ih^T + b_ih and hw = h_{t-1} W_hh^T + b_hh and
# the previous state (a tuple: (h,) or (h, c)); it returns the new state and
# what its backward needs. The backward receives the gradient of the new
# state and returns the gradients of xw and hw, and the gradient of the
# previous state that does not pass through hw (the LSTM's cell, the GRU's
# z * h); the loop adds hw's share, d(hw) W_hh, to the gradient of h.


def _sigmoid(a):
    """1 / (1 + exp(-a)), written as (1 + tanh(a / 2)) / 2: equal, and never overflows."""
    return 0.5 + 0.5 * np.tanh(0.5 * a)


class TanhSteps:
    """h' = tanh(xw + hw)."""

    gates, states = 1, 1

    @staticmethod
    def forward(xw, hw, state):
        h = np.tanh(xw + hw)
        return (h,), h

    @staticmethod
    def backward(d_state, h):
        da = d_state[0] * (1 - h * h)
        return da, da, (None,)


class ReLUSteps:
    """h' = max(xw + hw, 0)."""

    gates, states = 1, 1

    @staticmethod
    def forward(xw, hw, state):
        h = np.maximum(xw + hw, 0)
        return (h,), h

    @staticmethod
    def backward(d_state, h):
        da = d_state[0] * (h > 0)
        return da, da, (None,)


class LSTMSteps:
    """The LSTM step of ``lstm_cell``, with its derivative written out.

    With dh and dc the gradients of h' and c' (dc from later steps only):
    dc += dh o (1 - tanh(c')^2); then d(a_i) = dc g i (1 - i),
    d(a_f) = dc c f (1 - f), d(a_g) = dc i (1 - g^2),
    d(a_o) = dh tanh(c') o (1 - o), and the cell passes dc f back to c.
    """

    gates, states = 4, 2

    @staticmethod
    def forward(xw, hw, state):
        _, c = state
        a = xw + hw
        size = c.shape[-1]
        gates = _sigmoid(a)  # i, f and o; g's part is replaced by tanh below
        i, f, o = gates[:, :size], gates[:, size : 2 * size], gates[:, 3 * size :]
        g = np.tanh(a[:, 2 * size : 3 * size])
        c_new = f * c + i * g
        tanh_c = np.tanh(c_new)
        return (o * tanh_c, c_new), (i, f, g, o, tanh_c, c)

    @staticmethod
    def backward(d_state, cache):
        dh, dc = d_state
        i, f, g, o, tanh_c, c = cache
        dc = dh * o * (1 - tanh_c * tanh_c) + dc
        da = np.concatenate(
            [dc * g * i * (1 - i), dc * c * f * (1 - f), dc * i * (1 - g * g), dh * tanh_c * o * (1 - o)],
            axis=-1,
        )
        return da, da, (None, dc * f)


class GRUSteps:
    """The GRU step of ``gru_cell``, with its derivative written out."""

    gates, states = 3, 1

    @staticmethod
    def forward(xw, hw, state):
        (h,) = state
        size = h.shape[-1]
        r = _sigmoid(xw[:, :size] + hw[:, :size])
        z = _sigmoid(xw[:, size : 2 * size] + hw[:, size : 2 * size])
        h_n = hw[:, 2 * size :]
        n = np.tanh(xw[:, 2 * size :] + r * h_n)
        return ((1 - z) * n + z * h,), (r, z, n, h_n, h)

    @staticmethod
    def backward(d_state, cache):
        """From dh' (the gradient of the new state): d(xw), d(hw) and the direct gradient of h.

        h' = (1 - z) n + z h passes dh' z straight back to h; the rest flows
        through the pre-activations of r, z and n. Note that r multiplies
        h_n = hw's third part, so d(hw) and d(xw) differ there.
        """
        ### BEGIN SOLUTION
        (dh,) = d_state
        r, z, n, h_n, h = cache
        dn_pre = dh * (1 - z) * (1 - n * n)
        dr_pre = dn_pre * h_n * r * (1 - r)
        dz_pre = dh * (h - n) * z * (1 - z)
        d_xw = np.concatenate([dr_pre, dz_pre, dn_pre], axis=-1)
        d_hw = np.concatenate([dr_pre, dz_pre, dn_pre * r], axis=-1)
        return d_xw, d_hw, (dh * z,)
        ### END SOLUTION


STEPS = {"RNN_TANH": TanhSteps, "RNN_RELU": ReLUSteps, "LSTM": LSTMSteps, "GRU": GRUSteps}


class Recurrence(Function):
    """A recurrent layer over a whole sequence, as one operation.

    Inputs: x (T, B, I), the initial states (h0, and c0 for the LSTM; each
    (B, H)), w_ih, w_hh and, with ``bias``, b_ih and b_hh. The result packs
    the outputs h_1..h_T (T, B, H) and, for the LSTM, the last cell state
    c_T below them: shape (T + states - 1, B, H).

    Forward computes the input projections of all steps in one matrix
    product, then loops over time with one product h W_hh^T per step.
    Backward is backpropagation through time: the loop runs from the last
    step to the first, carrying the gradient of the state, and the weight
    gradients are summed over all steps at the end with one product each.
    (Its backward uses the gate values saved by forward as constants, so
    unlike the cells this operation gives no second derivatives.)
    """

    differentiable_twice = False  # create_graph=True stops here with a clear error

    def __init__(self, mode, bias=True):
        self.steps = STEPS[mode]
        self.bias = bias

    def _split_inputs(self, inputs):
        n = self.steps.states
        x, state, rest = inputs[0], inputs[1 : 1 + n], inputs[1 + n :]
        w_ih, w_hh = rest[0], rest[1]
        b_ih, b_hh = (rest[2], rest[3]) if self.bias else (0, 0)
        return x, tuple(state), w_ih, w_hh, b_ih, b_hh

    def forward(self, *inputs):
        x, state, w_ih, w_hh, b_ih, b_hh = self._split_inputs(inputs)
        steps = x.shape[0]
        xw = x @ w_ih.T + b_ih
        packed = np.empty((steps + len(state) - 1,) + state[0].shape, dtype=xw.dtype)
        previous_h = np.empty((steps,) + state[0].shape, dtype=xw.dtype)
        caches = []
        for t in range(steps):
            previous_h[t] = state[0]
            state, cache = self.steps.forward(xw[t], state[0] @ w_hh.T + b_hh, state)
            packed[t] = state[0]
            caches.append(cache)
        for k, extra in enumerate(state[1:]):
            packed[steps + k] = extra
        self.save_for_backward(x, w_ih, w_hh, previous_h, caches)
        return packed

    def backward(self, grad):
        x, w_ih, w_hh, previous_h, caches = self.saved
        steps = len(caches)
        # The gradient of the state after the last step: h_T's comes with the
        # outputs' below, the cell's sits under them in the packed result.
        d_state = (np.zeros_like(grad[0]),) + tuple(grad[steps:])
        gate_shape = (steps,) + grad.shape[1:-1] + (w_hh.shape[0],)
        d_xw, d_hw = np.empty(gate_shape, dtype=grad.dtype), np.empty(gate_shape, dtype=grad.dtype)
        for t in reversed(range(steps)):
            d_state = (d_state[0] + grad[t],) + d_state[1:]
            d_xw[t], d_hw[t], direct = self.steps.backward(d_state, caches[t])
            dh = d_hw[t] @ w_hh
            if direct[0] is not None:
                dh += direct[0]
            d_state = (dh,) + direct[1:]
        return self._input_grads(x, w_ih, previous_h, d_xw, d_hw, d_state)

    def _input_grads(self, x, w_ih, previous_h, d_xw, d_hw, d_state):
        needs = self.needs_input_grad
        n = self.steps.states
        rows_xw = d_xw.reshape(-1, d_xw.shape[-1])
        rows_hw = d_hw.reshape(-1, d_hw.shape[-1])
        grads = [d_xw @ w_ih if needs[0] else None]
        grads += [d if needs[1 + k] else None for k, d in enumerate(d_state)]
        grads.append(rows_xw.T @ x.reshape(-1, x.shape[-1]) if needs[1 + n] else None)
        grads.append(rows_hw.T @ previous_h.reshape(-1, previous_h.shape[-1]) if needs[2 + n] else None)
        if self.bias:
            grads.append(rows_xw.sum(axis=0) if needs[3 + n] else None)
            grads.append(rows_hw.sum(axis=0) if needs[4 + n] else None)
        return tuple(grads)


class Steps(Function):
    """x[index] for an integer or a slice along the first axis (time).

    The same as ``x[index]`` (``GetItem``), with a cheaper backward: a
    basic index picks each position at most once, so the gradient is
    written into zeros by assignment, without the accumulating scatter
    that arbitrary indices need.
    """

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        self.save_for_backward(x.shape)
        return x[self.index]

    def backward(self, gy):
        (shape,) = self.saved
        gx = np.zeros(shape, dtype=gy.dtype)
        gx[self.index] = gy
        return gx


# ---------------------------------------------------------------------------
# Checking inputs
# ---------------------------------------------------------------------------


def _as_tensor(value, owner, what):
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        return Tensor(value)
    raise TypeError(f"{owner}: the {what} must be a Tensor or a NumPy array, got {type(value).__name__}")


def _check_state(state, expected, owner, what):
    if state.shape != expected:
        raise ValueError(f"{owner}: the {what} has shape {state.shape}, expected {expected}")


# ---------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------


def _positive_int(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive whole number, got {value!r}")
    return int(value)


class RNNBase(Module):
    """What RNN, LSTM and GRU share: parameters, checks, the loop over layers.

    ``forward(input, hx=None)`` takes input of shape (T, B, input_size),
    (B, T, input_size) with ``batch_first=True``, or (T, input_size) for a
    single unbatched sequence, and an optional initial state of shape
    (num_layers, B, hidden_size) (zeros by default; for the LSTM a pair
    ``(h0, c0)``). It returns ``(output, h_n)`` (LSTM: ``(output, (h_n, c_n))``):
    the last layer's h at every step, and each layer's state after the last
    step. Layer k > 0 reads the outputs of layer k - 1.
    """

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dtype=np.float32, generator=None):
        super().__init__()
        owner = type(self).__name__
        self.mode = mode
        self.input_size = _positive_int(owner, "input_size", input_size)
        self.hidden_size = _positive_int(owner, "hidden_size", hidden_size)
        self.num_layers = _positive_int(owner, "num_layers", num_layers)
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        gate_size = STEPS[mode].gates * self.hidden_size
        for layer in range(self.num_layers):
            layer_input = self.input_size if layer == 0 else self.hidden_size
            setattr(self, f"weight_ih_l{layer}", Parameter(np.empty((gate_size, layer_input), dtype=dtype)))
            setattr(self, f"weight_hh_l{layer}", Parameter(np.empty((gate_size, self.hidden_size), dtype=dtype)))
            if self.bias:
                setattr(self, f"bias_ih_l{layer}", Parameter(np.empty(gate_size, dtype=dtype)))
                setattr(self, f"bias_hh_l{layer}", Parameter(np.empty(gate_size, dtype=dtype)))
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None):
        """Every weight and bias uniform in [-1/sqrt(hidden_size), 1/sqrt(hidden_size)]."""
        bound = 1 / np.sqrt(self.hidden_size)
        for parameter in self.parameters():
            init.uniform_(parameter, -bound, bound, generator=generator)

    def layer_parameters(self, layer):
        """(w_ih, w_hh, b_ih, b_hh) of one layer (the biases None without bias)."""
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        return tuple(getattr(self, f"{name}_l{layer}", None) for name in names)

    # -- checking and arranging the inputs ------------------------------------

    def _time_major(self, input):
        """The input as a (T, B, input_size) tensor, and whether it had a batch axis."""
        owner = type(self).__name__
        x = _as_tensor(input, owner, "input")
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            layout = "(batch, seq_len, {0})" if self.batch_first else "(seq_len, batch, {0})"
            raise ValueError(
                f"{owner}: expected input of shape {layout.format(self.input_size)} "
                f"(or (seq_len, {self.input_size}) for one sequence), got {x.shape}"
            )
        if x.shape[-2 if x.ndim == 2 else (1 if self.batch_first else 0)] == 0:
            raise ValueError(f"{owner}: the input sequence is empty (shape {x.shape})")
        F.check_dtype(owner, x, self.weight_ih_l0, "input", holder="the layer")
        if x.ndim == 2:
            return ops.reshape(x, (x.shape[0], 1, x.shape[1])), False
        if self.batch_first:
            x = ops.transpose(x, (1, 0, 2))
        return x, True

    def _initial_states(self, hx, batch, batched):
        """One tuple of initial states per layer (zeros when ``hx`` is None)."""
        owner = type(self).__name__
        states = STEPS[self.mode].states
        zeros = np.zeros((batch, self.hidden_size), dtype=self.weight_ih_l0.dtype)
        if hx is None:
            return [(zeros,) * states] * self.num_layers
        names = ("h0", "c0")[:states]
        if states == 2:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{owner}: the initial state must be a pair (h0, c0), got {type(hx).__name__}")
            given = list(hx)
        else:
            given = [hx]
        expected = (self.num_layers, batch, self.hidden_size) if batched else (self.num_layers, self.hidden_size)
        tensors = []
        for name, value in zip(names, given):
            value = _as_tensor(value, owner, name)
            _check_state(value, expected, owner, name)
            F.check_dtype(owner, value, self.weight_ih_l0, name, holder="the layer")
            if not batched:
                value = ops.reshape(value, (self.num_layers, 1, self.hidden_size))
            tensors.append(value)
        return [tuple(t[layer] for t in tensors) for layer in range(self.num_layers)]

    # -- the computation ---------------------------------------------------------

    def forward(self, input, hx=None):
        x, batched = self._time_major(input)
        steps, batch = x.shape[0], x.shape[1]
        initial = self._initial_states(hx, batch, batched)
        finals = []
        for layer in range(self.num_layers):
            parameters = [p for p in self.layer_parameters(layer) if p is not None]
            packed = Recurrence(self.mode, self.bias)(x, *initial[layer], *parameters)
            x = packed if packed.shape[0] == steps else Steps(slice(0, steps))(packed)
            finals.append(tuple(Steps(steps - 1 + k)(packed) for k in range(len(initial[layer]))))
        return self._arrange_outputs(x, finals, batched)

    def _arrange_outputs(self, output, finals, batched):
        """Stack the layers' final states; give the output the input's layout."""
        states = [ops.stack([final[k] for final in finals]) for k in range(len(finals[0]))]
        if not batched:
            output = ops.reshape(output, (output.shape[0], self.hidden_size))
            states = [ops.reshape(s, (self.num_layers, self.hidden_size)) for s in states]
        elif self.batch_first:
            output = ops.transpose(output, (1, 0, 2))
        return output, (tuple(states) if len(states) == 2 else states[0])

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        return text


class RNN(RNNBase):
    """A plain recurrent layer: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh).

    ``nonlinearity="relu"`` uses max(., 0) instead of tanh. See ``RNNBase``
    for the shapes.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dtype=np.float32, generator=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dtype, generator)


class LSTM(RNNBase):
    """Long short-term memory (see ``lstm_cell``); returns ``(output, (h_n, c_n))``."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dtype=np.float32, generator=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dtype, generator)


class GRU(RNNBase):
    """Gated recurrent unit (see ``gru_cell``); returns ``(output, h_n)``."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dtype=np.float32, generator=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dtype, generator)


def cell_step(mode, x, state, w_ih, w_hh, b_ih=None, b_hh=None):
    """One step of the cell of ``mode``, with the state always a tuple: (h,) or (h, c)."""
    if mode == "LSTM":
        return lstm_cell(x, state, w_ih, w_hh, b_ih, b_hh)
    if mode == "GRU":
        return (gru_cell(x, state[0], w_ih, w_hh, b_ih, b_hh),)
    nonlinearity = "tanh" if mode == "RNN_TANH" else "relu"
    return (rnn_cell(x, state[0], w_ih, w_hh, b_ih, b_hh, nonlinearity),)


def unrolled(layer, input, hx=None):
    """Run a recurrent ``layer`` with its cells, one step at a time.

    The same result as ``layer(input, hx)``, computed by the operations of
    ``rnn_cell``, ``lstm_cell`` or ``gru_cell``: the graph it records has a
    node for every operation of every step, which can be drawn, inspected
    and differentiated again. The fused layers are the fast way.
    """
    x, batched = layer._time_major(input)
    steps, batch = x.shape[0], x.shape[1]
    initial = layer._initial_states(hx, batch, batched)
    finals = []
    for index in range(layer.num_layers):
        parameters = layer.layer_parameters(index)
        state, outputs = initial[index], []
        for t in range(steps):
            state = cell_step(layer.mode, x[t], state, *parameters)
            outputs.append(state[0])
        x = ops.stack(outputs)
        finals.append(tuple(s if isinstance(s, Tensor) else Tensor(s) for s in state))
    return layer._arrange_outputs(x, finals, batched)


# ---------------------------------------------------------------------------
# Cells as modules
# ---------------------------------------------------------------------------


class RNNCellBase(Module):
    """Parameters and checks shared by RNNCell, LSTMCell and GRUCell.

    ``forward(input, hx=None)``: input (B, input_size) or (input_size,);
    the state of the matching shape (B, hidden_size) or (hidden_size,),
    zeros by default (a pair (h, c) for the LSTM cell).
    """

    def __init__(self, mode, input_size, hidden_size, bias=True, dtype=np.float32, generator=None):
        super().__init__()
        owner = type(self).__name__
        self.mode = mode
        self.input_size = _positive_int(owner, "input_size", input_size)
        self.hidden_size = _positive_int(owner, "hidden_size", hidden_size)
        gate_size = STEPS[mode].gates * self.hidden_size
        self.weight_ih = Parameter(np.empty((gate_size, self.input_size), dtype=dtype))
        self.weight_hh = Parameter(np.empty((gate_size, self.hidden_size), dtype=dtype))
        self.bias_ih = Parameter(np.empty(gate_size, dtype=dtype)) if bias else None
        self.bias_hh = Parameter(np.empty(gate_size, dtype=dtype)) if bias else None
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None):
        """Every weight and bias uniform in [-1/sqrt(hidden_size), 1/sqrt(hidden_size)]."""
        bound = 1 / np.sqrt(self.hidden_size)
        for parameter in self.parameters():
            init.uniform_(parameter, -bound, bound, generator=generator)

    def _checked(self, input, hx):
        owner = type(self).__name__
        x = _as_tensor(input, owner, "input")
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{owner}: expected input of shape (batch, {self.input_size}) or ({self.input_size},), "
                f"got {x.shape}"
            )
        F.check_dtype(owner, x, self.weight_ih, "input", holder="the layer")
        expected = x.shape[:-1] + (self.hidden_size,)
        states = STEPS[self.mode].states
        if hx is None:
            return x, (np.zeros(expected, dtype=self.weight_ih.dtype),) * states
        if states == 2:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{owner}: the state must be a pair (h, c), got {type(hx).__name__}")
            given = tuple(hx)
        else:
            given = (hx,)
        checked = []
        for name, value in zip(("h", "c"), given):
            value = _as_tensor(value, owner, name)
            _check_state(value, expected, owner, name)
            F.check_dtype(owner, value, self.weight_ih, name, holder="the layer")
            checked.append(value)
        return x, tuple(checked)

    def forward(self, input, hx=None):
        x, state = self._checked(input, hx)
        new = cell_step(self.mode, x, state, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return new if len(new) == 2 else new[0]

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias_ih is not None else ", bias=False")


class RNNCell(RNNCellBase):
    """One step of a plain RNN (see ``rnn_cell``); returns h'."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", dtype=np.float32,
                 generator=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(mode, input_size, hidden_size, bias, dtype, generator)


class LSTMCell(RNNCellBase):
    """One step of an LSTM (see ``lstm_cell``); returns (h', c')."""

    def __init__(self, input_size, hidden_size, bias=True, dtype=np.float32, generator=None):
        super().__init__("LSTM", input_size, hidden_size, bias, dtype, generator)


class GRUCell(RNNCellBase):
    """One step of a GRU (see ``gru_cell``); returns h'."""

    def __init__(self, input_size, hidden_size, bias=True, dtype=np.float32, generator=None):
        super().__init__("GRU", input_size, hidden_size, bias, dtype, generator)


def set_forget_gate_bias_(lstm, value):
    """Set the forget-gate biases of every layer of an LSTM (or LSTMCell) so that they sum to ``value``.

    The forget gate is f = sigmoid(a_f + b_ih_f + b_hh_f); at PyTorch's
    initialisation the biases are near 0, so f starts near 1/2 and the cell
    halves its memory at every step. A bias of 1 or more (the gate starts
    open) is a common choice. ``bias_ih``'s forget part becomes ``value``,
    ``bias_hh``'s zero. Returns the module.
    """
    if getattr(lstm, "mode", None) != "LSTM":
        raise TypeError(f"set_forget_gate_bias_: expected an LSTM or LSTMCell, got {type(lstm).__name__}")
    size = lstm.hidden_size
    for name, parameter in lstm.named_parameters():
        if name.startswith("bias_ih"):
            parameter.data[size : 2 * size] = value
        elif name.startswith("bias_hh"):
            parameter.data[size : 2 * size] = 0
    return lstm


def detach_state(state):
    """The state cut off from the graph: a tensor, or a tuple of tensors (LSTM).

    Truncated backpropagation through time carries the values of the state
    from one chunk of a sequence to the next, but not the graph: backward
    then stops at the start of the chunk.
    """
    if isinstance(state, (tuple, list)):
        return tuple(s.detach() for s in state)
    return state.detach()
