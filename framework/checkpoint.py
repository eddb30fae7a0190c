"""Checkpoints: a trained model, its optimizer and notes about them, in one file.

A checkpoint is an ordinary ``.npz`` file (a zip archive of ``.npy``
arrays, readable with ``np.load`` anywhere) holding

- every parameter and buffer of the model, under ``model/<name>``
  (``model/0.weight``, ...);
- the optimizer's state (step counts, running averages) and that of a
  learning-rate schedule, when given;
- a JSON header with the format version, the parameter names, and any
  metadata (the epoch, the training history, the settings used).

Nothing in it is pickled: ``np.load(..., allow_pickle=False)`` reads it, so
opening a checkpoint cannot run code hidden in the file.

Saving is atomic: the file is written under a temporary name in the same
directory and then renamed over the destination with ``os.replace``, which
the operating system performs in one step. An error while saving leaves
the previous checkpoint intact and no half-written file behind. A process
killed while saving cannot clean up after itself; its temporary file
(``.<name>.<random>.tmp``) is removed by the next save of the same
checkpoint. Loading checks everything and explains what does not fit: a
damaged or truncated file, a parameter the model lacks or has in another
shape.
"""

import contextlib
import glob
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

try:
    import fcntl  # file locks (Linux, macOS)
except ImportError:  # Windows, where an open file cannot be removed, which protects it too
    fcntl = None

FORMAT = "framework.checkpoint"
VERSION = 1
HEADER = "header"
SECTIONS = ("optimizer", "scheduler", "metadata")


class CheckpointError(Exception):
    """A checkpoint cannot be saved or loaded; the message says why."""


class CorruptCheckpointError(CheckpointError, ValueError):
    """The file is not a readable checkpoint (damaged, truncated or another format)."""


class CheckpointMismatchError(CheckpointError, RuntimeError):
    """The checkpoint does not fit the model or optimizer it is loaded into."""


@dataclass
class Checkpoint:
    """What a checkpoint file holds, as loaded by ``load_checkpoint``."""

    model: dict                   # parameter name -> array
    optimizer: dict = None        # optimizer.state_dict(), or None
    scheduler: dict = None        # scheduler.state_dict(), or None
    metadata: dict = field(default_factory=dict)
    path: Path = None


# ---------------------------------------------------------------- saving

def save_checkpoint(path, model, optimizer=None, scheduler=None, metadata=None):
    """Write ``model`` (and ``optimizer``, ``scheduler``, ``metadata``) to ``path``, atomically.

    ``metadata`` is a dictionary of numbers, strings, booleans, ``None``,
    lists, tuples, dictionaries and NumPy arrays (for example
    ``{"epoch": 3, "history": history.to_dict()}``). Returns the path.
    """
    path = Path(path)
    arrays = {f"model/{name}": value for name, value in model.state_dict().items()}
    header = {"format": FORMAT, "version": VERSION, "model": list(model.state_dict())}
    states = {
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "metadata": {} if metadata is None else dict(metadata),
    }
    for section, state in states.items():
        header[section] = _encode(state, section, arrays)
    text = json.dumps(header, allow_nan=True)
    arrays[HEADER] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    write_atomically(path, lambda file: np.savez(file, **arrays))
    return path


def write_atomically(path, write):
    """Call ``write(file)`` on a temporary file next to ``path``, then rename it to ``path``.

    The temporary file lives in the same directory, so the final
    ``os.replace`` is a rename within one file system: readers see either
    the old file or the complete new one, never a mixture. If ``write``
    raises, the temporary file is removed and ``path`` is left as it was.

    A process killed while writing leaves its temporary file behind. Each
    save therefore first removes the temporaries of ``path`` that no
    process is writing: a save holds a lock on its temporary until it has
    been renamed, and the operating system releases a lock when its
    process ends, however it ends.
    """
    path = Path(path)
    directory = path.parent
    if not directory.is_dir():
        raise FileNotFoundError(
            f"save_checkpoint: the folder {directory.absolute()} does not exist; create it first"
        )
    remove_stale_temporaries(path)
    file, temporary = _new_temporary(path)
    try:
        with file:
            write(file)
            file.flush()
            os.fsync(file.fileno())  # the bytes are on disk before the rename
            os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it private (0600)
            if fcntl is not None:
                os.replace(temporary, path)  # still locked: no other save can remove it first
        if fcntl is None:
            os.replace(temporary, path)  # Windows cannot rename an open file
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _sync_directory(directory)
    return path


def _temporary_pattern(path):
    """The glob pattern of the temporary files of saves of ``path``."""
    return f".{glob.escape(path.name)}.*.tmp"


def _new_temporary(path):
    """A new temporary file next to ``path``, open and locked: ``(file, its name)``.

    Between its creation and the lock, another save may have found the file
    unlocked and removed it; then its link count is 0 and another is made.
    """
    while True:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        file = os.fdopen(handle, "wb")
        if fcntl is None:
            return file, temporary
        try:
            fcntl.flock(file, fcntl.LOCK_EX)  # waits while another save looks at it
        except OSError:  # a file system without locks: save unlocked
            return file, temporary
        if os.fstat(handle).st_nlink > 0:
            return file, temporary
        file.close()


def remove_stale_temporaries(path):
    """Remove the temporary files that killed saves of ``path`` left behind; returns their number.

    A temporary is stale when no process holds a lock on it (a save in
    progress does). Without file locks (Windows) a temporary is removed
    when no process has it open.
    """
    removed = 0
    for candidate in Path(path).parent.glob(_temporary_pattern(Path(path))):
        try:
            with open(candidate, "rb") as file:
                if fcntl is not None:
                    fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)  # fails while a save holds it
                    candidate.unlink()  # while locked, so no save can take it over meanwhile
            if fcntl is None:
                candidate.unlink()  # fails while a save has it open
            removed += 1
        except OSError:  # in use, or removed by someone else meanwhile
            continue
    return removed


def _umask():
    """The process's file-creation mask (reading it requires setting it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _sync_directory(directory):
    """Make the rename itself durable (POSIX); harmless where unsupported."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    with contextlib.suppress(OSError):
        handle = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def _encode(value, where, arrays):
    """``value`` as JSON, with arrays moved into ``arrays`` under new keys.

    JSON has lists, strings, numbers, booleans and null; the rest is written
    as a one-key object: ``{"array": key}`` for an array, ``{"scalar": key}``
    for a NumPy number (both keep their dtype exactly), ``{"tuple": [...]}``,
    and ``{"dict": [[key, value], ...]}`` (pairs keep integer keys integers).
    """
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, (np.ndarray, np.generic)):
        key = f"{where.split('/')[0]}/{len(arrays)}"
        array = np.asarray(value)
        if array.dtype.hasobject:
            raise TypeError(f"save_checkpoint: {where} is an array of Python objects; only numeric arrays can be saved")
        arrays[key] = array
        return {"scalar" if isinstance(value, np.generic) else "array": key}
    if isinstance(value, list):
        return [_encode(item, f"{where}/{i}", arrays) for i, item in enumerate(value)]
    if isinstance(value, tuple):
        return {"tuple": [_encode(item, f"{where}/{i}", arrays) for i, item in enumerate(value)]}
    if isinstance(value, dict):
        pairs = []
        for key, item in value.items():
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(
                    f"save_checkpoint: {where} has a key {key!r} of type {type(key).__name__}; "
                    "only string and integer keys can be saved"
                )
            pairs.append([key, _encode(item, f"{where}/{key}", arrays)])
        return {"dict": pairs}
    if hasattr(value, "data") and isinstance(getattr(value, "data"), np.ndarray):  # a Tensor
        return _encode(value.data, where, arrays)
    raise TypeError(
        f"save_checkpoint: cannot save {where}, a {type(value).__name__}; checkpoints hold numbers, "
        "strings, booleans, None, lists, tuples, dicts and NumPy arrays"
    )


# ---------------------------------------------------------------- loading

def load_checkpoint(path, model=None, optimizer=None, scheduler=None, strict=True):
    """Read a checkpoint; load it into ``model``, ``optimizer``, ``scheduler`` when given.

    Returns a ``Checkpoint`` with the model's state dict, the optimizer's
    and scheduler's states and the metadata. The model is loaded with
    ``Module.load_state_dict(..., strict=strict)``, whose checks name every
    missing, unexpected or differently shaped parameter. Either everything
    given is loaded or, when something does not fit, nothing is changed.
    """
    checkpoint = read_checkpoint(path)
    if model is None:
        if optimizer is not None or scheduler is not None:
            raise ValueError(
                "load_checkpoint: give the model too; an optimizer's state refers to its parameters"
            )
        return checkpoint
    targets = [("model", model, checkpoint.model, strict)]
    if optimizer is not None:
        targets.append(("optimizer", optimizer, checkpoint.optimizer, None))
    if scheduler is not None:
        targets.append(("scheduler", scheduler, checkpoint.scheduler, None))
    previous = [target.state_dict() for _, target, _, _ in targets]
    try:
        for what, target, state, strictness in targets:
            _load_into(what, target, state, checkpoint.path, strictness)
    except BaseException:
        for (_, target, _, _), state in zip(targets, previous):  # undo: leave everything as it was
            target.load_state_dict(state)
        raise
    return checkpoint


def _load_into(what, target, state, path, strict=None):
    if state is None:
        raise CheckpointMismatchError(
            f"{path}: the checkpoint holds no {what} state (it was saved without one); "
            f"load without {what}= or save the {what} with the checkpoint"
        )
    try:
        if strict is None:
            target.load_state_dict(state)
        else:
            target.load_state_dict(state, strict=strict)
    except (RuntimeError, ValueError, KeyError, TypeError) as error:
        raise CheckpointMismatchError(
            f"{path}: the checkpoint does not fit this {what} ({type(target).__name__}):\n{error}"
        ) from error


def read_checkpoint(path):
    """The contents of a checkpoint file, checked, without loading them anywhere."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_checkpoint: {path} does not exist (or is not a file)")
    with open(path, "rb") as file:  # closed however reading ends
        arrays = _read_arrays(file, path)
    header = _read_header(arrays, path)
    model_state = {}
    for name in header["model"]:
        key = f"model/{name}"
        if key not in arrays:
            raise _corrupt(path, f"the header lists parameter {name!r} but the file has no array {key!r}")
        model_state[name] = arrays[key]
    sections = {section: _decode(header.get(section), arrays, path) for section in SECTIONS}
    return Checkpoint(
        model=model_state,
        optimizer=sections["optimizer"],
        scheduler=sections["scheduler"],
        metadata=sections["metadata"] or {},
        path=path,
    )


def _read_arrays(file, path):
    """Every array of the archive in ``file``, read and CRC-checked, by name."""
    start = file.read(8)
    file.seek(0)
    if start.startswith(b"\x93NUMPY"):
        raise _corrupt(path, "it holds a single NumPy array (.npy), not a checkpoint archive")
    if not start.startswith(b"PK"):
        raise _corrupt(path, _not_an_archive(start))
    try:
        with np.load(file, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except ValueError as error:
        if "pickle" in str(error):  # NumPy's hint to load it unsafely is not for us to pass on
            raise _corrupt(
                path,
                "it holds arrays of Python objects, which a checkpoint never does; they are not "
                "loaded, because unpickling them could run code hidden in the file",
            ) from None
        raise _corrupt(path, f"an array in it is damaged ({error})") from None
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise _corrupt(path, f"its zip archive is damaged ({type(error).__name__}: {error})") from None


def _not_an_archive(start):
    """What a file that is not a zip archive is, from its first bytes."""
    if not start:
        return "it is empty"
    if start[:1] == b"\x80":
        return (
            "it is a Python pickle, not a checkpoint; it is not unpickled, because that could run "
            "code hidden in the file"
        )
    return "it is not a zip archive (a checkpoint is an .npz file written by save_checkpoint)"


def _read_header(arrays, path):
    if HEADER not in arrays:
        raise _corrupt(path, "it is an .npz archive but has no checkpoint header (saved by something else?)")
    try:
        header = json.loads(arrays[HEADER].tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _corrupt(path, f"its header is damaged ({error})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise _corrupt(path, "its header does not describe a checkpoint of this framework")
    if header.get("version") != VERSION:
        raise _corrupt(
            path, f"it has format version {header.get('version')!r}; this framework reads version {VERSION}"
        )
    return header


def _decode(value, arrays, path):
    """The inverse of ``_encode``."""
    if isinstance(value, list):
        return [_decode(item, arrays, path) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        raise _corrupt(path, f"its header has an unknown entry {value!r}")
    (kind, content), = value.items()
    if kind in ("array", "scalar"):
        if content not in arrays:
            raise _corrupt(path, f"its header refers to an array {content!r} that the file lacks")
        array = arrays[content]
        return array[()] if kind == "scalar" else array
    if kind == "tuple":
        return tuple(_decode(item, arrays, path) for item in content)
    if kind == "dict":
        return {key: _decode(item, arrays, path) for key, item in content}
    raise _corrupt(path, f"its header has an unknown entry {kind!r}")


def _corrupt(path, problem):
    return CorruptCheckpointError(
        f"{path} is not a valid checkpoint: {problem}. The file may be truncated or damaged "
        "(for example by a crash while copying it); use another copy or save it again."
    )
