"""Known values of the examples in Chapters 2 to 5.

Each number the chapters state in their text is computed here again from
the package, independently of the notebooks, so a change in the framework
that would alter the book's story fails here with a clear message.
"""

import numpy as np
import pytest

from framework.autograd import no_grad, relu, sigmoid, sum_to, tensor

# --- Chapter 2: y = w x + b ---------------------------------------------------


def test_linear_node_gradients_are_x_dy_and_dy():
    w = tensor(0.5, requires_grad=True)
    x = tensor(3.0)
    b = tensor(0.25, requires_grad=True)
    y = w * x + b
    assert y.item() == 1.75
    y.backward(-2.0)
    assert w.grad.item() == 3.0 * -2.0, "dw must be x * dy"
    assert b.grad.item() == -2.0, "db must be dy"
    assert x.grad is None, "x does not require grad, so it gets no gradient"


def test_linear_node_gradients_for_random_values():
    rng = np.random.default_rng(2)
    for _ in range(20):
        w_value, x_value, b_value, dy = rng.normal(size=4)
        w = tensor(w_value, requires_grad=True)
        x = tensor(x_value, requires_grad=True)
        b = tensor(b_value, requires_grad=True)
        (w * x + b).backward(dy)
        assert np.isclose(w.grad.item(), x_value * dy)
        assert np.isclose(x.grad.item(), w_value * dy)
        assert np.isclose(b.grad.item(), dy)


def test_calling_the_backward_methods_by_hand_matches_backward():
    w = tensor(0.5, requires_grad=True)
    x = tensor(3.0)
    b = tensor(0.25, requires_grad=True)
    u = w * x
    y = u + b
    du, db = y.grad_fn.backward(np.array(-2.0))
    dw, dx = u.grad_fn.backward(du)
    assert (du, db, dw, dx) == (-2.0, -2.0, -6.0, None)


def test_the_graph_of_the_linear_node():
    w = tensor(0.5, requires_grad=True, name="w")
    x = tensor(3.0, name="x")
    b = tensor(0.25, requires_grad=True, name="b")
    y = w * x + b
    assert y.grad_fn.name == "Add" and not y.is_leaf
    u = y.grad_fn.inputs[0]
    assert u.grad_fn.name == "Mul"
    assert u.grad_fn.inputs[0] is w and u.grad_fn.inputs[1] is x and y.grad_fn.inputs[1] is b
    assert repr(w) == "tensor(0.5, requires_grad=True, name='w')"
    assert repr(y) == "tensor(1.75, grad_fn=<Add>)"


# --- Chapter 4: the three-layer sigmoid chain ----------------------------------


def chain_by_hand(x, y, w1, w2, w3):
    """The gradients of 0.5 (L3 - y)^2 through three sigmoid layers, via the deltas."""

    def s(z):
        return 1 / (1 + np.exp(-z))

    L1 = s(w1 * x)
    L2 = s(w2 * L1)
    L3 = s(w3 * L2)
    delta3 = (L3 - y) * L3 * (1 - L3)
    delta2 = delta3 * w3 * L2 * (1 - L2)
    delta1 = delta2 * w2 * L1 * (1 - L1)
    return delta1 * x, delta2 * L1, delta3 * L2


@pytest.mark.parametrize(
    "x, y, w1, w2, w3",
    [(1.5, 0.9, 0.8, -0.6, 1.3), (-0.5, 0.1, 2.0, 1.0, -3.0), (3.0, 0.5, -0.2, 0.4, 0.7)],
)
def test_three_layer_chain_matches_the_delta_formulas(x, y, w1, w2, w3):
    ws = [tensor(v, requires_grad=True) for v in (w1, w2, w3)]
    h = tensor(x)
    for w in ws:
        h = sigmoid(w * h)
    ((h - y) ** 2 / 2).backward()
    expected = chain_by_hand(x, y, w1, w2, w3)
    for k, (w, value) in enumerate(zip(ws, expected), start=1):
        assert np.isclose(w.grad.item(), value, rtol=1e-12, atol=0), f"gradient of w{k}"


def test_chapter_4_chain_values():
    d_w1, d_w2, d_w3 = chain_by_hand(1.5, 0.9, 0.8, -0.6, 1.3)
    assert f"{d_w3:.8f}" == "-0.02514780"
    assert f"{d_w2:.8f}" == "-0.01540845"
    assert f"{d_w1:.8f}" == "0.00321001"


def test_chapter_4_deltas_are_the_gradients_flowing_into_z():
    from framework.autograd.graph import flowing_gradients

    x_value, y_value, w1, w2, w3 = 1.5, 0.9, 0.8, -0.6, 1.3
    ws = [tensor(v, requires_grad=True) for v in (w1, w2, w3)]
    h, zs = tensor(x_value), []
    for w in ws:
        zs.append(w * h)
        h = sigmoid(zs[-1])
    loss = (h - y_value) ** 2 / 2
    flowing = flowing_gradients(loss)
    d_w1, d_w2, d_w3 = chain_by_hand(x_value, y_value, w1, w2, w3)
    L1, L2 = sigmoid(zs[0]).item(), sigmoid(zs[1]).item()
    deltas = (d_w1 / x_value, d_w2 / L1, d_w3 / L2)
    for k, (z, delta) in enumerate(zip(zs, deltas), start=1):
        assert np.isclose(flowing[z].item(), delta, rtol=1e-12, atol=0), f"dloss/dz{k} must be delta{k}"


def test_a_value_used_twice_twice_gets_gradient_four():
    a = tensor(3.0, requires_grad=True)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad.item() == 4.0


@pytest.mark.parametrize("shape", [(), (3,), (2, 2)])
def test_gradients_accumulate_across_calls_and_zero_grad_clears(shape):
    a = tensor(np.full(shape, 3.0), requires_grad=True)
    (a + a + a + a).sum().backward()
    (a * a).sum().backward()
    assert np.array_equal(a.grad.data, np.full(shape, 4.0 + 6.0))
    a.zero_grad()
    assert a.grad is None
    (a * a).sum().backward()
    assert np.array_equal(a.grad.data, np.full(shape, 6.0))


def test_second_backward_needs_retain_graph():
    a = tensor(3.0, requires_grad=True)
    c = (a + a) + (a + a)
    c.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        c.backward()
    a = tensor(3.0, requires_grad=True)
    c = (a + a) + (a + a)
    c.backward(retain_graph=True)
    c.backward()
    assert a.grad.item() == 8.0


def test_no_grad_records_nothing():
    w = tensor(2.0, requires_grad=True)
    with no_grad():
        result = w * 3
    assert result.grad_fn is None and not result.requires_grad
    with pytest.raises(RuntimeError, match="no_grad"):
        result.backward()


def sgd_on_pairs(pairs, w=0.5, b=0.6, lr=0.01):
    """The worked example: SGD on y = w x + b with loss (y - t)^2 / 2."""
    w = tensor(w, requires_grad=True)
    b = tensor(b, requires_grad=True)
    history = []
    for x, t in pairs:
        ((w * x + b - t) ** 2 / 2).backward()
        for p in (w, b):
            p.data = p.data - lr * p.grad.data
            p.zero_grad()
        history.append((w.item(), b.item()))
    return history


def test_worked_sgd_example_digit_for_digit():
    (w1, b1), (w2, b2) = sgd_on_pairs([(0.0, 1.0), (1.0, 2.9)])
    assert w1 == 0.5, "x = 0 gives w no gradient"
    assert f"{b1:.10f}" == "0.6040000000"
    assert f"{w2:.10f}" == "0.5179600000"
    assert f"{b2:.10f}" == "0.6219600000"
    assert abs(w2 - 0.51796) < 1e-15 and abs(b2 - 0.62196) < 1e-15


def test_worked_sgd_example_approaches_the_line():
    rng = np.random.default_rng(0)
    xs = rng.uniform(-2.0, 2.0, size=1000)
    ts = 2.0 * xs + 1.0 + rng.normal(0.0, 0.1, size=1000)
    history = sgd_on_pairs([(0.0, 1.0), (1.0, 2.9), *zip(xs, ts)])
    w, b = history[-1]
    assert abs(w - 2.0) < 0.05 and abs(b - 1.0) < 0.05


# --- Chapter 5: arrays, matmul, reductions, broadcasting, indexing -------------


def test_scalar_weight_on_a_vector_sums_its_gradient():
    x = tensor([0.0, 1.0, 2.0, 3.0])
    t = tensor([1.0, 2.9, 5.2, 6.8])
    w = tensor(0.5, requires_grad=True)
    b = tensor(0.6, requires_grad=True)
    ((w * x + b - t) ** 2 / 2).mean().backward()
    dy = (0.5 * x.data + 0.6 - t.data) / 4
    assert np.isclose(w.grad.item(), np.sum(dy * x.data)) and np.isclose(w.grad.item(), -5.775)
    assert np.isclose(b.grad.item(), np.sum(dy)) and np.isclose(b.grad.item(), -2.625)


def test_pairwise_differences_gradients_sum_over_the_stretched_axis():
    p = tensor([0.5, 2.0, -1.0, 3.0], requires_grad=True)
    q = tensor([1.0, -2.0, 0.5], requires_grad=True)
    ((p.reshape(-1, 1) - q) ** 2 / 2).sum().backward()
    D = p.data.reshape(-1, 1) - q.data
    assert p.grad.shape == (4,) and q.grad.shape == (3,)
    assert np.allclose(p.grad.data, D.sum(axis=1)) and np.allclose(q.grad.data, -D.sum(axis=0))


def test_matmul_gradients_are_ybar_bt_and_at_ybar():
    rng = np.random.default_rng(1)
    A = tensor(rng.normal(size=(2, 3)), requires_grad=True)
    B = tensor(rng.normal(size=(3, 4)), requires_grad=True)
    Y_bar = rng.normal(size=(2, 4))
    (A @ B).backward(Y_bar)
    assert np.allclose(A.grad.data, Y_bar @ B.data.T)
    assert np.allclose(B.grad.data, A.data.T @ Y_bar)


@pytest.mark.parametrize(
    "shape_a, shape_b, shape_y",
    [
        ((2, 3), (3, 4), (2, 4)),
        ((3,), (3, 4), (4,)),
        ((2, 3), (3,), (2,)),
        ((3,), (3,), ()),
        ((5, 2, 3), (3, 4), (5, 2, 4)),
        ((5, 2, 3), (5, 3, 4), (5, 2, 4)),
    ],
)
def test_matmul_shapes_of_results_and_gradients(shape_a, shape_b, shape_y):
    a = tensor(np.ones(shape_a), requires_grad=True)
    b = tensor(np.ones(shape_b), requires_grad=True)
    y = a @ b
    y.sum().backward()
    assert y.shape == shape_y and a.grad.shape == shape_a and b.grad.shape == shape_b


def test_reduction_gradients_of_the_chapter():
    X = tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    X.sum(axis=1).backward(np.array([10.0, 20.0]))
    assert np.array_equal(X.grad.data, [[10, 10, 10], [20, 20, 20]])
    X.zero_grad()
    X.mean(axis=0).backward(np.array([3.0, 6.0, 9.0]))
    assert np.array_equal(X.grad.data, [[1.5, 3, 4.5], [1.5, 3, 4.5]])
    X.zero_grad()
    X.max(axis=1).backward(np.array([1.0, 1.0]))
    assert np.array_equal(X.grad.data, [[0, 0, 1], [0, 0, 1]])
    ties = tensor([1.0, 3.0, 3.0], requires_grad=True)
    ties.max().backward()
    assert np.array_equal(ties.grad.data, [0, 0.5, 0.5])


def test_reshape_and_transpose_send_gradients_back_where_values_came_from():
    X = tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    Z = X.reshape(3, 2).T
    G = np.arange(100.0, 106.0).reshape(Z.shape)
    Z.backward(G)
    assert np.array_equal(X.grad.data, [[100, 103, 101], [104, 102, 105]])


def test_sum_to_of_the_chapter():
    assert np.array_equal(sum_to(np.ones((2, 3, 4)), (3, 1)), np.full((3, 1), 8.0))


def test_bias_gradients_are_sums_over_the_broadcast_axes():
    rng = np.random.default_rng(3)
    batch = tensor(rng.normal(size=(4, 3)), requires_grad=True)
    row_bias = tensor(np.zeros(3), requires_grad=True)
    column_bias = tensor(np.zeros((4, 1)), requires_grad=True)
    G = rng.normal(size=(4, 3))
    (batch + row_bias + column_bias).backward(G)
    assert np.allclose(row_bias.grad.data, G.sum(axis=0))
    assert np.allclose(column_bias.grad.data, G.sum(axis=1, keepdims=True))
    assert np.allclose(batch.grad.data, G)


def test_repeated_indices_accumulate():
    v = tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    v[[0, 0, 2]].backward(np.array([1.0, 10.0, 100.0]))
    assert np.array_equal(v.grad.data, [11, 0, 100, 0])
    table = tensor(np.arange(10.0).reshape(5, 2), requires_grad=True)
    table[np.array([1, 3, 1])].backward(np.ones((3, 2)))
    assert np.array_equal(table.grad.data, [[0, 0], [2, 2], [0, 0], [1, 1], [0, 0]])


def test_two_layer_network_gradient_shapes_and_bias_gradient():
    rng = np.random.default_rng(4)
    X = tensor(rng.normal(size=(8, 4)))
    W1 = tensor(rng.normal(size=(4, 5)), requires_grad=True)
    b1 = tensor(rng.normal(size=5), requires_grad=True)
    W2 = tensor(rng.normal(size=(5, 3)), requires_grad=True)
    b2 = tensor(rng.normal(size=3), requires_grad=True)
    (relu(X @ W1 + b1) @ W2 + b2).mean().backward()
    for p in (W1, b1, W2, b2):
        assert p.grad.shape == p.shape
    assert np.allclose(b2.grad.data, 1 / 3), "mean over 24 outputs, each b2 entry used 8 times"


# --- Chapter 3: paths, order and branches ------------------------------------


def halve_or_triple(x, steps=4):
    y = x
    for _ in range(steps):
        y = y / 2 if y.item() > 1 else y * 3
    return y


@pytest.mark.parametrize("start, value, slope", [(0.5, 1.125, 2.25), (3.0, 1.125, 0.375)])
def test_halve_or_triple_same_value_different_gradients(start, value, slope):
    s = tensor(start, requires_grad=True)
    result = halve_or_triple(s)
    result.backward()
    assert result.item() == value and s.grad.item() == slope


def test_halve_or_triple_jumps_at_four_thirds():
    below = halve_or_triple(tensor(4 / 3 - 1e-9)).item()
    above = halve_or_triple(tensor(4 / 3 + 1e-9)).item()
    assert abs(below - 3) < 1e-6 and abs(above - 0.5) < 1e-6


def backward_calls_along_paths(output):
    """The number of backward calls when every contribution is sent on as it arrives."""
    calls = 0
    pending = [(output, np.ones_like(output.data))]
    while pending:
        node, g = pending.pop()
        if node.grad_fn is None:
            continue
        calls += 1
        for parent, share in zip(node.grad_fn.inputs, node.grad_fn.backward(g)):
            if share is not None and parent.requires_grad:
                pending.append((parent, share))
    return calls


@pytest.mark.parametrize("n", [1, 4, 10])
def test_paths_cost_two_to_the_n_minus_one_calls_the_order_n(n):
    from framework.autograd import topological_order
    from framework.autograd.graph import reverse_walk

    start = tensor(1.0, requires_grad=True)
    t = start
    for _ in range(n):
        t = t + t
    assert backward_calls_along_paths(t) == 2**n - 1
    assert sum(node.grad_fn is not None for node in topological_order(t)) == n
    assert reverse_walk(t, np.ones(()))[start] == 2.0**n


# --- Chapter 4: forward mode gives columns, reverse mode rows ----------------


@pytest.mark.parametrize("seed", range(3))
def test_jacobian_by_columns_equals_jacobian_by_rows(seed):
    from framework.autograd import stack
    from framework.differentiate import dual

    def f(v):
        x, y, z = v
        return [x * y + z, x * z * z - y]

    point = np.random.default_rng(seed).normal(size=3).tolist()
    by_columns = np.column_stack([dual.jacobian_vector_product(f, point, e) for e in np.eye(3)])
    leaves = [tensor(v, requires_grad=True) for v in point]
    outputs = stack(f(leaves))
    rows = []
    for u in np.eye(2):
        for leaf in leaves:
            leaf.zero_grad()
        outputs.backward(u, retain_graph=True)
        rows.append([leaf.grad.item() for leaf in leaves])
    assert np.allclose(by_columns, rows, rtol=1e-14, atol=1e-14)


# --- Chapter 5: a matrix used twice ------------------------------------------


def test_gram_matrix_gradient_has_both_contributions():
    rng = np.random.default_rng(0)
    A = tensor(rng.normal(size=(4, 3)), requires_grad=True)
    G_bar = rng.normal(size=(4, 4))
    (A @ A.T).backward(G_bar)
    assert np.allclose(A.grad.data, G_bar @ A.data + G_bar.T @ A.data)
