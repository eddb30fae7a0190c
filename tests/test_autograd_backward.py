"""The backward pass: known values, accumulation, deep graphs, retain_graph, no_grad."""

import math

import numpy as np
import pytest

from framework.autograd import (
    Function,
    exp,
    is_grad_enabled,
    no_grad,
    sigmoid,
    sin,
    tensor,
    topological_order,
)

# ---------------------------------------------------------------------------
# Known values
# ---------------------------------------------------------------------------


def test_linear_node_gradients_by_hand():
    """y = w x + b:  dy/dw = x, dy/db = 1, so dw = x * dy and db = dy."""
    w = tensor(0.5, requires_grad=True)
    b = tensor(0.6, requires_grad=True)
    x, dy = 3.0, 0.25
    y = w * x + b
    y.backward(dy)
    assert w.grad.item() == x * dy
    assert b.grad.item() == dy


def test_worked_sgd_example_digit_for_digit():
    """Fit y = 2x + 1 with y = wx + b, loss (y - t)^2 / 2, SGD with learning rate 0.01."""
    w = tensor(0.5, requires_grad=True)
    b = tensor(0.6, requires_grad=True)
    learning_rate = 0.01
    history = []
    for x, t in [(0.0, 1.0), (1.0, 2.9)]:
        loss = (w * x + b - t) ** 2 / 2
        w.zero_grad()
        b.zero_grad()
        loss.backward()
        w.data = w.data - learning_rate * w.grad.data
        b.data = b.data - learning_rate * b.grad.data
        history.append((round(w.item(), 10), round(b.item(), 10)))
    assert history == [(0.5, 0.604), (0.51796, 0.62196)]


def test_value_used_twice_accumulates():
    """b = a + a, c = b + b gives dc/da = 4."""
    a = tensor(3.0, requires_grad=True)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad.item() == 4.0


@pytest.mark.exercise("2.1")
def test_diamond_graph():
    """y = sin(x) * exp(x): both branches reach x."""
    x = tensor(0.7, requires_grad=True)
    (sin(x) * exp(x)).backward()
    assert x.grad.item() == pytest.approx(math.exp(0.7) * (math.cos(0.7) + math.sin(0.7)), rel=1e-14)


def test_three_layer_sigmoid_chain():
    """L1 = s(w1 x), L2 = s(w2 L1), L3 = s(w3 L2), loss = (L3 - y)^2 / 2: chain rule written out."""
    x, y = 0.8, 0.3
    w1, w2, w3 = (tensor(v, requires_grad=True) for v in (0.4, -1.2, 0.9))
    l1 = sigmoid(w1 * x)
    l2 = sigmoid(w2 * l1)
    l3 = sigmoid(w3 * l2)
    loss = (l3 - y) ** 2 / 2
    loss.backward()
    s1, s2, s3 = l1.item(), l2.item(), l3.item()
    d3 = (s3 - y) * s3 * (1 - s3)  # dloss/d(w3 L2)
    d2 = d3 * w3.item() * s2 * (1 - s2)
    d1 = d2 * w2.item() * s1 * (1 - s1)
    assert w3.grad.item() == pytest.approx(d3 * s2, rel=1e-12)
    assert w2.grad.item() == pytest.approx(d2 * s1, rel=1e-12)
    assert w1.grad.item() == pytest.approx(d1 * x, rel=1e-12)


def test_non_scalar_output_with_a_gradient():
    x = tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).backward(np.array([1.0, 0.5, -1.0]))
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0, -6.0])


def test_one_element_output_needs_no_gradient():
    x = tensor([[2.0]], requires_grad=True)
    (x * 3).backward()
    assert x.grad.data.shape == (1, 1) and x.grad.item() == 3.0


# ---------------------------------------------------------------------------
# Depth
# ---------------------------------------------------------------------------


def test_a_hundred_thousand_nodes_deep():
    x = tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.00001
    y.backward()
    assert x.grad.item() == pytest.approx(1.00001**100_000, rel=1e-9)


def test_topological_order_lists_inputs_first():
    a = tensor(1.0, requires_grad=True)
    b = a * 2
    c = b + a
    d = c * b
    order = topological_order(d)
    position = {id(t): i for i, t in enumerate(order)}
    assert len(order) == 4
    assert position[id(a)] < position[id(b)] < position[id(c)] < position[id(d)]


# ---------------------------------------------------------------------------
# Accumulation and a second backward
# ---------------------------------------------------------------------------


def test_gradients_accumulate_across_calls():
    x = tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0 + 2.0, 3.0 + 4.0])
    x.zero_grad()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])


def test_second_backward_needs_retain_graph():
    x = tensor(2.0, requires_grad=True)
    y = x * x * x
    y.backward(retain_graph=True)
    y.backward()  # allowed: the first call kept the saved values
    assert x.grad.item() == 2 * 12.0
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


@pytest.mark.exercise("2.1")
def test_shared_part_of_two_graphs_is_released_by_the_first():
    x = tensor(2.0, requires_grad=True)
    shared = exp(x)
    first, second = shared * 2, shared * 3
    first.backward()
    with pytest.raises(RuntimeError, match="Exp a second time"):
        second.backward()


def test_backward_of_a_leaf():
    x = tensor([1.0, 2.0], requires_grad=True)
    x.backward(np.array([5.0, 6.0]))
    np.testing.assert_array_equal(x.grad.data, [5.0, 6.0])


# ---------------------------------------------------------------------------
# Where gradients go and what they look like
# ---------------------------------------------------------------------------


def test_no_gradient_for_tensors_that_do_not_require_it():
    x = tensor([1.0, 2.0], requires_grad=True)
    c = tensor([3.0, 4.0])
    (x * c).sum().backward()
    assert c.grad is None
    np.testing.assert_array_equal(x.grad.data, [3.0, 4.0])


def test_detach_stops_the_gradient():
    x = tensor(3.0, requires_grad=True)
    (x * x.detach()).backward()
    assert x.grad.item() == 3.0


def test_leaf_gradients_are_read_only_tensors_of_the_leaf_dtype():
    x = tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    (x * np.arange(3.0)).sum().backward()  # a float64 constant makes the flow float64
    assert x.grad.dtype == np.float32
    assert not x.grad.requires_grad and x.grad.grad_fn is None
    with pytest.raises(ValueError, match="read-only"):
        x.grad.data[0] = 1.0


def test_one_gradient_array_shared_by_two_leaves_cannot_be_changed_through_one():
    a, b = tensor([1.0], requires_grad=True), tensor([2.0], requires_grad=True)
    (a + b).backward(np.array([1.0]))
    with pytest.raises(ValueError, match="read-only"):
        a.grad.data += 1


class _OnlyFirst(Function):
    """A function whose backward gives no gradient to its second input."""

    def forward(self, a, b):
        return a * 2

    def backward(self, gy):
        return gy * 2, None


def test_an_input_that_receives_no_gradient_is_skipped():
    a, b = tensor(1.0, requires_grad=True), tensor(1.0, requires_grad=True)
    _OnlyFirst()(a, exp(b)).backward()
    assert a.grad.item() == 2.0 and b.grad is None


def test_needs_input_grad_skips_unneeded_work():
    seen = []

    class Spy(Function):
        def forward(self, a, b):
            return a * b

        def backward(self, gy):
            seen.append(self.needs_input_grad)
            return None, gy

    a, b = tensor(1.0), tensor(2.0, requires_grad=True)
    Spy()(a, b).backward()
    assert seen == [(False, True)]


# ---------------------------------------------------------------------------
# no_grad
# ---------------------------------------------------------------------------


def test_no_grad_records_nothing_and_restores():
    x = tensor([1.0], requires_grad=True)
    assert is_grad_enabled()
    with no_grad():
        assert not is_grad_enabled()
        with no_grad():
            y = x * 2
        assert not is_grad_enabled()
    assert is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert (x * 2).requires_grad


def test_no_grad_restores_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with no_grad():
            1 / 0
    assert is_grad_enabled()
