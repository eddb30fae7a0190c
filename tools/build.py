"""Build the book: chapters -> executed notebooks -> HTML pages, and check them.

Usage (from the repository root, inside the environment)::

    python -m tools.build notebooks [NN ...]   regenerate and execute notebooks/ (all or some)
    python -m tools.build book [NN ...]        execute chapters into build/notebooks/, then
                                               write build/NN_slug.html and build/index.html
    python -m tools.build html [--from DIR]    only the HTML pages, from executed notebooks
    python -m tools.build check                stored notebooks equal their chapters, executed
    python -m tools.build test [PYTEST ARGS]   every test and the strict notebook validation

A notebook is executed with its own folder as the working directory, as the
notebook validator (nbval) does, so both runs see the same files. Notebooks
keep only metadata that does not change from run to run (no timings, no
Python patch version, cell ids derived from the cell contents), so
regenerating an unchanged chapter gives an identical file.
"""

import argparse
import hashlib
import html
import os
import subprocess
import sys
import time
from pathlib import Path

from tools.chapters import (
    BUILD_DIR,
    CHAPTERS_DIR,
    NOTEBOOKS_DIR,
    ROOT,
    find_chapters,
    prepare_kernel_environment,
    select_chapters,
    title_of,
)

# Seconds one cell may run: long enough to train on MNIST on a slow machine.
CELL_TIMEOUT = 1800
KERNEL_NAME = "python3"
SANITIZE_FILE = ROOT / "tests" / "sanitize.cfg"


class BuildError(Exception):
    """A chapter could not be turned into an executed notebook."""


# --- chapter -> notebook -------------------------------------------------------


def chapter_notebook(chapter):
    """The chapter as an unexecuted notebook with stable metadata and cell ids."""
    import jupytext

    notebook = jupytext.read(chapter.source, fmt="md:myst")
    notebook.metadata = stable_metadata(notebook.metadata)
    assign_cell_ids(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return notebook


def stable_metadata(metadata):
    """Notebook metadata without what changes between runs or machines.

    Keeps the kernel specification and the language information (which
    renderers use for syntax highlighting) minus the Python version; drops
    jupytext's own entries, widget state and anything else.
    """
    kept = {}
    if "kernelspec" in metadata:
        kept["kernelspec"] = dict(metadata["kernelspec"])
    if "language_info" in metadata:
        info = {key: value for key, value in metadata["language_info"].items() if key != "version"}
        kept["language_info"] = info
    return kept


def assign_cell_ids(notebook):
    """Give each cell an id derived from its type and source.

    Ids stay the same when other cells are inserted or edited, so the diff of
    a regenerated notebook shows only what changed. Identical cells get a
    numbered suffix.
    """
    seen = {}
    for cell in notebook.cells:
        digest = hashlib.sha256(f"{cell.cell_type}\n{cell.source}".encode()).hexdigest()[:10]
        count = seen.get(digest, 0) + 1
        seen[digest] = count
        cell.id = digest if count == 1 else f"{digest}-{count}"


def strip_volatile(notebook):
    """Remove run-dependent metadata that execution added, and merge printed text.

    The kernel may deliver one cell's printed text in several pieces,
    depending on timing; joining neighbouring pieces of the same stream
    makes the stored notebook the same on every run.
    """
    notebook.metadata = stable_metadata(notebook.metadata)
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = merge_streams(cell.outputs)
    return notebook


def merge_streams(outputs):
    """Join consecutive stream outputs of the same name (stdout, stderr)."""
    merged = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (output.get("output_type") == "stream" and previous is not None
                and previous.get("output_type") == "stream"
                and previous.get("name") == output.get("name")):
            previous["text"] = previous["text"] + output["text"]
        else:
            merged.append(output)
    return merged


def execute(notebook, working_dir, timeout=CELL_TIMEOUT):
    """Execute every cell in a fresh kernel whose working directory is ``working_dir``."""
    from nbclient import NotebookClient

    prepare_kernel_environment()
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(working_dir)}},
        record_timing=False,
        store_widget_state=False,
        # Keep the kernel's start-up log lines out of the terminal.
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )
    client.execute()
    return strip_volatile(notebook)


def build_notebook(chapter, out_dir):
    """Convert and execute one chapter; write ``out_dir/NN_slug.ipynb``."""
    import nbformat
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / chapter.notebook_name
    notebook = chapter_notebook(chapter)
    start = time.perf_counter()
    print(f"Executing {relative(chapter.source)} -> {relative(target)} ...", flush=True)
    try:
        execute(notebook, out_dir)
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
        raise BuildError(f"{relative(chapter.source)} failed while executing:\n{error}") from None
    nbformat.validate(notebook)
    nbformat.write(notebook, target)
    print(f"  done in {time.perf_counter() - start:.1f} s", flush=True)
    for problem in stderr_outputs(notebook):
        print(f"  warning: {problem}", flush=True)
    return target


def stderr_outputs(notebook):
    """Cells (outside nbval-ignore-output ones) that wrote to stderr."""
    problems = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or "nbval-ignore-output" in cell.metadata.get("tags", []):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                text = output.get("text", "").strip().splitlines()
                first = text[0] if text else ""
                problems.append(f"cell {index} wrote to stderr: {first}")
    return problems


# --- notebooks -> HTML ---------------------------------------------------------

PAGE_STYLE = """
<style>
  .book-nav { font-family: system-ui, sans-serif; font-size: 0.95rem; max-width: 1100px;
              margin: 0.8rem auto; padding: 0 1rem; display: flex; gap: 1.5rem; }
  .book-nav a { text-decoration: none; }
</style>
"""


def navigation(chapters, index):
    """Links to the contents and to the previous and next chapter."""
    links = ['<a href="index.html">Contents</a>']
    if index > 0:
        before = chapters[index - 1]
        links.append(f'<a href="{before.html_name}">&larr; {html.escape(before.title)}</a>')
    if index + 1 < len(chapters):
        after = chapters[index + 1]
        links.append(f'<a href="{after.html_name}">{html.escape(after.title)} &rarr;</a>')
    return '<nav class="book-nav">' + " ".join(links) + "</nav>"


def write_html(chapters, notebooks_dir, out_dir):
    """Render each chapter's executed notebook as HTML and write index.html."""
    import nbformat
    from nbconvert import HTMLExporter

    notebooks_dir, out_dir = Path(notebooks_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    present = [c for c in chapters if (notebooks_dir / c.notebook_name).exists()]
    for missing in (c for c in chapters if c not in present):
        print(f"  no executed notebook for {missing.stem} in {relative(notebooks_dir)}; skipped")
        (out_dir / missing.html_name).unlink(missing_ok=True)
    exporter = HTMLExporter(template_name="lab")
    for index, chapter in enumerate(present):
        notebook = nbformat.read(notebooks_dir / chapter.notebook_name, as_version=4)
        body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": chapter.title}})
        nav = navigation(present, index)
        body = insert_after_tag(body, "<head", PAGE_STYLE)
        body = insert_after_tag(body, "<body", nav)
        body = body.replace("</body>", nav + "\n</body>", 1)
        (out_dir / chapter.html_name).write_text(body, encoding="utf-8")
    notebook_links = os.path.relpath(notebooks_dir, out_dir)
    index_page = out_dir / "index.html"
    index_page.write_text(index_html(present, notebook_links, book_title()), encoding="utf-8")
    return index_page


def book_title():
    """The README's first heading, the book's title."""
    readme = ROOT / "README.md"
    if readme.exists():
        return title_of(readme.read_text(encoding="utf-8")) or "Contents"
    return "Contents"


def insert_after_tag(page, tag, text):
    """Insert ``text`` right after the first opening ``tag`` (e.g. "<body")."""
    start = page.find(tag)
    if start < 0:
        return page
    end = page.find(">", start) + 1
    return page[:end] + "\n" + text + page[end:]


def index_html(chapters, notebook_links, title="Contents"):
    """The contents page: every chapter in order, as HTML and as a notebook."""
    rows = "\n".join(
        f'    <li value="{c.number}"><a href="{c.html_name}">{html.escape(c.title)}</a>'
        f' <span class="nb">(<a href="{notebook_links}/{c.notebook_name}">notebook</a>)</span></li>'
        for c in chapters
    )
    if not chapters:
        rows = "    <li>No chapters yet.</li>"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{html.escape(title)}</title>
  <style>
    body {{ font-family: system-ui, sans-serif; max-width: 44rem; margin: 3rem auto;
           padding: 0 1rem; line-height: 1.6; }}
    li {{ margin: 0.4rem 0; }}
    .nb {{ font-size: 0.85em; color: #555; }}
  </style>
</head>
<body>
  <h1>{html.escape(title)}</h1>
  <ol>
{rows}
  </ol>
</body>
</html>
"""


# --- commands ------------------------------------------------------------------


def relative(path):
    """``path`` relative to the repository when inside it, for short messages."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def build_notebooks(chapters, out_dir, keep_failed=True):
    """Build each chapter's notebook; return the chapters that failed.

    A failing chapter does not stop the others. With ``keep_failed=False``
    the failed chapter's previous notebook is removed, so that no stale
    page is rendered from it.
    """
    failed = []
    for chapter in chapters:
        try:
            build_notebook(chapter, out_dir)
        except BuildError as error:
            print(f"error: {error}", file=sys.stderr, flush=True)
            failed.append(chapter)
            if not keep_failed:
                (Path(out_dir) / chapter.notebook_name).unlink(missing_ok=True)
    return failed


def report_failures(failed):
    if not failed:
        return 0
    names = ", ".join(relative(chapter.source) for chapter in failed)
    print(f"\nFailed to execute: {names} (the errors are shown above).", file=sys.stderr)
    return 1


def command_notebooks(args):
    chapters = select_chapters(find_chapters(args.chapters_dir), args.chapters)
    if not chapters:
        print(f"No chapters in {relative(args.chapters_dir)}.")
        return 0
    return report_failures(build_notebooks(chapters, args.out))


def command_book(args):
    every = find_chapters(args.chapters_dir)
    chapters = select_chapters(every, args.chapters)
    out = Path(args.out)
    failed = build_notebooks(chapters, out / "notebooks", keep_failed=False)
    index = write_html(every, out / "notebooks", out)
    print()
    print(f"The book is in {out.resolve()}/")
    print(f"  executed notebooks: {(out / 'notebooks').resolve()}/")
    print(f"  start reading at:   {index.resolve().as_uri()}")
    return report_failures(failed)


def command_html(args):
    chapters = find_chapters(args.chapters_dir)
    index = write_html(chapters, args.notebooks_from, args.out)
    print(f"HTML pages written; start reading at {index.resolve().as_uri()}")
    return 0


def command_check(args):
    from tools.checks import all_problems

    problems = all_problems(args.chapters_dir, args.notebooks_dir)
    for problem in problems:
        print(problem)
    if problems:
        print(f"\n{len(problems)} problem(s).")
        return 1
    print("Every notebook matches its chapter and is fully executed.")
    return 0


def pytest_command(pytest_args):
    """The pytest command line that runs every test and validates the notebooks.

    Without paths among ``pytest_args``, pytest runs its configured
    ``testpaths`` (tests/ and notebooks/, see pyproject.toml).
    """
    return [
        sys.executable,
        "-m",
        "pytest",
        "--nbval",
        "--nbval-current-env",
        f"--nbval-sanitize-with={relative(SANITIZE_FILE)}",
        f"--nbval-cell-timeout={CELL_TIMEOUT}",
        *pytest_args,
    ]


def command_test(args):
    command = pytest_command(args.pytest_args)
    print(" ".join(["pytest", *command[3:]]), flush=True)
    return subprocess.call(command, cwd=ROOT, env=prepare_kernel_environment(dict(os.environ)))


def parser():
    main = argparse.ArgumentParser(prog="python -m tools.build", description=__doc__.split("\n")[0])
    main.add_argument("--chapters-dir", type=Path, default=CHAPTERS_DIR, help=argparse.SUPPRESS)
    commands = main.add_subparsers(dest="command", required=True)

    notebooks = commands.add_parser("notebooks", help="regenerate and execute notebooks/")
    notebooks.add_argument("chapters", nargs="*", help="chapter numbers or names (default: all)")
    notebooks.add_argument("--out", type=Path, default=NOTEBOOKS_DIR, help="output folder")
    notebooks.set_defaults(run=command_notebooks)

    book = commands.add_parser("book", help="execute chapters and write notebooks and HTML to build/")
    book.add_argument("chapters", nargs="*", help="chapter numbers or names (default: all)")
    book.add_argument("--out", type=Path, default=BUILD_DIR, help="output folder")
    book.set_defaults(run=command_book)

    pages = commands.add_parser("html", help="write HTML pages from executed notebooks")
    pages.add_argument("--from", dest="notebooks_from", type=Path, default=BUILD_DIR / "notebooks",
                       help="folder of executed notebooks (default: build/notebooks)")
    pages.add_argument("--out", type=Path, default=BUILD_DIR, help="output folder")
    pages.set_defaults(run=command_html)

    check = commands.add_parser("check", help="check stored notebooks against their chapters")
    check.add_argument("--notebooks-dir", type=Path, default=NOTEBOOKS_DIR, help=argparse.SUPPRESS)
    check.set_defaults(run=command_check)

    test = commands.add_parser("test", help="run every test and validate every notebook")
    test.add_argument("pytest_args", nargs="*", help="extra pytest arguments and paths")
    test.set_defaults(run=command_test)
    return main


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["test"]:
        # Everything after "test" goes to pytest unchanged, options included.
        return command_test(argparse.Namespace(pytest_args=argv[1:]))
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except (BuildError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
