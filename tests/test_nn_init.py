"""Initialisation: reproducible from one seed, with the intended statistics."""

import math

import numpy as np
import pytest

from framework import nn
from framework.nn import init


def weight(shape, dtype=np.float64):
    return nn.Parameter(np.zeros(shape, dtype=dtype))


def build(seed, dtype=np.float32):
    init.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 5, dtype=dtype), nn.Tanh(), nn.Linear(5, 2, dtype=dtype))


# -- one seed, one network ----------------------------------------------------------------------------


def test_the_same_seed_builds_the_same_network():
    a, b = build(11), build(11)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert pa.data.tobytes() == pb.data.tobytes()
    c = build(12)
    assert not np.array_equal(a[0].weight.data, c[0].weight.data)


def test_float32_and_float64_networks_from_one_seed_agree_up_to_rounding():
    single, double = build(3, np.float32), build(3, np.float64)
    for ps, pd in zip(single.parameters(), double.parameters()):
        np.testing.assert_array_equal(ps.data, pd.data.astype(np.float32))


def test_known_first_values_pin_the_generator():
    """PCG64 streams are the same on every platform, so these numbers are too."""
    init.manual_seed(0)
    expected = np.random.default_rng(0).uniform(-1, 1, size=(2, 2))
    np.testing.assert_array_equal(init.uniform_(weight((2, 2)), -1, 1).data, expected)


def test_a_given_generator_leaves_the_module_generator_alone():
    init.manual_seed(5)
    first = init.normal_(weight((3,))).data.copy()
    init.manual_seed(5)
    init.normal_(weight((3,)), generator=np.random.default_rng(99))
    np.testing.assert_array_equal(init.normal_(weight((3,))).data, first)
    layer = nn.Linear(2, 2, generator=np.random.default_rng(1))
    again = nn.Linear(2, 2, generator=np.random.default_rng(1))
    np.testing.assert_array_equal(layer.weight.data, again.weight.data)


def test_initialisers_fill_in_place_and_return_the_tensor():
    w = weight((4, 3))
    array = w.data
    assert init.xavier_uniform_(w) is w and w.data is array
    assert init.zeros_(w) is w and np.all(array == 0)
    assert init.ones_(w) is w and np.all(array == 1)
    assert init.constant_(w, 0.25) is w and np.all(array == 0.25)


# -- statistics ------------------------------------------------------------------------------------------


def test_fans_of_linear_and_convolution_weights():
    assert init.fan_in_and_fan_out(weight((30, 20))) == (20, 30)
    assert init.fan_in_and_fan_out(weight((8, 3, 5, 5))) == (75, 200)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.fan_in_and_fan_out(weight((5,)))


def test_gains_match_the_usual_values():
    assert init.calculate_gain("linear") == 1.0
    assert init.calculate_gain("sigmoid") == 1.0
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    with pytest.raises(ValueError, match="unknown nonlinearity"):
        init.calculate_gain("swish")


SHAPE = (300, 500)  # fan_out = 300, fan_in = 500: 150,000 values


@pytest.mark.parametrize(
    "fill, variance, bound",
    [
        (lambda w: init.xavier_uniform_(w), 2 / 800, math.sqrt(6 / 800)),
        (lambda w: init.xavier_uniform_(w, gain=2.0), 4 * 2 / 800, 2 * math.sqrt(6 / 800)),
        (lambda w: init.xavier_normal_(w), 2 / 800, None),
        (lambda w: init.kaiming_uniform_(w, nonlinearity="relu"), 2 / 500, math.sqrt(6 / 500)),
        (lambda w: init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu"), 2 / 300, math.sqrt(6 / 300)),
        (lambda w: init.kaiming_normal_(w, nonlinearity="relu"), 2 / 500, None),
        (lambda w: init.kaiming_normal_(w, nonlinearity="tanh"), (25 / 9) / 500, None),
        (lambda w: init.normal_(w, 1.0, 0.5), 0.25, None),
        (lambda w: init.uniform_(w, -3, 3), 3.0, 3.0),
    ],
)
def test_initialisers_have_the_intended_variance_and_bounds(fill, variance, bound):
    init.manual_seed(0)
    values = fill(weight(SHAPE)).data
    # The sample variance of 150,000 draws is within 1.5% of the true one.
    np.testing.assert_allclose(values.var(), variance, rtol=0.015)
    if bound is not None:
        assert np.abs(values).max() <= bound
        assert np.abs(values).max() > 0.999 * bound
        assert abs(values.mean()) < 0.01 * bound


def test_kaiming_rejects_an_unknown_mode():
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_normal_(weight((2, 2)), mode="fan_avg")


def test_he_initialisation_keeps_relu_activations_at_the_same_scale():
    """The reason for the factor 2: after 20 ReLU layers the signal neither explodes nor vanishes."""
    init.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1000, 200))
    start = np.mean(x**2)
    for _ in range(20):
        w = init.kaiming_normal_(weight((200, 200)), nonlinearity="relu").data
        x = np.maximum(x @ w.T, 0)
    assert 0.5 < np.mean(x**2) / start < 2.0


def test_gains_and_fans_match_pytorch():
    torch = pytest.importorskip("torch")
    for nonlinearity, param in [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                                ("leaky_relu", None), ("leaky_relu", 0.2)]:
        assert init.calculate_gain(nonlinearity, param) == pytest.approx(
            torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-12
        )
    for shape in [(30, 20), (8, 3, 5, 5)]:
        expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
        assert init.fan_in_and_fan_out(weight(shape)) == expected


def test_linear_default_bounds_match_pytorch():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Linear(50, 7)
    ours = nn.Linear(50, 7)
    # Same distribution: uniform within 1/sqrt(fan_in) for weight and bias alike.
    bound = 1 / math.sqrt(50)
    assert theirs.weight.detach().abs().max().item() <= bound
    assert theirs.bias.detach().abs().max().item() <= bound
    assert np.abs(ours.weight.data).max() <= bound and np.abs(ours.bias.data).max() <= bound
