"""The MNIST loader: IDX parsing, verification, the data directory, downloads.

Small IDX files are made in temporary folders, so every kind of bad file can
be tried without the real data and without a network: downloads come from
``file://`` mirrors. The real files are checked when present.
"""

import gzip
import hashlib
import struct
import subprocess
import sys

import numpy as np
import pytest

from framework.data import mnist
from framework.data.mnist import (
    MNIST_FILES,
    MNISTError,
    MNISTFileError,
    MNISTNotFoundError,
    data_directory,
    download_mnist,
    load_mnist,
    parse_idx,
)

SIZES = {"train": 5, "test": 3}


def idx_bytes(array, magic=None):
    """The IDX encoding of a uint8 array (the magic number can be forced)."""
    array = np.asarray(array, dtype=np.uint8)
    if magic is None:
        magic = 0x0800 | array.ndim
    header = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def make_small_mnist(directory, compressed=True):
    """Write a tiny but valid MNIST (5 training, 3 test examples) into ``directory``.

    Returns the arrays written and the checksum table that matches them.
    """
    rng = np.random.default_rng(1)
    directory.mkdir(parents=True, exist_ok=True)
    arrays, checksums = {}, {}
    for split, count in SIZES.items():
        arrays[split] = {
            "images": rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8),
            "labels": rng.integers(0, 10, size=count, dtype=np.uint8),
        }
        for kind, name in MNIST_FILES[split].items():
            data = idx_bytes(arrays[split][kind])
            checksums[name] = hashlib.sha256(data).hexdigest()
            write_file(directory, name, data, compressed)
    return arrays, checksums


def write_file(directory, name, data, compressed=True):
    """Write ``data`` as ``name.gz`` (gzip) or ``name`` (raw); return the path."""
    path = directory / (f"{name}.gz" if compressed else name)
    path.write_bytes(gzip.compress(data, mtime=0) if compressed else data)
    return path


@pytest.fixture
def small(tmp_path):
    directory = tmp_path / "mnist"
    arrays, checksums = make_small_mnist(directory)
    return directory, arrays, checksums


def load_small(directory, checksums, split="train", **options):
    return load_mnist(split, data_dir=directory, download=False, checksums=checksums, **options)


# ------------------------------------------------------------ valid files

@pytest.mark.parametrize("compressed", [True, False], ids=["gz", "raw"])
@pytest.mark.parametrize("split", ["train", "test"])
def test_valid_files_load_exactly(tmp_path, compressed, split):
    arrays, checksums = make_small_mnist(tmp_path, compressed=compressed)
    images, labels = load_small(tmp_path, checksums, split)
    expected = arrays[split]
    assert images.shape == (SIZES[split], 28, 28) and images.dtype == np.float32
    assert labels.shape == (SIZES[split],) and labels.dtype == np.int64
    np.testing.assert_array_equal(images, expected["images"].astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(labels, expected["labels"])
    assert images.min() >= 0.0 and images.max() <= 1.0


def test_flatten_and_subset(small):
    directory, arrays, checksums = small
    images, labels = load_small(directory, checksums, flatten=True, subset=2)
    assert images.shape == (2, 784) and labels.shape == (2,)
    np.testing.assert_array_equal(images * 255, arrays["train"]["images"][:2].reshape(2, 784))
    np.testing.assert_array_equal(labels, arrays["train"]["labels"][:2])
    assert images.flags.writeable and labels.flags.writeable


@pytest.mark.parametrize("subset", [0, -1, 6])
def test_subset_out_of_range(small, subset):
    directory, _, checksums = small
    with pytest.raises(ValueError, match="subset"):
        load_small(directory, checksums, subset=subset)


@pytest.mark.parametrize("subset", [2.5, True, "3"])
def test_subset_not_a_count(small, subset):
    directory, _, checksums = small
    with pytest.raises(TypeError, match="subset"):
        load_small(directory, checksums, subset=subset)


def test_unknown_split(small):
    directory, _, checksums = small
    with pytest.raises(ValueError, match="'train' or 'test'"):
        load_small(directory, checksums, split="validation")


# ------------------------------------------------------------ bad files

def assert_refused(directory, checksums, path, *fragments, split="train"):
    """Loading must raise MNISTFileError naming ``path``, the problem and the remedy."""
    with pytest.raises(MNISTFileError) as caught:
        load_small(directory, checksums, split)
    message = str(caught.value)
    assert str(path) in message
    assert "Delete" in message and "FRAMEWORK_DATA_DIR" in message and "data_dir" in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, MNISTError)
    return message


def test_truncated_gzip(small):
    directory, _, checksums = small
    path = directory / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-100])
    assert_refused(directory, checksums, path, "truncated")


def test_truncated_payload(small):
    directory, arrays, checksums = small
    data = idx_bytes(arrays["train"]["images"])[:-1]
    path = write_file(directory, "train-images-idx3-ubyte", data)
    assert_refused(directory, checksums, path, "truncated", "(5, 28, 28)")


def test_truncated_header(small):
    directory, _, checksums = small
    path = write_file(directory, "train-labels-idx1-ubyte", b"\x00\x00\x08\x01\x00\x00")
    assert_refused(directory, checksums, path, "truncated", "header")


def test_extra_bytes(small):
    directory, arrays, checksums = small
    data = idx_bytes(arrays["train"]["labels"]) + b"\x00\x00"
    path = write_file(directory, "train-labels-idx1-ubyte", data)
    assert_refused(directory, checksums, path, "2 bytes more")


def test_empty_file(small):
    directory, _, checksums = small
    path = write_file(directory, "train-labels-idx1-ubyte", b"", compressed=False)
    (directory / "train-labels-idx1-ubyte.gz").unlink()
    assert_refused(directory, checksums, path, "empty")


def test_wrong_magic_number(small):
    directory, arrays, checksums = small
    labels_as_images = idx_bytes(arrays["train"]["labels"])  # magic 0x00000801
    path = write_file(directory, "train-images-idx3-ubyte", labels_as_images)
    assert_refused(directory, checksums, path, "wrong magic number 0x00000801", "0x00000803")


@pytest.mark.parametrize("page", [
    b"<!DOCTYPE html>\n<html><body>404 Not Found</body></html>",
    b"\n  <html><head><title>Access denied</title></head></html>",
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code></Error>',
], ids=["doctype", "html", "s3-xml"])
@pytest.mark.parametrize("compressed_name", [True, False], ids=["named-gz", "named-raw"])
def test_html_page_saved_as_the_file(small, page, compressed_name):
    directory, _, checksums = small
    (directory / "train-images-idx3-ubyte.gz").unlink()
    name = "train-images-idx3-ubyte" + (".gz" if compressed_name else "")
    path = directory / name
    path.write_bytes(page)  # saved as is, whatever the name says
    assert_refused(directory, checksums, path, "HTML/XML page", "error page")


def test_gz_name_without_gzip_data(small):
    directory, _, checksums = small
    path = directory / "train-labels-idx1-ubyte.gz"
    path.write_bytes(b"Service Unavailable")
    assert_refused(directory, checksums, path, "not gzip data")


def test_checksum_mismatch(small):
    directory, arrays, checksums = small
    images = arrays["train"]["images"].copy()
    images[0, 0, 0] ^= 1  # one bit of one pixel: structurally still perfect
    path = write_file(directory, "train-images-idx3-ubyte", idx_bytes(images))
    message = assert_refused(directory, checksums, path, "SHA-256 checksum mismatch")
    assert checksums["train-images-idx3-ubyte"] in message


def test_checksum_verified_against_the_real_values_by_default(small):
    directory, _, _ = small
    with pytest.raises(MNISTFileError, match="checksum mismatch"):
        load_mnist("test", data_dir=directory, download=False)


def test_labels_out_of_range(small):
    directory, _, checksums = small
    labels = np.array([0, 1, 12, 3, 4], dtype=np.uint8)
    data = idx_bytes(labels)
    checksums = dict(checksums, **{"train-labels-idx1-ubyte": hashlib.sha256(data).hexdigest()})
    path = write_file(directory, "train-labels-idx1-ubyte", data)
    assert_refused(directory, checksums, path, "a label is 12")


def test_images_of_the_wrong_size(small):
    directory, _, checksums = small
    data = idx_bytes(np.zeros((5, 32, 32), dtype=np.uint8))
    path = write_file(directory, "train-images-idx3-ubyte", data)
    assert_refused(directory, checksums, path, "32x32")


def test_images_and_labels_of_different_lengths(small):
    directory, _, checksums = small
    data = idx_bytes(np.zeros(4, dtype=np.uint8))
    checksums = dict(checksums, **{"train-labels-idx1-ubyte": hashlib.sha256(data).hexdigest()})
    write_file(directory, "train-labels-idx1-ubyte", data)
    with pytest.raises(MNISTFileError, match="5 images but 4 labels"):
        load_small(directory, checksums)


def test_missing_checksum_entry(small):
    directory, _, checksums = small
    del checksums["train-images-idx3-ubyte"]
    with pytest.raises(ValueError, match="no SHA-256 checksum given for train-images"):
        load_small(directory, checksums)


# ------------------------------------------------------------ parse_idx itself

@pytest.mark.parametrize("type_code, dtype", [(0x08, np.uint8), (0x09, np.int8), (0x0B, ">i2"),
                                               (0x0C, ">i4"), (0x0D, ">f4"), (0x0E, ">f8")])
def test_parse_idx_every_element_type(type_code, dtype):
    first = 0 if np.dtype(dtype).kind == "u" else -3  # negatives only for signed types
    array = np.arange(first, first + 12).reshape(2, 3, 2).astype(dtype)
    data = struct.pack(">I", (type_code << 8) | 3) + struct.pack(">3I", 2, 3, 2) + array.tobytes()
    parsed = parse_idx(data)
    assert parsed.shape == (2, 3, 2) and parsed.dtype.isnative
    np.testing.assert_array_equal(parsed, array)


@pytest.mark.parametrize("data", [b"\x01\x00\x08\x01", b"\x00\x00\x07\x01", b"\x00\x00\x08\x00"])
def test_parse_idx_rejects_non_idx_magic(data):
    with pytest.raises(MNISTFileError, match="not an IDX file"):
        parse_idx(data + b"\x00" * 8)


def test_parse_idx_is_a_view_of_the_bytes():
    data = idx_bytes(np.arange(6, dtype=np.uint8).reshape(2, 3))
    parsed = parse_idx(data)
    assert not parsed.flags.owndata and not parsed.flags.writeable


# ------------------------------------------------------------ the data directory

@pytest.fixture
def beside(monkeypatch, tmp_path):
    """A repository ``tmp_path/book`` whose package looks for ``tmp_path/shared/datasets/mnist``.

    Returns that shared folder (not created); the cache is ``tmp_path/xdg``,
    and FRAMEWORK_DATA_DIR is unset.
    """
    repository = tmp_path / "book"
    repository.mkdir()
    (repository / "pyproject.toml").write_text("")
    monkeypatch.setattr(mnist, "REPOSITORY", repository)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("FRAMEWORK_DATA_DIR", raising=False)
    return tmp_path / "shared" / "datasets" / "mnist"


def test_data_directory_order(beside, monkeypatch, tmp_path):
    cache = tmp_path / "xdg" / "framework" / "mnist"
    # Nothing anywhere: the cache, where the files will be downloaded.
    assert data_directory() == cache
    # A shared folder without all four files does not count ...
    make_small_mnist(beside)
    (beside / "t10k-labels-idx1-ubyte.gz").unlink()
    assert data_directory() == cache
    # ... with them, it comes before the cache.
    make_small_mnist(beside)
    assert data_directory() == beside
    # The environment variable comes before both, even for an empty folder,
    # and the argument before everything.
    monkeypatch.setenv("FRAMEWORK_DATA_DIR", str(tmp_path / "env"))
    assert data_directory() == tmp_path / "env"
    assert data_directory(tmp_path / "arg") == tmp_path / "arg"
    assert data_directory(str(tmp_path / "arg")) == tmp_path / "arg"


def test_the_shared_folder_is_found_relative_to_the_repository(beside, tmp_path):
    assert mnist.shared_directory() == beside
    assert ".." not in mnist.shared_directory().parts
    # Installed outside a repository (no pyproject.toml beside the package): no shared folder.
    (tmp_path / "book" / "pyproject.toml").unlink()
    assert mnist.shared_directory() is None
    assert mnist.searched_directories() == [tmp_path / "xdg" / "framework" / "mnist"]


def test_the_real_repository_looks_beside_itself():
    repository = mnist.REPOSITORY
    assert (repository / "framework" / "data" / "mnist.py").is_file()
    assert mnist.shared_directory() == repository.parent / "shared" / "datasets" / "mnist"


def test_the_cache_folder_without_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert mnist.cache_directory() == tmp_path / "home" / ".cache" / "framework" / "mnist"


def test_load_mnist_reads_the_shared_folder(beside):
    arrays, checksums = make_small_mnist(beside)
    _, labels = load_mnist("test", download=False, checksums=checksums)
    np.testing.assert_array_equal(labels, arrays["test"]["labels"])


def test_environment_variable_is_used_by_load_mnist(small, monkeypatch):
    directory, arrays, checksums = small
    monkeypatch.setenv("FRAMEWORK_DATA_DIR", str(directory))
    _, labels = load_mnist("test", download=False, checksums=checksums)
    np.testing.assert_array_equal(labels, arrays["test"]["labels"])


# ------------------------------------------------------------ missing files, downloads

def test_missing_file_offline(small):
    directory, _, checksums = small
    (directory / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(MNISTNotFoundError) as caught:
        load_small(directory, checksums, "test")
    message = str(caught.value)
    assert "1 of its 4 files is missing" in message
    assert "t10k-labels-idx1-ubyte.gz" in message and str(directory) in message
    assert "t10k-images-idx3-ubyte" not in message  # present, so not named
    assert "They were not downloaded: download=False." in message
    assert "Allow the download" in message and "--no-download" in message
    assert "FRAMEWORK_DATA_DIR" in message and "data_dir" in message
    assert isinstance(caught.value, FileNotFoundError)


def test_missing_data_names_every_file_every_folder_and_both_fixes(beside, tmp_path):
    with pytest.raises(MNISTNotFoundError) as caught:
        load_mnist("train", download=False)
    message = str(caught.value)
    cache = tmp_path / "xdg" / "framework" / "mnist"
    assert message.startswith("MNIST not found: 4 of its 4 files are missing")
    for name in mnist.MNIST_SHA256:  # the test files too, though "train" was asked for
        assert f"    {name}.gz\n" in message
    assert f"    {beside}  (no such folder)\n" in message
    assert f"    {cache}  (no such folder)\n" in message
    assert message.index(str(beside)) < message.index(str(cache))  # in the order searched
    assert "1. Set the environment variable FRAMEWORK_DATA_DIR" in message
    assert "2. Allow the download" in message and f"downloaded into {cache}" in message


def test_a_failed_download_is_one_error_naming_every_missing_file(small, tmp_path):
    directory, _, checksums = small
    for name in ("train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (directory / f"{name}.gz").unlink()
    mirror = tmp_path / "nothing here"
    mirror.mkdir()
    with pytest.raises(MNISTNotFoundError) as caught:
        load_mnist("train", data_dir=directory, checksums=checksums,
                   mirrors=[mirror_url(mirror)], progress=False)
    message = str(caught.value)
    assert "2 of its 4 files are missing" in message
    assert "train-images-idx3-ubyte.gz" in message and "t10k-labels-idx1-ubyte.gz" in message
    assert "train-labels-idx1-ubyte" not in message
    assert "Downloading train-images-idx3-ubyte.gz failed at every mirror" in message
    assert mirror_url(mirror) + "train-images-idx3-ubyte.gz" in message
    assert "FRAMEWORK_DATA_DIR" in message and "Allow the download" in message


def test_a_failed_download_leaves_no_folder_behind(tmp_path):
    mirror = tmp_path / "empty mirror"
    mirror.mkdir()
    target = tmp_path / "cache" / "framework" / "mnist"
    with pytest.raises(MNISTNotFoundError) as caught:
        load_mnist("test", data_dir=target, mirrors=[mirror_url(mirror)], progress=False)
    assert f"    {target}  (no such folder)" in str(caught.value)
    assert not (tmp_path / "cache").exists()


def mirror_url(directory):
    return directory.as_uri() + "/"


def test_download_from_a_file_mirror(tmp_path):
    mirror = tmp_path / "mirror"
    arrays, checksums = make_small_mnist(mirror)
    target = tmp_path / "cache" / "mnist"  # does not exist yet
    images, labels = load_mnist("train", data_dir=target, checksums=checksums,
                                mirrors=[mirror_url(mirror)], progress=False)
    np.testing.assert_array_equal(labels, arrays["train"]["labels"])
    assert sorted(p.name for p in target.iterdir()) == [
        "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    assert (target / "train-images-idx3-ubyte.gz").read_bytes() == (
        mirror / "train-images-idx3-ubyte.gz").read_bytes()


def test_download_mnist_fetches_all_four_files(tmp_path):
    mirror = tmp_path / "mirror"
    _, checksums = make_small_mnist(mirror)
    target = download_mnist(tmp_path / "data", mirrors=[mirror_url(mirror)],
                            checksums=checksums, progress=False)
    assert target == tmp_path / "data"
    assert len(list(target.iterdir())) == 4


def test_download_skips_a_mirror_that_serves_an_error_page(tmp_path):
    bad, good = tmp_path / "bad", tmp_path / "good"
    bad.mkdir()
    _, checksums = make_small_mnist(good)
    for name in MNIST_FILES["test"].values():
        (bad / f"{name}.gz").write_bytes(b"<html><body>moved</body></html>")
    target = tmp_path / "data"
    _, labels = load_mnist("test", data_dir=target, checksums=checksums,
                           mirrors=[mirror_url(bad), mirror_url(good)], progress=False)
    assert labels.shape == (3,)
    assert (target / "t10k-images-idx3-ubyte.gz").read_bytes() == (
        good / "t10k-images-idx3-ubyte.gz").read_bytes()


def test_every_mirror_failing_leaves_no_file_and_explains(tmp_path):
    bad, empty = tmp_path / "bad", tmp_path / "empty"
    bad.mkdir()
    empty.mkdir()
    _, checksums = make_small_mnist(tmp_path / "elsewhere")
    (bad / "train-images-idx3-ubyte.gz").write_bytes(b"<!DOCTYPE html><p>quota exceeded</p>")
    target = tmp_path / "data"
    mirrors = [mirror_url(bad), mirror_url(empty)]
    with pytest.raises(MNISTNotFoundError) as caught:
        load_mnist("train", data_dir=target, checksums=checksums, mirrors=mirrors, progress=False)
    message = str(caught.value)
    for mirror in mirrors:
        assert mirror + "train-images-idx3-ubyte.gz" in message
    assert "HTML/XML page" in message
    assert "by hand" in message and str(target) in message and "FRAMEWORK_DATA_DIR" in message
    assert "4 of its 4 files are missing" in message  # the first failure stops the attempt
    assert not target.exists()  # no half-written or temporary file, not even the folder, left behind


def test_download_rejects_a_corrupt_copy(tmp_path):
    mirror = tmp_path / "mirror"
    _, checksums = make_small_mnist(mirror)
    path = mirror / "train-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(5, dtype=np.uint8)), mtime=0))
    target = tmp_path / "data"
    with pytest.raises(MNISTNotFoundError, match="checksum mismatch"):
        load_mnist("train", data_dir=target, checksums=checksums,
                   mirrors=[mirror_url(mirror)], progress=False)
    assert [p.name for p in target.iterdir()] == ["train-images-idx3-ubyte.gz"]


def test_download_shows_a_progress_bar(tmp_path, capsys):
    mirror = tmp_path / "mirror"
    _, checksums = make_small_mnist(mirror)
    load_mnist("test", data_dir=tmp_path / "data", checksums=checksums,
               mirrors=[mirror_url(mirror)])
    assert "t10k-images-idx3-ubyte.gz" in capsys.readouterr().err


def test_default_mirrors_are_the_public_ones():
    assert mnist.MNIST_MIRRORS[0] == "https://ossci-datasets.s3.amazonaws.com/mnist/"
    assert all(url.endswith("/") for url in mnist.MNIST_MIRRORS)


def test_the_package_imports_only_numpy_tqdm_and_the_standard_library():
    # Compare with what the bare interpreter has already loaded (a
    # distribution's sitecustomize, say): only numpy and tqdm may be added
    # from outside the standard library, and never framework.autograd.
    code = (
        "import sys, sysconfig\n"
        "before = set(sys.modules)\n"
        "import framework.data.datasets, framework.data.loader, framework.data.mnist\n"
        "site = (sysconfig.get_paths()['purelib'], sysconfig.get_paths()['platlib'])\n"
        "added = set(sys.modules) - before\n"
        "outside = {m.split('.')[0] for m in added\n"
        "           if str(getattr(sys.modules[m], '__file__', '') or '').startswith(site)}\n"
        "assert outside <= {'numpy', 'tqdm'}, outside\n"
        "assert not any(m.startswith('framework.autograd') for m in sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------ the real files

# The real files, found as every entry point finds them (FRAMEWORK_DATA_DIR,
# the shared copy beside the repository, the per-user cache).
REAL = data_directory() if mnist.mnist_files_present() else None
needs_real = pytest.mark.skipif(REAL is None, reason="the real MNIST files are not present")


@pytest.fixture(scope="module")
def real_train():
    return load_mnist("train", data_dir=REAL, download=False)


@needs_real
def test_real_training_set(real_train):
    images, labels = real_train
    assert images.shape == (60_000, 28, 28) and images.dtype == np.float32
    assert labels.shape == (60_000,) and labels.dtype == np.int64
    assert images.min() == 0.0 and images.max() == 1.0
    assert labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert np.bincount(labels).tolist() == [5923, 6742, 5958, 6131, 5842,
                                            5421, 5918, 6265, 5851, 5949]


@needs_real
def test_real_test_set():
    images, labels = load_mnist("test", data_dir=REAL, download=False, flatten=True)
    assert images.shape == (10_000, 784) and images.dtype == np.float32
    assert labels.shape == (10_000,) and labels.dtype == np.int64
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982,
                                            892, 958, 1028, 974, 1009]


@needs_real
def test_real_subset_is_the_first_examples(real_train):
    images, labels = load_mnist("train", data_dir=REAL, download=False, subset=100)
    np.testing.assert_array_equal(images, real_train[0][:100])
    np.testing.assert_array_equal(labels, real_train[1][:100])
