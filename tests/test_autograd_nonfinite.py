"""nan and inf: returned silently as in PyTorch, and found by anomaly detection."""

import importlib
import math
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

from framework import nn
from framework.autograd import (
    detect_anomaly,
    exp,
    is_anomaly_enabled,
    log,
    mean,
    set_detect_anomaly,
    sqrt,
    tensor,
)
from framework.nn import functional as F

tensor_module = importlib.import_module("framework.autograd.tensor")  # the module, not the function tensor


def leaf(value):
    return tensor(value, requires_grad=True)


def forward_and_gradient(function, value):
    """function(x) and its gradient with respect to x (for a scalar result)."""
    x = leaf(value)
    y = function(x)
    y.sum().backward()
    return y.data, x.grad.data


# (name, function, input, expected result, expected gradient) with nan written as nan
CASES = [
    ("log(-1)", log, -1.0, math.nan, -1.0),
    ("log(0)", log, 0.0, -math.inf, math.inf),
    ("sqrt(-1)", sqrt, -1.0, math.nan, math.nan),
    ("sqrt at 0", sqrt, 0.0, 0.0, math.inf),
    ("exp(1000)", exp, 1000.0, math.inf, math.inf),
    ("x / 0", lambda x: x / 0, 1.0, math.inf, math.inf),
    ("0 / 0", lambda x: x / 0, 0.0, math.nan, math.inf),
    ("(-1) ** 0.5", lambda x: x**0.5, -1.0, math.nan, math.nan),
    ("inf - inf", lambda x: exp(x) - exp(x), 1000.0, math.nan, math.nan),
    ("inf * 0", lambda x: exp(x) * 0, 1000.0, math.nan, math.nan),
    ("mean of an empty tensor", lambda x: mean(x), np.zeros(0), math.nan, np.zeros(0)),
    ("mean over an empty axis", lambda x: mean(x, axis=0), np.zeros((0, 2)), [math.nan, math.nan], np.zeros((0, 2))),
    ("float32 overflow", lambda x: x * 1e30, np.float32(1e30), math.inf, 1e30),
    ("log_softmax of inf", lambda x: F.log_softmax(x), [math.inf, 0.0], [math.nan, math.nan], [math.nan, math.nan]),
]


@pytest.mark.exercise("2.1")
@pytest.mark.parametrize("name, function, value, result, gradient", CASES, ids=[c[0] for c in CASES])
def test_nan_and_inf_are_results_without_warnings(name, function, value, result, gradient):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        y, g = forward_and_gradient(function, np.asarray(value, dtype=np.asarray(value).dtype))
    np.testing.assert_array_equal(y, np.asarray(result, dtype=y.dtype))
    np.testing.assert_array_equal(g, np.asarray(gradient, dtype=g.dtype))


@pytest.mark.exercise("2.1")
def test_a_fresh_process_prints_nothing_on_stderr():
    script = textwrap.dedent(
        """
        import numpy as np
        from framework.autograd import exp, log, sqrt, tensor
        x = tensor([-1.0, 0.0, 1000.0], requires_grad=True)
        y = log(x) + sqrt(x) + exp(x) + x / 0 + x ** 0.5 + tensor(np.zeros(0)).mean()
        y.sum().backward()
        print(np.isfinite(y.data).sum(), np.isfinite(x.grad.data).sum())
        """
    )
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=root)
    assert result.stderr == ""
    assert result.stdout.split() == ["0", "0"]  # every value and every gradient is nan or inf


# -- anomaly detection -------------------------------------------------------------------


def test_anomaly_detection_is_off_by_default_and_restored_after_the_block():
    assert not is_anomaly_enabled()
    with detect_anomaly():
        assert is_anomaly_enabled()
        with set_detect_anomaly(False):
            assert not is_anomaly_enabled()
        assert is_anomaly_enabled()
    assert not is_anomaly_enabled()
    set_detect_anomaly(True)
    try:
        assert is_anomaly_enabled()
    finally:
        set_detect_anomaly(False)
    assert not is_anomaly_enabled()


def test_a_nan_in_forward_names_the_operation_and_the_users_line():
    x = leaf([1.0, 2.0, 5.0])
    with detect_anomaly():
        shifted = x - 3
        with pytest.raises(RuntimeError) as error:
            log(shifted)  # the line the message must show
    message = str(error.value)
    assert message.startswith("anomaly detected: the forward of Log produced 2 nan among 3 values (shape (3,))")
    assert "its inputs were finite" in message
    assert f'File "{__file__}"' in message and "log(shifted)  # the line the message must show" in message


def test_a_nan_in_backward_names_the_operation_where_it_was_created():
    x = leaf([0.0, 4.0])
    with detect_anomaly():
        y = sqrt(x).sum()  # created here
        with pytest.raises(RuntimeError) as error:
            y.backward()
    message = str(error.value)
    assert "the backward of Sqrt, in the gradient for input 0, produced 1 inf among 2 values (shape (2,))" in message
    assert "the gradient it received was finite" in message
    assert "Sqrt was created at" in message and "y = sqrt(x).sum()  # created here" in message


def test_a_non_finite_input_from_outside_is_reported_as_such():
    x = leaf([1.0, math.nan])
    with detect_anomaly(), pytest.raises(RuntimeError) as error:
        x * 2
    assert "the forward of Mul produced 1 nan" in str(error.value)
    assert "input 0 already held 1 nan among 2 values (shape (2,)), from outside the recorded operations" in str(error.value)


def test_anomaly_mode_switched_on_only_for_backward_says_how_to_learn_more():
    x = leaf(0.0)
    y = sqrt(x)
    with detect_anomaly(), pytest.raises(RuntimeError) as error:
        y.backward()
    assert "the backward of Sqrt" in str(error.value)
    assert "turn anomaly detection on before the forward pass to learn where Sqrt was created" in str(error.value)


def test_inside_a_module_the_line_is_the_users_call():
    layer = nn.Linear(2, 1, dtype=np.float64)
    layer.weight.data[...] = 1.0
    inputs = tensor([[1e308, 1e308]])
    with detect_anomaly(), pytest.raises(RuntimeError) as error:
        layer(inputs)  # the user's line, not one inside the framework
    message = str(error.value)
    assert "the forward of LinearFunction produced" in message
    assert "layer(inputs)  # the user's line" in message


@pytest.mark.exercise("2.1")
def test_finite_computations_run_unchanged_in_anomaly_mode():
    x = leaf([0.5, 2.0])
    with detect_anomaly():
        y = (log(x) * exp(x)).sum()
        y.backward()
    expected = np.exp([0.5, 2.0]) * (1 / np.array([0.5, 2.0]) + np.log([0.5, 2.0]))
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-12)


@pytest.mark.parametrize("quiet", [tensor_module._quiet_fast, tensor_module._quiet_portable])
def test_both_ways_of_silencing_numpy_ignore_its_warnings_and_restore_them(quiet):
    before = np.geterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = quiet(np.log)(np.array([-1.0, 0.0]))
    np.testing.assert_array_equal(result, [math.nan, -math.inf])
    assert np.geterr() == before  # the caller's settings are back
    with np.errstate(divide="raise"), pytest.raises(FloatingPointError):
        np.log(np.array(0.0))  # and still in force outside


def test_the_fast_way_is_used_with_this_numpy():
    assert tensor_module._quiet is tensor_module._quiet_fast
