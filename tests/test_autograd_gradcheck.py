"""The gradient check itself: it passes right gradients and catches wrong ones."""

import re

import numpy as np
import pytest

from framework.autograd import Function, exp, matmul, sin, tanh, tensor
from framework.autograd.gradcheck import GradcheckError, gradcheck


class SinWithWrongBackward(Function):
    """sin with a backward that is off by 0.1 percent."""

    def forward(self, x):
        self.save_for_backward(x)
        return np.sin(x)

    def backward(self, gy):
        (x,) = self.saved
        return gy * np.cos(x) * 1.001


class SquareForgettingTheTwo(Function):
    """x**2 with the classic mistake dy/dx = x."""

    def forward(self, x):
        self.save_for_backward(x)
        return x * x

    def backward(self, gy):
        (x,) = self.saved
        return gy * x


@pytest.mark.exercise("4.1")
def test_right_gradients_pass_with_a_tiny_error():
    rng = np.random.default_rng(0)
    a = tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = tensor(rng.standard_normal(4), requires_grad=True)
    error = gradcheck(lambda a, b: tanh(matmul(a, b) + 1) * exp(sin(b).sum()), a, b)
    assert 0 <= error < 1e-8


def test_scalar_output():
    x = tensor([0.3, -1.2], requires_grad=True)
    assert gradcheck(lambda x: (x * x * x).sum(), x) < 1e-8


def test_a_wrong_backward_is_caught_and_located():
    x = tensor([[0.1, 0.2], [0.3, 0.4]], requires_grad=True, name="angles")
    with pytest.raises(GradcheckError) as caught:
        gradcheck(lambda x: SinWithWrongBackward()(x), x)
    message = str(caught.value)
    assert "input 0 ('angles') of shape (2, 2)" in message
    assert "position (0, 0)" in message
    values = [float(v) for v in re.findall(r"give[s]? (-?[0-9.e-]+)", message)]
    assert len(values) == 2 and values[0] == pytest.approx(1.001 * values[1], rel=1e-6)
    assert "4 of 4 positions disagree" in message


def test_the_input_is_named_by_its_index_among_several():
    a = tensor(0.5, requires_grad=True)
    b = tensor(1.5, requires_grad=True)
    with pytest.raises(GradcheckError, match=r"input 1 of shape \(\) disagrees at its only position: "
                       r"backward gives 1\.5, central differences give 3\.0"):
        gradcheck(lambda a, b: a + SquareForgettingTheTwo()(b), a, b)


def test_gradcheck_error_is_an_assertion_error():
    assert issubclass(GradcheckError, AssertionError)


@pytest.mark.exercise("2.1")
def test_inputs_are_checked_in_float64_and_left_alone():
    x = tensor(np.array([0.5, 1.5], dtype=np.float32), requires_grad=True)
    seen = []

    def f(x):
        seen.append(x.dtype)
        return exp(x)

    assert gradcheck(f, x) < 1e-8
    assert set(seen) == {np.dtype(np.float64)}
    assert x.grad is None and x.dtype == np.float32


def test_inputs_that_do_not_require_grad_are_constants():
    x = tensor([1.0, 2.0], requires_grad=True)
    c = tensor([3.0, 4.0])
    assert gradcheck(lambda x, c, k: x * c * k, x, c, 2.0) < 1e-8


def test_output_that_does_not_depend_on_the_input():
    x = tensor([1.0, 2.0], requires_grad=True)
    assert gradcheck(lambda x: tensor([5.0, 6.0]), x) == 0.0


def test_a_different_step_still_passes():
    x = tensor([0.7], requires_grad=True)
    assert gradcheck(lambda x: sin(x), x, eps=1e-4, atol=1e-6, rtol=1e-6) < 1e-7


def test_bad_arguments():
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(lambda x: x * 2, tensor([1.0]))
    with pytest.raises(TypeError, match="f must return a Tensor, got float"):
        gradcheck(lambda x: 2.0, tensor([1.0], requires_grad=True))
    with pytest.raises(TypeError, match="f returned dtype float32"):
        gradcheck(lambda x: tensor([1.0], dtype=np.float32), tensor([1.0], requires_grad=True))
