"""The stored notebooks are faithful, fully executed copies of the chapters.

The notebook validation (``pytest --nbval``) re-runs every cell and compares
its output with the stored one; these tests check what it cannot see:

- every chapter has its notebook and every notebook its chapter;
- a notebook's markdown and code equal its chapter's source;
- every code cell was executed, top to bottom in one run;
- no cell raised or wrote to stderr unless it is meant to;
- only a few cells escape output comparison, each for a stated reason.

A failure names the chapter and the cell and says how to fix it; usually
the fix is ``./run notebooks NN``.
"""

import pytest

from tools import checks
from tools.chapters import NOTEBOOKS_DIR, find_chapters

CHAPTERS = find_chapters()


def assert_no_problems(problems):
    assert not problems, "\n".join(problems)


def stored_notebook(chapter):
    path = NOTEBOOKS_DIR / chapter.notebook_name
    if not path.exists():
        pytest.skip(f"no notebook for {chapter.stem} (reported by the pairing test)")
    return checks.read_notebook(path)


def test_every_chapter_has_a_notebook_and_every_notebook_a_chapter():
    assert_no_problems(checks.pairing_problems())


by_chapter = pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])


@by_chapter
def test_notebook_equals_its_chapter(chapter):
    assert_no_problems(checks.content_problems(chapter, stored_notebook(chapter)))


@by_chapter
def test_every_code_cell_was_executed_in_order(chapter):
    assert_no_problems(checks.execution_problems(chapter, stored_notebook(chapter)))


@by_chapter
def test_no_unexpected_errors_warnings_or_addresses(chapter):
    assert_no_problems(checks.output_problems(chapter, stored_notebook(chapter)))


@by_chapter
def test_few_cells_escape_comparison_each_for_a_reason(chapter):
    assert_no_problems(checks.exclusion_problems(chapter, stored_notebook(chapter)))
