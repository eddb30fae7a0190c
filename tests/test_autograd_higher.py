"""Higher-order derivatives: create_graph, grad, Hessian-vector products, gradgradcheck."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import framework.autograd as ag
from framework.autograd.functional import hessian, hvp, jacobian
from framework.autograd.gradgradcheck import GradgradcheckError, gradgradcheck
from framework.nn import functional as F

# The programs use exp, tanh, concatenate and where, whose backward methods are
# exercises 2.1, 4.1, 5.1 and 5.2: the student edition leaves these tests out.
pytestmark = [pytest.mark.exercise(i) for i in ("2.1", "4.1", "5.1", "5.2")]

# ---------------------------------------------------------------------------
# Second derivatives of known functions
# ---------------------------------------------------------------------------


def test_second_derivative_of_tanh_from_the_gradients_graph():
    x = ag.tensor([-1.5, -0.2, 0.0, 0.7, 2.0], requires_grad=True)
    (first,) = ag.grad(ag.tanh(x).sum(), x, create_graph=True)
    (second,) = ag.grad(first.sum(), x)
    t = np.tanh(x.data)
    np.testing.assert_allclose(first.data, 1 - t**2, rtol=1e-14)
    np.testing.assert_allclose(second.data, -2 * t * (1 - t**2), rtol=1e-13, atol=1e-15)


def test_derivatives_of_sin_to_the_fourth_order_cycle():
    x = ag.tensor([0.3, 1.1, -2.0], requires_grad=True)
    derivative = ag.sin(x)
    found = []
    for _ in range(4):
        (derivative,) = ag.grad(derivative.sum(), x, create_graph=True)
        found.append(derivative.data)
    expected = [np.cos(x.data), -np.sin(x.data), -np.cos(x.data), np.sin(x.data)]
    for got, want in zip(found, expected):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


def test_backward_with_create_graph_leaves_a_grad_that_can_be_differentiated():
    x = ag.tensor([0.5, -1.0], requires_grad=True)
    (x**3).sum().backward(create_graph=True)
    first = x.grad
    assert first.requires_grad
    np.testing.assert_allclose(first.data, 3 * x.data**2)
    x.grad = None
    first.sum().backward()
    np.testing.assert_allclose(x.grad.data, 6 * x.data)


def test_grad_leaves_grad_attributes_alone():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    (g,) = ag.grad((x * x).sum(), x)
    assert x.grad is None
    np.testing.assert_allclose(g.data, [2.0, 4.0])
    assert not g.requires_grad


def test_grad_of_several_outputs_adds_their_gradients():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y1, y2 = (x * x).sum(), (3 * x).sum()
    (g,) = ag.grad([y1, y2], [x])
    np.testing.assert_allclose(g.data, 2 * x.data + 3)


def test_grad_with_respect_to_an_intermediate_tensor():
    x = ag.tensor([1.0, -2.0], requires_grad=True)
    h = x * 3
    y = (h * h).sum()
    gh, gx = ag.grad(y, [h, x])
    np.testing.assert_allclose(gh.data, 2 * h.data)
    np.testing.assert_allclose(gx.data, 18 * x.data)


def test_grad_outputs_start_a_vector_jacobian_product():
    x = ag.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    v = np.array([[1.0, 0.0], [0.5, 2.0]])
    (g,) = ag.grad(x * x, x, grad_outputs=ag.tensor(v))
    np.testing.assert_allclose(g.data, 2 * x.data * v)


def test_the_ordinary_backward_still_frees_and_create_graph_keeps():
    x = ag.tensor([1.0], requires_grad=True)
    y = ag.exp(x).sum()
    y.backward(create_graph=True)
    y.backward()  # kept by create_graph, so a second pass works
    z = ag.exp(x).sum()
    z.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        z.backward()


def test_getitem_scatter_is_an_operation_with_a_backward():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    picked = x[[0, 0, 2]]
    u = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (g,) = ag.grad(picked, x, grad_outputs=u, create_graph=True)
    assert g.grad_fn.name == "ScatterAdd"
    np.testing.assert_allclose(g.data, [3.0, 0.0, 3.0])  # position 0 was picked twice
    (gu,) = ag.grad((g * ag.tensor([10.0, 20.0, 30.0])).sum(), u)
    np.testing.assert_allclose(gu.data, [10.0, 10.0, 30.0])


def test_fused_losses_are_differentiated_twice_through_their_composite():
    rng = np.random.default_rng(0)
    logits = ag.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    target = np.array([0, 2, 1, 2])
    loss = F.cross_entropy(logits, target)
    (g,) = ag.grad(loss, logits, create_graph=True)
    p = np.exp(logits.data) / np.exp(logits.data).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(g.data, (p - np.eye(3)[target]) / 4, rtol=1e-12)
    assert gradgradcheck(lambda z: F.cross_entropy(z, target), logits) < 1e-6


@pytest.mark.parametrize("x", [0.0, -3.0, 2.5])
def test_binary_cross_entropy_second_derivative_is_that_of_softplus(x):
    logit = ag.tensor([x], requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(logit, np.array([1.0]))
    (g,) = ag.grad(loss, logit, create_graph=True)
    (h,) = ag.grad(g.sum(), logit)
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(g.data, [s - 1], rtol=1e-12)
    np.testing.assert_allclose(h.data, [s * (1 - s)], rtol=1e-12)


# ---------------------------------------------------------------------------
# hvp, hessian, jacobian
# ---------------------------------------------------------------------------


def rosenbrock(p):
    x, y = p[0], p[1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def rosenbrock_hessian(x, y):
    return np.array([[2 - 400 * (y - x * x) + 800 * x * x, -400 * x], [-400 * x, 200.0]])


def test_hessian_of_rosenbrock_matches_the_formula():
    point = np.array([-1.2, 1.0])
    np.testing.assert_allclose(hessian(rosenbrock, point), rosenbrock_hessian(*point), rtol=1e-12)


def test_hvp_is_the_hessian_times_the_vector():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((5, 5))

    def f(x):
        return ag.tanh(ag.matmul(ag.tensor(a), x)).sum() + (x**4).sum()

    x0, v = rng.standard_normal(5), rng.standard_normal(5)
    value, product = hvp(f, x0, v)
    np.testing.assert_allclose(product.data, hessian(f, x0) @ v, rtol=1e-12, atol=1e-12)
    assert value.data == pytest.approx(f(ag.tensor(x0)).item())


def test_hvp_of_several_inputs_and_of_a_linear_function():
    _, (hx, hy) = hvp(lambda x, y: (x * y).sum(), (np.ones(2), np.ones(2)), (np.array([1.0, 2.0]), np.zeros(2)))
    np.testing.assert_allclose(hx.data, [0.0, 0.0])
    np.testing.assert_allclose(hy.data, [1.0, 2.0])
    _, product = hvp(lambda x: (3 * x).sum(), np.ones(3), np.ones(3))
    np.testing.assert_allclose(product.data, np.zeros(3))


def test_jacobian_of_elementwise_and_matrix_functions():
    rng = np.random.default_rng(2)
    a, x0 = rng.standard_normal((3, 4)), rng.standard_normal(4)
    np.testing.assert_allclose(jacobian(lambda x: ag.matmul(ag.tensor(a), x), x0), a, rtol=1e-14)
    np.testing.assert_allclose(jacobian(ag.sin, x0), np.diag(np.cos(x0)), rtol=1e-14)


def test_hessian_and_jacobian_agree_on_the_gradient():
    x0 = np.array([0.3, -0.8, 1.4])

    def f(x):
        return (ag.exp(x) * ag.sin(x[::-1])).sum()

    def gradient(x):
        (g,) = ag.grad(f(x), x, create_graph=True)
        return g

    np.testing.assert_allclose(hessian(f, x0), jacobian(gradient, x0), rtol=1e-13)


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


def test_grad_of_a_non_scalar_needs_grad_outputs():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"output 0 has shape \(2,\).*grad_outputs"):
        ag.grad(x * 2, x)


def test_grad_outputs_of_the_wrong_shape():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"grad_outputs\[0\] has shape \(3,\) but output 0 has shape \(2,\)"):
        ag.grad(x * 2, x, grad_outputs=ag.tensor([1.0, 1.0, 1.0]))


def test_an_input_not_in_the_graph_is_an_error_or_none():
    x = ag.tensor([1.0], requires_grad=True)
    unused = ag.tensor([2.0], requires_grad=True)
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="input 1 .* not part of the graph.*allow_unused=True"):
        ag.grad(y, [x, unused], retain_graph=True)
    gx, gu = ag.grad(y, [x, unused], allow_unused=True)
    assert gu is None and gx.data == pytest.approx([2.0])


def test_an_input_that_does_not_require_grad():
    x = ag.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="input 1 .* does not require grad"):
        ag.grad((x * 2).sum(), [x, ag.tensor([1.0])])


def test_differentiating_a_gradient_computed_without_create_graph_says_to_pass_it():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    (g,) = ag.grad((x**3).sum(), x)
    with pytest.raises(RuntimeError, match="create_graph=True"):
        ag.grad(g.sum(), x)
    (x**3).sum().backward()
    with pytest.raises(RuntimeError, match="create_graph=True"):
        x.grad.sum().backward()


def test_grad_rejects_what_is_not_a_tensor():
    x = ag.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"inputs\[0\] is a ndarray"):
        ag.grad((x * 2).sum(), [np.ones(1)])


def test_hvp_rejects_a_vector_of_another_shape_and_a_non_scalar_function():
    with pytest.raises(ValueError, match=r"vector 0 has shape \(3,\) but input 0 has shape \(2,\)"):
        hvp(lambda x: (x * x).sum(), np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="one value"):
        hvp(lambda x: x * x, np.ones(2), np.ones(2))


def test_gradgradcheck_catches_a_wrong_second_derivative():
    class WrongSquare(ag.Function):
        """y = x**2 with a backward that is right on arrays but records 2 * const(x)."""

        def forward(self, x):
            self.save_for_backward(x.copy())  # a copy: not recognised as the input
            return x * x

        def backward(self, gy):
            (x,) = self.saved
            return 2 * gy * x

    x = ag.tensor([0.5, -1.0], requires_grad=True)
    with pytest.raises(GradgradcheckError, match="input 0 at position"):
        gradgradcheck(lambda t: WrongSquare()(t), x)


# ---------------------------------------------------------------------------
# Property tests: every operation, random shapes, broadcasting, float64
# ---------------------------------------------------------------------------


def values(rng, shape, low=None):
    """Random values of ``shape``; with ``low``, |values| >= low (away from kinks and poles)."""
    v = rng.standard_normal(shape)
    if low is not None:
        v = np.sign(v) * (np.abs(v) + low)
    return v


def first_axis(x):
    """Axis 0, or all axes (None) for a 0-d tensor."""
    return 0 if x.ndim else None


UNARY = {
    "exp": ag.exp,
    "log": lambda x: ag.log(x * x + 0.5),
    "sqrt": lambda x: ag.sqrt(x * x + 0.5),
    "sin": ag.sin,
    "cos": ag.cos,
    "tanh": ag.tanh,
    "sigmoid": ag.sigmoid,
    "relu": lambda x: ag.relu(x) * x,
    "abs": lambda x: ag.abs(x) * x,
    "neg": lambda x: -x * x,
    "clip": lambda x: ag.clip(x, -0.6, 0.7) ** 3,
    "sum": lambda x: ag.sum(x * x, axis=first_axis(x), keepdims=True) * x,
    "mean": lambda x: ag.mean(ag.exp(x), axis=-1 if x.ndim else None, keepdims=True) * x,
    "max": lambda x: ag.max(x**3, axis=first_axis(x)) ** 2,
    "min": lambda x: ag.min(x**3) * x,
    "reshape": lambda x: ag.reshape(x, (-1,)) ** 3,
    "transpose": lambda x: ag.transpose(x) * ag.transpose(x) ** 2,
    "getitem": lambda x: x[::-1] ** 3 if x.ndim else x**3,
    "gather": lambda x: x[[0, 0, -1]] ** 3 if x.ndim else x**3,
    "mask": lambda x: ag.sin(x[x.data > 0]),
    "broadcast_to": lambda x: ag.broadcast_to(x, (2,) + x.shape) ** 2,
    "sum_to": lambda x: ag.sum_to(x * x, (1,) * x.ndim) * x,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.1) * x,
    "softmax": lambda x: F.softmax(x, axis=-1) if x.ndim else F.softmax(x.reshape(1)),
    "log_softmax": lambda x: F.log_softmax(x, axis=0) if x.ndim else x**2,
}

KINKED = {"relu", "abs", "clip", "leaky_relu", "max", "min", "mask"}


@pytest.mark.parametrize("name", sorted(UNARY))
@settings(max_examples=8, deadline=None)
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3), seed=st.integers(0, 2**32 - 1))
def test_second_derivatives_of_unary_operations(name, shape, seed):
    rng = np.random.default_rng(seed)
    x = ag.tensor(values(rng, shape, 0.1 if name in KINKED else None), requires_grad=True)
    if name == "clip":  # keep away from the bounds too
        x = ag.tensor(np.where(np.abs(np.abs(x.data) - 0.65) < 0.1, 0.2, x.data), requires_grad=True)
    if name in ("max", "min"):  # distinct values: no ties
        x = ag.tensor(np.sort(rng.permutation(x.size) * 0.3 + 0.2).reshape(shape) * rng.choice([-1, 1]), requires_grad=True)
    assert gradgradcheck(UNARY[name], x) < 1e-5


def checkerboard(a, b):
    """A mask of the broadcast shape of a and b, alternately true and false."""
    shape = np.broadcast_shapes(a.shape, b.shape)
    return np.arange(int(np.prod(shape))).reshape(shape) % 2 == 0


BINARY = {
    "add": lambda a, b: (a + b) ** 3,
    "sub": lambda a, b: (a - b) ** 3,
    "mul": lambda a, b: a * b * a,
    "div": lambda a, b: a / (b * b + 0.5),
    "pow": lambda a, b: (a * a + 0.5) ** ag.sin(b),
    "maximum": lambda a, b: ag.maximum(a, b) ** 3,
    "minimum": lambda a, b: ag.minimum(a, b) ** 3,
    "where": lambda a, b: ag.where(checkerboard(a, b), a * b, b**2),
    "stack": lambda a, b: ag.stack([ag.broadcast_to(a, np.broadcast_shapes(a.shape, b.shape)), a * b], axis=0) ** 2,
    "concatenate": lambda a, b: ag.concatenate([(a * b).reshape(-1), a.reshape(-1) ** 3], axis=0),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@settings(max_examples=8, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3), seed=st.integers(0, 2**32 - 1))
def test_second_derivatives_of_binary_operations_with_broadcasting(name, shapes, seed):
    rng = np.random.default_rng(seed)
    a_shape, b_shape = shapes.input_shapes
    a = ag.tensor(values(rng, a_shape), requires_grad=True)
    b = ag.tensor(values(rng, b_shape), requires_grad=True)
    if name in ("maximum", "minimum"):  # no ties
        b = ag.tensor(b.data + 0.05 * np.sign(b.data - 0.0), requires_grad=True)
    assert gradgradcheck(BINARY[name], a, b) < 1e-5


@settings(max_examples=8, deadline=None)
@given(
    batch=hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3),
    sizes=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)),
    vector=st.sampled_from(["none", "first", "second"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_second_derivatives_of_matmul_with_batches_and_vectors(batch, sizes, vector, seed):
    rng = np.random.default_rng(seed)
    n, k, m = sizes
    a_shape = (k,) if vector == "first" else batch + (n, k)
    b_shape = (k,) if vector == "second" else (k, m)
    a = ag.tensor(rng.standard_normal(a_shape), requires_grad=True)
    b = ag.tensor(rng.standard_normal(b_shape), requires_grad=True)
    assert gradgradcheck(lambda a, b: ag.matmul(a, b) ** 2, a, b) < 1e-5


@settings(max_examples=8, deadline=None)
@given(rows=st.integers(1, 4), features=st.tuples(st.integers(1, 3), st.integers(1, 3)), seed=st.integers(0, 2**32 - 1))
def test_second_derivatives_of_layers_and_losses(rows, features, seed):
    rng = np.random.default_rng(seed)
    n_in, n_out = features
    x = ag.tensor(rng.standard_normal((rows, n_in)), requires_grad=True)
    w = ag.tensor(rng.standard_normal((n_out, n_in)), requires_grad=True)
    b = ag.tensor(rng.standard_normal(n_out), requires_grad=True)
    target = rng.integers(0, n_out, size=rows)
    goal = rng.standard_normal((rows, n_out))
    probabilities = rng.random((rows, n_out))
    assert gradgradcheck(lambda x, w, b: F.linear(x, w, b) ** 2, x, w, b) < 1e-5
    assert gradgradcheck(lambda x, w: F.cross_entropy(ag.tanh(F.linear(x, w)), target), x, w) < 1e-5
    for reduction in ("mean", "sum", "none"):
        assert gradgradcheck(lambda z: F.mse_loss(ag.sin(z), ag.tensor(goal), reduction=reduction), F.linear(x, w).detach().requires_grad_()) < 1e-5
        assert gradgradcheck(lambda z: F.binary_cross_entropy_with_logits(z * z, probabilities, reduction=reduction), F.linear(x, w).detach().requires_grad_()) < 1e-5


@pytest.mark.parametrize("order", [3])
def test_third_derivatives_of_a_composition(order):
    x = ag.tensor([0.4, -0.9], requires_grad=True)
    d = (ag.exp(x) * ag.tanh(x)).sum()
    for _ in range(order):
        (d,) = ag.grad(d.sum() if d.ndim else d, x, create_graph=True)
    # d^3/dx^3 (e^x tanh x) by hand: e^x (t + 3 s - 6 t s + 3(-2 s^2 + 4 t^2 s)) where s = 1 - t^2
    t = np.tanh(x.data)
    s = 1 - t**2
    t1, t2, t3 = s, -2 * t * s, -2 * s * s + 4 * t * t * s
    expected = np.exp(x.data) * (t + 3 * t1 + 3 * t2 + t3)
    np.testing.assert_allclose(d.data, expected, rtol=1e-12)


def test_an_operation_that_cannot_record_its_backward_is_refused_clearly():
    from framework import nn

    layer = nn.RNN(2, 3)
    x = ag.tensor(np.random.default_rng(0).standard_normal((4, 1, 2)), requires_grad=True, dtype=np.float32)
    output = layer(x)
    output = output[0] if isinstance(output, tuple) else output
    with pytest.raises(RuntimeError, match="Recurrence: its backward cannot be recorded"):
        ag.grad((output**2).sum(), x, create_graph=True)


@settings(max_examples=8, deadline=None)
@given(rows=st.integers(1, 4), width=st.integers(1, 3), count=st.integers(1, 5), seed=st.integers(0, 2**32 - 1))
def test_second_derivatives_of_embedding_lookups(rows, width, count, seed):
    from framework.nn.embedding import gather_rows

    rng = np.random.default_rng(seed)
    weight = ag.tensor(rng.standard_normal((rows, width)), requires_grad=True)
    indices = rng.integers(0, rows, size=count)
    assert gradgradcheck(lambda w: gather_rows(w, indices) ** 3, weight) < 1e-5
