"""The generated datasets: exact truth tables, shapes, determinism, the line's statistics."""

import numpy as np
import pytest

from framework.data.datasets import and_gate, noisy_line, or_gate, spirals, xor

CORNERS = [[0, 0], [0, 1], [1, 0], [1, 1]]


@pytest.mark.parametrize("gate, outputs", [(and_gate, [0, 0, 0, 1]), (or_gate, [0, 1, 1, 1]),
                                           (xor, [0, 1, 1, 0])])
def test_logic_gates(gate, outputs):
    inputs, targets = gate()
    assert inputs.shape == (4, 2) and targets.shape == (4, 1)
    assert inputs.dtype == targets.dtype == np.float64
    assert inputs.tolist() == CORNERS
    assert targets.ravel().tolist() == outputs


def test_gates_return_fresh_arrays():
    inputs, targets = xor()
    inputs[0, 0] = 5.0
    targets[0, 0] = 5.0
    assert xor()[0].tolist() == CORNERS and xor()[1][0, 0] == 0.0


def test_spirals_shapes_and_labels():
    inputs, labels = spirals(n_per_class=50, n_classes=4)
    assert inputs.shape == (200, 2) and inputs.dtype == np.float64
    assert labels.shape == (200,) and labels.dtype == np.int64
    assert np.bincount(labels).tolist() == [50, 50, 50, 50]
    radius = np.hypot(inputs[:, 0], inputs[:, 1])
    assert radius.max() == pytest.approx(1.0) and radius.min() == pytest.approx(1 / 50)


def test_spirals_without_noise_follow_the_formula():
    inputs, labels = spirals(n_per_class=10, n_classes=3, noise=0.0)
    radius = np.tile(np.arange(1, 11) / 10, 3)
    angle = 2 * np.pi * labels / 3 + 4 * radius
    np.testing.assert_allclose(inputs[:, 0], radius * np.cos(angle), atol=1e-15)
    np.testing.assert_allclose(inputs[:, 1], radius * np.sin(angle), atol=1e-15)


def test_spirals_are_deterministic():
    first, second, other = spirals(seed=5), spirals(seed=5), spirals(seed=6)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[0], other[0])


def test_noisy_line_shapes_and_determinism():
    x, y = noisy_line(n=40)
    assert x.shape == (40, 1) and y.shape == (40, 1) and x.dtype == np.float64
    assert -1.0 <= x.min() and x.max() < 1.0
    x2, y2 = noisy_line(n=40)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(y, noisy_line(n=40, seed=1)[1])


def test_noisy_line_recovers_slope_and_intercept():
    x, y = noisy_line(n=2000, slope=2.0, intercept=1.0, noise=0.1)
    slope, intercept = np.polyfit(x.ravel(), y.ravel(), deg=1)
    assert slope == pytest.approx(2.0, abs=0.02) and intercept == pytest.approx(1.0, abs=0.01)
    residuals = y - (2.0 * x + 1.0)
    assert residuals.std() == pytest.approx(0.1, rel=0.1)


def test_noiseless_line_is_exact():
    x, y = noisy_line(n=10, slope=-3.0, intercept=0.5, noise=0.0, low=2.0, high=4.0)
    np.testing.assert_array_equal(y, -3.0 * x + 0.5)
    assert 2.0 <= x.min() and x.max() < 4.0


@pytest.mark.parametrize("call", [
    lambda: spirals(n_per_class=0), lambda: spirals(n_classes=2.5),
    lambda: spirals(noise=-0.1), lambda: noisy_line(n=0), lambda: noisy_line(noise=np.nan),
])
def test_bad_arguments(call):
    with pytest.raises(ValueError):
        call()
