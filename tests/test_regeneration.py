"""Regenerating a chapter gives its committed notebook again, byte for byte.

Chapter 4 is cheap to run (a few seconds) and has both kinds of picture: a
graphviz drawing and a matplotlib figure. Its notebook is rebuilt into a
temporary folder and compared with the committed file as bytes: outputs,
pictures, metadata and cell ids.
"""

import json
import os
import subprocess
import sys

import pytest

from tools.chapters import ROOT, prepare_kernel_environment, same_arithmetic_everywhere

CHAPTER = "04_backpropagation"


def cells_that_differ(fresh, committed):
    """The indices of the cells whose source, outputs or metadata differ."""
    new, old = (json.loads(path.read_text(encoding="utf-8"))["cells"] for path in (fresh, committed))
    if len(new) != len(old):
        return [f"{len(new)} cells instead of {len(old)}"]
    return [index for index, (a, b) in enumerate(zip(new, old)) if a != b]


def test_the_chapter_has_what_the_comparison_is_about():
    notebook = json.loads((ROOT / "notebooks" / f"{CHAPTER}.ipynb").read_text(encoding="utf-8"))
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    pictures = [output for cell in code for output in cell["outputs"]
                if "image/png" in output.get("data", {})]
    assert len(pictures) >= 2
    assert any("plt." in "".join(cell["source"]) for cell in code)  # a matplotlib figure
    assert not any("nbval-ignore-output" in cell["metadata"].get("tags", []) for cell in code)


def is_student_edition():
    """Whether this copy is a student edition, whose notebooks stop their outputs at the first exercise."""
    notebook = json.loads((ROOT / "notebooks" / f"{CHAPTER}.ipynb").read_text(encoding="utf-8"))
    graded = any("nbgrader" in cell.get("metadata", {}) for cell in notebook["cells"])
    stubbed = any('NotImplementedError("Exercise' in path.read_text(encoding="utf-8")
                  for path in (ROOT / "framework").rglob("*.py"))
    return graded or stubbed


def test_regenerating_a_chapter_reproduces_its_committed_notebook(tmp_path):
    if is_student_edition():
        pytest.skip("a student edition: its notebooks keep no outputs after the first exercise")
    command = [sys.executable, "-m", "tools.build", "notebooks", CHAPTER[:2], "--out", str(tmp_path)]
    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900,
                              env=prepare_kernel_environment(dict(os.environ)))
    assert finished.returncode == 0, finished.stdout + finished.stderr
    fresh, committed = tmp_path / f"{CHAPTER}.ipynb", ROOT / "notebooks" / f"{CHAPTER}.ipynb"
    assert fresh.read_bytes() == committed.read_bytes(), (
        f"regenerating {CHAPTER} changed cells {cells_that_differ(fresh, committed)}")


PINNED = ("OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES")


def python_without_pinning(code, *args, **extra):
    """Run ``code`` in a fresh interpreter whose environment pins nothing but ``extra``."""
    environment = {key: value for key, value in os.environ.items() if key not in PINNED}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          cwd=ROOT, env={**environment, **extra}, timeout=120)


def test_the_pinned_machine_code_loads_quietly_and_takes_effect():
    # What an unpinned process (a fresh machine) decides to pin.
    decided = python_without_pinning(
        "import json; from tools.chapters import same_arithmetic_everywhere as pin; "
        "print(json.dumps(pin()))")
    settings = json.loads(decided.stdout)
    if not settings:
        pytest.skip("not an x86-64 processor with AVX2: nothing is pinned")
    assert settings["OPENBLAS_CORETYPE"] == "Haswell"
    disabled = settings.get("NPY_DISABLE_CPU_FEATURES", "").split()
    code = ("import sys, numpy as np\n"
            "try:\n"
            "    from numpy._core._multiarray_umath import __cpu_features__ as features\n"
            "except ImportError:\n"
            "    from numpy.core._multiarray_umath import __cpu_features__ as features\n"
            "print(' '.join(name for name in sys.argv[1:] if features.get(name)))\n"
            "np.exp(np.ones((50, 50)) @ np.ones((50, 50)))\n")
    before = python_without_pinning(code, *disabled)
    assert before.stdout.split() == disabled  # this processor has each of them ...
    finished = python_without_pinning(code, *disabled, **settings)
    assert finished.returncode == 0 and finished.stderr == "", finished.stderr
    assert finished.stdout.strip() == ""  # ... and with the settings NumPy uses none of them


def test_jupyter_kernels_of_the_environment_get_the_same_settings():
    """A notebook run in Jupyter, outside the book's commands, computes the same bits."""
    decided = python_without_pinning(
        "import json; from tools.chapters import same_arithmetic_everywhere as pin; "
        "print(json.dumps(pin()))")
    wanted = {"PYTHONHASHSEED": "0", **json.loads(decided.stdout)}
    code = (
        "import json, os, sys, nbformat\n"
        "from nbclient import NotebookClient\n"
        "notebook = nbformat.v4.new_notebook()\n"
        "notebook.cells = [nbformat.v4.new_code_cell(\n"
        "    'import os, json; print(json.dumps({k: os.environ.get(k) for k in %r}))' % sys.argv[1:])]\n"
        "NotebookClient(notebook, kernel_name='python3').execute()\n"
        "print(notebook.cells[0].outputs[0]['text'])\n"
    )
    environment = {key: value for key, value in os.environ.items()
                   if key not in (*PINNED, "PYTHONHASHSEED")}
    finished = subprocess.run([sys.executable, "-c", code, *wanted], capture_output=True, text=True,
                              cwd=ROOT, env=environment, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout) == wanted
