"""The pieces of the student edition and of the grader, tried without running any test or kernel.

- a chapter's answers become stubs and its answer and check cells get
  nbgrader metadata that nbgrader accepts;
- a displayed package source shows the stub, never the answer;
- the grader finds a submission's answers (by markers, names, nbgrader ids),
  reads the logs of a test run or a notebook run into a verdict with its
  reason, and writes results.json in Gradescope's format.
"""

import json
import re

import jupytext
import nbformat

from tools.chapters import CHAPTER_HEADER
from tools.exercises import Exercise, Section, exercise_sections
from tools.grade import (
    GRADESCOPE_SCHEMA,
    Result,
    format_problems,
    gradescope_results,
    judge_cells,
    judge_tests,
    locate,
    notebook_answers,
    readable,
    table,
)
from tools.student import nbgrader_metadata, scrub_outputs, student_chapter

HEADER = CHAPTER_HEADER + "\n"

CHAPTER = HEADER + """\
# Squares

```{code-cell} ipython3
:tags: [nbval-ignore-output]

import time
assert time.time() > 0
```

## Exercises

### Exercise 2.1: Square it (3 points)

```{code-cell} ipython3
x = 4
### BEGIN SOLUTION
y = x * x
### END SOLUTION
```

```{code-cell} ipython3
def check():
    assert y == 16, f"y = {y}, expected 16"
```

```{code-cell} ipython3
check()
print("right")
```

### Exercise 2.2: A function (1 point)

```{code-cell} ipython3
:tags: [keep]

def cube(v):
    ### BEGIN SOLUTION
    return v ** 3
    ### END SOLUTION
```

```{code-cell} ipython3
assert cube(2) == 8
```
"""

SQUARE = Exercise("2.1", "Square it", 2, 3, "notebook", "chapters/02_squares.md")
CUBE = Exercise("2.2", "A function", 2, 1, "notebook", "chapters/02_squares.md")


def nbgrader_v3_problems(notebook):
    """nbgrader's own rules for cell metadata, schema version 3 (as its validator applies them)."""
    problems, ids = [], set()
    allowed = {"schema_version", "grade", "locked", "solution", "task", "grade_id", "points", "checksum", "cell_type"}
    for index, cell in enumerate(notebook.cells):
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            continue
        where = f"cell {index}"
        if set(meta) - allowed:
            problems.append(f"{where}: unknown keys {set(meta) - allowed}")
        if meta.get("schema_version") != 3:
            problems.append(f"{where}: schema_version is not 3")
        for key in ("grade", "locked", "solution"):
            if not isinstance(meta.get(key), bool):
                problems.append(f"{where}: {key} must be true or false")
        if meta.get("grade") or meta.get("solution") or meta.get("locked"):
            grade_id = meta.get("grade_id", "")
            if not re.fullmatch(r"[a-zA-Z0-9_\-]+", grade_id):
                problems.append(f"{where}: grade_id {grade_id!r} has characters nbgrader refuses")
            if grade_id in ids:
                problems.append(f"{where}: duplicate grade_id {grade_id!r}")
            ids.add(grade_id)
        if meta.get("grade") and not isinstance(meta.get("points"), (int, float)):
            problems.append(f"{where}: a grade cell needs points")
        if cell.cell_type == "markdown" and meta.get("grade") != meta.get("solution"):
            problems.append(f"{where}: a markdown cell must be both grade and solution, or neither")
    return problems


def test_the_student_chapter_has_stubs_and_nbgrader_metadata():
    text = student_chapter(CHAPTER, [SQUARE, CUBE], {"2.1", "2.2"})
    assert "y = x * x" not in text and "return v ** 3" not in text
    assert '### BEGIN SOLUTION\nraise NotImplementedError("Exercise 2.1: Square it")\n### END SOLUTION' in text
    assert '    ### BEGIN SOLUTION\n    raise NotImplementedError("Exercise 2.2: A function")\n' in text
    notebook = jupytext.reads(text, fmt="md:myst")
    sections, problems = exercise_sections(notebook)
    assert problems == []
    cells = notebook.cells
    square, cube = sections["2.1"], sections["2.2"]
    assert cells[square.answers[0]].metadata["nbgrader"] == {
        "grade": False, "grade_id": "exercise-2-1", "locked": False, "schema_version": 3, "solution": True}
    first_check, last_check = (cells[i].metadata["nbgrader"] for i in square.checks)
    assert (first_check["grade_id"], first_check["points"]) == ("exercise-2-1-check", 0)
    assert (last_check["grade_id"], last_check["points"]) == ("exercise-2-1-check-2", 3)
    assert last_check["grade"] and last_check["locked"] and not last_check["solution"]
    assert cells[cube.answers[0]].metadata["tags"] == ["keep"], "existing options stay"
    assert cells[0].cell_type == "markdown" and cells[1].metadata == {"tags": ["nbval-ignore-output"]}
    assert "x = 4" in cells[square.answers[0]].source, "lines around the region stay"
    assert nbgrader_v3_problems(notebook) == []
    points = sum(c.metadata["nbgrader"].get("points", 0) for c in cells if "nbgrader" in c.metadata)
    assert points == SQUARE.points + CUBE.points


def test_only_the_chosen_exercises_are_stubbed_and_the_rest_is_unchanged():
    text = student_chapter(CHAPTER, [SQUARE, CUBE], {"2.2"})
    assert "y = x * x" in text and "return v ** 3" not in text
    assert "exercise-2-1" not in text
    untouched = CHAPTER.split("### Exercise 2.2")[0]
    assert text.startswith(untouched), "everything before the stubbed exercise is byte for byte the chapter"
    assert student_chapter(CHAPTER, [SQUARE, CUBE], set()) == CHAPTER


def test_nbgrader_ids_of_several_answer_cells_are_unique():
    section = Section("3.1", "t", None, answers=[4, 6], checks=[7])
    metadata = nbgrader_metadata(Exercise("3.1", "t", 3, 2, "notebook", "c.md"), section)
    assert [metadata[i]["grade_id"] for i in (4, 6, 7)] == ["exercise-3-1", "exercise-3-1-2", "exercise-3-1-check"]


SOURCE_SHOWN = """\
```python
class Tanh(Function):
    def backward(self, gy):
        (y,) = self.saved
        ### BEGIN SOLUTION
        return gy * (1 - y * y)
        ### END SOLUTION
```"""


def test_a_displayed_answer_is_replaced_by_the_stub():
    tanh = Exercise("4.1", "Backward of tanh", 4, 2, "package", "framework/autograd/ops.py")
    shown = {("return gy * (1 - y * y)",): tanh}
    outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": SOURCE_SHOWN,
                                                             "text/plain": "<IPython.core.display.Markdown object>"})]
    scrubbed = scrub_outputs(outputs, shown)
    text = scrubbed[0]["data"]["text/markdown"]
    assert "return gy * (1 - y * y)" not in text
    assert '        raise NotImplementedError("Exercise 4.1: Backward of tanh")\n        ### END SOLUTION' in text
    assert outputs[0]["data"]["text/markdown"] == SOURCE_SHOWN, "the original outputs are not changed"
    assert scrub_outputs(outputs, {}) is None, "an answer that cannot be matched removes the outputs"
    plain = [nbformat.v4.new_output("stream", name="stdout", text="nothing to hide\n")]
    assert scrub_outputs(plain, shown) == plain


# --- finding the answers of a submission --------------------------------------------------------------


def test_a_file_is_found_where_it_belongs_or_alone_anywhere(tmp_path):
    (tmp_path / "framework" / "autograd").mkdir(parents=True)
    (tmp_path / "framework" / "autograd" / "ops.py").write_text("")
    assert locate(tmp_path, "framework/autograd/ops.py") == tmp_path / "framework" / "autograd" / "ops.py"
    flat = tmp_path / "upload"
    flat.mkdir()
    (flat / "ops.py").write_text("")
    assert locate(flat, "framework/autograd/ops.py") == flat / "ops.py"
    (flat / "copy").mkdir()
    (flat / "copy" / "ops.py").write_text("")
    assert locate(flat, "framework/autograd/ops.py") is None, "two candidates: none is taken"


def test_answer_cells_are_found_by_nbgrader_id_or_by_heading():
    notebook = jupytext.reads(student_chapter(CHAPTER, [SQUARE, CUBE], {"2.1", "2.2"}), fmt="md:myst")
    sections, _ = exercise_sections(notebook)
    book = sections["2.1"]
    answer = notebook.cells[book.answers[0]]
    marked = "### BEGIN SOLUTION\ny = 16\n### END SOLUTION"
    answer.source = "y = 16"
    notebook.cells.insert(0, nbformat.v4.new_code_cell("scratch = 1"))
    assert notebook_answers(notebook, SQUARE, book) == (["y = 16"], None), "found by its nbgrader id"
    for cell in notebook.cells:
        cell.metadata.pop("nbgrader", None)
    assert notebook_answers(notebook, SQUARE, book) == (["y = 16"], None), "found by its place under the heading"
    answer.source = marked
    notebook.cells.insert(book.answers[0] + 1, nbformat.v4.new_code_cell("print(y)"))
    assert notebook_answers(notebook, SQUARE, book) == ([marked], None), "found by its markers"
    answer.source = "y = 16"
    sources, problem = notebook_answers(notebook, SQUARE, book)
    assert sources is None and "keep the lines ### BEGIN SOLUTION" in problem
    notebook.cells = [c for c in notebook.cells if "Exercise 2.1" not in c.source]
    sources, problem = notebook_answers(notebook, SQUARE, book)
    assert sources is None and "No answer cell for exercise 2.1" in problem


# --- verdicts ----------------------------------------------------------------------------------------------


def start(test):
    return {"event": "start", "test": test}


def outcome(test, result, message=None, location=None, when="call"):
    return {"event": "result", "test": test, "when": when, "outcome": result, "message": message,
            "location": location}


def test_passing_failing_hanging_and_dying_test_runs(tmp_path):
    output = tmp_path / "out.txt"
    output.write_text("pytest said something\n")
    a, b = "tests/t.py::test_a", "tests/t.py::test_b"
    assert judge_tests([start(a), outcome(a, "passed"), start(b), outcome(b, "passed")], 0, False, 60, output) \
        == (True, "All 2 tests passed.")

    passed, text = judge_tests([start(a), outcome(a, "passed"), start(b),
                                outcome(b, "failed", "AssertionError: y should be 2", "framework/ops.py:3")],
                               1, False, 60, output)
    assert not passed
    assert text.splitlines() == ["1 of 2 tests passed.", "test_b failed (raised at framework/ops.py:3):",
                                 "    AssertionError: y should be 2"]

    stub = "NotImplementedError: Exercise 1.1: Double"
    passed, text = judge_tests([start(a), outcome(a, "failed", stub), start(b), outcome(b, "failed", stub)],
                               1, False, 60, output)
    assert not passed and "Every test failed with NotImplementedError: Exercise 1.1: Double" in text

    passed, text = judge_tests([start(a), outcome(a, "passed"), start(b)], -9, True, 60, output)
    assert not passed
    assert text.startswith("The tests were still running after 60 s, the time limit of this exercise")
    assert text.endswith("Running: test_b")

    passed, text = judge_tests([start(a)], 3, False, 60, output)
    assert not passed and text.startswith("The test process exited with status 3 while running test_a: "
                                          "the code exited the interpreter")

    passed, text = judge_tests([], 4, False, 60, output)
    assert not passed and "No test ran" in text and "pytest said something" in text

    passed, text = judge_tests([start(a), outcome(a, "skipped", "no data", when="setup")], 0, False, 60, output)
    assert not passed and "Every test was skipped: no data" in text


def test_failure_messages_drop_pytests_explanations_and_memory_addresses():
    message = ("AssertionError: Tanh.backward should return 0.42, got 0.24\nassert False\n"
               " +  where False = <function allclose at 0x7fae19c42ab0>(1, 2)")
    assert readable(message) == "AssertionError: Tanh.backward should return 0.42, got 0.24"
    bare = "assert 3 == 4\n +  where 3 = <function f at 0x7f00aa>()"
    assert readable(bare) == "assert 3 == 4\n +  where 3 = <function f>()"


def test_verdicts_on_notebook_cells():
    section = Section("2.1", "Square it", 3, answers=[3], checks=[4, 5])
    ok = {i: {"status": "ok", "stdout": "", "stderr": ""} for i in (3, 4, 5)}
    ok[5]["stdout"] = "right\n"
    assert judge_cells(SQUARE, section, ok, None, 60) == (True, "The answer and check cells ran without error.\nright")

    warned = {**ok, 3: {"status": "ok", "stdout": "", "stderr": "careful\n"}}
    passed, text = judge_cells(SQUARE, section, warned, None, 60)
    assert passed and "wrote to stderr" in text and "careful" in text

    stub = {**ok, 3: {"status": "error", "ename": "NotImplementedError", "evalue": "Exercise 2.1: Square it",
                      "traceback": ""}}
    passed, text = judge_cells(SQUARE, section, stub, None, 60)
    assert not passed and text.startswith("The answer cell (cell 3) raised NotImplementedError: Exercise 2.1")

    wrong = {**ok, 5: {"status": "error", "ename": "AssertionError", "evalue": "y = 15, expected 16",
                       "traceback": "Traceback\n  check()\nAssertionError: y = 15, expected 16"}}
    passed, text = judge_cells(SQUARE, section, wrong, None, 60)
    assert not passed and text.splitlines()[0] == "The check cell (cell 5) raised AssertionError: y = 15, expected 16"

    for record, reason in [({"status": "timeout"}, "still running after 60 s"),
                           ({"status": "error", "ename": "TimeLimitReached", "evalue": ""}, "still running after 60 s"),
                           ({"status": "died"}, "The kernel died while running the answer cell")]:
        passed, text = judge_cells(SQUARE, section, {**ok, 3: record}, None, 60)
        assert not passed and reason in text
    passed, text = judge_cells(SQUARE, section, {3: ok[3]}, {"event": "died"}, 60)
    assert not passed and text == "The check cell (cell 4) did not run."


# --- reports ---------------------------------------------------------------------------------------------


def results():
    double = Exercise("1.1", "Double", 1, 2, "package", "framework/ops.py")
    return [Result(double, True, "All 2 tests passed."),
            Result(SQUARE, False, "The answer cell (cell 3) raised NotImplementedError\n" + "more\n" * 50)]


def test_results_json_follows_gradescopes_format():
    data = gradescope_results(results(), 12.6)
    assert format_problems(data) == []
    assert data["score"] == 2 and data["execution_time"] == 13
    assert [t["number"] for t in data["tests"]] == ["1.1", "2.1"]
    assert data["tests"][1] == {
        "name": "Exercise 2.1: Square it", "number": "2.1", "score": 0, "max_score": 3, "status": "failed",
        "output": data["tests"][1]["output"], "visibility": "visible"}
    assert len(data["tests"][1]["output"].splitlines()) <= 41
    json.dumps(data)
    try:
        import jsonschema
    except ImportError:
        return
    jsonschema.validate(data, GRADESCOPE_SCHEMA)


def test_the_format_check_catches_mistakes():
    good = gradescope_results(results(), 1)
    cases = [
        ({**good, "score": "2"}, "results.score = '2' is not a number"),
        ({**good, "visibility": "everyone"}, "expected one of"),
        ({**good, "tests": [{**good["tests"][0], "score": 5}]}, "exceeds max_score"),
        ({**good, "tests": [{k: v for k, v in good["tests"][0].items() if k != "max_score"}]}, "'max_score' is missing"),
        ({**good, "tests": [{**good["tests"][0], "points": 1}]}, "unknown field 'points'"),
        ({**good, "score": 7}, "not the sum"),
        ({k: v for k, v in good.items() if k != "tests"}, "'tests' is missing"),
    ]
    for data, message in cases:
        problems = format_problems(data)
        assert any(message in p for p in problems), (message, problems)


def test_the_table_shows_points_and_the_first_lines_of_each_failure():
    text = table(results(), "submission")
    lines = text.splitlines()
    assert lines[0] == "Grades of submission"
    assert re.search(r"1\.1\s+Double\s+2 / 2\s+passed", text)
    assert re.search(r"2\.1\s+Square it\s+0 / 3\s+failed", text)
    assert re.search(r"total\s+2 / 5", text)
    failures = lines[lines.index("Failures:") + 1 :]
    assert failures[0] == "  Exercise 2.1: Square it"
    assert failures[1] == "    The answer cell (cell 3) raised NotImplementedError"
    assert failures[-1].strip().startswith("... (")
