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
