"""DataLoader: batch sizes, shuffling with a seed, drop_last, conversions, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framework.data.loader import DataLoader


def dataset(n=10, features=3):
    inputs = np.arange(n * features, dtype=np.float32).reshape(n, features)
    targets = np.arange(n)  # target i belongs to row i
    return inputs, targets


def epoch_rows(loader):
    """The targets (= row numbers) of one epoch, batch by batch."""
    return [targets.tolist() for _, targets in loader]


def test_in_order_batches_and_partial_last_batch():
    inputs, targets = dataset(10)
    loader = DataLoader(inputs, targets, batch_size=4)
    assert len(loader) == 3
    batches = list(loader)
    assert [len(x) for x, _ in batches] == [4, 4, 2]
    assert epoch_rows(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    for x, y in batches:
        np.testing.assert_array_equal(x, inputs[y])
        assert x.dtype == np.float32 and x.shape[1:] == (3,)


def test_drop_last():
    inputs, targets = dataset(10)
    loader = DataLoader(inputs, targets, batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert epoch_rows(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    exact = DataLoader(*dataset(8), batch_size=4, drop_last=True)
    assert len(exact) == 2 and len(DataLoader(*dataset(8), batch_size=4)) == 2


def test_batch_larger_than_dataset():
    loader = DataLoader(*dataset(5), batch_size=100)
    assert len(loader) == 1 and epoch_rows(loader) == [[0, 1, 2, 3, 4]]


def test_shuffle_visits_every_example_once_per_epoch():
    loader = DataLoader(*dataset(50), batch_size=7, shuffle=True, seed=3)
    for _ in range(3):
        rows = [row for batch in epoch_rows(loader) for row in batch]
        assert sorted(rows) == list(range(50))
        assert rows != list(range(50))


def test_shuffle_differs_between_epochs_but_repeats_for_the_same_seed():
    first = DataLoader(*dataset(50), batch_size=8, shuffle=True, seed=7)
    second = DataLoader(*dataset(50), batch_size=8, shuffle=True, seed=7)
    epochs_first = [epoch_rows(first) for _ in range(3)]
    epochs_second = [epoch_rows(second) for _ in range(3)]
    assert epochs_first == epochs_second
    assert epochs_first[0] != epochs_first[1] != epochs_first[2]
    other_seed = DataLoader(*dataset(50), batch_size=8, shuffle=True, seed=8)
    assert epoch_rows(other_seed) != epochs_first[0]


def test_epoch_order_depends_only_on_seed_and_epoch_number():
    loader = DataLoader(*dataset(20), batch_size=5, shuffle=True, seed=1)
    list(loader)
    list(loader)
    assert loader.epoch == 2
    third = np.concatenate([y for _, y in loader])
    np.testing.assert_array_equal(third, loader.order(2))
    fresh = DataLoader(*dataset(20), batch_size=5, shuffle=True, seed=1)
    fresh.epoch = 2  # jump straight to epoch 2, e.g. when resuming training
    np.testing.assert_array_equal(np.concatenate([y for _, y in fresh]), third)


def test_epoch_counts_when_iteration_starts():
    loader = DataLoader(*dataset(6), batch_size=2, shuffle=True)
    iterator = iter(loader)
    assert loader.epoch == 1
    next(iterator)


def test_shuffled_inputs_stay_paired_with_targets():
    inputs, targets = dataset(30)
    for x, y in DataLoader(inputs, targets, batch_size=4, shuffle=True, drop_last=True):
        np.testing.assert_array_equal(x, inputs[y])


def test_batches_in_order_are_read_only_views():
    inputs, targets = dataset(10)
    x, _ = next(iter(DataLoader(inputs, targets, batch_size=4)))
    assert np.shares_memory(x, inputs)
    with pytest.raises(ValueError, match="read-only"):
        x[0, 0] = 99.0
    assert inputs[0, 0] == 0.0


def test_accepts_lists_and_multidimensional_inputs():
    images = np.zeros((6, 28, 28), dtype=np.float32)
    loader = DataLoader(images, [0, 1, 2, 3, 4, 5], batch_size=4)
    shapes = [(x.shape, y.shape) for x, y in loader]
    assert shapes == [((4, 28, 28), (4,)), ((2, 28, 28), (2,))]


def test_to_tensor_hook_converts_both_arrays():
    seen = []

    def convert(array):
        seen.append(array.shape)
        return ("converted", array)

    loader = DataLoader(*dataset(5), batch_size=3, to_tensor=convert)
    x, y = next(iter(loader))
    assert x[0] == "converted" and y[0] == "converted"
    assert seen == [(3, 3), (3,)]


def test_as_tensor_yields_framework_tensors():
    autograd = pytest.importorskip("framework.autograd")
    loader = DataLoader(*dataset(5), batch_size=2, as_tensor=True)
    x, y = next(iter(loader))
    assert isinstance(x, autograd.Tensor) and isinstance(y, autograd.Tensor)
    np.testing.assert_array_equal(x.data, dataset(5)[0][:2])
    np.testing.assert_array_equal(y.data, [0, 1])
    assert x.dtype == np.float32 and y.dtype == np.int64  # class labels stay integers


def test_repr():
    loader = DataLoader(*dataset(10), batch_size=4, shuffle=True)
    assert repr(loader) == ("DataLoader(examples=10, batch_size=4, shuffle=True, seed=0, "
                            "drop_last=False, batches=3)")


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, "4", None])
def test_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match="batch_size must be a whole number >= 1"):
        DataLoader(*dataset(), batch_size=batch_size)


def test_numpy_integer_batch_size_is_fine():
    assert len(DataLoader(*dataset(10), batch_size=np.int64(5))) == 2


def test_mismatched_lengths():
    inputs, targets = dataset(10)
    with pytest.raises(ValueError, match=r"inputs have 10 examples.*targets have 9"):
        DataLoader(inputs, targets[:9], batch_size=2)


def test_empty_dataset():
    with pytest.raises(ValueError, match="empty"):
        DataLoader(np.zeros((0, 3)), np.zeros(0), batch_size=2)


def test_scalar_data():
    with pytest.raises(ValueError, match="one row per example"):
        DataLoader(np.float32(1.0), np.zeros(1))


def test_drop_last_with_too_few_examples():
    with pytest.raises(ValueError, match="no batch at all"):
        DataLoader(*dataset(5), batch_size=8, drop_last=True)


@pytest.mark.parametrize("seed", [-1, 1.5, None])
def test_bad_seed(seed):
    with pytest.raises(ValueError, match="seed"):
        DataLoader(*dataset(), seed=seed)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 60), batch_size=st.integers(1, 70), shuffle=st.booleans(),
       drop_last=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_batches_partition_the_dataset(n, batch_size, shuffle, drop_last, seed):
    if drop_last and batch_size > n:
        return  # refused with an error, tested above
    loader = DataLoader(*dataset(n, 2), batch_size=batch_size, shuffle=shuffle,
                        seed=seed, drop_last=drop_last)
    batches = epoch_rows(loader)
    assert len(batches) == len(loader)
    assert all(len(batch) == batch_size for batch in batches[:-1])
    rows = [row for batch in batches for row in batch]
    assert len(set(rows)) == len(rows)
    if drop_last:
        assert len(rows) == (n // batch_size) * batch_size
    else:
        assert sorted(rows) == list(range(n))
