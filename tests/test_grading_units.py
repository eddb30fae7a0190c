"""The pieces of the student edition and of the grader, tried without running any test or kernel.

- a chapter's answers become stubs and its answer and check cells get
  nbgrader metadata that nbgrader accepts;
- a displayed package source shows the stub, never the answer;
- the grader finds a submission's answers (by markers, names, nbgrader ids),
  builds the notebook it runs (a probe cell after each answer), compares
  reported data with the reference's without showing the expected values,
  and writes results.json in Gradescope's format (validated with
  jsonschema);
- every exercise of the book has a judge.
"""

import json
import re

import jsonschema
import jupytext
import nbformat
import numpy as np
import pytest

from tools.chapters import CHAPTER_HEADER, ROOT
from tools.exercises import Exercise, Section, exercise_sections
from tools.exercises import load_book
from tools.grade import answer_text, chapter_run
from tools.grading import judge
from tools.grading.report import Result, gradescope_results, short, table, write_atomically
from tools.grading.submission import locate, notebook_answers, package_answers
from tools.student import nbgrader_metadata, scrub_outputs, student_chapter

HEADER = CHAPTER_HEADER + "\n"
# Gradescope's results.json format, as JSON Schema.
GRADESCOPE_SCHEMA = json.loads((ROOT / "tests" / "gradescope_results.schema.json").read_text(encoding="utf-8"))

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


def test_an_answer_that_leaves_its_function_is_refused(tmp_path):
    """A line indented less than the body would run at import time, where it could change other code."""
    book = load_book()
    exercise = next(e for e in book.exercises if e.kind == "package")
    source = (book.root / exercise.where).read_text(encoding="utf-8")
    lines = source.splitlines(keepends=True)
    end = next(i for i, line in enumerate(lines) if "### END SOLUTION" in line)
    indent = lines[end][: len(lines[end]) - len(lines[end].lstrip())]
    submitted = tmp_path / exercise.where.split("/")[-1]
    too_deep = indent + "x = " + "-" * 100_000 + "1\n"  # beyond the parser: it fails when imported
    for added, refused in [("print('at import time')\n", True), (indent[4:] + "x = 1\n", True),
                           (indent + 'note = """\nnot code\n"""\n', False), (too_deep, False)]:
        submitted.write_text("".join(lines[:end] + [added] + lines[end:]), encoding="utf-8")
        answers, problem = package_answers(tmp_path, book, exercise)
        assert (problem is not None) == refused, (added, problem)
        if refused:
            assert "leaves its function" in problem


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


# --- the notebook the grader runs ---------------------------------------------------------------------


def test_the_graded_notebook_has_the_students_answers_and_a_probe_after_each():
    notebook = jupytext.reads(CHAPTER, fmt="md:myst")
    sections, _ = exercise_sections(notebook)
    mine = {"2.1": ["### BEGIN SOLUTION\ny = 16\n### END SOLUTION"], "2.2": ["def cube(v):\n    return v * v * v"]}
    run, plan = chapter_run(notebook, sections, [SQUARE, CUBE], mine, 30)
    sources = [cell.source for cell in run.cells]
    assert "y = x * x" not in "".join(sources) and "return v ** 3" not in "".join(sources), "no reference answer"
    probes = {int(k): v for k, v in plan["probe_cells"].items()}
    assert sources[sections["2.1"].answers[0]] == mine["2.1"][0]
    assert sorted(probes.values()) == ["2.1", "2.2"]
    for position, exercise in probes.items():
        assert sources[position] == f"import probe\nprobe.emit({exercise!r}, globals())"
        assert plan["roles"][str(position - 1)] == "answer", "the probe follows the answer cell"
    assert plan["budget"] == {"2.1": 30, "2.2": 30}

    alone, plan = chapter_run(notebook, sections, [CUBE], mine, 30, alone=[SQUARE, CUBE])
    text = "".join(cell.source for cell in alone.cells)
    assert "y = 16" not in text and "check()" not in text, "the other exercise's cells are left out"
    assert list(plan["probe_cells"].values()) == ["2.2"] and "cube(2) == 8" in text


def test_the_answer_text_is_what_lies_between_the_markers():
    assert answer_text(["x = 4\n### BEGIN SOLUTION\n    y = x * x\n### END SOLUTION\n"]) == "y = x * x"
    assert answer_text(["y = 16"]) == "y = 16", "without markers, the whole cell"


# --- verdicts ----------------------------------------------------------------------------------------------


def test_reported_data_is_compared_without_showing_the_expected_values():
    module = type("judges", (), {})()
    expected = judge.encode({"y": np.array([1.0, 2.0, 3.0]), "n": 4, "name": "relu"})
    right = judge.encode({"y": np.array([1.0, 2.0, 3.0 + 1e-12]), "n": 4, "name": "relu"})
    assert judge.verdict(module, SQUARE, right, expected) == (True, "Right on the grader's inputs.")
    wrong = judge.encode({"y": np.array([1.0, 2.5, 3.0]), "n": 5})
    passed, message = judge.verdict(module, SQUARE, wrong, expected)
    assert not passed
    assert message.splitlines() == ["y: 1 of 3 values differ from the right ones.", "n is wrong.", "result: name is missing."]
    assert "2.0" not in message and "4" not in message, "no expected value is shown"
    shape = judge.encode({"y": np.zeros((3, 1)), "n": 4, "name": "relu"})
    assert judge.verdict(module, SQUARE, shape, expected) == (False, "y has shape (3, 1), expected (3,).")
    assert not judge.verdict(module, SQUARE, {"y": None, "n": 4, "name": "relu"}, expected)[0]


def test_a_report_holds_plain_data_only():
    assert judge.decode({"__array__": "<f8", "shape": [2], "data": [1, 2]}).tolist() == [1.0, 2.0]
    for forged in ({"__array__": "|O", "shape": [1], "data": [1]}, {"__array__": "<U3", "shape": [1], "data": ["a"]}):
        with pytest.raises(ValueError):
            judge.decode(forged)
    assert judge.verdict(None, SQUARE, {"__array__": "|O", "shape": [1], "data": [1]}, judge.encode(np.ones(1)))[1] \
        .startswith("The result could not be read")
    assert judge.parse_report(b'{"event": "probe"}') == {"event": "probe"}
    assert judge.parse_report(b"not json") is None and judge.parse_report(b"[1, 2]") is None


def test_every_exercise_of_the_book_has_a_judge_and_its_inputs_follow_the_seed():
    book = load_book(ROOT)
    for exercise in book.exercises:
        module = judge.load_judges(ROOT, exercise.chapter)
        assert judge.has_judge(module, exercise), f"{judge.judges_path(ROOT, exercise.chapter)}: no probe for {exercise.id}"
        if hasattr(module, f"inputs_{judge.name(exercise)}"):
            first, again = (judge.grading_inputs(module, exercise, 0) for _ in range(2))
            assert first == again, f"exercise {exercise.id}: the same seed gives other inputs"
            assert judge.grading_inputs(module, exercise, 1) != first, f"exercise {exercise.id}: the seed changes nothing"


# --- reports ---------------------------------------------------------------------------------------------


def results():
    double = Exercise("1.1", "Double", 1, 2, "package", "framework/ops.py")
    return [Result(double, True, "Right on the grader's inputs."),
            Result(SQUARE, False, "On the grader's inputs your answer raised NotImplementedError\n" + "more\n" * 50)]


def test_results_json_follows_gradescopes_format():
    data = gradescope_results(results(), 12.6)
    jsonschema.validate(data, GRADESCOPE_SCHEMA)
    assert data["score"] == 2 and data["execution_time"] == 13
    assert [t["number"] for t in data["tests"]] == ["1.1", "2.1"]
    assert data["tests"][1] == {
        "name": "Exercise 2.1: Square it", "number": "2.1", "score": 0, "max_score": 3, "status": "failed",
        "output": data["tests"][1]["output"], "visibility": "visible"}
    assert len(data["tests"][1]["output"].splitlines()) == 26 and data["tests"][1]["output"].endswith("(26 more lines)")


@pytest.mark.parametrize("change, field", [
    ({"score": "2"}, "score"), ({"visibility": "everyone"}, "visibility"), ({"points": 1}, "points"),
    ({"tests": [{"name": "x", "score": 1}]}, "max_score"), ({"tests": None}, "tests")])
def test_the_schema_refuses_what_gradescope_refuses(change, field):
    data = {**gradescope_results(results(), 1), **change}
    with pytest.raises(jsonschema.ValidationError, match=field):
        jsonschema.validate(data, GRADESCOPE_SCHEMA)


def test_student_output_is_truncated():
    kept = short("a" * 5000 + "\n" + "line\n" * 100, 25)
    assert len(kept) == 26 and kept[0].endswith(" ...") and len(kept[0]) < 300 and kept[-1] == "... (76 more lines)"


def test_results_are_written_in_one_step(tmp_path):
    target = tmp_path / "results" / "results.json"
    write_atomically(target, "first\n")
    write_atomically(target, "second\n")
    assert target.read_text() == "second\n" and [p.name for p in target.parent.iterdir()] == ["results.json"]


def test_the_table_shows_points_and_the_first_lines_of_each_failure():
    text = table(results(), "submission", note="the grader cannot drop privileges")
    lines = text.splitlines()
    assert lines[0] == "Grades of submission"
    assert re.search(r"1\.1\s+Double\s+2 / 2\s+passed", text)
    assert re.search(r"2\.1\s+Square it\s+0 / 3\s+failed", text)
    assert re.search(r"total\s+2 / 5", text)
    failures = lines[lines.index("Failures:") + 1 :]
    assert failures[0] == "  Exercise 2.1: Square it"
    assert failures[1] == "    On the grader's inputs your answer raised NotImplementedError"
    assert lines[-1] == "Note: the grader cannot drop privileges"


@pytest.mark.exercise("9.1")  # it runs the package's answer to 9.1
def test_a_backward_of_average_pooling_that_records_nothing_fails_exercise_9_1(monkeypatch):
    """Exercise 9.1 asks for a backward that can be differentiated again; right first derivatives are not enough."""
    from framework.autograd.tensor import Tensor
    from framework.nn import pooling
    from framework.nn.conv import conv_input_grad

    def arrays_only(self, gy):
        (n, c, h, w), dtype = self.saved
        values = gy.data if isinstance(gy, Tensor) else gy
        return conv_input_grad(values, pooling.averaging_filter(c, self.kernel, dtype),
                               self.geo._replace(groups=c), (n, c, h, w))

    module = judge.load_judges(ROOT, 9)
    exercise = next(e for e in load_book(ROOT).exercises if e.id == "9.1")
    inputs = judge.decode(judge.grading_inputs(module, exercise, 0))
    expected = judge.encode(module.probe_9_1(inputs, {}))
    assert judge.verdict(module, exercise, expected, expected)[0]

    def first_derivative():
        x = Tensor(inputs["x"], requires_grad=True)
        pooling.avg_pool2d(x, inputs["kernel"], inputs["stride"], inputs["padding"]).sum().backward()
        return x.grad.data

    right = first_derivative()
    monkeypatch.setattr(pooling.AvgPool2dFunction, "backward", arrays_only)
    np.testing.assert_allclose(first_derivative(), right, err_msg="this wrong answer gets first derivatives right")
    with pytest.raises(RuntimeError):
        module.probe_9_1(inputs, {})


def test_halley_steps_from_hand_made_derivatives_fail_exercise_10_1():
    """Exercise 10.1 differentiates with the framework: a step right by other means is refused."""
    import framework.autograd as ag
    from framework.autograd import tensor

    module = judge.load_judges(ROOT, 10)
    exercise = next(e for e in load_book(ROOT).exercises if e.id == "10.1")
    inputs = judge.decode(judge.grading_inputs(module, exercise, 0))

    def with_the_framework(g, x0):
        x = tensor(x0, requires_grad=True)
        value = g(x)
        (first,) = ag.grad(value, x, create_graph=True)
        (second,) = ag.grad(first, x)
        v, d1, d2 = value.item(), first.item(), second.item()
        return x0 - 2 * v * d1 / (2 * d1 * d1 - v * d2)

    def by_differences(g, x0, h=1e-4):  # never asks the framework for a derivative
        v, up, down = g(x0), g(x0 + h), g(x0 - h)
        d1, d2 = (up - down) / (2 * h), (up - 2 * v + down) / h**2
        return x0 - 2 * v * d1 / (2 * d1 * d1 - v * d2)

    class Jet:  # value and first two derivatives, carried through + and *
        def __init__(self, a, b=0.0, c=0.0):
            self.a, self.b, self.c = a, b, c

    assert module.probe_10_1(inputs, {"halley_step": with_the_framework})["steps"]
    with pytest.raises(AssertionError, match="never called g on a tensor that requires grad"):
        module.probe_10_1(inputs, {"halley_step": by_differences})
    with pytest.raises(TypeError, match="called g on a Jet"):
        module.probe_10_1(inputs, {"halley_step": lambda g, x0: g(Jet(x0, 1.0)).a})


def test_an_eigenvalue_from_the_whole_hessian_fails_exercise_10_2():
    """Exercise 10.2 uses Hessian-vector products; forming the Hessian gives the number but is refused."""
    module = judge.load_judges(ROOT, 10)
    exercise = next(e for e in load_book(ROOT).exercises if e.id == "10.2")
    inputs = judge.decode(judge.grading_inputs(module, exercise, 0))
    answers = {
        "power iteration": """
def largest_eigenvalue(f, point, iterations=200):
    v = np.ones(np.shape(point)) / np.sqrt(np.size(point))
    for _ in range(iterations):
        product = hvp(f, point, v)[1].data
        v = product / np.linalg.norm(product)
    return float(v @ hvp(f, point, v)[1].data)
""",
        "the whole Hessian": """
def largest_eigenvalue(f, point, iterations=200):
    return float(np.linalg.eigvalsh(hessian(f, point)).max())
""",
    }
    found = {}
    for name, answer in answers.items():  # run as in the notebook: the answer's globals are its variables
        namespace = {"np": np}
        exec("from framework.autograd.functional import hessian, hvp", namespace)
        exec(answer, namespace)
        notebook_hvp = namespace["hvp"]
        try:
            found[name] = module.probe_10_2(inputs, namespace)["largest"]
        except AssertionError as error:
            found[name] = str(error)
        assert namespace["hvp"] is notebook_hvp, "the probe puts the notebook's hvp back"
    largest = np.linalg.eigvalsh(np.asarray(inputs["matrix"])).max()
    assert np.isclose(found["power iteration"], largest, rtol=1e-6)
    assert "never called hvp" in found["the whole Hessian"]
