"""How the website's sources are made from the chapters (tools/site.py), without a browser.

What a reader sees in a browser is tested in test_site.py; here: which
notebook each chapter's page comes from, the table of contents, the numbered
titles, the links between chapters, the launch box, folded solutions, and
the site of a student edition, which has no solutions to fold.
"""

import html
import re

import nbformat
import pytest

from tools import site
from tools.build import chapter_notebook
from tools.chapters import CHAPTER_HEADER, ROOT, find_chapters

SOLVED = CHAPTER_HEADER + """
# Sums

As Chapter 1 showed, and Chapter 3 will show, sums add up; see `Chapter 3`
and $\\text{Chapter 3}$.

## Exercise 2.1: A sum (1 point)

```{code-cell} ipython3
### BEGIN SOLUTION
total = 1 + 1
### END SOLUTION
```

```{code-cell} ipython3
assert total == 2
```
"""


def write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


@pytest.fixture
def book(tmp_path):
    """Three chapters (1, 2, 3); the notebooks folder has notebooks for 1 and 2 only."""
    chapters, notebooks = tmp_path / "chapters", tmp_path / "notebooks"
    write(chapters, "01_counting.md", CHAPTER_HEADER + "\n# Counting\n\nOne, two.\n")
    write(chapters, "02_sums.md", SOLVED)
    write(chapters, "03_products.md", CHAPTER_HEADER + "\n# Products\n\nTimes.\n")
    notebooks.mkdir()
    for chapter in find_chapters(chapters)[:2]:
        nbformat.write(chapter_notebook(chapter), notebooks / chapter.notebook_name)
    return chapters, notebooks


def test_each_chapter_with_a_notebook_gets_a_page_in_order(book, tmp_path):
    chapters, notebooks = book
    pages = site.choose_notebooks(find_chapters(chapters), [notebooks])
    assert [(page.chapter.stem, page.current) for page in pages] == [("01_counting", True), ("02_sums", True)]
    # A newer folder wins when its notebook matches the chapter; an outdated one is used last.
    newer = tmp_path / "newer"
    newer.mkdir()
    (chapter, _, _) = find_chapters(chapters)
    stale = chapter_notebook(chapter)
    stale.cells[0].source += "\nAn older sentence."
    nbformat.write(stale, newer / chapter.notebook_name)
    pages = site.choose_notebooks(find_chapters(chapters), [newer, notebooks])
    assert pages[0].notebook == notebooks / chapter.notebook_name and pages[0].current
    (notebooks / chapter.notebook_name).unlink()
    pages = site.choose_notebooks(find_chapters(chapters), [newer, notebooks])
    assert pages[0].notebook == newer / chapter.notebook_name and not pages[0].current


def test_the_downloads_are_the_chapter_and_its_notebook_as_stored(book, tmp_path):
    chapters, notebooks = book
    pages = site.choose_notebooks(find_chapters(chapters), [notebooks])
    site.assemble_sources(pages, tmp_path / "src")
    for page in pages:
        offered = tmp_path / "src" / site.SOURCES_FOLDER
        assert (offered / page.chapter.notebook_name).read_bytes() == page.notebook.read_bytes()
        assert (offered / page.chapter.source.name).read_bytes() == page.chapter.source.read_bytes()


def test_the_table_of_contents_lists_every_page_found(book):
    chapters, notebooks = book
    pages = site.choose_notebooks(find_chapters(chapters), [notebooks])
    landing = "# Book\n\nStart with {doc}`this <FIRST_CHAPTER>`.\n\n% chapters\n\nEnd.\n"
    text = site.landing_page(landing, pages)
    assert ":::{toctree}\n:maxdepth: 1\n:titlesonly:\n\n01_counting\n02_sums\n:::\n" in text
    assert "{doc}`this <01_counting>`" in text and text.endswith("End.\n")
    # A chapter added later appears by itself.
    write(chapters, "04_more.md", CHAPTER_HEADER + "\n# More\n")
    (more,) = find_chapters(chapters)[3:]
    nbformat.write(chapter_notebook(more), notebooks / more.notebook_name)
    pages = site.choose_notebooks(find_chapters(chapters), [notebooks])
    assert "02_sums\n04_more\n:::" in site.landing_page("% chapters\n", pages)


def test_the_landing_page_of_the_book_has_a_place_for_the_contents():
    text = (site.CONFIG_DIR / "index.md").read_text(encoding="utf-8")
    assert site.TOC_LINE in text.splitlines() and site.FIRST_CHAPTER in text


def test_mentions_of_other_chapters_become_links():
    stems = {1: "01_counting", 3: "03_products"}
    text = site.link_chapters(SOLVED, stems, 2)
    assert "As {doc}`Chapter 1 <01_counting>` showed, and {doc}`Chapter 3 <03_products>` will show" in text
    assert "see `Chapter 3`" in text and "$\\text{Chapter 3}$" in text, "code and math stay as they are"
    assert site.link_chapters("Chapter 2 and Chapter 9.", stems, 2) == "Chapter 2 and Chapter 9.", (
        "the chapter itself and chapters without a page are not linked"
    )
    assert site.link_chapters("# Chapter 1 again\n", stems, 2) == "# Chapter 1 again\n"


def test_a_chapter_page_is_numbered_has_a_launch_box_and_folds_its_solution(book):
    chapters, _ = book
    chapter = find_chapters(chapters)[1]
    notebook = site.web_notebook(chapter_notebook(chapter), chapter, {1: "01_counting", 2: "02_sums"})
    first = notebook.cells[0].source
    assert first.startswith("# 2. Sums\n\n:::{admonition} Run this chapter yourself\n")
    assert f"{{download}}`Download the notebook <{site.SOURCES_FOLDER}/02_sums.ipynb>`" in first
    assert f"<{site.SOURCES_FOLDER}/02_sums.md>`" in first
    answer, check = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert "hide-cell" in answer.metadata["tags"]
    assert answer.metadata["mystnb"]["code_prompt_show"] == site.SHOW_SOLUTION
    assert "tags" not in check.metadata and "mystnb" not in check.metadata, "the check cell stays in view"


def test_a_stub_is_not_a_solution():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(
            '### BEGIN SOLUTION\nraise NotImplementedError("Exercise 2.1: A sum")\n### END SOLUTION'
        ),
        nbformat.v4.new_code_cell("### BEGIN SOLUTION\ntotal = 2\n### END SOLUTION"),
        nbformat.v4.new_markdown_cell("### BEGIN SOLUTION"),
    ])
    assert site.solution_cells(notebook) == [1]


@pytest.mark.exercise("4.2")
@pytest.mark.slow
def test_the_site_of_a_student_edition_has_no_solutions(tmp_path):
    from tools.student import write_student_edition

    edition = tmp_path / "student"
    write_student_edition(edition, ROOT, wanted=["4"], log=lambda *_: None)
    chapters = [c for c in find_chapters(edition / "chapters") if c.number == 4]
    pages = site.choose_notebooks(chapters, [edition / "notebooks"])
    assert pages and pages[0].current
    warnings = site.build_site(pages, tmp_path / "html", "Student edition")
    assert warnings == []
    page = html.unescape(re.sub(r"<[^>]+>", "", (tmp_path / "html" / pages[0].chapter.html_name).read_text()))
    assert site.SHOW_SOLUTION not in page
    assert 'raise NotImplementedError("Exercise 4.2: A fourth layer")' in page
    answer = "delta3 = delta4 * w4 * L3 * (1 - L3)"
    assert answer not in page, "the answer of Exercise 4.2 is not on the page"
    book = nbformat.read(ROOT / "notebooks" / pages[0].chapter.notebook_name, as_version=4)
    assert any(answer in cell.source for cell in book.cells), "the answer the test looks for is the book's"
