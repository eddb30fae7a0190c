"""Modules: registration, naming, modes, state dicts and printing."""

import warnings

import numpy as np
import pytest

from framework import nn
from framework.autograd import no_grad, tensor
from framework.nn import functional as F


class TwoLayers(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 3)
        self.act = nn.Tanh()
        self.fc2 = nn.Linear(3, 1)
        self.note = "not a parameter"

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


def small_net(seed=0, dtype=np.float32):
    nn.init.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 4, dtype=dtype), nn.ReLU(), nn.Linear(4, 3, dtype=dtype))


# -- registration and names ----------------------------------------------------------


def test_attributes_register_parameters_and_modules_in_order():
    net = TwoLayers()
    names = [name for name, _ in net.named_parameters()]
    assert names == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert [name for name, _ in net.named_children()] == ["fc1", "act", "fc2"]
    assert [name for name, _ in net.named_modules()] == ["", "fc1", "act", "fc2"]
    assert len(list(net.parameters())) == 4


def test_sequential_names_parameters_by_position():
    net = small_net()
    assert [name for name, _ in net.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert [p.shape for p in net.parameters()] == [(4, 2), (4,), (3, 4), (3,)]


def test_nested_sequential_names_are_dotted():
    inner = nn.Sequential(nn.Linear(2, 2), nn.Tanh())
    outer = nn.Sequential(inner, nn.Linear(2, 1))
    assert [name for name, _ in outer.named_parameters()] == ["0.0.weight", "0.0.bias", "1.weight", "1.bias"]


def test_a_shared_parameter_is_listed_once():
    net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    net[1].weight = net[0].weight
    names = [name for name, _ in net.named_parameters()]
    assert names == ["0.weight", "0.bias", "1.bias"]


def test_reassigning_a_name_to_a_plain_value_unregisters_it():
    net = TwoLayers()
    net.fc2 = None
    assert [name for name, _ in net.named_children()] == ["fc1", "act"]
    del net.fc1
    assert list(net.named_parameters()) == []


def test_linear_without_bias_has_only_a_weight():
    layer = nn.Linear(3, 2, bias=False)
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    assert layer.bias is None
    assert layer(tensor(np.ones((1, 3), dtype=np.float32))).shape == (1, 2)


def test_assigning_a_parameter_before_init_is_a_clear_error():
    class Forgetful(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.zeros(2))

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Forgetful()


def test_a_module_without_forward_says_so():
    with pytest.raises(NotImplementedError, match="Module has no forward"):
        nn.Module()(1)


def test_parameter_requires_grad_copies_and_keeps_float_dtype():
    values = np.arange(3, dtype=np.float32)
    p = nn.Parameter(values)
    assert p.requires_grad and p.is_leaf
    assert p.dtype == np.float32
    p.data += 1
    assert values.tolist() == [0.0, 1.0, 2.0]
    assert nn.Parameter([1, 2]).dtype == np.float64
    assert repr(nn.Parameter([1.0])).startswith("Parameter containing:\ntensor(")
    with pytest.raises(TypeError, match="floating point"):
        nn.Parameter(np.arange(2), dtype=np.int64)


def test_register_buffer_is_saved_but_not_learned():
    layer = nn.Linear(2, 2)
    layer.register_buffer("running_mean", np.zeros(2, dtype=np.float32))
    assert "running_mean" not in dict(layer.named_parameters())
    assert list(layer.state_dict()) == ["weight", "bias", "running_mean"]
    state = layer.state_dict()
    state["running_mean"] = np.array([1.0, 2.0], dtype=np.float32)
    layer.load_state_dict(state)
    assert layer.running_mean.tolist() == [1.0, 2.0]


# -- sequential ---------------------------------------------------------------------------


def test_sequential_indexing_length_iteration_and_append():
    net = small_net()
    assert len(net) == 3
    assert isinstance(net[1], nn.ReLU) and net[-1] is net[2]
    assert [type(m).__name__ for m in net] == ["Linear", "ReLU", "Linear"]
    head = net[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is net[0]
    net.append(nn.Softmax())
    assert len(net) == 4 and [name for name, _ in net.named_children()][-1] == "3"
    with pytest.raises(IndexError, match="out of range"):
        net[4]
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(nn.Linear(2, 2), np.tanh)


def test_sequential_applies_modules_in_order():
    net = small_net(dtype=np.float64)
    x = tensor(np.array([[0.5, -1.0], [2.0, 0.25]]))
    h = np.maximum(x.data @ net[0].weight.data.T + net[0].bias.data, 0)
    expected = h @ net[2].weight.data.T + net[2].bias.data
    np.testing.assert_allclose(net(x).data, expected, rtol=1e-12)


# -- modes and gradients -----------------------------------------------------------------------


def test_train_and_eval_reach_every_submodule():
    net = nn.Sequential(TwoLayers(), nn.ReLU())
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_zero_grad_forgets_every_gradient():
    net = small_net()
    loss = F.cross_entropy(net(tensor(np.ones((2, 2), dtype=np.float32))), [0, 2])
    loss.backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_to_float64_converts_parameters_in_place():
    net = small_net()
    first = net[0].weight
    before = first.data.copy()
    net.to(np.float64)
    assert net[0].weight is first
    assert all(p.dtype == np.float64 for p in net.parameters())
    np.testing.assert_array_equal(first.data, before.astype(np.float64))
    assert net.float() is net and first.dtype == np.float32


def test_apply_visits_every_module():
    visited = []
    small_net().apply(lambda m: visited.append(type(m).__name__))
    assert visited == ["Linear", "ReLU", "Linear", "Sequential"]


# -- state dicts -----------------------------------------------------------------------------


def train_a_little(net, steps=3):
    rng = np.random.default_rng(1)
    x = tensor(rng.standard_normal((8, 2)).astype(np.float32))
    y = rng.integers(0, 3, 8)
    for _ in range(steps):
        net.zero_grad()
        F.cross_entropy(net(x), y).backward()
        with no_grad():
            for p in net.parameters():
                p.data -= 0.5 * p.grad.data


def test_state_dict_round_trip_restores_bit_identical_parameters():
    net = small_net(seed=3)
    train_a_little(net)
    saved = net.state_dict()
    assert list(saved) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert all(isinstance(v, np.ndarray) for v in saved.values())

    other = small_net(seed=4)
    assert not np.array_equal(other[0].weight.data, saved["0.weight"])
    other.load_state_dict(saved)
    for (name, a), (_, b) in zip(net.named_parameters(), other.named_parameters()):
        assert a.dtype == b.dtype
        assert a.data.tobytes() == b.data.tobytes(), name


def test_state_dict_is_a_snapshot_and_load_copies_into_the_same_arrays():
    net = small_net()
    saved = net.state_dict()
    weight = net[0].weight
    array = weight.data
    train_a_little(net)
    assert not np.array_equal(array, saved["0.weight"])  # training moved on, the snapshot did not
    net.load_state_dict(saved)
    assert net[0].weight is weight and weight.data is array  # copied into place
    np.testing.assert_array_equal(array, saved["0.weight"])
    saved["0.weight"][...] = 7.0
    assert not np.any(array == 7.0)


def test_same_seed_trains_to_the_same_parameters_bit_for_bit():
    a, b = small_net(seed=5), small_net(seed=5)
    train_a_little(a, steps=5)
    train_a_little(b, steps=5)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert pa.data.tobytes() == pb.data.tobytes()


def test_load_state_dict_names_missing_and_unexpected_keys():
    net = small_net()
    state = net.state_dict()
    del state["2.bias"]
    state["3.weight"] = np.zeros((3, 3))
    with pytest.raises(RuntimeError) as error:
        net.load_state_dict(state)
    message = str(error.value)
    assert "missing key(s): '2.bias'" in message
    assert "unexpected key(s): '3.weight'" in message


def test_load_state_dict_names_a_wrong_shape_and_changes_nothing():
    net = small_net()
    before = net.state_dict()
    state = {name: value + 1 for name, value in before.items()}
    state["2.weight"] = np.zeros((4, 3), dtype=np.float32)
    with pytest.raises(RuntimeError, match=r"wrong shape for '2.weight': the module has \(3, 4\), the state dict has \(4, 3\)"):
        net.load_state_dict(state)
    for name, value in net.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


class WithCounter(nn.Module):
    """A layer and an integer buffer, as batch normalisation keeps a step count."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 3)
        self.register_buffer("steps", np.zeros(1, dtype=np.int64))


# Bad values for "fc.bias" (float32, shape (3,)) and what the message must say about them.
BAD_VALUES = {
    "strings": (np.array(["a", "b", "c"]), r"wrong type for 'fc.bias': the module holds real numbers \(float32\), "
                                           r"the state dict holds strings \(<U1\)"),
    "complex": (np.ones(3) * 1j, r"wrong type for 'fc.bias'.*holds complex numbers \(complex128\)"),
    "overflow": (np.array([0.0, 1e300, 2.0]), r"value out of range for 'fc.bias': 1e\+300 does not fit in float32 "
                                              r"\(largest 3.40282e\+38\); it would become inf"),
    "ragged": ([[1.0], [2.0, 3.0]], r"'fc.bias' cannot be read as an array"),
    "shape": (np.zeros(4), r"wrong shape for 'fc.bias': the module has \(3,\), the state dict has \(4,\)"),
}


@pytest.mark.parametrize("bad, message", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_a_failed_load_changes_nothing_and_says_what_is_wrong(bad, message):
    module = WithCounter()
    before = module.state_dict()
    state = {name: value + 1 for name, value in before.items()}  # fc.weight comes first and is fine
    state["fc.bias"] = bad
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning, no overflow warning
        with pytest.raises(RuntimeError, match=message):
            module.load_state_dict(state)
    for name, value in module.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_every_problem_is_listed_at_once():
    module = WithCounter()
    state = {"fc.weight": np.ones((3, 2)) * 1j, "fc.bias": np.array(["x"] * 3), "steps": np.zeros(1)}
    with pytest.raises(RuntimeError) as error:
        module.load_state_dict(state)
    assert str(error.value).count("wrong type for") == 2


def test_integer_buffers_take_whole_numbers_in_range():
    module = WithCounter()
    state = module.state_dict()
    state["steps"] = np.array([7.0])  # a whole number as a float is fine
    module.load_state_dict(state)
    assert module.steps.dtype == np.int64 and module.steps[0] == 7
    for bad in (np.array([2.5]), np.array([1e30])):
        state["steps"] = bad
        with pytest.raises(RuntimeError, match=r"wrong values for 'steps': int64 holds whole numbers"):
            module.load_state_dict(state)
        assert module.steps[0] == 7


def test_a_float64_state_loads_into_float32_parameters_in_place():
    module = WithCounter()
    weight = module.fc.weight.data
    state = {name: np.asarray(value, dtype=np.float64) * 2 for name, value in module.state_dict().items()}
    state["steps"] = np.array([3])
    module.load_state_dict(state)
    assert module.fc.weight.data is weight and weight.dtype == np.float32
    np.testing.assert_array_equal(weight, state["fc.weight"].astype(np.float32))


def test_a_buffer_that_is_not_an_array_cannot_be_loaded_and_nothing_changes():
    module = WithCounter()
    object.__setattr__(module, "steps", 3)  # a plain number, as a careless subclass might keep
    module._buffers["steps"] = 3
    state = {"fc.weight": np.ones((3, 2)), "fc.bias": np.ones(3), "steps": np.array(4)}
    weight = module.fc.weight.data.copy()
    with pytest.raises(RuntimeError, match="'steps' holds int 3, not an array, so it cannot be loaded in place"):
        module.load_state_dict(state)
    np.testing.assert_array_equal(module.fc.weight.data, weight)


def test_load_state_dict_wants_a_dict():
    with pytest.raises(TypeError, match="load_state_dict: expected a dict of name -> array.*got list"):
        WithCounter().load_state_dict([np.zeros(3)])


def test_non_strict_loading_reports_but_allows_missing_and_unexpected():
    net = small_net()
    state = {"0.weight": np.ones((4, 2)), "extra": np.zeros(1)}
    missing, unexpected = net.load_state_dict(state, strict=False)
    assert missing == ["0.bias", "2.weight", "2.bias"] and unexpected == ["extra"]
    assert net[0].weight.dtype == np.float32 and np.all(net[0].weight.data == 1)
    with pytest.raises(RuntimeError, match="wrong shape for '0.weight'"):
        net.load_state_dict({"0.weight": np.ones((2, 4))}, strict=False)


# -- printing -------------------------------------------------------------------------------------


def test_repr_is_nested_like_pytorch():
    net = nn.Sequential(TwoLayers(), nn.LeakyReLU(0.1), nn.Softmax(axis=1))
    assert repr(net) == (
        "Sequential(\n"
        "  (0): TwoLayers(\n"
        "    (fc1): Linear(in_features=2, out_features=3, bias=True)\n"
        "    (act): Tanh()\n"
        "    (fc2): Linear(in_features=3, out_features=1, bias=True)\n"
        "  )\n"
        "  (1): LeakyReLU(negative_slope=0.1)\n"
        "  (2): Softmax(axis=1)\n"
        ")"
    )
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"
    assert repr(nn.MSELoss(reduction="sum")) == "MSELoss(reduction='sum')"
    assert repr(nn.Linear(3, 1, bias=False)) == "Linear(in_features=3, out_features=1, bias=False)"
