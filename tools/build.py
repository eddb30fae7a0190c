"""Build the book: chapters -> executed notebooks -> the book's website, and check them.

Usage (from the repository root, inside the environment)::

    python -m tools.build notebooks [NN ...]   regenerate and execute notebooks/ (all or some)
    python -m tools.build book [NN ...]        execute chapters into build/notebooks/, then
                                               build the website in build/site/
    python -m tools.build site [--from DIR]    only the website, from executed notebooks
                                               (default: the committed notebooks/)
    python -m tools.build check                stored notebooks equal their chapters, executed
    python -m tools.build test [PYTEST ARGS]   every test and the strict notebook validation

A notebook is executed with its own folder as the working directory, as the
notebook validator (nbval) does, so both runs see the same files. Notebooks
keep only metadata that does not change from run to run (no timings, no
Python patch version, cell ids derived from the cell contents), so
regenerating an unchanged chapter gives an identical file.

A run changes its outputs only when it is complete: what it makes goes to a
staging folder first, and is moved into place at the end. Ctrl-C therefore
leaves every file as it was, and a chapter that fails keeps its previous
notebook (and its page on the website). The website itself is written by
tools/site.py (Sphinx, from executed notebooks).
"""

import argparse
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
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


class Progress:
    """Shows which cell of a chapter is running: "cell 12 of 57".

    On a terminal one line is rewritten in place as each cell starts; in a
    log (output that is not a terminal) a line is written at most every
    ``log_every`` seconds, with no control characters.
    """

    def __init__(self, notebook, stream=None, log_every=10.0):
        self.stream = stream if stream is not None else sys.stdout
        self.interactive = self.stream.isatty()
        self.log_every = log_every
        code = [index for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
        self.ordinal = {index: number for number, index in enumerate(code, start=1)}
        self.total = len(code)
        self.start = self.last_line = time.perf_counter()
        self.shown = False

    def cell_started(self, cell=None, cell_index=None, **_):
        number = self.ordinal.get(cell_index)
        if number is None:
            return
        now = time.perf_counter()
        text = f"  cell {number} of {self.total} ({now - self.start:.0f} s)"
        if self.interactive:
            self.stream.write("\r" + text + "\x1b[K")
            self.stream.flush()
            self.shown = True
        elif now - self.last_line >= self.log_every:
            print(text, file=self.stream, flush=True)
            self.last_line = now

    def finish(self):
        """Clear the progress line on a terminal."""
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False


def execute(notebook, working_dir, timeout=CELL_TIMEOUT, progress=None):
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
        on_cell_start=progress.cell_started if progress else None,
    )
    try:
        run_interruptible(client)
    finally:
        if progress:
            progress.finish()
    return strip_volatile(notebook)


def run_interruptible(client):
    """``client.execute()``, ended cleanly by Ctrl-C.

    The notebook runs in a second thread, so that Ctrl-C raises
    KeyboardInterrupt here, in the main thread, and nowhere inside the
    client's event loop. The kernel runs in a process group of its own and
    does not see the Ctrl-C; it is stopped here, the client notices its
    death and ends, and KeyboardInterrupt goes on to the caller.
    """
    finished = threading.Event()
    outcome = {}

    def run():
        try:
            client.execute()
        except BaseException as error:  # handed to the main thread
            outcome["error"] = error
        finally:
            finished.set()

    threading.Thread(target=run, name="notebook", daemon=True).start()
    try:
        while not finished.wait(0.2):
            pass
    except KeyboardInterrupt:
        stop_kernel(client)
        finished.wait(30)
        raise
    if "error" in outcome:
        raise outcome["error"]


def stop_kernel(client):
    """Kill the client's kernel (and its process group) at once."""
    process = getattr(getattr(client.km, "provisioner", None), "process", None)
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):
        process.kill()


def build_notebook(chapter, working_dir, out_dir):
    """Convert and execute one chapter in ``working_dir``; write ``out_dir/NN_slug.ipynb``."""
    import nbformat
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    working_dir, out_dir = Path(working_dir), Path(out_dir)
    working_dir.mkdir(parents=True, exist_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / chapter.notebook_name
    notebook = chapter_notebook(chapter)
    start = time.perf_counter()
    print(f"Executing {relative(chapter.source)} ...", flush=True)
    try:
        execute(notebook, working_dir, progress=Progress(notebook))
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
        message = for_stderr(str(error))
        raise BuildError(f"{relative(chapter.source)} failed while executing:\n{message}") from None
    nbformat.validate(notebook)
    nbformat.write(notebook, target)
    print(f"  done in {time.perf_counter() - start:.1f} s", flush=True)
    for problem in stderr_outputs(notebook):
        print(f"  warning: {problem}", flush=True)
    return target


ANSI_CODE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def for_stderr(text):
    """``text`` with its colour codes when stderr is a terminal, without them in a log file."""
    return text if sys.stderr.isatty() else ANSI_CODE.sub("", text)


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


# --- commands ------------------------------------------------------------------


def relative(path):
    """``path`` relative to the repository when inside it, for short messages."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def build_notebooks(chapters, working_dir, staging_dir):
    """Execute each chapter in ``working_dir``, writing the notebooks to ``staging_dir``.

    A failing chapter does not stop the others. Returns (notebooks written,
    chapters that failed).
    """
    written, failed = [], []
    for chapter in chapters:
        try:
            written.append(build_notebook(chapter, working_dir, staging_dir))
        except BuildError as error:
            print(f"error: {error}", file=sys.stderr, flush=True)
            failed.append(chapter)
    return written, failed


@contextmanager
def staging(folder):
    """A temporary folder inside ``folder`` (created if needed) for a run's new files.

    What a run makes goes there first; only a complete run moves it into
    place (``install``), so an interrupted run changes nothing.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".staging-", dir=folder) as path:
        yield Path(path)


def finish_uninterrupted():
    """Ignore Ctrl-C from here on: the run is complete and its files are moving into place.

    It stays ignored until the program ends, so that a late Ctrl-C can neither
    leave half the files moved nor be answered with "nothing was changed".
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def install(files, folder):
    """Move each file into ``folder``, replacing the file of the same name (atomic per file)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for path in files:
        target = folder / Path(path).name
        try:
            os.replace(path, target)
        except OSError:  # another file system: copy next to the target, then rename
            temporary = target.with_name(f".{target.name}.new")
            shutil.copy2(path, temporary)
            os.replace(temporary, target)


def report_failures(failed):
    if not failed:
        return 0
    names = ", ".join(relative(chapter.source) for chapter in failed)
    print(f"\nFailed to execute: {names} (the errors are shown above; "
          "the previous notebook of each was kept).", file=sys.stderr)
    return 1


def command_notebooks(args):
    chapters = select_chapters(find_chapters(args.chapters_dir), args.chapters)
    if not chapters:
        print(f"No chapters in {relative(args.chapters_dir)}.")
        return 0
    with staging(BUILD_DIR) as stage:
        written, failed = build_notebooks(chapters, args.out, stage)
        finish_uninterrupted()
        install(written, args.out)
    return report_failures(failed)


def book_title():
    """The README's first heading, the book's title."""
    readme = ROOT / "README.md"
    if readme.exists():
        return title_of(readme.read_text(encoding="utf-8")) or "The book"
    return "The book"


def make_site(chapters, notebook_dirs, html_dir):
    """Build the site from the first fitting notebook of each chapter (see tools.site); return its pages."""
    from tools import site

    pages = site.choose_notebooks(chapters, notebook_dirs)
    print(f"Building the website ({len(pages)} chapters) ...", flush=True)
    for chapter in chapters:
        if not any(page.chapter == chapter for page in pages):
            print(f"  {chapter.stem}: no executed notebook; the site leaves it out")
    for page in pages:
        if not page.current:
            print(f"  {chapter_label(page.chapter)}: shown from {relative(page.notebook)}, "
                  "which is older than its chapter")
    for warning in site.build_site(pages, html_dir, book_title()):
        print(f"  warning: {warning}")
    return pages


def chapter_label(chapter):
    return relative(chapter.source)


def print_site_location(site_dir):
    """Say where the website is and how to open it."""
    index = Path(site_dir).resolve() / "index.html"
    print(f"The book's website is in {relative(index.parent)}/. To read it, open this address in a web browser")
    print("(it needs no network and no server):")
    print(f"    {index.as_uri()}")


def command_book(args):
    from tools import site

    every = find_chapters(args.chapters_dir)
    chapters = select_chapters(every, args.chapters)
    out = Path(args.out)
    executed_dir, site_dir = out / "notebooks", out / "site"
    with staging(out) as stage:
        written, failed = build_notebooks(chapters, executed_dir, stage / "notebooks")
        make_site(every, [stage / "notebooks", executed_dir, NOTEBOOKS_DIR], stage / "site")
        finish_uninterrupted()
        install(written, executed_dir)
        site.replace_folder(stage / "site", site_dir)
    print()
    print_site_location(site_dir)
    print(f"The executed notebooks are in {relative(executed_dir)}/.")
    return report_failures(failed)


def command_site(args):
    from tools import site

    chapters = find_chapters(args.chapters_dir)
    out = Path(args.out)
    with staging(out.parent) as stage:
        make_site(chapters, args.notebooks_from, stage / "site")
        finish_uninterrupted()
        site.replace_folder(stage / "site", out)
    print_site_location(out)
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

    book = commands.add_parser("book", help="execute chapters, then build the website (into build/)")
    book.add_argument("chapters", nargs="*", help="chapter numbers or names (default: all)")
    book.add_argument("--out", type=Path, default=BUILD_DIR, help="output folder")
    book.set_defaults(run=command_book)

    site = commands.add_parser("site", aliases=["html"],
                               help="build the website from executed notebooks, executing nothing")
    site.add_argument("--from", dest="notebooks_from", type=Path, nargs="+", default=[NOTEBOOKS_DIR],
                      metavar="DIR", help="folders of executed notebooks, the first that has a chapter's "
                      "notebook (matching the chapter) wins (default: notebooks/)")
    site.add_argument("--out", type=Path, default=BUILD_DIR / "site",
                      help="output folder (default: build/site)")
    site.set_defaults(run=command_site)

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
    from tools.site import SiteError

    try:
        return args.run(args)
    except (BuildError, SiteError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; nothing was changed", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
