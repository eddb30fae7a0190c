"""Second derivatives through Chapter 9's layers (convolution, pooling, batch norm, dropout).

Each operation is differentiated twice with ``create_graph`` and checked
by ``gradgradcheck`` against central differences of its gradient, in
float64, for several strides, paddings and dilations. Batch normalisation
saves values computed from its input, so it is differentiated again
through its ``composite``; the test of it fails if that is missing.
"""

import numpy as np
import pytest

from framework.autograd import tensor
from framework.autograd.gradgradcheck import gradgradcheck
from framework.nn import functional as F

# Average pooling's backward is exercise 9.1: the student edition leaves these tests out.
pytestmark = pytest.mark.exercise("9.1")


def _tensor(rng, *shape):
    return tensor(rng.normal(size=shape), requires_grad=True)


@pytest.mark.parametrize("stride, padding, dilation, groups", [
    (1, 0, 1, 1), (2, 1, 1, 1), (1, 2, 2, 1), (2, 1, 1, 2),
])
def test_conv2d_second_derivatives(stride, padding, dilation, groups):
    rng = np.random.default_rng(stride * 10 + padding + 3 * dilation + groups)
    x, w, b = _tensor(rng, 2, 4, 7, 6), _tensor(rng, 4, 4 // groups, 3, 2), _tensor(rng, 4)

    def f(x, w, b):
        y = F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
        return y * y

    assert gradgradcheck(f, x, w, b) < 1e-6


@pytest.mark.parametrize("pool", ["max", "avg"])
@pytest.mark.parametrize("kernel, stride, padding", [(2, 2, 0), (3, 2, 1), (3, 1, 1)])
def test_pooling_second_derivatives(pool, kernel, stride, padding):
    rng = np.random.default_rng(kernel + 5 * stride + 7 * padding)
    x = _tensor(rng, 2, 3, 7, 7)
    pooling = F.max_pool2d if pool == "max" else F.avg_pool2d

    def f(x):
        y = pooling(x, kernel, stride=stride, padding=padding)
        return y * y * y

    assert gradgradcheck(f, x) < 1e-6


@pytest.mark.parametrize("shape", [(6, 3), (4, 2, 3, 3)])
@pytest.mark.parametrize("affine", [False, True])
def test_batch_norm_second_derivatives_in_training_mode(shape, affine):
    rng = np.random.default_rng(len(shape) + 2 * affine)
    x = _tensor(rng, *shape)
    params = (_tensor(rng, shape[1]), _tensor(rng, shape[1])) if affine else ()

    def f(x, *params):
        y = F.batch_norm(x, None, None, *params, training=True)
        return y * y * y

    assert gradgradcheck(f, x, *params) < 1e-6


def test_dropout_second_derivative_uses_the_same_mask():
    rng = np.random.default_rng(0)
    x = _tensor(rng, 4, 5)
    generator = np.random.default_rng(1)

    def f(x):
        # the same seed at every call: the finite differences see the same mask as backward
        generator.bit_generator.state = np.random.default_rng(7).bit_generator.state
        y = F.dropout(x, 0.4, training=True, generator=generator)
        return y * y * y

    assert gradgradcheck(f, x) < 1e-6
