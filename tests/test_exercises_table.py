"""The table of exercises (exercises.toml) agrees with the book, and the tools that read it work.

The first tests check the real book: every entry is well formed, every
exercise has its solution regions (package) or its answer and check cells
(chapter), every package exercise has tests that carry its mark, and no
region or mark is left without an entry. The others try the reading and
checking on small made-up repositories written into a temporary folder.
"""

import textwrap

import pytest

from tools.chapters import CHAPTER_HEADER as FRONT_MATTER, ROOT
from tools.exercises import (
    HEADING,
    TEST_MARK,
    Exercise,
    Region,
    TableError,
    enclosing_names,
    exercise_sections,
    find_regions,
    is_stub,
    load_book,
    load_exercises,
    replace_regions,
    select,
    stub_regions,
)

# --- the real book ---------------------------------------------------------------------------


def test_every_entry_of_the_table_is_well_formed():
    exercises = load_exercises(ROOT)
    assert exercises, "exercises.toml lists no exercise"


def test_the_table_and_the_book_agree():
    book = load_book(ROOT)
    assert not book.problems, "exercises.toml and the book disagree:\n" + "\n".join(book.problems)


def test_every_package_region_sits_in_a_function_and_belongs_to_an_exercise():
    book = load_book(ROOT)
    stray = [region.where for region in book.stray_regions()]
    outside = [region.where for region in book.regions if not region.in_function]
    assert not stray, f"solution regions that belong to no exercise: {stray}"
    assert not outside, f"solution regions outside a function body: {outside}"


# --- made-up repositories ------------------------------------------------------------------------

CHAPTER_HEADER = FRONT_MATTER + "\n"


def write(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def entry(id, kind, where, title=None, points=1, **extra):
    chapter = id.split(".")[0]
    lines = ["[[exercise]]", f'id = "{id}"', f'title = "{title or "Exercise " + id}"', f"chapter = {chapter}",
             f"points = {points}", f'kind = "{kind}"', f'where = "{where}"']
    lines += [f"{key} = {value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n\n"


OPS = '''\
    """Two exercises in one file."""


    def double(x):
        """2 x."""
        ### BEGIN SOLUTION
        return 2 * x
        ### END SOLUTION


    class Halver:
        def apply(self, x):
            if x is not None:
                ### BEGIN SOLUTION
                return x / 2
                ### END SOLUTION
            return None
    '''

CHAPTER = CHAPTER_HEADER + """\
# A small chapter

```{code-cell} ipython3
value = 20
```

## Exercises

### Exercise 1.1: Double (1 point)

In the package: `double` in `framework/ops.py`.

### Exercise 1.2: Halve (1 point)

In the package: `Halver.apply`.

### Exercise 1.3: The answer (2 points)

Write it.

```{code-cell} ipython3
### BEGIN SOLUTION
answer = 42
### END SOLUTION
```

```{code-cell} ipython3
assert answer == 42, "the answer is 42"
```

## Notes

```{code-cell} ipython3
print("not a check cell")
```
"""


@pytest.fixture
def repo(tmp_path):
    write(tmp_path, {
        "exercises.toml": entry("1.1", "package", "framework/ops.py", "Double")
        + entry("1.2", "package", "framework/ops.py", "Halve")
        + entry("1.3", "notebook", "chapters/01_small.md", "The answer", points=2),
        "framework/__init__.py": "",
        "framework/ops.py": OPS,
        "chapters/01_small.md": CHAPTER,
        "tests/test_ops.py": """\
            import pytest

            @pytest.mark.exercise("1.1")
            def test_double():
                pass

            @pytest.mark.exercise("1.2")
            def test_halve():
                pass
            """,
    })
    return tmp_path


def test_a_consistent_repository_has_no_problems(repo):
    book = load_book(repo)
    assert book.problems == []
    assert [e.id for e in book.exercises] == ["1.1", "1.2", "1.3"]
    assert [(r.name, r.exercise.id) for r in book.regions] == [("double", "1.1"), ("Halver.apply", "1.2")]
    section = book.sections["1.3"]
    assert (section.heading_title, section.heading_points) == ("The answer", 2)
    assert len(section.answers) == 1 and len(section.checks) == 1, "the cell under '## Notes' is no check cell"
    assert [e.id for e in book.ready()] == ["1.1", "1.2", "1.3"]
    assert not any(book.stubbed(e) for e in book.exercises)


def test_regions_go_to_the_exercises_in_order_or_by_function_name(repo):
    # Named the other way round, the names win over the order.
    write(repo, {"exercises.toml": entry("1.1", "package", "framework/ops.py", "Double", functions='["Halver.apply"]')
                 + entry("1.2", "package", "framework/ops.py", "Halve", functions='["double"]')
                 + entry("1.3", "notebook", "chapters/01_small.md", "The answer", points=2)})
    book = load_book(repo)
    assert book.problems == []
    assert [(r.name, r.exercise.id) for r in book.regions] == [("double", "1.2"), ("Halver.apply", "1.1")]


def test_ambiguous_missing_and_stray_regions_are_reported(repo):
    write(repo, {"exercises.toml": entry("1.1", "package", "framework/ops.py")
                 + entry("1.2", "package", "framework/ops.py")
                 + entry("1.4", "package", "framework/ops.py")})
    problems = "\n".join(load_book(repo).problems)
    assert "ambiguous" in problems and "functions" in problems
    assert "1.3" in problems and "has an answer cell but is not in exercises.toml" in problems

    write(repo, {"exercises.toml": entry("1.1", "package", "framework/ops.py", "Double", functions='["double"]'),
                 "framework/other.py": "def f():\n    ### BEGIN SOLUTION\n    pass\n    ### END SOLUTION\n"})
    book = load_book(repo)
    problems = "\n".join(book.problems)
    assert "framework/ops.py:14: a solution region that belongs to no exercise" in problems
    assert "framework/other.py:2: a solution region that belongs to no exercise" in problems
    assert "marks exercise" not in problems and "mark(s) exercise '1.2'" in problems
    assert [r.where for r in book.stray_regions()] == ["framework/ops.py:14", "framework/other.py:2"]


def test_a_region_outside_a_function_or_without_tests_blocks_its_exercise(repo):
    write(repo, {
        "framework/ops.py": "### BEGIN SOLUTION\nVALUE = 1\n### END SOLUTION\n",
        "exercises.toml": entry("1.1", "package", "framework/ops.py"),
        "tests/test_ops.py": "def test_nothing():\n    pass\n",
    })
    book = load_book(repo)
    problems = "\n".join(book.problems)
    assert "not inside a function body" in problems
    assert 'no test carries @pytest.mark.exercise(\'1.1\')' in problems
    assert book.ready() == []
    assert any("not inside a function" in reason for reason in book.blocking(book.exercise("1.1")))


def test_malformed_entries_are_refused_with_their_reasons(tmp_path):
    write(tmp_path, {"exercises.toml": entry("1.1", "package", "x.py") + entry("1.1", "package", "x.py")})
    with pytest.raises(TableError, match="listed 2 times"):
        load_exercises(tmp_path)
    write(tmp_path, {"exercises.toml": entry("2.1", "homework", "x.py", points=0).replace("chapter = 2", "chapter = 3")})
    with pytest.raises(TableError) as error:
        load_exercises(tmp_path)
    message = str(error.value)
    assert "chapter = 3 but the id says chapter 2" in message
    assert "points must be positive" in message
    assert "kind = 'homework'" in message
    write(tmp_path, {"exercises.toml": '[[exercise]]\nid = "1.1"\n'})
    with pytest.raises(TableError, match="the field 'title' is missing"):
        load_exercises(tmp_path)
    write(tmp_path, {"exercises.toml": "[[exercise]\n"})
    with pytest.raises(TableError, match="not valid TOML"):
        load_exercises(tmp_path)


def test_heading_and_table_must_agree_and_sections_need_a_check_cell(repo):
    write(repo, {"exercises.toml": entry("1.1", "package", "framework/ops.py", "Double")
                 + entry("1.2", "package", "framework/ops.py", "Halve")
                 + entry("1.3", "notebook", "chapters/01_small.md", "Another title", points=3)})
    problems = "\n".join(load_book(repo).problems)
    assert "the heading in chapters/01_small.md says 'The answer', exercises.toml says 'Another title'" in problems
    assert "says 2 points, exercises.toml says 3" in problems

    chapter = CHAPTER.replace('```{code-cell} ipython3\nassert answer == 42, "the answer is 42"\n```\n', "")
    write(repo, {"chapters/01_small.md": chapter,
                 "exercises.toml": entry("1.3", "notebook", "chapters/01_small.md", "The answer", points=2)})
    problems = "\n".join(load_book(repo).problems)
    assert "no check cell follows its answer cell" in problems


def test_selecting_exercises_by_id_or_chapter(repo):
    exercises = load_exercises(repo)
    assert [e.id for e in select(exercises, [])] == ["1.1", "1.2", "1.3"]
    assert [e.id for e in select(exercises, ["1.3", "1.1"])] == ["1.1", "1.3"]
    assert [e.id for e in select(exercises, ["1"])] == ["1.1", "1.2", "1.3"]
    with pytest.raises(TableError, match="no exercise matches '2.1'"):
        select(exercises, ["2.1"])


# --- regions and stubs ------------------------------------------------------------------------------


def lines_of(text):
    return textwrap.dedent(text).splitlines(keepends=True)


def test_markers_must_pair_up():
    assert find_regions(lines_of(OPS)) == [Region(5, 7, "    "), Region(13, 15, "            ")]
    for text, message in [
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "inside the region opened on line 1"),
        ("x = 1\n### END SOLUTION\n", "line 2: ### END SOLUTION without"),
        ("### BEGIN SOLUTION\nx = 1\n", "never closed"),
    ]:
        with pytest.raises(TableError, match=message):
            find_regions(lines_of(text))


def test_the_stub_keeps_the_markers_and_the_indentation_and_the_module_imports(tmp_path):
    lines = lines_of(OPS)
    regions = find_regions(lines)
    exercise = Exercise("1.2", 'Halve "it"', 1, 1, "package", "framework/ops.py")
    text = "".join(stub_regions(lines, {region: exercise for region in regions}))
    assert '            raise NotImplementedError("Exercise 1.2: Halve \\"it\\"")\n' in text
    assert text.count("### BEGIN SOLUTION") == 2 and "return 2 * x" not in text
    namespace = {}
    exec(compile(text, "ops.py", "exec"), namespace)
    with pytest.raises(NotImplementedError, match='Exercise 1.2: Halve "it"'):
        namespace["double"](1)
    assert namespace["Halver"]().apply(None) is None
    stubbed = find_regions(text.splitlines(keepends=True))
    assert all(is_stub(text.splitlines()[r.begin + 1 : r.end]) for r in stubbed)
    assert not is_stub(lines[regions[0].begin + 1 : regions[0].end])


def test_replacing_region_bodies_keeps_everything_else():
    lines = lines_of(OPS)
    first, second = find_regions(lines)
    result = replace_regions(lines, {second: ["            return x * 0.5\n"]})
    assert "".join(result) == "".join(lines).replace("return x / 2", "return x * 0.5")
    assert replace_regions(lines, {first: lines[first.begin + 1 : first.end]}) == lines


def test_enclosing_names_with_and_without_a_syntax_tree():
    text = textwrap.dedent(OPS)
    regions = find_regions(text.splitlines(keepends=True))
    assert enclosing_names(text, regions) == [("double", True), ("Halver.apply", True)]
    broken = text.replace("return x / 2", "return x / (")
    assert enclosing_names(broken, regions) == [("double", True), ("Halver.apply", True)]
    module_level = "### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n"
    assert enclosing_names(module_level, find_regions(lines_of(module_level))) == [("", False)]


def test_headings_and_test_marks_are_recognised():
    match = HEADING.match("Exercise 4.2: Backward of tanh (2 points)")
    assert (match["id"], match["title"], match["points"]) == ("4.2", "Backward of tanh", "2")
    assert HEADING.match("Exercise 7.1: Adam's step (1 point)")["points"] == "1"
    assert HEADING.match("Exercise 3.2: No points given")["points"] is None
    assert HEADING.match("Exercises") is None
    marks = 'exercise = pytest.mark.exercise("7.1")\n@pytest.mark.exercise( "4.2" )\n"exercise(\'N.K\')"'
    assert [m["id"] for m in TEST_MARK.finditer(marks)] == ["7.1", "4.2"]


def test_sections_end_at_the_next_heading_of_their_level():
    import jupytext

    notebook = jupytext.reads(CHAPTER, fmt="md:myst")
    sections, problems = exercise_sections(notebook)
    assert problems == []
    assert set(sections) == {"1.1", "1.2", "1.3"}
    assert sections["1.1"].answers == [] and sections["1.2"].checks == []
    section = sections["1.3"]
    assert notebook.cells[section.answers[0]].source.startswith("### BEGIN SOLUTION")
    assert notebook.cells[section.checks[0]].source.startswith("assert answer")

    stray = CHAPTER + "\n```{code-cell} ipython3\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n```\n"
    _, problems = exercise_sections(jupytext.reads(stray, fmt="md:myst"))
    assert problems and "outside any exercise section" in problems[0]
