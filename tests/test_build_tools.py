"""The book's tools: finding chapters, their titles, the module table, and the checks.

The checks are tried on a small chapter written into a temporary folder,
with notebooks built by hand (no kernel is started), so that each kind of
damage is shown to be caught.
"""

import pytest

from tools import checks
from tools.build import chapter_notebook, stable_metadata, pytest_command
from tools.chapters import CHAPTER_HEADER, chapter_of_module, find_chapters, select_chapters, title_of

CHAPTER = CHAPTER_HEADER + """
# Counting ~ a tiny chapter

```{code-cell} ipython3
print(1 + 1)
```

## Two cells

```{code-cell} ipython3
:tags: [nbval-ignore-output]
import time
start = time.perf_counter()
assert start >= 0
```
"""


@pytest.fixture
def book(tmp_path):
    """A chapters/ folder with one chapter and a notebooks/ folder with its executed notebook."""
    chapters, notebooks = tmp_path / "chapters", tmp_path / "notebooks"
    chapters.mkdir()
    notebooks.mkdir()
    (chapters / "01_counting.md").write_text(CHAPTER, encoding="utf-8")
    (chapter,) = find_chapters(chapters)
    return chapter, executed(chapter_notebook(chapter)), chapters, notebooks


def executed(notebook):
    """The notebook as if executed: counts 1, 2, ... and a printed result."""
    import nbformat

    count = 0
    for cell in notebook.cells:
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{count}\n")]
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


def all_checks(chapter, notebook):
    return [problem for check in checks.NOTEBOOK_CHECKS for problem in check(chapter, notebook)]


def test_a_faithful_executed_notebook_passes(book):
    chapter, notebook, _, _ = book
    assert all_checks(chapter, notebook) == []


def test_chapter_title_number_and_selection(book):
    chapter, _, chapters, _ = book
    assert (chapter.number, chapter.stem, chapter.title) == (1, "01_counting", "Counting ~ a tiny chapter")
    assert select_chapters([chapter], ["1"]) == select_chapters([chapter], ["01_counting"]) == [chapter]
    with pytest.raises(ValueError, match="no chapter matches '2'"):
        select_chapters([chapter], ["2"])


def test_title_ignores_comments_in_code_blocks():
    assert title_of("```python\n# not a title\n```\n# Title\n") == "Title"


def test_edited_source_is_caught(book):
    chapter, notebook, _, _ = book
    notebook.cells[1].source = "print(1 + 2)"
    (problem,) = checks.content_problems(chapter, notebook)
    assert "cell 1 (code) differs from the chapter" in problem and "+print(1 + 2)" in problem


def test_edited_markdown_missing_cell_and_changed_tags_are_caught(book):
    chapter, notebook, _, _ = book
    notebook.cells[0].source += " (edited)"
    notebook.cells[3].metadata["tags"] = []
    assert len(checks.content_problems(chapter, notebook)) == 2
    del notebook.cells[-1]
    assert any("has 3 cells" in p for p in checks.content_problems(chapter, notebook))


def test_volatile_metadata_is_caught_and_stripped(book):
    chapter, notebook, _, _ = book
    notebook.metadata["language_info"]["version"] = "3.11.7"
    notebook.metadata["jupytext"] = {"text_representation": {}}
    assert any("run-dependent" in p for p in checks.content_problems(chapter, notebook))
    assert stable_metadata(notebook.metadata) == {
        "kernelspec": notebook.metadata["kernelspec"],
        "language_info": {"name": "python"},
    }


def test_unexecuted_and_out_of_order_cells_are_caught(book):
    chapter, notebook, _, _ = book
    notebook.cells[1].execution_count = None
    assert "stored unexecuted" in checks.execution_problems(chapter, notebook)[0]
    notebook.cells[1].execution_count = 5
    assert "not executed top to bottom" in checks.execution_problems(chapter, notebook)[0]


def test_errors_warnings_and_addresses_in_outputs_are_caught(book):
    import nbformat

    chapter, notebook, _, _ = book
    cell = notebook.cells[1]
    cell.outputs = [
        nbformat.v4.new_output("error", ename="ValueError", evalue="bad", traceback=[]),
        nbformat.v4.new_output("stream", name="stderr", text="RuntimeWarning: overflow\n"),
        nbformat.v4.new_output("execute_result", data={"text/plain": "<Node at 0x7f3a5c2e1d90>"}),
    ]
    problems = checks.output_problems(chapter, notebook)
    assert len(problems) == 3
    assert "raised ValueError: bad" in problems[0]
    assert "stderr" in problems[1]
    assert "memory address" in problems[2]


def test_ignored_output_must_assert_and_skips_need_a_reason(book):
    chapter, notebook, _, _ = book
    timing = notebook.cells[3]
    timing.source = timing.source.replace("assert start >= 0", "print(start)")
    assert "asserts nothing" in checks.exclusion_problems(chapter, notebook)[0]
    timing.metadata["tags"] = ["nbval-skip"]
    assert "without a reason" in checks.exclusion_problems(chapter, notebook)[0]
    timing.source = "# nbval-skip: needs a network connection\n" + timing.source
    assert checks.exclusion_problems(chapter, notebook) == []


def test_comment_markers_count_like_tags(book):
    chapter, notebook, _, _ = book
    code = notebook.cells[1]
    code.source = "# NBVAL_RAISES_EXCEPTION\n1 / 0"
    assert checks.markers(code) == {"raises-exception"}
    assert "without a reason" in checks.exclusion_problems(chapter, notebook)[0]


def test_too_many_excluded_cells_are_caught(book):
    chapter, notebook, _, _ = book
    notebook.cells.extend([notebook.cells[3].copy() for _ in range(checks.MAX_EXCLUDED_CELLS)])
    assert "cells are excluded from output comparison" in checks.exclusion_problems(chapter, notebook)[-1]


def test_missing_and_orphan_notebooks_are_caught(book):
    _, _, chapters, notebooks = book
    (notebooks / "02_orphan.ipynb").write_text("{}")
    (chapters / "3_bad name.md").write_text("# Bad\n")
    problems = checks.pairing_problems(chapters, notebooks)
    assert len(problems) == 3
    assert "named NN_slug.md" in problems[0]
    assert "has no notebook" in problems[1]
    assert "02_orphan.ipynb has no chapter" in problems[2]


def test_cell_ids_are_stable_and_unique(book):
    chapter, _, _, _ = book
    first, second = chapter_notebook(chapter), chapter_notebook(chapter)
    ids = [cell.id for cell in first.cells]
    assert ids == [cell.id for cell in second.cells]
    assert len(set(ids)) == len(ids)


def test_module_table():
    assert chapter_of_module("framework.book") == 0
    assert chapter_of_module("framework.differentiate.dual") == 1
    assert chapter_of_module("framework.autograd.ops") == 2
    assert chapter_of_module("framework.autograd.graph") == 3
    assert chapter_of_module("framework.data.datasets") == 6
    assert chapter_of_module("framework.data.mnist") == 8
    # A package is introduced with the earliest module inside it.
    assert chapter_of_module("framework.data") == 6
    assert chapter_of_module("framework.autograd") == 2
    assert chapter_of_module("framework.unknown") is None


def test_the_test_command_is_strict():
    command = pytest_command([])
    assert "--nbval" in command and "--nbval-current-env" in command and "--nbval-lax" not in command
    assert pytest_command(["-x", "tests/test_notebooks.py"])[-2:] == ["-x", "tests/test_notebooks.py"]


def test_pytest_runs_tests_and_notebooks_by_default(pytestconfig):
    # The test command names no paths, so pytest runs its testpaths.
    assert pytestconfig.getini("testpaths") == ["tests", "notebooks"]


# --- running chapters: progress, failures, Ctrl-C ------------------------------------------


def test_progress_names_the_cell_on_a_terminal_and_in_a_log():
    import io

    from tools.build import Progress

    chapter_cells = chapter_notebook_from_text(CHAPTER)

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    progress = Progress(chapter_cells, stream=terminal)
    progress.cell_started(cell_index=1)
    progress.cell_started(cell_index=3)
    progress.finish()
    assert "\r  cell 1 of 2 (" in terminal.getvalue() and "\r  cell 2 of 2 (" in terminal.getvalue()
    assert terminal.getvalue().endswith("\r\x1b[K")

    log = io.StringIO()
    progress = Progress(chapter_cells, stream=log, log_every=0)
    progress.cell_started(cell_index=0)  # a markdown cell: not counted
    progress.cell_started(cell_index=3)
    assert log.getvalue().startswith("  cell 2 of 2 (") and "\x1b" not in log.getvalue()
    quiet = io.StringIO()
    progress = Progress(chapter_cells, stream=quiet, log_every=3600)
    progress.cell_started(cell_index=1)
    assert quiet.getvalue() == ""


def chapter_notebook_from_text(text):
    import jupytext

    return jupytext.reads(text, fmt="md:myst")


def write_chapter(folder, name, code):
    folder.mkdir(parents=True, exist_ok=True)
    cells = "\n".join(f"```{{code-cell}} ipython3\n{source}\n```\n" for source in code)
    (folder / name).write_text(CHAPTER_HEADER + f"\n# {name[3:-3].title()}\n\n{cells}", encoding="utf-8")


def run_build(*args):
    """Run ``python -m tools.build ARGS`` in its own process; return (exit status, stdout, stderr)."""
    import subprocess
    import sys

    from tools.chapters import ROOT

    done = subprocess.run([sys.executable, "-m", "tools.build", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.slow
def test_a_chapter_that_fails_keeps_its_previous_notebook_and_page(tmp_path):
    import nbformat

    chapters, out = tmp_path / "chapters", tmp_path / "build"
    # The previous run: Chapter 1 worked then, and printed "previous output".
    write_chapter(chapters, "01_broken.md", ['print("previous output")'])
    (chapter,) = find_chapters(chapters)
    previous = executed(chapter_notebook(chapter))
    previous.cells[1].outputs[0].text = "previous output\n"
    (out / "notebooks").mkdir(parents=True)
    nbformat.write(previous, out / "notebooks" / "01_broken.ipynb")
    before = (out / "notebooks" / "01_broken.ipynb").read_bytes()

    write_chapter(chapters, "01_broken.md", ['raise ValueError("this chapter is broken")'])
    write_chapter(chapters, "02_fine.md", ['print("new output")'])
    status, stdout, stderr = run_build("--chapters-dir", chapters, "book", "--out", out)
    assert status == 1
    assert "this chapter is broken" in stderr and "Failed to execute" in stderr
    assert "\x1b[" not in stderr, "no colour codes where the output is not a terminal"
    assert (out / "notebooks" / "01_broken.ipynb").read_bytes() == before
    assert "previous output" in (out / "site" / "01_broken.html").read_text(encoding="utf-8")
    assert "new output" in (out / "site" / "02_fine.html").read_text(encoding="utf-8")
    assert "01_broken.ipynb, which is older than its chapter" in stdout
    assert (out / "site" / "index.html").as_uri() in stdout, "the run says where the site is"
    assert sorted(p.name for p in out.iterdir()) == ["notebooks", "site"], "no staging folder is left"


@pytest.mark.slow
def test_ctrl_c_changes_nothing_and_says_so_in_one_line(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from tools.chapters import ROOT

    chapters, out = tmp_path / "chapters", tmp_path / "notebooks"
    started = tmp_path / "started"
    write_chapter(chapters, "01_slow.md", [f"import os\nopen({str(started)!r}, 'w').write(str(os.getpid()))",
                                           "import time\ntime.sleep(120)"])
    out.mkdir()
    (out / "01_slow.ipynb").write_text("previous", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.build", "--chapters-dir", str(chapters), "notebooks", "--out", str(out)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        # As in a terminal: Ctrl-C raises KeyboardInterrupt (a background job would ignore it).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while not started.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert started.exists(), "the chapter never started running"
    time.sleep(0.5)
    kernel = int(started.read_text())
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert stderr.strip() == "interrupted; nothing was changed"
    assert sorted(p.name for p in out.iterdir()) == ["01_slow.ipynb"]
    assert (out / "01_slow.ipynb").read_text(encoding="utf-8") == "previous"
    assert not process_alive(kernel, wait=10), "the kernel was left running"


def process_alive(pid, wait):
    """Whether process ``pid`` still runs after up to ``wait`` seconds (a zombie counts as ended)."""
    import time
    from pathlib import Path

    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        status = Path(f"/proc/{pid}/stat")
        try:
            if status.read_text().split(")")[-1].split()[0] == "Z":
                return False
        except (FileNotFoundError, ProcessLookupError):
            return False
        time.sleep(0.1)
    return True
