"""No colour codes in test output written to a file, colours when asked for."""

import os
import subprocess
import sys

import nbformat

from tools.chapters import ROOT
from tools.plain_output import strip_colour

ESC = "\x1b"


def test_strip_colour():
    coloured = "\x1b[31mZeroDivisionError\x1b[39m: division by \x1b[1;32mzero\x1b[0m\x1b[2K"
    assert strip_colour(coloured) == "ZeroDivisionError: division by zero"


def validate_failing_notebook(tmp_path, *options):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("1 / 0")]
    nbformat.write(notebook, tmp_path / "fails.ipynb")
    env = {key: value for key, value in os.environ.items()
           if key not in ("PY_COLORS", "FORCE_COLOR", "NO_COLOR", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = str(ROOT)
    command = [sys.executable, "-m", "pytest", "-p", "tools.plain_output", "--nbval",
               "--nbval-current-env", "-p", "no:cacheprovider", *options, "fails.ipynb"]
    finished = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)
    assert finished.returncode == 1
    return finished.stdout


def test_a_failing_cell_is_reported_without_colour_codes_in_a_file(tmp_path):
    out = validate_failing_notebook(tmp_path)
    assert "Notebook cell execution failed" in out and "ZeroDivisionError" in out
    assert ESC not in out


def test_colours_stay_when_asked_for(tmp_path):
    out = validate_failing_notebook(tmp_path, "--color=yes")
    assert ESC in out and "ZeroDivisionError" in strip_colour(out)
