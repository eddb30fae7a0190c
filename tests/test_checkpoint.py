"""Checkpoints: round trips, atomic writes, and clear errors for files that do not fit."""

import contextlib
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

from framework import nn, optim
from framework.checkpoint import (
    CheckpointError,
    CheckpointMismatchError,
    CorruptCheckpointError,
    load_checkpoint,
    fcntl,
    read_checkpoint,
    remove_stale_temporaries,
    save_checkpoint,
    write_atomically,
)
from framework.nn import functional as F


def small_net(hidden=5, seed=0):
    generator = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(4, hidden, generator=generator), nn.ReLU(),
                         nn.Linear(hidden, 3, generator=generator))


def data(seed=1):
    rng = np.random.default_rng(seed)
    return rng.random((8, 4), dtype=np.float32), rng.integers(0, 3, size=8)


def train_steps(model, optimizer, steps, scheduler=None):
    x, y = data()
    losses = []
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        losses.append(loss.item())
    return losses


def trained(steps=3):
    model = small_net()
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    train_steps(model, optimizer, steps, scheduler)
    return model, optimizer, scheduler


def same_values(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def leftovers(directory):
    """Temporary files left in ``directory`` by a save."""
    return [name for name in os.listdir(directory) if name.endswith(".tmp")]


# ---------------------------------------------------------------- round trips

def test_model_round_trip_is_bit_exact(tmp_path):
    model, optimizer, scheduler = trained()
    path = save_checkpoint(tmp_path / "net.npz", model, optimizer, scheduler)
    fresh = small_net(seed=7)
    assert not same_values(fresh.state_dict(), model.state_dict())
    load_checkpoint(path, fresh)
    assert same_values(fresh.state_dict(), model.state_dict())


def test_training_resumed_from_a_checkpoint_continues_exactly(tmp_path):
    model, optimizer, scheduler = trained(steps=3)
    save_checkpoint(tmp_path / "run.npz", model, optimizer, scheduler)
    lr_when_saved = optimizer.param_groups[0]["lr"]
    uninterrupted = train_steps(model, optimizer, 4, scheduler)

    model2 = small_net(seed=5)
    optimizer2 = optim.Adam(model2.parameters(), lr=0.5)
    scheduler2 = optim.lr_scheduler.StepLR(optimizer2, step_size=2, gamma=0.5)
    load_checkpoint(tmp_path / "run.npz", model2, optimizer2, scheduler2)
    assert optimizer2.param_groups[0]["lr"] == lr_when_saved
    resumed = train_steps(model2, optimizer2, 4, scheduler2)
    assert resumed == uninterrupted  # bit for bit
    assert same_values(model.state_dict(), model2.state_dict())


def test_optimizer_and_scheduler_states_round_trip(tmp_path):
    model, optimizer, scheduler = trained()
    save_checkpoint(tmp_path / "c.npz", model, optimizer, scheduler)
    loaded = read_checkpoint(tmp_path / "c.npz")
    original = optimizer.state_dict()
    assert loaded.optimizer["param_groups"] == original["param_groups"]
    assert loaded.optimizer["state"].keys() == original["state"].keys()  # integer keys stay integers
    for index, state in original["state"].items():
        for key, value in state.items():
            np.testing.assert_array_equal(loaded.optimizer["state"][index][key], value)
    assert loaded.scheduler == scheduler.state_dict()


def test_metadata_round_trip_keeps_types(tmp_path):
    metadata = {
        "epoch": 3, "name": "mlp", "done": False, "nothing": None, "lr": 0.001,
        "pair": (1, "two"), "losses": [2.5, 1.25, float("inf")], "by_number": {1: "a", 2: "b"},
        "nested": {"history": {"train_loss": [0.5, 0.25]}},
        "float32": np.float32(0.1), "counts": np.arange(5, dtype=np.int16),
    }
    save_checkpoint(tmp_path / "m.npz", small_net(), metadata=metadata)
    loaded = read_checkpoint(tmp_path / "m.npz").metadata
    assert loaded["pair"] == (1, "two") and isinstance(loaded["pair"], tuple)
    assert loaded["by_number"] == {1: "a", 2: "b"}
    assert loaded["float32"] == np.float32(0.1) and loaded["float32"].dtype == np.float32
    assert loaded["counts"].dtype == np.int16
    np.testing.assert_array_equal(loaded["counts"], np.arange(5))
    for key in ("epoch", "name", "done", "nothing", "lr", "losses", "nested"):
        assert loaded[key] == metadata[key]


def test_a_checkpoint_is_a_plain_npz_archive_without_pickles(tmp_path):
    model, optimizer, _ = trained()
    save_checkpoint(tmp_path / "c.npz", model, optimizer)
    with np.load(tmp_path / "c.npz", allow_pickle=False) as archive:
        assert "model/0.weight" in archive.files
        np.testing.assert_array_equal(archive["model/2.bias"], model.state_dict()["2.bias"])


def test_object_arrays_cannot_be_saved(tmp_path):
    with pytest.raises(TypeError, match="Python objects"):
        save_checkpoint(tmp_path / "o.npz", small_net(), metadata={"bad": np.array([{}, []], dtype=object)})
    with pytest.raises(TypeError, match="cannot save metadata/f"):
        save_checkpoint(tmp_path / "o.npz", small_net(), metadata={"f": print})
    assert not (tmp_path / "o.npz").exists() and not leftovers(tmp_path)


# ---------------------------------------------------------------- atomic writes

def test_saving_leaves_no_temporary_file_and_normal_permissions(tmp_path):
    save_checkpoint(tmp_path / "c.npz", small_net())
    assert os.listdir(tmp_path) == ["c.npz"]
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "c.npz").stat().st_mode & 0o777 == 0o666 & ~mask


def test_a_failed_save_keeps_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    model, optimizer, _ = trained()
    save_checkpoint(path, model, optimizer)
    before = path.read_bytes()

    def write_half_then_crash(file, **arrays):
        file.write(b"PK\x03\x04 half of a zip archive")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", write_half_then_crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, small_net(seed=3), optimizer)
    assert path.read_bytes() == before
    assert not leftovers(tmp_path)


def test_a_failed_first_save_leaves_no_file_at_all(tmp_path):
    def crash(file):
        file.write(b"partial")
        raise KeyboardInterrupt  # even an interruption cleans up

    with pytest.raises(KeyboardInterrupt):
        write_atomically(tmp_path / "new.npz", crash)
    assert os.listdir(tmp_path) == []


SLOW_SAVE = textwrap.dedent(
    """
    import sys, time
    from framework.checkpoint import write_atomically

    def write_slowly(file):
        file.write(b"PK half of a checkpoint")
        file.flush()
        print("writing", flush=True)
        time.sleep(120)

    write_atomically(sys.argv[1], write_slowly)
    """
)


def start_slow_save(path):
    """A process in the middle of saving ``path``, once it has started writing."""
    root = Path(__file__).resolve().parents[1]
    process = subprocess.Popen([sys.executable, "-c", SLOW_SAVE, str(path)], stdout=subprocess.PIPE, text=True, cwd=root)
    assert process.stdout.readline() == "writing\n"
    return process


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs kill -9")
def test_the_next_save_removes_what_a_killed_save_left_behind(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, small_net())
    process = start_slow_save(path)
    try:
        (leftover,) = leftovers(tmp_path)
        save_checkpoint(path, small_net(seed=1))  # a save in progress keeps its temporary
        assert leftovers(tmp_path) == [leftover]
    finally:
        process.kill()  # SIGKILL: no chance to clean up
        process.wait()
        process.stdout.close()
    assert leftovers(tmp_path) == [leftover]
    save_checkpoint(path, small_net(seed=2))
    assert leftovers(tmp_path) == []
    assert same_values(read_checkpoint(path).model, small_net(seed=2).state_dict())


def test_unlocked_temporaries_of_other_checkpoints_are_left_alone(tmp_path):
    stale = tmp_path / ".c.npz.abc123.tmp"  # as an older version or a killed save leaves it
    other = tmp_path / ".d.npz.abc123.tmp"
    unrelated = tmp_path / "notes.tmp"
    for file in (stale, other, unrelated):
        file.write_bytes(b"partial")
    assert remove_stale_temporaries(tmp_path / "c.npz") == 1
    save_checkpoint(tmp_path / "c.npz", small_net())
    assert sorted(os.listdir(tmp_path)) == sorted([".d.npz.abc123.tmp", "c.npz", "notes.tmp"])


@pytest.mark.skipif(fcntl is None, reason="needs file locks")
def test_a_locked_temporary_is_in_use_and_kept(tmp_path):
    busy = tmp_path / ".c.npz.busy.tmp"
    with open(busy, "wb") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        assert remove_stale_temporaries(tmp_path / "c.npz") == 0
        assert busy.exists()
    assert remove_stale_temporaries(tmp_path / "c.npz") == 1
    assert not busy.exists()


def test_saving_into_a_missing_folder_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_checkpoint(tmp_path / "no" / "such" / "c.npz", small_net())


# ---------------------------------------------------------------- mismatches

def test_missing_and_unexpected_names_are_listed(tmp_path):
    save_checkpoint(tmp_path / "c.npz", small_net())
    longer = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 3))
    with pytest.raises(CheckpointMismatchError, match=r"missing key\(s\): '4.weight', '4.bias'") as error:
        load_checkpoint(tmp_path / "c.npz", longer)
    assert str(tmp_path / "c.npz") in str(error.value)

    save_checkpoint(tmp_path / "long.npz", longer)
    with pytest.raises(CheckpointMismatchError, match=r"unexpected key\(s\): '4.weight', '4.bias'"):
        load_checkpoint(tmp_path / "long.npz", small_net())


def test_non_strict_loading_ignores_extra_names(tmp_path):
    longer = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 3))
    save_checkpoint(tmp_path / "long.npz", longer)
    model = small_net(seed=9)
    load_checkpoint(tmp_path / "long.npz", model, strict=False)
    np.testing.assert_array_equal(model[0].weight.data, longer[0].weight.data)


def test_wrong_shapes_are_named_and_nothing_is_changed(tmp_path):
    save_checkpoint(tmp_path / "c.npz", small_net(hidden=5))
    other = small_net(hidden=6, seed=4)
    before = other.state_dict()
    with pytest.raises(CheckpointMismatchError,
                       match=r"wrong shape for '0.weight': the module has \(6, 4\), the state dict has \(5, 4\)"):
        load_checkpoint(tmp_path / "c.npz", other)
    assert same_values(other.state_dict(), before)


def test_a_mismatched_optimizer_leaves_the_model_unchanged(tmp_path):
    model, optimizer, _ = trained()
    save_checkpoint(tmp_path / "c.npz", model, optimizer)
    fresh = small_net(seed=11)
    before = fresh.state_dict()
    only_first_layer = optim.Adam(list(fresh.parameters())[:2], lr=0.01)
    with pytest.raises(CheckpointMismatchError, match="optimizer"):
        load_checkpoint(tmp_path / "c.npz", fresh, only_first_layer)
    assert same_values(fresh.state_dict(), before)


def test_loading_an_optimizer_that_was_not_saved_is_an_error(tmp_path):
    save_checkpoint(tmp_path / "c.npz", small_net())
    model = small_net()
    with pytest.raises(CheckpointMismatchError, match="holds no optimizer state"):
        load_checkpoint(tmp_path / "c.npz", model, optim.SGD(model.parameters(), lr=0.1))


def test_errors_are_checkpoint_errors_and_familiar_exceptions(tmp_path):
    assert issubclass(CheckpointMismatchError, RuntimeError)  # like load_state_dict's
    assert issubclass(CorruptCheckpointError, ValueError)
    assert issubclass(CorruptCheckpointError, CheckpointError)


# ---------------------------------------------------------------- damaged files

@pytest.fixture
def saved(tmp_path):
    model, optimizer, scheduler = trained()
    path = save_checkpoint(tmp_path / "good.npz", model, optimizer, scheduler, metadata={"epoch": 1})
    return path


@pytest.mark.parametrize("keep", [0.0, 0.1, 0.5, 0.9, 0.999])
def test_a_truncated_checkpoint_is_refused(saved, tmp_path, keep):
    raw = saved.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(raw[: int(len(raw) * keep)])
    with pytest.raises(CorruptCheckpointError, match="cut.npz is not a valid checkpoint.*truncated or damaged"):
        load_checkpoint(cut, small_net())


def test_a_flipped_bit_in_the_weights_is_detected(saved, tmp_path):
    raw = bytearray(saved.read_bytes())
    with zipfile.ZipFile(saved) as archive:
        info = archive.getinfo("model/0.weight.npy")
    raw[info.header_offset + 200] ^= 0x01  # inside the stored weights
    damaged = tmp_path / "flip.npz"
    damaged.write_bytes(bytes(raw))
    with pytest.raises(CorruptCheckpointError, match="CRC"):
        read_checkpoint(damaged)


def test_other_files_are_refused(tmp_path):
    np.save(tmp_path / "array.npy", np.zeros(3))
    with pytest.raises(CorruptCheckpointError, match="single NumPy array"):
        read_checkpoint(tmp_path / "array.npy")

    np.savez(tmp_path / "plain.npz", weights=np.zeros(3))
    with pytest.raises(CorruptCheckpointError, match="no checkpoint header"):
        read_checkpoint(tmp_path / "plain.npz")

    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(CorruptCheckpointError, match="empty.npz"):
        read_checkpoint(tmp_path / "empty.npz")


def test_a_pickle_is_never_unpickled(tmp_path):
    class Boom:
        def __reduce__(self):
            return (os.system, ("echo unpickled > " + str(tmp_path / "ran"),))

    (tmp_path / "evil.npz").write_bytes(pickle.dumps(Boom()))
    with pytest.raises(CorruptCheckpointError, match="evil.npz"):
        read_checkpoint(tmp_path / "evil.npz")
    assert not (tmp_path / "ran").exists()


def test_another_format_version_is_refused(tmp_path):
    header = b'{"format": "framework.checkpoint", "version": 99, "model": []}'
    np.savez(tmp_path / "future.npz", header=np.frombuffer(header, dtype=np.uint8))
    with pytest.raises(CorruptCheckpointError, match="format version 99"):
        read_checkpoint(tmp_path / "future.npz")


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.npz does not exist"):
        load_checkpoint(tmp_path / "nothing.npz")


UNREADABLE = {
    "empty": (b"", "it is empty"),
    "text": (b"epoch 3, loss 0.25\n", "it is not a zip archive"),
    "pickle": (pickle.dumps({"weights": [1.0, 2.0]}), "it is a Python pickle, not a checkpoint; it is not unpickled"),
}


@pytest.mark.parametrize("content, problem", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_unreadable_files_are_described_in_the_frameworks_words(tmp_path, content, problem):
    path = tmp_path / "c.npz"
    path.write_bytes(content)
    with pytest.raises(CorruptCheckpointError) as error:
        read_checkpoint(path)
    message = str(error.value)
    assert message.startswith(f"{path} is not a valid checkpoint: {problem}")
    assert "allow_pickle" not in message and "pickle.load" not in message


def test_object_arrays_are_refused_without_numpys_hint(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, header=np.zeros(1), weights=np.array([{"w": 1}], dtype=object))
    with pytest.raises(CorruptCheckpointError, match="it holds arrays of Python objects, which a checkpoint never does") as error:
        read_checkpoint(path)
    assert "allow_pickle" not in str(error.value)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open files in /proc")
def test_reading_closes_the_file_whatever_happens(saved, tmp_path):
    raw = saved.read_bytes()
    files = {"good": raw, "truncated": raw[: len(raw) // 2], "empty": b"", "pickle": pickle.dumps([1])}
    open_before = len(os.listdir("/proc/self/fd"))
    for name, content in files.items():
        path = tmp_path / f"{name}.npz"
        path.write_bytes(content)
        with contextlib.suppress(CorruptCheckpointError):
            read_checkpoint(path)
    with zipfile.ZipFile(saved) as archive:
        weights_at = archive.getinfo("model/0.weight.npy").header_offset + 200
    flipped = bytearray(raw)
    flipped[weights_at] ^= 0x01
    (tmp_path / "flipped.npz").write_bytes(bytes(flipped))
    with pytest.raises(CorruptCheckpointError, match="CRC"):
        read_checkpoint(tmp_path / "flipped.npz")
    assert len(os.listdir("/proc/self/fd")) == open_before


def test_without_file_locks_saving_and_cleaning_up_still_work(tmp_path, monkeypatch):
    import framework.checkpoint as checkpoint_module

    monkeypatch.setattr(checkpoint_module, "fcntl", None)  # as on Windows
    stale = tmp_path / ".c.npz.abc123.tmp"
    stale.write_bytes(b"partial")
    save_checkpoint(tmp_path / "c.npz", small_net())
    assert os.listdir(tmp_path) == ["c.npz"]
    assert same_values(read_checkpoint(tmp_path / "c.npz").model, small_net().state_dict())
