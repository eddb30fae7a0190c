"""A pytest plugin: a notebook that reads MNIST fails once when MNIST is missing.

Without it, a chapter whose first data cell cannot find MNIST fails that
cell and then every later cell with a ``NameError``: two dozen failures for
one cause. Before the first cell of a notebook whose code calls
``load_mnist`` or ``download_mnist``, this plugin makes sure the four files
are there, downloading them as the loader would. When they cannot be had,
that first cell fails with the loader's message (which files, which
folders, how to fix it) and the notebook's other cells are skipped.

When MNIST is known to be unavailable, set ``FRAMEWORK_SKIP_MISSING_DATA=1``:
nothing is downloaded and those notebooks are skipped, with the same
message as the reason (``pytest -rs`` shows it).
"""

import json
import os
from functools import cache
from pathlib import Path

import pytest

SKIP_VARIABLE = "FRAMEWORK_SKIP_MISSING_DATA"
MNIST_CALLS = ("load_mnist(", "download_mnist(")


@cache
def reads_mnist(notebook):
    """Whether a code cell of the notebook file calls the MNIST loader."""
    try:
        cells = json.loads(Path(notebook).read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):
        return False
    sources = ("".join(cell.get("source", "")) for cell in cells if cell.get("cell_type") == "code")
    return any(call in source for source in sources for call in MNIST_CALLS)


def skip_requested():
    return os.environ.get(SKIP_VARIABLE, "").strip().lower() not in ("", "0", "no", "false")


@cache
def mnist_problem():
    """None when the four MNIST files are there (after a download if needed), else why not."""
    from framework.data import mnist

    try:
        mnist.download_mnist(mirrors=mnist.MNIST_MIRRORS, download=not skip_requested())
    except mnist.MNISTNotFoundError as error:
        return str(error)
    return None


def notebook_of(item):
    """The notebook file an nbval cell item belongs to, or None for other tests."""
    path = getattr(item, "path", None)
    return path if path is not None and path.suffix == ".ipynb" else None


_failed_notebooks = set()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    notebook = notebook_of(item)
    if notebook is None or not reads_mnist(notebook):
        return
    problem = mnist_problem()
    if problem is None:
        return
    if skip_requested():
        pytest.skip(f"{SKIP_VARIABLE} is set and MNIST is missing. {problem}")
    if notebook not in _failed_notebooks:
        _failed_notebooks.add(notebook)
        pytest.fail(f"{notebook.name} needs MNIST. {problem}\n"
                    f"Or skip the notebooks that need MNIST: {SKIP_VARIABLE}=1.", pytrace=False)
    pytest.skip(f"MNIST is missing: see the first cell of {notebook.name}")
