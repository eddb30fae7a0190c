"""The claims of Chapters 6 to 8, checked again from the package.

Each test recomputes what a sentence of the chapters says (a derivative, a
rate, a variance factor), independently of the notebooks and, where the
chapter derives a formula, against something that does not use it: central
differences, eigenvalues, another way of writing the same algorithm.
"""

import numpy as np
import pytest

from framework import nn, optim
from framework.autograd import tensor
from framework.differentiate.numerical import gradient as numerical_gradient
from framework.differentiate.numerical import jacobian as numerical_jacobian
from framework.nn import functional as F
from framework.nn import init

# --- Chapter 6: the gradients of the losses ------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_cross_entropy_gradient_is_softmax_minus_one_hot(seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, size=(5, 4))
    labels = rng.integers(0, 4, size=5)
    by_differences = numerical_gradient(lambda z: F.cross_entropy(tensor(z), labels).item(), logits)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    softmax_minus_one_hot = shifted / shifted.sum(axis=1, keepdims=True) - np.eye(4)[labels]
    assert np.allclose(by_differences, softmax_minus_one_hot / 5, atol=1e-7)


def test_binary_cross_entropy_gradient_is_sigmoid_minus_target():
    x = np.array([-30.0, -2.0, -0.1, 0.0, 0.7, 5.0])
    y = np.array([1.0, 0.0, 1.0, 0.0, 1.0, 0.0])
    by_differences = numerical_gradient(
        lambda v: F.binary_cross_entropy_with_logits(tensor(v), y, reduction="sum").item(), x)
    assert np.allclose(by_differences, 1 / (1 + np.exp(-x)) - y, atol=1e-7)


def test_softmax_backward_is_the_vector_jacobian_product():
    rng = np.random.default_rng(0)
    x, g = rng.normal(size=6), rng.normal(size=6)
    x_tensor = tensor(x, requires_grad=True)
    F.softmax(x_tensor).backward(g)
    jacobian = numerical_jacobian(lambda v: F.softmax(tensor(v)).data, x)
    assert np.allclose(x_tensor.grad.data, g @ jacobian, atol=1e-8)
    assert np.allclose(jacobian, jacobian.T, atol=1e-8)  # so the JVP is the same vector


def test_mse_loss_has_no_half():
    prediction = tensor(np.array([1.0, 2.0, 4.0]), requires_grad=True)
    F.mse_loss(prediction, np.array([1.5, 2.0, 3.0])).backward()
    assert np.allclose(prediction.grad.data, 2 * np.array([-0.5, 0.0, 1.0]) / 3)


# --- Chapter 6: initialisation, forward and backward --------------------------------


@pytest.mark.parametrize("variance_of", [lambda n_in, n_out: 1 / n_in, lambda n_in, n_out: 1 / n_out,
                                         lambda n_in, n_out: 2 / (n_in + n_out)])
def test_a_layer_multiplies_variance_by_n_in_forward_and_n_out_backward(variance_of):
    n_in, n_out = 1024, 64
    variance = variance_of(n_in, n_out)
    init.manual_seed(0)
    layer = nn.Linear(n_in, n_out, bias=False).double()
    init.normal_(layer.weight, 0.0, np.sqrt(variance))
    x = tensor(np.random.default_rng(0).standard_normal((1000, n_in)), requires_grad=True)
    g = np.random.default_rng(1).standard_normal((1000, n_out))
    out = layer(x)
    out.backward(g)
    assert np.isclose(out.data.var() / x.data.var(), n_in * variance, rtol=0.1)
    assert np.isclose(x.grad.data.var() / g.var(), n_out * variance, rtol=0.1)


@pytest.mark.exercise("4.1")
def test_a_saturated_tanh_stack_makes_gradients_grow_towards_the_input():
    """Ten tanh layers of 256 with N(0, 1) weights: saturated, yet the gradient explodes."""
    init.manual_seed(0)
    layers = []
    for _ in range(10):
        linear = nn.Linear(256, 256, bias=False)
        init.normal_(linear.weight, 0.0, 1.0)
        layers += [linear, nn.Tanh()]
    net = nn.Sequential(*layers)
    x = tensor(np.random.default_rng(0).standard_normal((500, 256)), dtype=np.float32)
    out = net(x)
    (out * tensor(np.random.default_rng(1).standard_normal(out.shape).astype(np.float32))).sum().backward()
    norms = [np.linalg.norm(layer.weight.grad.data) for layer in layers[::2]]
    assert np.mean(np.abs(out.data) > 0.99) > 0.5
    assert all(lower / upper > 2.5 for lower, upper in zip(norms, norms[1:]))


# --- Chapter 7: momentum ----------------------------------------------------------


def heavy_ball_factor(lr, momentum, curvatures=(1.0, 25.0)):
    return max(np.abs(np.linalg.eigvals([[1 + momentum - lr * c, -momentum], [1.0, 0.0]])).max()
               for c in curvatures)


@pytest.mark.parametrize("momentum", [0.3, 0.5, 0.9, 0.99])
def test_momentum_cannot_beat_the_square_root_of_momentum_per_step(momentum):
    for lr in np.linspace(0.001, 2 * (1 + momentum) / 25, 400)[:-1]:
        assert heavy_ball_factor(lr, momentum) >= np.sqrt(momentum) - 1e-12


def test_tuned_momentum_reaches_the_square_root_rate():
    kappa = 25
    best_momentum = ((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)) ** 2
    assert np.isclose(heavy_ball_factor(4 / (1 + np.sqrt(kappa)) ** 2, best_momentum), 2 / 3, atol=1e-6)
    gradient_descent_best = min(heavy_ball_factor(lr, 0.0) for lr in np.linspace(0.001, 0.079, 2000))
    assert np.isclose(gradient_descent_best, (kappa - 1) / (kappa + 1), atol=1e-3)


def run_sgd(start, steps, loss_scale=1.0, **settings):
    x = tensor(np.array(start, dtype=float), requires_grad=True)
    optimizer = optim.SGD([x], **settings)
    points = []
    for _ in range(steps):
        optimizer.zero_grad()
        (loss_scale * (x[0] * x[0] + 25 * x[1] * x[1]) / 2).backward()
        optimizer.step()
        points.append(x.data.copy())
    return np.array(points)


def test_pytorch_nesterov_is_the_look_ahead_form():
    lr, momentum, start = 0.03, 0.9, (-4.0, 1.25)
    stored = run_sgd(start, 40, lr=lr, momentum=momentum, nesterov=True)
    theta, buffer, curvature = np.array(start), np.zeros(2), np.array([1.0, 25.0])
    for point in stored:
        buffer = momentum * buffer + curvature * (theta - lr * momentum * buffer)
        theta = theta - lr * buffer
        assert np.allclose(point, theta - lr * momentum * buffer, atol=1e-12)


def test_scaling_the_loss_is_scaling_the_learning_rate_for_sgd():
    for nesterov in (False, True):
        scaled = run_sgd((-4.0, 1.25), 30, loss_scale=0.05, lr=1.0, momentum=0.7, nesterov=nesterov)
        plain = run_sgd((-4.0, 1.25), 30, lr=0.05, momentum=0.7, nesterov=nesterov)
        assert np.allclose(scaled, plain, rtol=1e-12, atol=1e-12)


def test_rmsprop_first_step_is_ten_learning_rates_and_adam_one():
    gradient = np.array([0.01, -3.0, 100.0])
    for optimizer_class, expected in [(optim.RMSprop, 0.1 / np.sqrt(0.01)), (optim.Adam, 0.1)]:
        theta = tensor(np.zeros(3), requires_grad=True)
        optimizer = optimizer_class([theta], lr=0.1)
        (theta * tensor(gradient)).sum().backward()
        optimizer.step()
        assert np.allclose(theta.data, -expected * np.sign(gradient), rtol=1e-5)


# --- Chapter 8: the classic network at its start ------------------------------------


def test_the_classic_network_starts_with_an_output_that_ignores_the_input():
    from framework.train import classic_mnist_net, predict

    images = np.random.default_rng(0).uniform(0, 1, size=(1000, 784)) * (
        np.random.default_rng(1).uniform(size=(1000, 784)) < 0.2)  # sparse ink, like digits
    scores = predict(classic_mnist_net(dtype=np.float64, seed=0), images)
    offsets = scores.mean(axis=0)
    assert scores.std(axis=0).mean() < offsets.std() / 30
    assert len(np.unique(scores.argmax(axis=1))) == 1
