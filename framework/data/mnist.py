"""MNIST: 70,000 handwritten digits, read from the original IDX files.

The four files are found in a data directory (see ``data_directory``: an
argument, else the environment variable ``FRAMEWORK_DATA_DIR``, else a
shared copy beside the repository, else a per-user cache folder),
downloaded from public mirrors when absent, and checked before use:

- the IDX header (magic number, dimensions) and that the payload has exactly
  the announced size;
- the SHA-256 of the uncompressed bytes against the published values.

Anything wrong (a truncated file, an HTML error page saved under the file's
name, a wrong checksum, missing files while offline) raises an
``MNISTError`` that names the files and the folders and says what to do.
Wrong data are never returned silently.

The IDX format (http://yann.lecun.com/exdb/mnist/) is simple: a 4-byte magic
number ``0x0000TTDD`` (``TT`` the element type, ``0x08`` for unsigned bytes;
``DD`` the number of dimensions), then each dimension as a big-endian 32-bit
integer, then the values in row-major order.
"""

import gzip
import hashlib
import os
import struct
import zlib
from math import prod
from pathlib import Path

import numpy as np

from framework.data.download import DOWNLOAD_ERRORS, download as download_file

IMAGES_MAGIC = 0x00000803
"""Unsigned bytes, 3 dimensions: (count, rows, columns)."""
LABELS_MAGIC = 0x00000801
"""Unsigned bytes, 1 dimension: (count,)."""

IMAGE_SHAPE = (28, 28)

MNIST_FILES = {
    "train": {"images": "train-images-idx3-ubyte", "labels": "train-labels-idx1-ubyte"},
    "test": {"images": "t10k-images-idx3-ubyte", "labels": "t10k-labels-idx1-ubyte"},
}
"""The file names (without ``.gz``) of each split."""

MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
"""SHA-256 of the *uncompressed* IDX files. Hashing the uncompressed bytes
accepts every faithful copy, whatever gzip settings compressed it."""

MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
"""Public copies of the ``.gz`` files, tried in this order."""

MNIST_CLASSES = tuple(str(digit) for digit in range(10))
"""Class ``k`` is the digit ``k``; these are its names, for plot labels."""

DATA_DIR_VARIABLE = "FRAMEWORK_DATA_DIR"

GZIP_MAGIC = b"\x1f\x8b"

_IDX_TYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class MNISTError(Exception):
    """Something is wrong with the MNIST files; the message says what to do."""


class MNISTFileError(MNISTError, ValueError):
    """A file exists but its contents are not the expected MNIST data."""


class MNISTNotFoundError(MNISTError, FileNotFoundError):
    """A file is missing and could not be downloaded."""


# ---------------------------------------------------------------- loading

def load_mnist(split="train", data_dir=None, flatten=False, subset=None, download=True, *,
               mirrors=MNIST_MIRRORS, checksums=MNIST_SHA256, progress=True):
    """Images and labels of one MNIST split, verified.

    Returns ``(images, labels)``:

    - ``images``: float32 in $[0, 1]$ (the bytes divided by 255), shape
      ``(N, 28, 28)``, or ``(N, 784)`` when ``flatten`` is true;
    - ``labels``: int64 digits 0 to 9, shape ``(N,)``.

    ``split`` is ``"train"`` (60,000 examples) or ``"test"`` (10,000).
    ``subset=n`` keeps the first ``n`` examples: the files are not sorted by
    digit, so the first ``n`` are a fair sample, and the same ``n`` always
    gives the same examples (shuffle yourself if you want another sample).
    ``data_dir`` is resolved by ``data_directory``. Missing files are
    downloaded from ``mirrors`` when ``download`` is true; when they cannot
    be had, ``MNISTNotFoundError`` names every missing file, the folders
    searched and the ways to fix it. ``checksums`` maps each file name to
    the SHA-256 of its uncompressed bytes.
    """
    names = _split_files(split)
    directory = data_directory(data_dir)
    _fetch_missing(list(names.values()), directory, data_dir, download=download,
                   mirrors=mirrors, checksums=checksums, progress=progress)
    found = {}
    for kind, name in names.items():
        path = _existing_file(name, directory)
        found[kind] = read_mnist_file(path, kind, _expected_sha256(checksums, name))
    images, labels = found["images"], found["labels"]
    if len(images) != len(labels):
        raise MNISTFileError(
            f"{split} split in {directory}: {len(images)} images but {len(labels)} labels; "
            f"the two files do not belong together. Delete them and run again to download "
            f"fresh copies, or {_where_to_point()}."
        )
    if subset is not None:
        _check_subset(subset, len(labels), split)
        images, labels = images[:subset], labels[:subset]
    images = images.astype(np.float32)
    images /= np.float32(255)
    if flatten:
        images = images.reshape(len(images), -1)
    return images, labels.astype(np.int64)


def download_mnist(data_dir=None, *, mirrors=MNIST_MIRRORS, checksums=MNIST_SHA256,
                   progress=True, download=True):
    """Make sure all four files are in the data directory; return its path.

    Missing files are downloaded (unless ``download`` is false); when they
    cannot be had, ``MNISTNotFoundError`` says which, where, and what to do.
    Nothing is read or verified beyond what a download checks.
    """
    directory = data_directory(data_dir)
    _fetch_missing(list(MNIST_SHA256), directory, data_dir, download=download,
                   mirrors=mirrors, checksums=checksums, progress=progress)
    return directory


# ---------------------------------------------------------------- where the files are

REPOSITORY = Path(__file__).resolve().parents[2]
"""The folder this package was loaded from, two levels above this file: the
repository of the book when the package is used from its source."""

SHARED_FOLDER = ("..", "shared", "datasets", "mnist")
"""A shared copy of MNIST beside the repository (relative to it), used when
present so that several copies of the book need not download their own."""


def shared_directory():
    """``../shared/datasets/mnist`` beside the repository, or None.

    None when the package does not sit in a source checkout of the book (it
    was installed elsewhere), as there is then no repository to be beside.
    """
    if not (REPOSITORY / "pyproject.toml").is_file():
        return None
    return Path(os.path.normpath(REPOSITORY.joinpath(*SHARED_FOLDER)))


def cache_directory():
    """The per-user cache ``$XDG_CACHE_HOME/framework/mnist`` (``~/.cache/...`` by default)."""
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser().absolute() / "framework" / "mnist"


def searched_directories(data_dir=None):
    """The folders that may hold the MNIST files, in the order they are tried.

    An explicit folder (the argument ``data_dir``, else the environment
    variable ``FRAMEWORK_DATA_DIR``) is the only one. Otherwise: the shared
    copy beside the repository (when the package sits in one), then the
    per-user cache.
    """
    if data_dir is not None:
        return [Path(data_dir).expanduser().absolute()]
    if os.environ.get(DATA_DIR_VARIABLE):
        return [Path(os.environ[DATA_DIR_VARIABLE]).expanduser().absolute()]
    return [folder for folder in (shared_directory(), cache_directory()) if folder is not None]


def data_directory(data_dir=None):
    """Where the MNIST files live (absolute, so that messages name it in full).

    In order: the argument ``data_dir``; the environment variable
    ``FRAMEWORK_DATA_DIR``; ``../shared/datasets/mnist`` beside the
    repository, when it holds all four files; the per-user cache
    ``$XDG_CACHE_HOME/framework/mnist`` (``~/.cache/framework/mnist`` when
    ``XDG_CACHE_HOME`` is unset), where missing files are downloaded. The
    folder holds the four files directly. Every entry point (the command
    line, notebooks, the tests, the book's build) finds the data this way.
    """
    *earlier, last = searched_directories(data_dir)
    for folder in earlier:
        if not missing_mnist_files(folder):
            return folder
    return last


def missing_mnist_files(data_dir=None, names=MNIST_SHA256):
    """The MNIST files (of ``names``, default all four) absent from the data directory."""
    directory = data_directory(data_dir)
    return [name for name in names if _existing_file(name, directory) is None]


def mnist_files_present(data_dir=None):
    """True when all four MNIST files (compressed or not) are in the data directory.

    Nothing is read or verified: this only says whether ``load_mnist`` would
    find the files without downloading them.
    """
    return not missing_mnist_files(data_dir)


def mnist_not_found_message(missing, searched, why, destination):
    """What ``MNISTNotFoundError`` says: the files, the folders, the two fixes.

    ``missing``: the missing file names; ``searched``: the folders looked
    in; ``why``: why they were not downloaded (one or more lines);
    ``destination``: the folder a download would fill.
    """
    files = "\n".join(f"    {name}.gz" for name in missing)
    folders = "\n".join(f"    {folder}{'' if Path(folder).is_dir() else '  (no such folder)'}"
                         for folder in searched)
    return (
        f"MNIST not found: {len(missing)} of its {len(MNIST_SHA256)} files "
        f"{'is' if len(missing) == 1 else 'are'} missing (each may also be stored "
        f"uncompressed, without .gz):\n{files}\n"
        f"Searched:\n{folders}\n"
        f"{why.rstrip()}\n"
        f"Two ways to fix it:\n"
        f"  1. Set the environment variable {DATA_DIR_VARIABLE} to a folder holding the "
        f"four files, e.g.\n"
        f"         export {DATA_DIR_VARIABLE}=/path/to/mnist\n"
        f"     (or pass the folder: load_mnist(..., data_dir=folder), or "
        f"python -m framework.train mnist --data-dir folder).\n"
        f"  2. Allow the download (the default: not download=False, nor --no-download on "
        f"the command line) on a machine with network access; the files are then "
        f"downloaded into {destination} and checked."
    )


def _fetch_missing(names, directory, data_dir, *, download, mirrors, checksums, progress):
    """Download the missing files among ``names``, or raise one clear error.

    The first file that cannot be downloaded stops the attempt (the others
    would fail the same way), and the error names every missing file.
    """
    if all(_existing_file(name, directory) is not None for name in names):
        return
    if not download:
        why = "They were not downloaded: download=False."
    else:
        try:
            for name in names:
                if _existing_file(name, directory) is None:
                    _download_from_mirrors(name, directory, mirrors, checksums, progress)
            return
        except _DownloadFailed as failure:
            why = str(failure)
    searched = searched_directories(data_dir)
    missing = [name for name in MNIST_SHA256 if _existing_file(name, directory) is None]
    raise MNISTNotFoundError(mnist_not_found_message(missing, searched, why, directory))


class _DownloadFailed(Exception):
    """No mirror gave a valid copy; the message lists what was tried."""


def _existing_file(name, directory):
    """``directory/name.gz`` or ``directory/name``, whichever exists, else None."""
    for candidate in (directory / f"{name}.gz", directory / name):
        if candidate.is_file():
            return candidate
    return None


def find_mnist_file(name, directory, *, download=True, mirrors=MNIST_MIRRORS,
                    checksums=MNIST_SHA256, progress=True):
    """The path of ``name.gz`` (or uncompressed ``name``) in ``directory``.

    When neither exists and ``download`` is true, fetches ``name.gz`` from each
    mirror in turn until one copy passes verification.
    """
    directory = Path(directory)
    existing = _existing_file(name, directory)
    if existing is not None:
        return existing
    why = "It was not downloaded: download=False."
    if download:
        try:
            return _download_from_mirrors(name, directory, mirrors, checksums, progress)
        except _DownloadFailed as failure:
            why = str(failure)
    raise MNISTNotFoundError(mnist_not_found_message([name], [directory], why, directory))


def read_mnist_file(path, kind, sha256):
    """Read, verify and parse one MNIST file: a uint8 array.

    ``kind`` is ``"images"`` (shape ``(N, 28, 28)``) or ``"labels"``
    (shape ``(N,)``, values 0 to 9); ``sha256`` is the expected hash of the
    uncompressed bytes.
    """
    path = Path(path)
    try:
        return verify_mnist_bytes(path.read_bytes(), kind, sha256,
                                  compressed=path.suffix == ".gz")
    except MNISTFileError as problem:
        raise MNISTFileError(f"{path}: {problem} {_remedy(path)}") from None


def verify_mnist_bytes(raw, kind, sha256, compressed=None):
    """Check the bytes of one MNIST file and return its uint8 array.

    ``compressed`` says whether the file claims to be gzip (``None``: guess
    from the content). Raises ``MNISTFileError`` naming the problem.
    """
    data = uncompress(raw, compressed)
    magic = IMAGES_MAGIC if kind == "images" else LABELS_MAGIC
    array = parse_idx(data, expected_magic=magic)
    if kind == "images" and array.shape[1:] != IMAGE_SHAPE:
        raise MNISTFileError(
            f"images are {array.shape[1]}x{array.shape[2]}, MNIST images are 28x28."
        )
    if kind == "labels" and array.size and array.max() > 9:
        raise MNISTFileError(f"a label is {array.max()}, MNIST labels are the digits 0 to 9.")
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256.lower():
        raise MNISTFileError(
            f"SHA-256 checksum mismatch: the uncompressed contents hash to {actual}, "
            f"the original file to {sha256.lower()}; the file is damaged or is not "
            f"the original MNIST file."
        )
    return array


# ---------------------------------------------------------------- IDX format

def uncompress(raw, compressed=None):
    """The IDX bytes inside ``raw``: gunzipped when it is gzip data.

    Recognises the usual impostors: an empty file, an HTML or XML page (what
    a mirror sends instead of the file when something goes wrong), a file
    named ``.gz`` that is not gzip, a cut-off gzip stream.
    """
    if not raw:
        raise MNISTFileError("the file is empty (0 bytes).")
    if looks_like_markup(raw):
        raise MNISTFileError(
            "the file holds an HTML/XML page, not MNIST data: probably an error page "
            "from a download mirror, saved under the file's name."
        )
    is_gzip = raw[:2] == GZIP_MAGIC
    if compressed and not is_gzip:
        raise MNISTFileError(
            f"the file is named .gz but is not gzip data (it starts with {raw[:8]!r}): "
            "probably an error page from a download mirror or a broken download."
        )
    if not is_gzip:
        return raw
    try:
        data = gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as error:
        raise MNISTFileError(f"the gzip data is truncated or damaged ({error}).") from None
    if looks_like_markup(data):
        raise MNISTFileError("the file holds a compressed HTML/XML page, not MNIST data.")
    return data


def looks_like_markup(data):
    """Whether ``data`` starts like an HTML or XML document."""
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<body")) or (
        b"<html" in head
    )


def parse_idx(data, expected_magic=None):
    """The array stored in the IDX bytes ``data`` (a read-only view, no copy).

    Checks the magic number (against ``expected_magic`` when given) and that
    the data after the header hold exactly ``prod(shape)`` values: not one
    byte fewer (a truncated file) and not one more.
    """
    if len(data) < 4:
        raise MNISTFileError(f"the file is truncated: {len(data)} bytes, shorter than an IDX header.")
    (magic,) = struct.unpack_from(">I", data, 0)
    if expected_magic is not None and magic != expected_magic:
        raise MNISTFileError(
            f"wrong magic number 0x{magic:08X}, expected 0x{expected_magic:08X}; "
            "this is not the expected IDX file."
        )
    type_code, ndim = (magic >> 8) & 0xFF, magic & 0xFF
    if magic >> 16 != 0 or type_code not in _IDX_TYPES or ndim == 0:
        raise MNISTFileError(f"not an IDX file: its magic number is 0x{magic:08X}.")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise MNISTFileError(
            f"the file is truncated: {len(data)} bytes, shorter than its {header_size}-byte header."
        )
    shape = struct.unpack_from(f">{ndim}I", data, 4)
    dtype = np.dtype(_IDX_TYPES[type_code])
    expected_size = header_size + prod(shape) * dtype.itemsize
    if len(data) < expected_size:
        raise MNISTFileError(
            f"the file is truncated: {len(data)} bytes, but its header announces shape "
            f"{shape}, which needs {expected_size} bytes."
        )
    if len(data) > expected_size:
        raise MNISTFileError(
            f"the file has {len(data) - expected_size} bytes more than its header "
            f"(shape {shape}) announces."
        )
    array = np.frombuffer(data, dtype=dtype, count=prod(shape), offset=header_size)
    return array.reshape(shape).astype(dtype.newbyteorder("="), copy=False)


# ---------------------------------------------------------------- helpers

def _download_from_mirrors(name, directory, mirrors, checksums, progress):
    """Fetch ``name.gz`` from the first mirror whose copy passes verification.

    Raises ``_DownloadFailed``, listing each address tried and its error.
    """
    destination = directory / f"{name}.gz"
    kind = "images" if "images" in name else "labels"
    sha256 = _expected_sha256(checksums, name)
    made = _missing_folders(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _DownloadFailed(
            f"They could not be downloaded: the folder {directory} cannot be created "
            f"({error}); choose a writable folder."
        ) from None

    def verify(path):
        verify_mnist_bytes(path.read_bytes(), kind, sha256, compressed=True)

    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + destination.name
        try:
            return download_file(url, destination, verify=verify, progress=progress)
        except DOWNLOAD_ERRORS as error:  # MNISTFileError is a ValueError
            failures.append(f"    {url}: {error}")
    tried = "\n".join(failures) or "    (no mirrors given)"
    _remove_if_empty(made)
    raise _DownloadFailed(
        f"Downloading {destination.name} failed at every mirror (the files may also be "
        f"downloaded by hand from these addresses or any MNIST copy):\n{tried}"
    )


def _missing_folders(directory):
    """``directory`` and those of its parents that do not exist, deepest first."""
    missing = []
    for folder in (directory, *directory.parents):
        if folder.exists():
            break
        missing.append(folder)
    return missing


def _remove_if_empty(folders):
    """Remove the folders a failed download made, deepest first, while they are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def _split_files(split):
    if split not in MNIST_FILES:
        raise ValueError(f"load_mnist: split must be 'train' or 'test', not {split!r}.")
    return MNIST_FILES[split]


def _expected_sha256(checksums, name):
    try:
        return checksums[name]
    except KeyError:
        raise ValueError(f"no SHA-256 checksum given for {name}; checksums has "
                         f"{sorted(checksums)}.") from None


def _check_subset(subset, available, split):
    if isinstance(subset, bool) or not isinstance(subset, (int, np.integer)):
        raise TypeError(f"load_mnist: subset must be a whole number of examples, not {subset!r}.")
    if not 1 <= subset <= available:
        raise ValueError(
            f"load_mnist: subset={subset}, but the {split} split has {available} examples; "
            f"choose 1 to {available}, or None for all."
        )


def _where_to_point():
    return (f"set the environment variable {DATA_DIR_VARIABLE} to a folder holding the "
            "MNIST files (or pass that folder as load_mnist(..., data_dir=folder))")


def _remedy(path):
    return (f"Delete {path} and run again to download a fresh copy, or "
            f"{_where_to_point()}.")
