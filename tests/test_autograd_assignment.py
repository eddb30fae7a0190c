"""Assigning .grad and .requires_grad is checked; bad data and writes into gradients get clear errors."""

import numpy as np
import pytest

from framework.autograd import tensor
from framework.autograd.tensor import GradientArray, Tensor
from framework.nn import Parameter

# -- .grad ------------------------------------------------------------------------


def test_a_tensor_of_the_right_shape_and_dtype_is_stored_as_it_is():
    x = tensor(np.zeros((2, 3)), requires_grad=True)
    g = tensor(np.ones((2, 3)))
    x.grad = g
    assert x.grad is g
    x.grad = None
    assert x.grad is None


def test_an_array_is_converted_to_the_tensors_dtype():
    p = Parameter(np.zeros(3, dtype=np.float32))
    p.grad = np.array([1, 2, 3])  # int64
    assert isinstance(p.grad, Tensor)
    assert p.grad.dtype == np.float32
    assert np.array_equal(p.grad.data, [1.0, 2.0, 3.0])


def test_a_gradient_of_the_wrong_shape_is_refused():
    p = Parameter(np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=r"grad: the gradient has shape \(3,\) but the tensor has shape \(2, 3\)"):
        p.grad = np.ones(3, dtype=np.float32)
    with pytest.raises(ValueError, match=r"shape \(3, 2\) but the tensor has shape \(2, 3\)"):
        p.grad = tensor(np.ones((3, 2)), dtype=np.float32)
    assert p.grad is None  # nothing was stored


def test_a_tensor_of_another_dtype_is_refused_as_in_pytorch():
    p = Parameter(np.zeros(3, dtype=np.float32))
    with pytest.raises(TypeError, match="grad: the gradient has dtype float64 but the tensor has dtype float32"):
        p.grad = tensor(np.ones(3))


@pytest.mark.parametrize(
    "value, named",
    [
        ([1.0, 2.0, 3.0], "list"),
        (1.5, "float"),
        ("abc", "str"),
    ],
)
def test_values_that_are_not_tensors_or_arrays_are_refused(value, named):
    p = Parameter(np.zeros(3))
    with pytest.raises(TypeError, match=rf"grad: cannot assign a {named} as a gradient.*shape \(3,\)"):
        p.grad = value


@pytest.mark.parametrize("dtype", [np.complex128, np.dtype("<U1"), object])
def test_arrays_that_do_not_hold_real_numbers_are_refused(dtype):
    p = Parameter(np.zeros(3))
    with pytest.raises(TypeError, match=f"grad: the gradient has dtype {np.dtype(dtype)}"):
        p.grad = np.zeros(3, dtype=dtype)


# -- .requires_grad -------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.int64, np.complex128, np.bool_])
def test_setting_requires_grad_checks_the_dtype_like_requires_grad_(dtype):
    x = tensor(np.zeros(3), dtype=dtype)
    with pytest.raises(TypeError, match=f"requires_grad: dtype {np.dtype(dtype)} cannot require gradients"):
        x.requires_grad = True
    with pytest.raises(TypeError, match=f"requires_grad: dtype {np.dtype(dtype)} cannot require gradients"):
        x.requires_grad_()
    assert x.requires_grad is False
    x.requires_grad = False  # switching off is always allowed on a leaf


def test_an_integer_tensor_can_never_get_an_integer_gradient():
    x = tensor([1, 2, 3], dtype=np.int64)
    with pytest.raises(TypeError):
        x.requires_grad = True
    y = tensor([1.0, 2.0, 3.0])
    y.requires_grad = True
    (y * y).sum().backward()
    assert y.grad.dtype == np.float64 and np.array_equal(y.grad.data, [2.0, 4.0, 6.0])


def test_a_computed_tensor_cannot_be_switched_off():
    x = tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="only a leaf's flag can be switched off.*computed by Mul.*detach"):
        y.requires_grad = False
    assert y.requires_grad


# -- data that is not numbers, and len ------------------------------------------------


@pytest.mark.parametrize(
    "data, problem",
    [
        (["a", "b"], "it holds strings, not numbers"),
        ([[1, 2], [3]], "its rows have different lengths"),
        (None, "it holds things that are not numbers"),
        ({"a": 1}, "it holds things that are not numbers"),
    ],
)
def test_tensor_of_things_that_are_not_numbers(data, problem):
    for make in (tensor, Tensor):
        with pytest.raises(TypeError, match=rf"tensor: cannot make a tensor from .*: {problem}"):
            make(data)


def test_tensor_with_a_dtype_the_data_cannot_take():
    with pytest.raises(TypeError, match=r"cannot make a tensor from \['1', 'x'\]: it cannot be converted to dtype float32"):
        tensor(["1", "x"], dtype=np.float32)


def test_len_of_a_0d_tensor():
    with pytest.raises(TypeError, match=r"len\(\) of a 0-d tensor.*\.item\(\)"):
        len(tensor(1.0))
    assert len(tensor([[1.0, 2.0, 3.0]])) == 1


# -- gradients computed by backward are read-only, and say why -------------------------


def computed_gradient():
    x = tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * 3).sum().backward()
    return x


WRITES = {
    "item assignment": lambda g: g.__setitem__(0, 5.0),
    "slice assignment": lambda g: g.__setitem__(slice(None), 0.0),
    "in-place multiplication": lambda g: g.__imul__(0.5),
    "in-place subtraction": lambda g: g.__isub__(1.0),
    "in-place division": lambda g: g.__itruediv__(2.0),
    "in-place power": lambda g: g.__ipow__(2.0),
    "fill": lambda g: g.fill(0.0),
}


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_writing_into_a_computed_gradient_explains_why_it_is_read_only(write):
    x = computed_gradient()
    with pytest.raises(ValueError, match=r"this gradient array is read-only: backward may hand the same array "
                                         r"to several tensors.*p\.grad = p\.grad \* 0\.5"):
        write(x.grad.data)
    assert np.array_equal(x.grad.data, [3.0, 3.0, 3.0])


def test_other_writes_are_refused_in_numpys_words():
    g = computed_gradient().grad.data
    with pytest.raises(ValueError, match="read-only"):
        np.multiply(g, 2.0, out=g)
    with pytest.raises(ValueError, match="read-only"):
        np.copyto(g, 0.0)


def test_the_suggested_fix_works_and_shared_gradients_stay_apart():
    a = tensor([1.0, 2.0], requires_grad=True)
    b = tensor([5.0, 7.0], requires_grad=True)
    (a + b).sum().backward()  # Add hands one array to both inputs
    a.grad = a.grad * 0.5
    assert np.array_equal(a.grad.data, [0.5, 0.5]) and np.array_equal(b.grad.data, [1.0, 1.0])


def test_a_gradient_array_computes_like_a_plain_array():
    g = computed_gradient().grad.data
    assert isinstance(g, GradientArray) and not g.flags.writeable
    results = [g * 2, 2.0 * g, np.exp(g), g.sum(axis=0, keepdims=True), g + np.ones(3), np.ones(3) - g]
    assert all(type(r) is np.ndarray and r.flags.writeable for r in results)
    assert np.array_equal(results[0], [6.0, 6.0, 6.0]) and np.array_equal(results[-1], [-2.0, -2.0, -2.0])
    assert type(g.sum()) is np.float64 and g.sum() == 9.0
    assert repr(g) == "array([3., 3., 3.])"
    copy = g.copy()  # a copy is writeable, so writing into it works
    copy *= 2
    copy[0] = 1.0
    assert np.array_equal(copy, [1.0, 6.0, 6.0]) and np.array_equal(g, [3.0, 3.0, 3.0])


# -- more bad input in the framework's words ------------------------------------------


def test_the_truth_value_of_many_elements():
    with pytest.raises(ValueError, match=r"the truth value of a tensor with 6 elements \(shape \(2, 3\)\) is ambiguous"):
        bool(tensor(np.ones((2, 3))))
    assert bool(tensor([2.0])) and not bool(tensor(0.0))


@pytest.mark.parametrize("flag", ["yes", None, 1.0])
def test_requires_grad_must_be_true_or_false(flag):
    x = tensor([1.0])
    with pytest.raises(TypeError, match=f"requires_grad: must be True or False, got {type(flag).__name__}"):
        x.requires_grad = flag
    with pytest.raises(TypeError, match="requires_grad: must be True or False"):
        x.requires_grad_(flag)
    with pytest.raises(TypeError, match="Tensor: requires_grad must be True or False"):
        tensor([1.0], requires_grad=flag)


def test_an_unknown_dtype_is_named():
    for make in (tensor, Tensor, Parameter):
        with pytest.raises(TypeError, match=r"tensor: 'floaty' is not a dtype; use a NumPy type such as np.float32"):
            make([1.0], dtype="floaty")


def test_a_parameter_of_strings_is_refused_with_the_data_shown():
    with pytest.raises(TypeError, match=r"cannot make a tensor from \['a'\]: it holds strings"):
        Parameter(["a"])


def test_backward_with_a_gradient_that_is_not_numbers():
    x = tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"backward: the gradient must be a tensor or an array of numbers of shape \(2,\), got str 'abc'"):
        (x * 2).backward("abc")
