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


# Folders that may hold a shared copy of MNIST, so that machines without a
# network need no download: next to the repository, or the shared folder of
# the workspace the book is developed in.
SHARED_DATA_DIRS = (ROOT.parent / "shared" / "datasets" / "mnist", Path("/work/shared/datasets/mnist"))


def shared_data_dir():
    """The first shared MNIST folder that exists, if any."""
    for candidate in SHARED_DATA_DIRS:
        if candidate.is_dir():
            return candidate.resolve()
    return None


def prepare_kernel_environment(environ=os.environ):
    """Set the environment that notebook kernels inherit, the same for every run.

    - ``FRAMEWORK_DATA_DIR``: where the MNIST loader looks for its files;
      defaults to the shared folder next to the repository when it exists
      (otherwise the loader uses its own default).
    - ``PYTHONHASHSEED=0``: the order of sets of strings is then the same in
      every run.
    - one thread for the linear algebra library (unless set otherwise): the
      book's matrices are small, and on a machine with few cores that are
      busy with other work, extra threads mostly wait for each other.
    """
    data_dir = shared_data_dir()
    if not environ.get("FRAMEWORK_DATA_DIR") and data_dir is not None:
        environ["FRAMEWORK_DATA_DIR"] = str(data_dir)
    environ["PYTHONHASHSEED"] = "0"
    for variable in BLAS_THREAD_VARIABLES:
        environ.setdefault(variable, "1")
    return environ


BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
