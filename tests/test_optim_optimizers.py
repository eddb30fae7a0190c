"""The optimizers: update formulas by hand, parameter groups, state dicts, bad input.

Each optimizer is fed a known sequence of gradients and its parameters are
compared, step by step, with the update formula written out in NumPy.
"""

import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from framework import optim
from framework.autograd import tensor
from framework.autograd.tensor import Tensor

SHAPES = [(3, 2), (4,)]
STEPS = 5


def initial_values(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape) for shape in SHAPES]


def gradient_sequence(seed=1, steps=STEPS):
    rng = np.random.default_rng(seed)
    return [[rng.normal(size=shape) for shape in SHAPES] for _ in range(steps)]


def set_grads(params, grads):
    """Give each parameter a read-only gradient, as backward does."""
    for param, grad in zip(params, grads):
        grad = np.array(grad, dtype=param.dtype)
        grad.flags.writeable = False
        param.grad = Tensor(grad)


def run(make_optimizer, grads_per_step, seed=0):
    """Parameters after each step of an optimizer given these gradients."""
    params = [tensor(value, requires_grad=True) for value in initial_values(seed)]
    optimizer = make_optimizer(params)
    history = []
    for grads in grads_per_step:
        set_grads(params, grads)
        optimizer.step()
        history.append([p.data.copy() for p in params])
    return history


def assert_history(history, expected):
    for step, (got, want) in enumerate(zip(history, expected), start=1):
        for index, (g, w) in enumerate(zip(got, want)):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14, err_msg=f"step {step}, parameter {index}")


# --- each update rule, written out by hand ---------------------------------------


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_sgd_is_a_step_against_the_gradient(weight_decay):
    lr, grads = 0.1, gradient_sequence()
    theta = initial_values()
    expected = []
    for step_grads in grads:
        theta = [t - lr * (g + weight_decay * t) for t, g in zip(theta, step_grads)]
        expected.append(theta)
    assert_history(run(lambda p: optim.SGD(p, lr=lr, weight_decay=weight_decay), grads), expected)


@pytest.mark.parametrize("nesterov, dampening", [(False, 0.0), (False, 0.3), (True, 0.0)])
def test_sgd_momentum_buffer_starts_at_the_first_gradient(nesterov, dampening):
    lr, mu, wd, grads = 0.05, 0.9, 0.01, gradient_sequence()
    theta = initial_values()
    buffers = [None] * len(theta)
    expected = []
    for step_grads in grads:
        new_theta = []
        for i, (t, g) in enumerate(zip(theta, step_grads)):
            g = g + wd * t
            buffers[i] = g.copy() if buffers[i] is None else mu * buffers[i] + (1 - dampening) * g
            direction = g + mu * buffers[i] if nesterov else buffers[i]
            new_theta.append(t - lr * direction)
        theta = new_theta
        expected.append(theta)
    history = run(
        lambda p: optim.SGD(p, lr=lr, momentum=mu, dampening=dampening, weight_decay=wd, nesterov=nesterov),
        grads,
    )
    assert_history(history, expected)


def test_adagrad_divides_by_the_root_of_the_summed_squares():
    lr, decay, wd, s0, eps, grads = 0.1, 0.05, 0.01, 0.2, 1e-10, gradient_sequence()
    theta = initial_values()
    sums = [np.full(shape, s0) for shape in SHAPES]
    expected = []
    for t_step, step_grads in enumerate(grads, start=1):
        clr = lr / (1 + (t_step - 1) * decay)
        new_theta = []
        for i, (t, g) in enumerate(zip(theta, step_grads)):
            g = g + wd * t
            sums[i] = sums[i] + g**2
            new_theta.append(t - clr * g / (np.sqrt(sums[i]) + eps))
        theta = new_theta
        expected.append(theta)
    history = run(
        lambda p: optim.Adagrad(p, lr=lr, lr_decay=decay, weight_decay=wd, initial_accumulator_value=s0), grads
    )
    assert_history(history, expected)


@pytest.mark.parametrize("momentum, centered", [(0.0, False), (0.8, False), (0.0, True), (0.5, True)])
def test_rmsprop_uses_a_running_average_of_squares(momentum, centered):
    lr, alpha, eps, wd, grads = 0.01, 0.9, 1e-8, 0.02, gradient_sequence()
    theta = initial_values()
    square = [np.zeros(shape) for shape in SHAPES]
    mean = [np.zeros(shape) for shape in SHAPES]
    buffer = [np.zeros(shape) for shape in SHAPES]
    expected = []
    for step_grads in grads:
        new_theta = []
        for i, (t, g) in enumerate(zip(theta, step_grads)):
            g = g + wd * t
            square[i] = alpha * square[i] + (1 - alpha) * g**2
            mean[i] = alpha * mean[i] + (1 - alpha) * g
            variance = square[i] - mean[i] ** 2 if centered else square[i]
            scaled = g / (np.sqrt(variance) + eps)
            if momentum:
                buffer[i] = momentum * buffer[i] + scaled
                new_theta.append(t - lr * buffer[i])
            else:
                new_theta.append(t - lr * scaled)
        theta = new_theta
        expected.append(theta)
    history = run(
        lambda p: optim.RMSprop(p, lr=lr, alpha=alpha, eps=eps, weight_decay=wd, momentum=momentum, centered=centered),
        grads,
    )
    assert_history(history, expected)


def adam_by_hand(grads, lr, beta1, beta2, eps, weight_decay, decoupled):
    theta = initial_values()
    m = [np.zeros(shape) for shape in SHAPES]
    v = [np.zeros(shape) for shape in SHAPES]
    expected = []
    for t_step, step_grads in enumerate(grads, start=1):
        new_theta = []
        for i, (t, g) in enumerate(zip(theta, step_grads)):
            if decoupled:
                t = t * (1 - lr * weight_decay)
            else:
                g = g + weight_decay * t
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g**2
            m_hat = m[i] / (1 - beta1**t_step)
            v_hat = v[i] / (1 - beta2**t_step)
            new_theta.append(t - lr * m_hat / (np.sqrt(v_hat) + eps))
        theta = new_theta
        expected.append(theta)
    return expected


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adam_corrects_the_bias_of_both_moments(weight_decay):
    grads = gradient_sequence()
    expected = adam_by_hand(grads, 0.01, 0.8, 0.95, 1e-8, weight_decay, decoupled=False)
    history = run(lambda p: optim.Adam(p, lr=0.01, betas=(0.8, 0.95), weight_decay=weight_decay), grads)
    assert_history(history, expected)


def test_adamw_decays_the_weights_outside_the_gradient():
    grads = gradient_sequence()
    expected = adam_by_hand(grads, 0.01, 0.9, 0.999, 1e-8, 0.1, decoupled=True)
    assert_history(run(lambda p: optim.AdamW(p, lr=0.01, weight_decay=0.1), grads), expected)
    # With weight decay, Adam and AdamW differ.
    adam = run(lambda p: optim.Adam(p, lr=0.01, weight_decay=0.1), grads)
    assert not np.allclose(adam[-1][0], expected[-1][0])


def test_adam_state_counts_steps_and_keeps_the_raw_averages():
    """The state holds m and v before bias correction, under PyTorch's names."""
    x = tensor([1.0, 2.0], requires_grad=True)
    optimizer = optim.Adam([x], lr=0.01, betas=(0.5, 0.75))
    for grad in ([2.0, -4.0], [4.0, 0.0]):
        set_grads([x], [np.array(grad)])
        optimizer.step()
    state = optimizer.state[x]
    assert state["step"] == 2
    np.testing.assert_allclose(state["exp_avg"], 0.5 * (0.5 * np.array([2.0, -4.0])) + 0.5 * np.array([4.0, 0.0]))
    np.testing.assert_allclose(state["exp_avg_sq"], 0.75 * (0.25 * np.array([4.0, 16.0])) + 0.25 * np.array([16.0, 0.0]))


def test_adam_first_step_moves_every_coordinate_by_about_lr():
    """With bias correction, m̂/√v̂ = g/|g| at step 1, whatever the gradient's size."""
    x = tensor([1.0, -2.0, 3.0], requires_grad=True)
    optimizer = optim.Adam([x], lr=0.1)
    set_grads([x], [np.array([1e-3, -50.0, 7.0])])
    optimizer.step()
    np.testing.assert_allclose(x.data, [0.9, -1.9, 2.9], atol=1e-5)  # ε matters only for tiny g


# --- how optimizers treat parameters ------------------------------------------------


ALL_OPTIMIZERS = [
    pytest.param(lambda p, **kw: optim.SGD(p, lr=0.1, **kw), id="sgd"),
    pytest.param(lambda p, **kw: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1, **kw),
                 id="nesterov"),
    pytest.param(lambda p, **kw: optim.Adagrad(p, lr=0.1, **kw), id="adagrad"),
    pytest.param(lambda p, **kw: optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True, **kw), id="rmsprop"),
    pytest.param(lambda p, **kw: optim.Adam(p, lr=0.01, **kw), id="adam"),
    pytest.param(lambda p, **kw: optim.AdamW(p, lr=0.01, **kw), id="adamw"),
    # Adamax is Exercise 7.1 (see tests/test_optim_exercises.py).
    pytest.param(lambda p, **kw: optim.Adamax(p, lr=0.01, weight_decay=0.1, **kw), id="adamax",
                 marks=pytest.mark.exercise("7.1")),
]
by_optimizer = pytest.mark.parametrize("make", ALL_OPTIMIZERS)


@by_optimizer
def test_optimizers_train_through_backward_in_place_and_keep_float32(make):
    """Minimise |x - 3|² from a float32 leaf; the parameter object and array stay the same."""
    x = tensor(np.zeros(4, dtype=np.float32), requires_grad=True)
    array = x.data
    optimizer = make([x])
    first = None
    for _ in range(50):
        optimizer.zero_grad()
        loss = ((x - 3.0) ** 2).sum()
        loss.backward()
        optimizer.step()
        first = loss.item() if first is None else first
    assert x.data is array and x.dtype == np.float32
    for state in optimizer.state.values():
        for value in state.values():
            assert not isinstance(value, np.ndarray) or value.dtype == np.float32
    assert ((x - 3.0) ** 2).sum().item() < first


@by_optimizer
def test_step_never_changes_the_gradient_and_skips_parameters_without_one(make):
    x = tensor([1.0, 2.0], requires_grad=True)
    y = tensor([5.0], requires_grad=True)
    optimizer = make([x, y])
    set_grads([x], [np.array([0.5, -0.5])])
    grad = x.grad.data.copy()
    optimizer.step()
    np.testing.assert_array_equal(x.grad.data, grad)
    np.testing.assert_array_equal(y.data, [5.0])
    assert y not in optimizer.state


IN_PLACE_OPTIMIZERS = [
    pytest.param(lambda p: optim.Adagrad(p, lr=0.1), id="adagrad"),
    pytest.param(lambda p: optim.RMSprop(p, lr=0.01), id="rmsprop"),
    pytest.param(lambda p: optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True), id="rmsprop-centered"),
    pytest.param(lambda p: optim.Adam(p, lr=0.01), id="adam"),
    pytest.param(lambda p: optim.AdamW(p, lr=0.01), id="adamw"),
    # Adamax computes in place too, but Exercise 7.1 accepts any correct answer.
]


@pytest.mark.parametrize("make", IN_PLACE_OPTIMIZERS)
def test_a_step_creates_no_array_the_size_of_the_parameter(make):
    """After the first step has made the state, every intermediate result goes to the work array."""
    x = tensor(np.zeros(100_000), requires_grad=True)
    optimizer = make([x])
    set_grads([x], [np.linspace(-1.0, 1.0, x.size)])
    optimizer.step()
    tracemalloc.start()  # NumPy reports the memory of its arrays to tracemalloc
    try:
        optimizer.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < x.data.nbytes / 10, f"a step allocated {peak:,} bytes for a parameter of {x.data.nbytes:,}"
    assert list(optimizer.work_arrays) == [x]  # scratch space, kept apart from the saved state
    assert not any(value is optimizer.work_arrays[x] for value in optimizer.state[x].values())


def test_zero_grad_forgets_gradients():
    x = tensor([1.0], requires_grad=True)
    optimizer = optim.SGD([x], lr=0.1)
    (x * 2).sum().backward()
    optimizer.zero_grad()
    assert x.grad is None


def test_step_calls_the_closure_and_returns_its_loss():
    x = tensor([2.0], requires_grad=True)
    optimizer = optim.SGD([x], lr=0.25)

    def closure():
        optimizer.zero_grad()
        loss = (x * x).sum()
        loss.backward()
        return loss

    loss = optimizer.step(closure)
    assert loss.item() == 4.0
    assert x.data[0] == 2.0 - 0.25 * 4.0


def test_parameter_groups_have_their_own_settings():
    a = tensor([1.0], requires_grad=True)
    b = tensor([1.0], requires_grad=True)
    optimizer = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.0)
    assert [group["lr"] for group in optimizer.param_groups] == [0.1, 0.5]
    set_grads([a, b], [np.ones(1), np.ones(1)])
    optimizer.step()
    assert a.data[0] == 0.9 and b.data[0] == 0.5


def test_repr_lists_each_group():
    optimizer = optim.SGD([tensor([1.0], requires_grad=True)], lr=0.1, momentum=0.9)
    assert repr(optimizer) == (
        "SGD (\nParameter Group 0\n    dampening: 0.0\n    lr: 0.1\n    momentum: 0.9\n"
        "    nesterov: False\n    weight_decay: 0.0\n)"
    )


# --- state dicts ----------------------------------------------------------------------


def train(optimizer, params, grads):
    for step_grads in grads:
        set_grads(params, step_grads)
        optimizer.step()


@by_optimizer
def test_state_dict_round_trip_continues_bit_for_bit(make):
    grads = gradient_sequence(steps=8)
    params = [tensor(v, requires_grad=True) for v in initial_values()]
    optimizer = make(params)
    train(optimizer, params, grads[:4])
    saved_params = [p.data.copy() for p in params]
    saved = optimizer.state_dict()

    train(optimizer, params, grads[4:])  # the original run continues
    reference = [p.data.copy() for p in params]

    restored = [tensor(v, requires_grad=True) for v in saved_params]
    other = make(restored)
    other.load_state_dict(saved)
    state = other.state_dict()
    for index, entries in saved["state"].items():
        for key, value in entries.items():
            np.testing.assert_array_equal(state["state"][index][key], value)
    assert state["param_groups"] == saved["param_groups"]
    train(other, restored, grads[4:])
    for got, want in zip(restored, reference):
        np.testing.assert_array_equal(got.data, want)


def test_state_dict_keeps_the_state_in_the_parameter_layout():
    """Saved, loaded (even from row-order arrays), the state is laid out as its parameter is."""
    weight = tensor(np.asfortranarray(np.arange(12.0).reshape(3, 4)), requires_grad=True)
    optimizer = optim.Adam([weight], lr=0.1)
    train(optimizer, [weight], [[np.ones((3, 4))]])
    saved = optimizer.state_dict()
    assert saved["state"][0]["exp_avg"].flags.f_contiguous
    saved["state"][0]["exp_avg_sq"] = np.ascontiguousarray(saved["state"][0]["exp_avg_sq"])  # as from PyTorch
    other = optim.Adam([weight], lr=0.1)
    other.load_state_dict(saved)
    for key in ("exp_avg", "exp_avg_sq"):
        assert other.state[weight][key].flags.f_contiguous, key
        np.testing.assert_array_equal(other.state[weight][key], saved["state"][0][key])


def test_state_dict_is_a_copy():
    x = tensor([1.0, 2.0], requires_grad=True)
    optimizer = optim.Adam([x], lr=0.1)
    train(optimizer, [x], [[np.ones(2)]])
    saved = optimizer.state_dict()
    before = saved["state"][0]["exp_avg"].copy()
    train(optimizer, [x], [[np.ones(2)]])
    np.testing.assert_array_equal(saved["state"][0]["exp_avg"], before)


def test_state_dict_restores_the_learning_rate():
    x = tensor([1.0], requires_grad=True)
    optimizer = optim.SGD([x], lr=0.1)
    optimizer.param_groups[0]["lr"] = 0.01
    other = optim.SGD([tensor([1.0], requires_grad=True)], lr=0.1)
    other.load_state_dict(optimizer.state_dict())
    assert other.param_groups[0]["lr"] == 0.01


def test_loading_a_state_with_a_wrong_shape_is_an_error():
    x = tensor(np.ones((2, 3)), requires_grad=True)
    optimizer = optim.SGD([x], lr=0.1, momentum=0.9)
    train(optimizer, [x], [[np.ones((2, 3))]])
    saved = optimizer.state_dict()
    other = optim.SGD([tensor(np.ones((3, 2)), requires_grad=True)], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"'momentum_buffer' of parameter 0 has shape \(2, 3\).*\(3, 2\)"):
        other.load_state_dict(saved)
    assert other.state == {}


def test_loading_a_state_with_a_wrong_number_of_parameters_is_an_error():
    params = [tensor([1.0], requires_grad=True), tensor([2.0], requires_grad=True)]
    saved = optim.Adam(params).state_dict()
    with pytest.raises(ValueError, match="saved with 2 parameter.*has 1"):
        optim.Adam(params[:1]).load_state_dict(saved)
    two_groups = optim.Adam([{"params": params[:1]}, {"params": params[1:]}]).state_dict()
    with pytest.raises(ValueError, match="2 parameter group.*this optimizer 1"):
        optim.Adam(params).load_state_dict(two_groups)


def test_loading_another_optimizers_state_is_an_error():
    x = tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="different kind of optimizer"):
        optim.Adam([x]).load_state_dict(optim.SGD([x], lr=0.1).state_dict())


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("lr", [-0.1, math.inf, math.nan])
@pytest.mark.parametrize("cls", [optim.SGD, optim.Adagrad, optim.RMSprop, optim.Adam, optim.AdamW, optim.Adamax])
def test_a_negative_or_non_finite_learning_rate_is_an_error(cls, lr):
    with pytest.raises(ValueError, match=f"{cls.__name__}: .*lr"):
        cls([tensor([1.0], requires_grad=True)], lr=lr)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: optim.SGD(p, lr=0.1, momentum=-0.5), "momentum"),
        (lambda p: optim.SGD(p, lr=0.1, momentum=1.5), "momentum"),
        (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1), "weight_decay"),
        (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov"),
        (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov"),
        (lambda p: optim.Adagrad(p, eps=-1e-10), "eps"),
        (lambda p: optim.RMSprop(p, alpha=1.0), "alpha"),
        (lambda p: optim.Adam(p, betas=(0.9, 1.0)), r"betas\[1\]"),
        (lambda p: optim.Adam(p, betas=0.9), "pair"),
        (lambda p: optim.AdamW(p, weight_decay=math.nan), "weight_decay"),
        (lambda p: optim.SGD(p, lr="0.1"), "lr must be a number"),
    ],
)
def test_hyperparameters_out_of_range_are_errors(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make([tensor([1.0], requires_grad=True)])


def test_no_parameters_is_an_error():
    with pytest.raises(ValueError, match="SGD: got no parameters"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="Adam: got no parameters"):
        optim.Adam(iter([]))


def test_the_same_parameter_twice_is_an_error():
    x = tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"parameter 1 \(shape \(1,\)\) is given twice"):
        optim.SGD([x, x], lr=0.1)
    with pytest.raises(ValueError, match="given twice"):
        optim.SGD([{"params": [x]}, {"params": [x]}], lr=0.1)


def test_parameters_must_be_leaf_tensors_that_require_grad():
    with pytest.raises(TypeError, match="parameter 0 is a ndarray, not a Tensor"):
        optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(ValueError, match="does not require grad"):
        optim.SGD([tensor([1.0])], lr=0.1)
    x = tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="computed by Mul"):
        optim.SGD([x * 2], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(x, lr=0.1)


def test_unknown_group_settings_are_errors():
    x = tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"unknown setting\(s\) \['momentun'\]"):
        optim.SGD([{"params": [x], "momentun": 0.9}], lr=0.1)


# --- a property -------------------------------------------------------------------------------


@given(
    lr=st.floats(0.001, 1.0),
    scale=st.floats(1e-3, 1e3),
)
def test_adam_steps_are_bounded_by_the_learning_rate(lr, scale):
    """|Δθ| <= η (1 − β₁) / √(1 − β₂) per step, whatever the gradients' scale."""
    rng = np.random.default_rng(0)
    x = tensor(np.zeros(5), requires_grad=True)
    optimizer = optim.Adam([x], lr=lr)
    bound = lr * (1 - 0.9) / math.sqrt(1 - 0.999) * 1.0001
    for _ in range(10):
        before = x.data.copy()
        set_grads([x], [scale * rng.normal(size=5)])
        optimizer.step()
        assert np.all(np.abs(x.data - before) <= max(bound, lr * 1.0001))
