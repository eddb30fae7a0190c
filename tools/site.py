"""The book's website: executed notebooks -> a Sphinx site (sphinx-book-theme, myst-nb).

The site is built from the executed notebooks as they are stored; nothing is
executed. Its sources are assembled in a temporary folder:

- ``index.md``, the landing page, from ``book/index.md``, whose line
  ``% chapters`` becomes the table of contents (every chapter of
  ``chapters/`` that has an executed notebook, in order) and whose word ``FIRST_CHAPTER`` names the first
  chapter's page;
- one notebook per chapter, changed for reading on the web: the title is
  numbered ("4. Backpropagation"), a box under it links to the notebook and to
  the chapter's source, "Chapter N" in the prose links to that chapter, and
  each exercise's written solution is folded under "Show solution" (a
  student edition's stubs stay in view);
- ``chapter-sources/``, each chapter's MyST file and executed notebook as
  stored, offered for download.

Sphinx then writes the site with the settings in ``book/conf.py``.
"""

import copy
import io
import os
import re
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from tools.chapters import ROOT, title_of

CONFIG_DIR = ROOT / "book"
SOURCES_FOLDER = "chapter-sources"
TOC_LINE = "% chapters"
FIRST_CHAPTER = "FIRST_CHAPTER"
SHOW_SOLUTION = "Show solution"
HIDE_SOLUTION = "Hide solution"


class SiteError(Exception):
    """The site could not be built."""


@dataclass(frozen=True)
class Page:
    """A chapter of the site and the executed notebook it is made from."""

    chapter: object  # tools.chapters.Chapter
    notebook: Path
    current: bool  # whether the notebook's cells are the chapter's


# --- which notebook each chapter is made from ----------------------------------


def notebook_matches_chapter(notebook, chapter):
    """Whether the executed ``notebook`` has exactly the cells of ``chapter``."""
    from tools.build import chapter_notebook

    expected = chapter_notebook(chapter).cells
    cells = notebook.cells
    return len(cells) == len(expected) and all(
        have.cell_type == want.cell_type and have.source == want.source for have, want in zip(cells, expected)
    )


def choose_notebooks(chapters, folders):
    """One Page per chapter that has an executed notebook in one of ``folders``.

    A chapter's notebook is the first one, in the order of ``folders``, whose
    cells are the chapter's; when none is, the first that exists (the page is
    then older than its chapter). Chapters without any notebook are left out.
    """
    import nbformat

    pages = []
    for chapter in chapters:
        found = [Path(folder) / chapter.notebook_name for folder in folders]
        found = [path for path in found if path.exists()]
        current = [path for path in found
                   if notebook_matches_chapter(nbformat.read(path, as_version=4), chapter)]
        if current:
            pages.append(Page(chapter, current[0], True))
        elif found:
            pages.append(Page(chapter, found[0], False))
    return pages


# --- a chapter's notebook, prepared for the web ------------------------------------


def solution_cells(notebook):
    """Indices of the code cells that hold a written solution (not a student's stub)."""
    from tools.exercises import TableError, find_regions, is_stub, region_body

    found = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        lines = cell.source.splitlines(keepends=True)
        try:
            regions = find_regions(lines)
        except TableError:
            continue
        if any(not is_stub(region_body(lines, region)) for region in regions):
            found.append(index)
    return found


def fold_solutions(notebook):
    """Fold each solution cell (code and output) under a "Show solution" button."""
    for index in solution_cells(notebook):
        cell = notebook.cells[index]
        tags = cell.metadata.setdefault("tags", [])
        if "hide-cell" not in tags:
            tags.append("hide-cell")
        cell.metadata["mystnb"] = {"code_prompt_show": SHOW_SOLUTION, "code_prompt_hide": HIDE_SOLUTION}
    return notebook


def numbered_title(notebook, chapter):
    """Put the chapter's number before its title: "# Nodes" -> "# 2. Nodes"."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and title_of(cell.source):
            cell.source = re.sub(r"^# (.*)$", rf"# {chapter.number}. \1", cell.source, count=1, flags=re.M)
            return notebook
    return notebook


def launch_box(chapter):
    """MyST text of the box under a chapter's title: its notebook, its source, how to run it."""
    notebook, source = chapter.notebook_name, chapter.source.name
    return (
        ":::{admonition} Run this chapter yourself\n"
        ":class: tip launch-box\n"
        f"{{download}}`Download the notebook <{SOURCES_FOLDER}/{notebook}>` and open it in Jupyter, "
        "where the book's package is installed. In a copy of the book's repository, `./run setup` "
        f"installs everything and `.venv/bin/jupyter lab notebooks/{notebook}` opens this chapter. "
        f"Its source: {{download}}`chapters/{source} <{SOURCES_FOLDER}/{source}>`.\n"
        ":::\n"
    )


def add_launch_box(notebook, chapter):
    """Insert the launch box right under the chapter's title."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and title_of(cell.source):
            lines = cell.source.splitlines(keepends=True)
            heading = next(i for i, line in enumerate(lines) if line.startswith("# "))
            if not lines[heading].endswith("\n"):
                lines[heading] += "\n"
            lines[heading + 1 : heading + 1] = ["\n", launch_box(chapter)]
            cell.source = "".join(lines)
            return notebook
    return notebook


# Text in which "Chapter N" must stay as it is: code blocks, inline code, display
# and inline math, links, roles and headings.
PROTECTED = r"```.*?```|`[^`\n]*`|\$\$.*?\$\$|\$[^$\n]*\$|\[[^\]\n]*\]\([^)\n]*\)|\{[a-z]+\}`[^`]*`|^#[^\n]*$"
CHAPTER_MENTION = re.compile(rf"(?P<keep>{PROTECTED})|\bChapter (?P<number>\d+)\b", re.S | re.M)


def link_chapters(text, stems, this_number):
    """``text`` with each "Chapter N" (another chapter of the site) made a link to it."""

    def replace(match):
        number = match["number"]
        if number is None or int(number) == this_number or int(number) not in stems:
            return match[0]
        return f"{{doc}}`Chapter {number} <{stems[int(number)]}>`"

    return CHAPTER_MENTION.sub(replace, text)


def web_notebook(notebook, chapter, stems):
    """The chapter's executed notebook as the site shows it (see the module's docstring)."""
    notebook = copy.deepcopy(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = link_chapters(cell.source, stems, chapter.number)
    numbered_title(notebook, chapter)
    add_launch_box(notebook, chapter)
    fold_solutions(notebook)
    return notebook


# --- the site's sources and the build ------------------------------------------------


def landing_page(text, pages):
    """The landing page with its table of contents (every page, in order)."""
    entries = "\n".join(page.chapter.stem for page in pages)
    toc = f":::{{toctree}}\n:maxdepth: 1\n:titlesonly:\n\n{entries}\n:::\n"
    lines = [toc if line.strip() == TOC_LINE else line for line in text.splitlines(keepends=True)]
    if not any(line.strip() == TOC_LINE for line in text.splitlines()):
        lines.append("\n" + toc)
    text = "".join(lines)
    first = pages[0].chapter.stem if pages else "index"
    return text.replace(FIRST_CHAPTER, first)


def assemble_sources(pages, source_dir, config_dir=CONFIG_DIR):
    """Write the site's Sphinx sources into ``source_dir``."""
    import nbformat

    source_dir = Path(source_dir)
    shutil.copytree(config_dir, source_dir, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "_build"))
    index = source_dir / "index.md"
    index.write_text(landing_page(index.read_text(encoding="utf-8"), pages), encoding="utf-8")
    (source_dir / SOURCES_FOLDER).mkdir(exist_ok=True)
    stems = {page.chapter.number: page.chapter.stem for page in pages}
    for page in pages:
        notebook = nbformat.read(page.notebook, as_version=4)
        nbformat.write(web_notebook(notebook, page.chapter, stems), source_dir / page.chapter.notebook_name)
        shutil.copy2(page.chapter.source, source_dir / SOURCES_FOLDER / page.chapter.source.name)
        shutil.copy2(page.notebook, source_dir / SOURCES_FOLDER / page.chapter.notebook_name)


def run_sphinx(source_dir, out_dir, doctree_dir, title):
    """Build the HTML site; return Sphinx's warnings (a list of lines).

    Deprecation notices that Sphinx's extensions raise about each other (for
    example the theme using an API the next Sphinx removes) are silenced:
    the reader can do nothing about them.
    """
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace, patch_docutils

    messages = io.StringIO()
    with warnings.catch_warnings(), patch_docutils(source_dir), docutils_namespace():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        app = Sphinx(
            str(source_dir), str(source_dir), str(out_dir), str(doctree_dir), "html",
            confoverrides={"project": title, "html_title": title},
            status=None, warning=messages, freshenv=True, keep_going=True,
        )
        app.build()
    if app.statuscode:
        raise SiteError("Sphinx could not build the site:\n" + messages.getvalue())
    return [line for line in messages.getvalue().splitlines() if line.strip()]


def build_site(pages, html_dir, title, config_dir=CONFIG_DIR):
    """Build the site of ``pages`` into the new folder ``html_dir``; return Sphinx's warnings."""
    html_dir = Path(html_dir)
    with tempfile.TemporaryDirectory(prefix=".site-", dir=html_dir.parent) as work:
        work = Path(work)
        assemble_sources(pages, work / "src", config_dir)
        return run_sphinx(work / "src", html_dir, work / "doctrees", title)


def replace_folder(new, target):
    """Put the folder ``new`` in the place of ``target`` (a folder or nothing)."""
    new, target = Path(new), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        old = target.with_name(f".{target.name}-old-{os.getpid()}")
        target.rename(old)
        new.rename(target)
        shutil.rmtree(old)
    else:
        new.rename(target)
