"""Missing MNIST in the notebook validation: one failure with the loader's message, or skips.

A small notebook that reads MNIST is validated by pytest in a separate
process, with FRAMEWORK_DATA_DIR pointing at an empty folder and a mirror
that has nothing, so nothing depends on the network.
"""

import os
import subprocess
import sys

import nbformat
import pytest

from tools.chapters import ROOT
from tools.missing_data import reads_mnist


def notebook_with(*sources):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    return notebook


@pytest.fixture
def offline_book(tmp_path):
    """A folder with a notebook that reads MNIST, and what pytest needs to run it offline."""
    empty_mirror = tmp_path / "mirror"
    empty_mirror.mkdir()
    (tmp_path / "offline_mirrors.py").write_text(
        "import framework.data.mnist as mnist\n"
        f"mnist.MNIST_MIRRORS = ({empty_mirror.as_uri() + '/'!r},)\n"
    )
    notebook = notebook_with("from framework.data.mnist import load_mnist",
                             'images, labels = load_mnist("test")',
                             "print(labels[:3])")
    nbformat.write(notebook, tmp_path / "reads_mnist.ipynb")
    return tmp_path


def validate(folder, **environment):
    env = {key: value for key, value in os.environ.items()
           if key not in ("FRAMEWORK_SKIP_MISSING_DATA", "PYTEST_ADDOPTS")}
    env.update(FRAMEWORK_DATA_DIR=str(folder / "data"),
               PYTHONPATH=os.pathsep.join([str(ROOT), str(folder)]), **environment)
    command = [sys.executable, "-m", "pytest", "-p", "tools.missing_data", "-p", "offline_mirrors",
               "--nbval", "--nbval-current-env", "-p", "no:cacheprovider", "-rs",
               "reads_mnist.ipynb"]
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=300)


def test_missing_mnist_fails_the_notebook_once_with_the_loaders_message(offline_book):
    finished = validate(offline_book)
    out = finished.stdout
    assert finished.returncode == 1, out
    assert "2 skipped, 1 error" in out.splitlines()[-1]
    assert "reads_mnist.ipynb needs MNIST. MNIST not found: 4 of its 4 files are missing" in out
    assert "t10k-labels-idx1-ubyte.gz" in out and str(offline_book / "data") in out
    assert "FRAMEWORK_DATA_DIR" in out and "Allow the download" in out
    assert "FRAMEWORK_SKIP_MISSING_DATA=1" in out
    assert "MNIST is missing: see the first cell of reads_mnist.ipynb" in out
    assert "NameError" not in out and "Traceback" not in out


def test_missing_mnist_skips_the_notebook_when_asked(offline_book):
    finished = validate(offline_book, FRAMEWORK_SKIP_MISSING_DATA="1")
    out = finished.stdout
    assert finished.returncode == 0, out
    assert "3 skipped" in out.splitlines()[-1]
    assert "FRAMEWORK_SKIP_MISSING_DATA is set and MNIST is missing" in out
    assert "download=False" in out
    assert not (offline_book / "data").exists()  # nothing was downloaded, no folder made


def test_which_notebooks_read_mnist(tmp_path):
    reads = tmp_path / "reads.ipynb"
    nbformat.write(notebook_with("x = 1", "train = load_mnist('train')"), reads)
    talks = tmp_path / "talks.ipynb"
    talk = notebook_with("x = 1")
    talk.cells.append(nbformat.v4.new_markdown_cell("`load_mnist(split)` reads the files"))
    nbformat.write(talk, talks)
    assert reads_mnist(reads) and not reads_mnist(talks)
    chapters = {path.name: reads_mnist(path) for path in (ROOT / "notebooks").glob("0[1-8]_*.ipynb")}
    assert chapters.pop("08_training_on_mnist.ipynb") is True
    assert not any(chapters.values()), chapters
