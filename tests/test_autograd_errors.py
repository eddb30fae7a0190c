"""Bad input gives a clear error naming the operation and the shapes or values."""

import operator

import numpy as np
import pytest

from framework.autograd import (
    Function,
    broadcast_to,
    clip,
    concatenate,
    matmul,
    no_grad,
    reshape,
    stack,
    sum_to,
    tensor,
    transpose,
)


def test_matmul_with_mismatched_shapes():
    a, b = tensor(np.ones((2, 3))), tensor(np.ones((4, 5)))
    with pytest.raises(ValueError) as error:
        a @ b
    message = str(error.value)
    assert "MatMul" in message and "(2, 3)" in message and "(4, 5)" in message
    assert "last dimension of the first argument (3)" in message
    assert "second-to-last dimension of the second (4)" in message


def test_matmul_with_a_vector_of_the_wrong_length():
    with pytest.raises(ValueError, match=r"MatMul.*\(2, 3\), \(4,\).*first dimension of the second \(4\)"):
        matmul(tensor(np.ones((2, 3))), tensor(np.ones(4)))


def test_matmul_with_batches_that_do_not_broadcast():
    with pytest.raises(ValueError, match=r"MatMul.*\(2, 3, 4\), \(5, 4, 6\).*[Bb]roadcast"):
        tensor(np.ones((2, 3, 4))) @ tensor(np.ones((5, 4, 6)))


def test_matmul_of_scalars():
    with pytest.raises(ValueError, match="MatMul.*use mul for scalars"):
        tensor(2.0) @ tensor(3.0)


@pytest.mark.parametrize("op", [operator.add, operator.sub, operator.mul, operator.truediv])
def test_broadcasting_mismatch(op):
    a, b = tensor(np.ones((2, 3))), tensor(np.ones(4))
    with pytest.raises(ValueError) as error:
        op(a, b)
    message = str(error.value)
    assert "(2, 3)" in message and "(4,)" in message
    assert "Broadcasting compares shapes from the right" in message
    assert message.split(":")[0] in {"Add", "Sub", "Mul", "Div"}


def test_backward_on_a_non_scalar_without_a_gradient():
    x = tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"backward: the output has shape \(2, 3\).*backward\(grad\)"):
        (x * 2).backward()


def test_backward_with_a_gradient_of_the_wrong_shape():
    x = tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"gradient has shape \(3,\) but the output has shape \(2, 3\)"):
        (x * 2).backward(np.ones(3))


def test_requires_grad_on_integer_data():
    with pytest.raises(TypeError, match="only floating point tensors can require gradients, got dtype int64"):
        tensor([1, 2], dtype=np.int64, requires_grad=True)
    with pytest.raises(TypeError, match="requires_grad: dtype int32 cannot require gradients"):
        tensor([1, 2], dtype=np.int32).requires_grad_()


def test_backward_through_a_result_computed_under_no_grad():
    x = tensor([1.0, 2.0], requires_grad=True)
    with no_grad():
        y = (x * x).sum()
    with pytest.raises(RuntimeError, match=r"does not require grad.*no_grad\(\)"):
        y.backward()


@pytest.mark.parametrize("other", ["text", [1.0, 2.0], None, {"a": 1}, True])
def test_unsupported_operand_types(other):
    x = tensor([1.0, 2.0])
    with pytest.raises(TypeError, match=f"Mul: unsupported operand of type {type(other).__name__}"):
        x * other
    if not isinstance(other, list):  # a list's own + refuses a tensor before the tensor is asked
        with pytest.raises(TypeError, match=f"Sub: unsupported operand of type {type(other).__name__}"):
            other - x


def test_second_backward_without_retain_graph():
    x = tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"through Sum a second time.*retain_graph=True"):
        y.backward()


def test_axis_out_of_range():
    with pytest.raises(ValueError, match=r"Sum: .*\(2, 3\).*axis 2 is out of range.*2 dimensions"):
        tensor(np.ones((2, 3))).sum(axis=2)
    with pytest.raises(ValueError, match=r"Mean: .*names an axis twice"):
        tensor(np.ones((2, 3))).mean(axis=(0, -2))


def test_shape_operations():
    x = tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"Reshape: .*\(2, 3\).*size 6"):
        reshape(x, (4, 2))
    with pytest.raises(ValueError, match=r"Transpose: .*axes \(0, 0\) are not a permutation of the 2 axes"):
        transpose(x, (0, 0))
    with pytest.raises(ValueError, match=r"BroadcastTo: .*\(2, 3\)"):
        broadcast_to(x, (3, 3))
    with pytest.raises(ValueError, match=r"sum_to: shape \(2, 3\) was not broadcast from \(4,\)"):
        sum_to(x, (4,))
    with pytest.raises(ValueError, match=r"Concatenate: .*\(2, 3\), \(3,\)"):
        concatenate([x, tensor(np.ones(3))])
    with pytest.raises(ValueError, match=r"Stack: .*\(2, 3\), \(3, 2\)"):
        stack([x, tensor(np.ones((3, 2)))])


def test_indexing_out_of_range_and_with_fractions():
    x = tensor([1.0, 2.0, 3.0])
    with pytest.raises(IndexError, match=r"GetItem: .*\(3,\).*index 5 is out of bounds"):
        x[5]
    with pytest.raises(IndexError, match="whole numbers"):
        x[tensor([0.5])]


def test_clip_bounds():
    x = tensor([1.0])
    with pytest.raises(ValueError, match="clip: the lower bound 2 is above the upper bound 1"):
        clip(x, 2, 1)
    with pytest.raises(ValueError, match="clip: give a lower bound"):
        clip(x, None, None)


def test_max_of_an_empty_tensor():
    with pytest.raises(ValueError, match=r"Max: .*\(0,\).*empty"):
        tensor(np.ones(0)).max()


class _WrongShape(Function):
    def forward(self, x):
        return x.sum()

    def backward(self, gy):
        return gy  # forgets to broadcast back to the input's shape


class _WrongCount(Function):
    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        return gy


def test_a_backward_that_returns_the_wrong_shape_is_caught():
    x = tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"_WrongShape.backward returned a gradient of shape \(\) for input 0, which has shape \(2, 3\)"):
        _WrongShape()(x).backward()


def test_a_backward_that_returns_too_few_gradients_is_caught():
    x = tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"_WrongCount.backward returned 1 gradients for 2 inputs"):
        _WrongCount()(x, x).backward()
