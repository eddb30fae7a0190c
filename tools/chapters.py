"""The book's chapters: where they live, their titles, and what each may import.

A chapter is a file ``chapters/NN_slug.md`` (MyST Markdown in jupytext
format). Its executed notebook is ``notebooks/NN_slug.ipynb``. The chapter's
title is its first level-one heading (``# Title``).
"""

import os
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS_DIR = ROOT / "chapters"
NOTEBOOKS_DIR = ROOT / "notebooks"
BUILD_DIR = ROOT / "build"

CHAPTER_FILE = re.compile(r"^(?P<number>\d{2})_(?P<name>[a-z0-9]+(?:_[a-z0-9]+)*)\.md$")

# Which chapter introduces each module of the package.
#
# A key "package.*" covers the package and everything below it, unless a
# longer key names a module more precisely. A package itself (its
# __init__.py) belongs to the earliest chapter of anything inside it, so a
# package's __init__.py may import only what that earliest chapter may.
# Chapter 0 is the book's infrastructure, available to every chapter.
# A new module that does not belong to the chapter of its package must be
# added here.
MODULE_CHAPTERS = {
    "framework": 0,
    "framework.book": 0,
    "framework.differentiate.*": 1,
    "framework.autograd.*": 2,
    "framework.autograd.graph": 3,
    "framework.autograd.draw": 3,
    "framework.autograd.gradcheck": 4,
    "framework.nn.*": 6,
    "framework.nn.conv": 9,
    "framework.nn.pooling": 9,
    "framework.nn.normalization": 9,
    "framework.nn.dropout": 9,
    "framework.optim.*": 7,
    "framework.data.*": 8,
    # Generated toy data (XOR, spirals, lines) imports only NumPy, so the
    # chapters on layers and optimizers may use it before Chapter 8.
    "framework.data.datasets": 6,
    "framework.train": 8,
    "framework.metrics": 8,
    "framework.checkpoint": 8,
    "framework.convnet": 9,
    "framework.autograd.functional": 10,
    "framework.autograd.gradgradcheck": 10,
    "framework.nn.embedding": 11,
    "framework.nn.rnn": 11,
    "framework.data.text": 11,
    "framework.sequence_models": 11,
}


def chapter_of_module(name):
    """The chapter that introduces module ``name`` (dotted), or None if unknown."""
    if name in MODULE_CHAPTERS:
        chapter = MODULE_CHAPTERS[name]
    else:
        packages = [
            key.removesuffix(".*")
            for key in MODULE_CHAPTERS
            if key.endswith(".*")
            and (name == key.removesuffix(".*") or name.startswith(key.removesuffix("*")))
        ]
        if not packages:
            return None
        chapter = MODULE_CHAPTERS[max(packages, key=len) + ".*"]
    inside = [
        number
        for key, number in MODULE_CHAPTERS.items()
        if key.removesuffix(".*").startswith(name + ".")
    ]
    return min([chapter, *inside])


@dataclass(frozen=True)
class Chapter:
    """One chapter: its number, its file name without extension, its source."""

    number: int
    stem: str
    source: Path

    @property
    def notebook_name(self):
        return self.stem + ".ipynb"

    @property
    def html_name(self):
        return self.stem + ".html"

    @property
    def title(self):
        """The first level-one heading of the chapter, outside code blocks."""
        return title_of(self.source.read_text(encoding="utf-8")) or self.stem


def title_of(markdown):
    """The text of the first ``# Heading`` line outside front matter and code."""
    lines = markdown.splitlines()
    if lines and lines[0].strip() == "---":
        closing = next((i for i, line in enumerate(lines[1:], 1) if line.strip() == "---"), 0)
        lines = lines[closing + 1 :]
    fence = None
    for line in lines:
        stripped = line.strip()
        if fence:
            if stripped.startswith(fence) and stripped.strip("`~") == "":
                fence = None
            continue
        match = re.match(r"^(`{3,}|~{3,})", stripped)
        if match:
            fence = match.group(1)
            continue
        if line.startswith("# "):
            return line[2:].strip()
    return None


def find_chapters(directory=CHAPTERS_DIR):
    """Every chapter in ``directory``, ordered by number."""
    chapters = []
    for path in sorted(Path(directory).glob("*.md")):
        match = CHAPTER_FILE.match(path.name)
        if match:
            chapters.append(Chapter(int(match["number"]), path.stem, path))
    return sorted(chapters, key=lambda chapter: chapter.number)


def misnamed_chapter_files(directory=CHAPTERS_DIR):
    """Markdown files in ``directory`` that do not follow ``NN_slug.md``."""
    return [
        path for path in sorted(Path(directory).glob("*.md")) if not CHAPTER_FILE.match(path.name)
    ]


def select_chapters(chapters, wanted):
    """The chapters named in ``wanted`` ("3", "03" or "03_computation_graph").

    An empty ``wanted`` selects every chapter. Raises ValueError for a name
    that matches no chapter.
    """
    if not wanted:
        return list(chapters)
    selected = []
    for name in wanted:
        name = Path(name).stem
        found = [
            chapter
            for chapter in chapters
            if chapter.stem == name or (name.isdigit() and int(name) == chapter.number)
        ]
        if not found:
            known = ", ".join(chapter.stem for chapter in chapters) or "none"
            raise ValueError(f"no chapter matches {name!r}; chapters: {known}")
        selected.extend(chapter for chapter in found if chapter not in selected)
    return sorted(selected, key=lambda chapter: chapter.number)


# The front matter every chapter file starts with: it tells jupytext the
# format (MyST Markdown) and the notebook which kernel runs the code.
CHAPTER_HEADER = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""


def prepare_kernel_environment(environ=os.environ):
    """Set the environment that notebook kernels inherit, the same for every run.

    - ``FRAMEWORK_DATA_DIR``: when unset, the folder where the package's own
      lookup (``framework.data.mnist.data_directory``) finds the MNIST files,
      so that a kernel run from a copy of the book elsewhere (the grader's)
      reads the same files; left unset when the files are nowhere.
    - ``PYTHONHASHSEED=0``: the order of sets of strings is then the same in
      every run.
    - one thread for the linear algebra library (unless set otherwise): the
      book's matrices are small, and on a machine with few cores that are
      busy with other work, extra threads mostly wait for each other.
    - the same arithmetic on every x86-64 processor with AVX2 (see
      ``same_arithmetic_everywhere``), so that figures and printed numbers
      do not depend on the machine that made them.
    """
    if not environ.get("FRAMEWORK_DATA_DIR"):
        from framework.data.mnist import data_directory, mnist_files_present

        if mnist_files_present():
            environ["FRAMEWORK_DATA_DIR"] = str(data_directory())
    environ["PYTHONHASHSEED"] = "0"
    for variable in BLAS_THREAD_VARIABLES:
        environ.setdefault(variable, "1")
    for variable, value in same_arithmetic_everywhere().items():
        environ.setdefault(variable, value)
    return environ


BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

BLAS_CORE_TYPE = "Haswell"
"""The OpenBLAS kernels every x86-64 processor with AVX2 and FMA can run."""


def same_arithmetic_everywhere():
    """Environment variables that make NumPy compute the same bits on every x86-64 with AVX2.

    OpenBLAS and NumPy choose their machine code when they load, by
    processor: a matrix product sums in another order with AVX-512 kernels
    than with AVX2 ones, and NumPy's AVX-512 ``exp`` and ``log`` round some
    results differently. The last bits then differ from machine to machine,
    enough to move a decision boundary by a pixel or a value across a
    histogram's bin edge. Pinning both to their AVX2 code
    (``OPENBLAS_CORETYPE``; ``NPY_DISABLE_CPU_FEATURES`` for the AVX-512
    targets this processor has) gives the same numbers on every such
    processor. The price is speed where the wider instructions would help:
    Chapter 9's networks trained 5 to 20% slower this way on an AVX-512
    processor (``benchmarks.cnn_epoch`` with and without these settings).
    PyTorch is not pinned, so the chapters' timing cells show the framework
    slower against PyTorch than the benchmark scripts, which are not pinned
    either, do.

    Returns an empty dict elsewhere (another architecture, an older
    processor), where nothing can be pinned to the same code.
    """
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:
        try:
            from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__
        except ImportError:
            return {}
    if not (__cpu_features__.get("AVX2") and __cpu_features__.get("FMA3")):
        return {}
    wider = [target for target in __cpu_dispatch__
             if ("512" in target or target == "X86_V4") and __cpu_features__.get(target)]
    settings = {"OPENBLAS_CORETYPE": BLAS_CORE_TYPE}
    if wider:
        settings["NPY_DISABLE_CPU_FEATURES"] = " ".join(wider)
    return settings


def pin_jupyter_kernel(prefix=None):
    """Give the environment's ``python3`` Jupyter kernel the book's fixed settings.

    Writes ``PYTHONHASHSEED`` and ``same_arithmetic_everywhere()`` into the
    ``env`` of the kernel specification in ``prefix`` (default: this
    Python's environment, ``.venv``), so that notebooks run in Jupyter
    compute what the book's build computes. Returns the file written, or
    None when the environment has no such kernel. Call it from a process
    whose environment pins nothing, as the set-up does.
    """
    import json
    import sys

    spec = Path(prefix or sys.prefix) / "share" / "jupyter" / "kernels" / "python3" / "kernel.json"
    if not spec.is_file():
        return None
    kernel = json.loads(spec.read_text(encoding="utf-8"))
    kernel["env"] = {**kernel.get("env", {}), "PYTHONHASHSEED": "0", **same_arithmetic_everywhere()}
    spec.write_text(json.dumps(kernel, indent=1) + "\n", encoding="utf-8")
    return spec
