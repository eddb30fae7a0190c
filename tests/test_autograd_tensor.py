"""The Tensor class: construction, attributes, repr, operators and NumPy interplay."""

import numpy as np
import pytest

from framework.autograd import Tensor, as_array, exp, no_grad, swapaxes, tensor

# ---------------------------------------------------------------------------
# Construction and attributes
# ---------------------------------------------------------------------------


def test_tensor_is_floating_point_by_default():
    assert tensor(3).dtype == np.float64
    assert tensor([1, 2, 3]).dtype == np.float64
    assert tensor([[True, False]]).dtype == np.float64
    assert tensor(np.arange(4)).dtype == np.float64


def test_tensor_keeps_float32_and_honours_dtype():
    assert tensor(np.ones(3, dtype=np.float32)).dtype == np.float32
    assert tensor([1, 2], dtype=np.float32).dtype == np.float32
    assert tensor([1, 2], dtype=np.int64).dtype == np.int64


def test_tensor_copies_but_Tensor_wraps():
    values = np.zeros(3)
    copied, wrapped = tensor(values), Tensor(values)
    values[0] = 7.0
    assert copied.data[0] == 0.0
    assert wrapped.data[0] == 7.0


def test_attributes():
    x = tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True, name="x")
    assert x.shape == (2, 3)
    assert x.ndim == 2
    assert x.size == 6
    assert x.dtype == np.float64
    assert len(x) == 2
    assert x.is_leaf and x.grad_fn is None and x.grad is None
    assert x.requires_grad and x.name == "x"
    assert x.numpy() is x.data
    y = x * 2
    assert not y.is_leaf and y.grad_fn.name == "Mul" and y.requires_grad


def test_item_float_bool_and_format():
    x = tensor([2.5])
    assert x.item() == 2.5 and isinstance(x.item(), float)
    assert float(x) == 2.5
    assert bool(tensor(1.0)) and not bool(tensor(0.0))
    assert f"{tensor(1 / 3):.3f}" == "0.333"
    with pytest.raises(ValueError, match=r"item: only a tensor with one element.*\(2,\)"):
        tensor([1.0, 2.0]).item()


def test_detach_shares_values_and_leaves_the_graph():
    x = tensor([1.0, 2.0], requires_grad=True)
    y = (x * 3).detach()
    assert y.is_leaf and not y.requires_grad
    assert np.array_equal(y.data, [3.0, 6.0])


def test_zero_grad_and_requires_grad_():
    x = tensor([1.0, 2.0])
    assert x.requires_grad_() is x and x.requires_grad
    (x * x).sum().backward()
    assert x.grad is not None
    x.zero_grad()
    assert x.grad is None


def test_iteration_gives_rows_in_the_graph():
    x = tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    rows = list(x)
    assert [r.shape for r in rows] == [(2,), (2,)]
    (rows[0] * rows[1]).sum().backward()
    assert np.array_equal(x.grad.data, [[3.0, 4.0], [1.0, 2.0]])
    with pytest.raises(TypeError, match="0-d"):
        iter(tensor(1.0))


# ---------------------------------------------------------------------------
# repr
# ---------------------------------------------------------------------------


@pytest.fixture
def print_options():
    with np.printoptions(precision=4, suppress=True):
        yield


def test_repr_small(print_options):
    assert repr(tensor(3.0)) == "tensor(3.)"
    assert repr(tensor([1.5, 2.0], requires_grad=True)) == "tensor([1.5, 2. ], requires_grad=True)"
    assert repr(tensor([1, 2], dtype=np.float32, name="w")) == "tensor([1., 2.], dtype=float32, name='w')"
    a = tensor(2.0, requires_grad=True)
    assert repr(a * 3) == "tensor(6., grad_fn=<Mul>)"
    assert repr(tensor([[1.0, 2.0], [3.0, 4.0]])) == "tensor([[1., 2.],\n        [3., 4.]])"


def test_repr_is_short_for_large_tensors_and_has_no_address(print_options):
    text = repr(tensor(np.arange(10000.0).reshape(100, 100)))
    assert "..." in text
    assert len(text) < 600
    assert "0x" not in repr(tensor(1.0, requires_grad=True) * 2)


# ---------------------------------------------------------------------------
# Operators with numbers and arrays on either side
# ---------------------------------------------------------------------------


OPERATOR_CASES = [
    (lambda x: x + 2, lambda v: v + 2),
    (lambda x: 2 + x, lambda v: 2 + v),
    (lambda x: x - 2, lambda v: v - 2),
    (lambda x: 2 - x, lambda v: 2 - v),
    (lambda x: x * 2, lambda v: v * 2),
    (lambda x: 2 * x, lambda v: 2 * v),
    (lambda x: x / 2, lambda v: v / 2),
    (lambda x: 2 / x, lambda v: 2 / v),
    (lambda x: x**2, lambda v: v**2),
    (lambda x: 2**x, lambda v: 2**v),
    (lambda x: -x, lambda v: -v),
    (lambda x: +x, lambda v: +v),
    (lambda x: abs(x), lambda v: abs(v)),
    (lambda x: x + np.ones(3), lambda v: v + np.ones(3)),
    (lambda x: np.ones(3) + x, lambda v: np.ones(3) + v),
    (lambda x: np.arange(3.0) * x, lambda v: np.arange(3.0) * v),
    (lambda x: np.full(3, 6.0) / x, lambda v: np.full(3, 6.0) / v),
    (lambda x: np.ones(3) - x, lambda v: np.ones(3) - v),
    (lambda x: np.float64(2.0) * x, lambda v: np.float64(2.0) * v),
    (lambda x: x @ np.ones((3, 2)), lambda v: v @ np.ones((3, 2))),
    (lambda x: np.ones((2, 3)) @ x, lambda v: np.ones((2, 3)) @ v),
]


@pytest.mark.parametrize("apply, expected", OPERATOR_CASES)
def test_operators_with_numbers_and_arrays_on_either_side(apply, expected):
    values = np.array([1.0, -2.0, 3.0])
    x = tensor(values, requires_grad=True)
    result = apply(x)
    assert isinstance(result, Tensor)
    assert result.requires_grad or result is x
    np.testing.assert_allclose(result.data, expected(values))


def test_python_numbers_keep_the_tensor_dtype():
    x = tensor([1.0, 2.0], dtype=np.float32, requires_grad=True)
    for result in (x * 2, 2 * x, x + 0.5, x / 3, 1 - x, x**2, 2.0**x):
        assert result.dtype == np.float32
    (x * 2.5).sum().backward()
    assert x.grad.dtype == np.float32


def test_a_float_number_never_truncates_an_integer_tensor():
    n = tensor([1, 2], dtype=np.int64)
    np.testing.assert_array_equal((n * 2.5).data, [2.5, 5.0])
    assert (n * 2).dtype == np.int64


def test_comparisons_give_plain_boolean_arrays():
    x = tensor([1.0, 2.0, 3.0])
    assert isinstance(x > 1.5, np.ndarray)
    np.testing.assert_array_equal(x > 1.5, [False, True, True])
    np.testing.assert_array_equal(x == tensor([1.0, 0.0, 3.0]), [True, False, True])
    np.testing.assert_array_equal(np.ones(3) <= x, [True, True, True])
    assert {x: 1}[x] == 1  # hashable by identity


# ---------------------------------------------------------------------------
# NumPy functions on tensors
# ---------------------------------------------------------------------------


def test_numpy_ufuncs_record_operations():
    x = tensor([0.5, 1.0], requires_grad=True)
    y = np.exp(x)
    assert isinstance(y, Tensor) and y.grad_fn.name == "Exp"
    np.cos(np.sin(x)).sum().backward()
    np.testing.assert_allclose(x.grad.data, -np.sin(np.sin([0.5, 1.0])) * np.cos([0.5, 1.0]))


def test_numpy_functions_that_are_operations_record_them():
    x = tensor([-1.0, 2.0], requires_grad=True)
    y = np.where(x.data > 0, x, 0.0)
    assert y.grad_fn.name == "Where"
    assert np.sum(x).grad_fn.name == "Sum"
    assert np.broadcast_to(x, (3, 2)).shape == (3, 2)
    assert np.concatenate([x, x]).shape == (4,)


def test_other_numpy_functions_see_the_values():
    x = tensor([1.0, 3.0, 2.0])
    assert np.argmax(x) == 1
    assert np.allclose(x, [1.0, 3.0, 2.0])
    np.testing.assert_array_equal(np.sign(tensor([-2.0, 0.0, 5.0])), [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(np.asarray(x), x.data)


def test_differentiable_ufuncs_that_are_not_operations_are_refused():
    with pytest.raises(TypeError, match=r"np\.square is not an operation on tensors"):
        np.square(tensor([1.0]))
    with pytest.raises(TypeError, match=r"np\.add\.at"):
        np.add.at(tensor([1.0, 2.0]), [0], 1.0)


def test_no_grad_results_and_flag():
    x = tensor([1.0], requires_grad=True)
    with no_grad():
        y = exp(x) * 2
    assert not y.requires_grad and y.grad_fn is None


def test_as_array_gives_the_tensors_own_array_or_converts():
    x = tensor([1.0, 2.0])
    assert as_array(x) is x.data
    a = np.ones(3)
    assert as_array(a) is a
    assert as_array([1, 2]).dtype == np.int64 and as_array(2.5).shape == ()


def test_swapaxes_is_an_operation_on_tensors_and_on_arrays():
    values = np.arange(24.0).reshape(2, 3, 4)
    x = tensor(values, requires_grad=True)
    y = np.swapaxes(x, -1, -2)
    assert isinstance(y, Tensor) and y.grad_fn.name == "Transpose" and y.shape == (2, 4, 3)
    np.testing.assert_array_equal(y.data, np.swapaxes(values, -1, -2))
    weights = np.arange(24.0).reshape(2, 4, 3)
    (y * weights).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.swapaxes(weights, -1, -2))
    assert swapaxes(x, 0, 2).shape == (4, 3, 2)
