"""Where the grader keeps the reference, and the folders in which the student's code runs.

- The grader's own folder (a temporary folder of mode 0700) holds a private
  copy of the reference, from which the expected results are computed, and
  the output of every run.
- As root, the reference the grader was started from is withheld from other
  users: every top-level entry of that repository except the virtual
  environment the grader runs in (``.venv``) loses its permissions for
  group and others (``chmod go-rwx``), so that the student's user can
  neither read the reference answers (package, chapters, notebooks, git
  history) nor change the grader.
- Each run of student code gets a fresh workspace of its own, owned by the
  student's user: the package (``framework/``) with the submission's answers
  of every graded exercise in place of the reference's, the probe, the
  chapter's judges and the inputs (``.grader/``), and for a notebook exercise
  the notebook to execute. It holds no chapter source, no stored notebook
  and no test.
"""

import json
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

from tools.exercises import regions_of_file, replace_regions
from tools.student import repository_files

PROBE = Path(__file__).with_name("probe.py")


def private_folder():
    return Path(tempfile.mkdtemp(prefix="grade-"))  # mode 0700, the grader's own


def withhold(reference):
    """As root: make every top-level entry of ``reference`` but the running environment private.

    Returns the entries changed (relative names).
    """
    reference = Path(reference).resolve()
    environment = Path(sys.prefix).resolve()
    changed = []
    for entry in sorted(reference.iterdir()):
        if entry.is_symlink() or environment.is_relative_to(entry.resolve()):
            continue
        mode = entry.stat().st_mode
        if mode & 0o077:
            entry.chmod(stat.S_IMODE(mode) & 0o700)
            changed.append(entry.name)
    return changed


def copy_reference(reference, target):
    """The repository's own files (no environment, no build, no git history) copied to ``target``."""
    for name in repository_files(reference):
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(Path(reference) / name, destination)
    return target


def package_with(reference, answers, target):
    """The reference's package copied to ``target``, with ``answers`` ({path: {Region: lines}}) in place."""
    shutil.copytree(Path(reference) / "framework", target / "framework",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for path, replacements in answers.items():
        lines, _ = regions_of_file(reference, path)
        (target / path).write_text("".join(replace_regions(lines, replacements)), encoding="utf-8")
    return target


def workspace(package, judges, inputs, sandbox, notebook=None, plan=None, notebook_name="chapter.ipynb"):
    """A fresh folder with the package, the grader's probe, judges and inputs, owned by the student's user."""
    folder = Path(tempfile.mkdtemp(prefix="grade-run-"))
    shutil.copytree(Path(package) / "framework", folder / "framework")
    grader = folder / ".grader"
    grader.mkdir()
    shutil.copy(PROBE, grader / "probe.py")
    shutil.copy(judges, grader / "judges.py")
    (grader / "inputs.json").write_text(json.dumps(inputs), encoding="utf-8")
    if plan is not None:
        (grader / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    if notebook is not None:
        import nbformat

        (folder / "notebooks").mkdir()
        nbformat.write(notebook, folder / "notebooks" / notebook_name)
    for name in (".tmp", ".ipython", ".matplotlib", ".jupyter", ".jupyter-data", ".jupyter-runtime"):
        (folder / name).mkdir()
    if sandbox is not None:
        sandbox.give(folder)
    return folder


def remove(folder):
    shutil.rmtree(folder, ignore_errors=True)
    if os.path.exists(folder):  # a file the student made read-only
        for path in Path(folder).rglob("*"):
            if not path.is_symlink():
                path.chmod(0o700)
        shutil.rmtree(folder, ignore_errors=True)
