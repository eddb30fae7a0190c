"""The student edition and the grader, end to end (slow: they run probes and notebooks).

On a small made-up book (fast to grade), with its own judges:

- the full edition earns full marks, a fresh student edition none;
- a submission whose answers hang, exit the interpreter (``os._exit``,
  ``sys.exit``), kill the notebook's kernel or write to stderr loses only
  the exercises those answers belong to, each with the reason in its
  output, and grading it twice gives the same grades;
- an answer that hard-codes the public expected value earns nothing;
- answers uploaded as loose files are found, and a file linked into the
  submission from elsewhere is not taken.

On the book itself:

- the full edition earns full marks (every package exercise, and a notebook
  exercise);
- a freshly written student edition imports, hands out no answer, carries
  valid nbgrader metadata, earns nothing on its stubbed exercises, and
  loses no other test: every unit test that belongs to no stubbed exercise
  passes there as it does in the full edition;
- a student edition with some answers right and some wrong gets exactly the
  expected grade of each exercise, and its results.json follows Gradescope's
  format.

The attacks of a cheating student are tried in test_grading_redteam.py.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import jsonschema
import nbformat
import pytest

from tools import checks
from tools.chapters import ROOT, find_chapters
from tools.exercises import find_regions, load_book, region_body, regions_of_file, replace_regions
from tools.grade import grade
from tools.student import current_notebook, write_student_edition

pytestmark = pytest.mark.slow

PYTHON = sys.executable
# Gradescope's results.json format, as JSON Schema.
GRADESCOPE_SCHEMA = json.loads((ROOT / "tests" / "gradescope_results.schema.json").read_text(encoding="utf-8"))

# --- a small book ---------------------------------------------------------------------------------------

MINI = {
    "exercises.toml": """\
        [[exercise]]
        id = "1.1"
        title = "Double"
        chapter = 1
        points = 1
        kind = "package"
        where = "framework/ops.py"

        [[exercise]]
        id = "1.2"
        title = "Halve"
        chapter = 1
        points = 2
        kind = "package"
        where = "framework/ops.py"

        [[exercise]]
        id = "1.3"
        title = "The answer"
        chapter = 1
        points = 2
        kind = "notebook"
        where = "chapters/01_mini.md"

        [[exercise]]
        id = "1.4"
        title = "Cube"
        chapter = 1
        points = 1
        kind = "notebook"
        where = "chapters/01_mini.md"
        """,
    "pyproject.toml": """\
        [tool.pytest.ini_options]
        pythonpath = ["."]
        markers = ["exercise(id): the test checks this exercise"]
        """,
    "framework/__init__.py": "",
    "framework/ops.py": '''\
        def double(x):
            ### BEGIN SOLUTION
            return 2 * x
            ### END SOLUTION


        def halve(x):
            ### BEGIN SOLUTION
            return x / 2
            ### END SOLUTION


        def unrelated():
            return 1
        ''',
    "tests/test_ops.py": '''\
        import pytest

        from framework.ops import double, halve, unrelated


        @pytest.mark.exercise("1.1")
        def test_double():
            assert double(3) == 6, f"double(3) gives {double(3)}, expected 6"


        @pytest.mark.exercise("1.1")
        def test_double_negative():
            assert double(-1) == -2


        @pytest.mark.exercise("1.2")
        def test_halve():
            assert halve(3) == 1.5, f"halve(3) gives {halve(3)}, expected 1.5"


        def test_unrelated():
            assert unrelated() == 1
        ''',
    "tests/judges/chapter_01.py": '''\
        def inputs_1_1(rng):
            return {"x": rng.normal(size=4)}


        def probe_1_1(inputs, namespace):
            from framework.ops import double

            return {"doubled": [double(float(x)) for x in inputs["x"]]}


        def inputs_1_2(rng):
            return {"x": rng.normal(size=4)}


        def probe_1_2(inputs, namespace):
            from framework.ops import halve

            return {"halved": [halve(float(x)) for x in inputs["x"]]}


        def inputs_1_3(rng):
            return {"base": int(rng.integers(100, 1000))}


        def probe_1_3(inputs, namespace):
            scope = {**namespace, "base": inputs["base"]}
            exec(inputs["answer"], scope)
            return {"answer": scope["answer"]}


        def inputs_1_4(rng):
            return {"v": rng.normal(size=3)}


        def probe_1_4(inputs, namespace):
            return {"cubes": [namespace["cube"](float(v)) for v in inputs["v"]]}
        ''',
    "chapters/01_mini.md": """\
        ---
        jupytext:
          text_representation:
            extension: .md
            format_name: myst
        kernelspec:
          display_name: Python 3
          language: python
          name: python3
        ---

        # A small book

        ```{code-cell} ipython3
        base = 40
        ```

        ## Exercises

        ### Exercise 1.1: Double (1 point)

        In the package.

        ### Exercise 1.2: Halve (2 points)

        In the package.

        ### Exercise 1.3: The answer (2 points)

        ```{code-cell} ipython3
        ### BEGIN SOLUTION
        answer = base + 2
        ### END SOLUTION
        ```

        ```{code-cell} ipython3
        if answer != 42:
            raise AssertionError(f"answer = {answer}, expected 42")
        print("Exercise 1.3: right")
        ```

        ### Exercise 1.4: Cube (1 point)

        ```{code-cell} ipython3
        def cube(v):
            ### BEGIN SOLUTION
            return v ** 3
            ### END SOLUTION
        ```

        ```{code-cell} ipython3
        if cube(3) != 27:
            raise AssertionError(f"cube(3) = {cube(3)}, expected 27")
        print("Exercise 1.4: right")
        ```
        """,
}

TIMEOUT = 5
HANG = ["while True:", "    pass"]


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    root = tmp_path_factory.mktemp("mini") / "book"
    for name, text in MINI.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    assert load_book(root).problems == []
    return root


@pytest.fixture(scope="module")
def mini_student(mini, tmp_path_factory):
    out = tmp_path_factory.mktemp("mini-student") / "edition"
    write_student_edition(out, root=mini, log=lambda text: None)
    return out


def grades(results):
    return {r.exercise.id: r.score for r in results}


def fill_region(edition, path, index, body):
    """Write ``body`` (lines, without indentation) into the index-th solution region of a file."""
    target = Path(edition) / path
    lines = target.read_text(encoding="utf-8").splitlines(keepends=True)
    region = find_regions(lines)[index]
    target.write_text("".join(replace_regions(lines, {region: [region.indent + line + "\n" for line in body]})),
                      encoding="utf-8")


def fill_cell(notebook_path, grade_id, source):
    notebook = nbformat.read(notebook_path, as_version=4)
    cells = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    assert len(cells) == 1, f"no answer cell {grade_id} in {notebook_path}"
    cells[0].source = source
    nbformat.write(notebook, notebook_path)


def copy_edition(edition, tmp_path, name="submission"):
    target = tmp_path / name
    shutil.copytree(edition, target)
    return target


def test_the_full_small_book_earns_full_marks(mini):
    results = grade(mini, reference=mini, timeout=TIMEOUT)
    assert grades(results) == {"1.1": 1, "1.2": 2, "1.3": 2, "1.4": 1}, [r.output for r in results]
    outputs = {r.exercise.id: r.output for r in results}
    assert outputs["1.1"] == outputs["1.3"] == "Right on the grader's inputs."


def test_a_fresh_student_edition_earns_nothing_and_says_why(mini, mini_student):
    text = (mini_student / "framework" / "ops.py").read_text()
    assert 'raise NotImplementedError("Exercise 1.2: Halve")' in text and "return x / 2" not in text
    assert "answer = base + 2" not in (mini_student / "notebooks" / "01_mini.ipynb").read_text()
    book = load_book(mini_student)
    assert book.problems == [] and all(book.stubbed(e) for e in book.exercises)
    results = grade(mini_student, reference=mini, timeout=TIMEOUT)
    assert grades(results) == {"1.1": 0, "1.2": 0, "1.3": 0, "1.4": 0}
    outputs = {r.exercise.id: r.output for r in results}
    for exercise in book.exercises:
        assert outputs[exercise.id].startswith(
            f"On the grader's inputs your answer raised NotImplementedError: {exercise.label}"), outputs
        assert "(the answer is not written yet)" in outputs[exercise.id]


def test_nbgrader_source_notebooks_keep_the_answers(mini, tmp_path):
    course = tmp_path / "course"
    write_student_edition(tmp_path / "edition", root=mini, wanted=["1.4"], nbgrader_source=course,
                          log=lambda text: None)
    notebook = nbformat.read(course / "source" / "01_mini" / "01_mini.ipynb", as_version=4)
    graded = {c.metadata["nbgrader"]["grade_id"]: c for c in notebook.cells if "nbgrader" in c.metadata}
    assert set(graded) == {"exercise-1-4", "exercise-1-4-check"}, "only the chosen exercise"
    assert "return v ** 3" in graded["exercise-1-4"].source
    assert graded["exercise-1-4-check"].metadata["nbgrader"]["points"] == 1
    edition = (tmp_path / "edition" / "notebooks" / "01_mini.ipynb").read_text()
    assert "return v ** 3" not in edition and "answer = base + 2" in edition, "1.3 keeps its answer"


def test_hangs_and_crashes_cost_only_their_own_exercises(mini, mini_student, tmp_path):
    submission = copy_edition(mini_student, tmp_path)
    fill_region(submission, "framework/ops.py", 0, ["return x + x"])  # right
    fill_region(submission, "framework/ops.py", 1, HANG)  # never returns
    notebook = submission / "notebooks" / "01_mini.ipynb"
    fill_cell(notebook, "exercise-1-3", "### BEGIN SOLUTION\nimport os\nos._exit(3)\n### END SOLUTION")
    fill_cell(notebook, "exercise-1-4",  # right, and noisy on stderr
              "import sys\ndef cube(v):\n    ### BEGIN SOLUTION\n    print('cubing', v, file=sys.stderr)\n"
              "    return v * v * v\n    ### END SOLUTION")
    first = grade(submission, reference=mini, timeout=TIMEOUT)
    assert grades(first) == {"1.1": 1, "1.2": 0, "1.3": 0, "1.4": 1}
    outputs = {r.exercise.id: r.output for r in first}
    assert outputs["1.2"].startswith(f"Your code was still running after {TIMEOUT} s, the time limit")
    assert outputs["1.3"].startswith("The kernel died while running your answer: the code exited")

    second = grade(submission, reference=mini, timeout=TIMEOUT)
    assert [(r.exercise.id, r.score, r.output) for r in second] == [(r.exercise.id, r.score, r.output) for r in first]


def test_exits_and_endless_loops_in_every_place(mini, mini_student, tmp_path):
    submission = copy_edition(mini_student, tmp_path)
    fill_region(submission, "framework/ops.py", 0, ["import os", "os._exit(4)"])
    fill_region(submission, "framework/ops.py", 1, ["import sys", "sys.exit(1)"])
    notebook = submission / "notebooks" / "01_mini.ipynb"
    fill_cell(notebook, "exercise-1-3", "### BEGIN SOLUTION\nimport sys\nsys.exit(0)\n### END SOLUTION")
    fill_cell(notebook, "exercise-1-4", "def cube(v):\n    ### BEGIN SOLUTION\n    while True:\n        pass\n"
                                        "    ### END SOLUTION")
    results = grade(submission, reference=mini, timeout=TIMEOUT)
    assert grades(results) == {"1.1": 0, "1.2": 0, "1.3": 0, "1.4": 0}
    outputs = {r.exercise.id: r.output for r in results}
    assert outputs["1.1"].startswith("The process running your code exited with status 4 before reporting")
    assert outputs["1.2"].startswith("On the grader's inputs your answer raised SystemExit: 1")
    assert "SystemExit" in outputs["1.3"] or "kernel died" in outputs["1.3"]
    assert outputs["1.4"].startswith(f"Your code was still running after {TIMEOUT} s")


def test_the_public_expected_value_earns_nothing_and_a_seed_changes_the_inputs(mini, mini_student, tmp_path):
    submission = copy_edition(mini_student, tmp_path)
    fill_cell(submission / "notebooks" / "01_mini.ipynb", "exercise-1-3",
              "### BEGIN SOLUTION\nanswer = 42  # what the check cell wants\n### END SOLUTION")
    fill_region(submission, "framework/ops.py", 0, ["return {3: 6, -1: -2}.get(x, 0)"])  # the tests' values
    for seed in (0, 1):
        assert grades(grade(submission, reference=mini, wanted=["1.1", "1.3"], timeout=TIMEOUT, seed=seed)) == \
            {"1.1": 0, "1.3": 0}


def test_answers_uploaded_as_loose_files_are_found_and_the_command_writes_results_json(mini, mini_student,
                                                                                       tmp_path):
    filled = copy_edition(mini_student, tmp_path, "filled")
    fill_region(filled, "framework/ops.py", 1, ["return x * 0.5"])
    fill_cell(filled / "notebooks" / "01_mini.ipynb", "exercise-1-3",
              "### BEGIN SOLUTION\nanswer = 41\n### END SOLUTION")
    flat = tmp_path / "upload"
    flat.mkdir()
    shutil.copy(filled / "framework" / "ops.py", flat / "ops.py")
    shutil.copy(filled / "notebooks" / "01_mini.ipynb", flat / "01_mini.ipynb")
    results = tmp_path / "results" / "results.json"
    command = [PYTHON, "-m", "tools.grade", str(flat), "--reference", str(mini), "--timeout", str(TIMEOUT),
               "--json", str(results), "--exercises", "1.2", "1.3"]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "total" in run.stdout and "1.3" in run.stdout
    data = json.loads(results.read_text())
    jsonschema.validate(data, GRADESCOPE_SCHEMA)
    assert [(t["number"], t["score"], t["max_score"]) for t in data["tests"]] == [("1.2", 2, 2), ("1.3", 0, 2)]
    assert "answer = 41, expected 42" in data["tests"][1]["output"], "the check cell's message is shown"
    assert data["score"] == 2

    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "ops.py").symlink_to(mini / "framework" / "ops.py")
    assert grades(grade(linked, reference=mini, wanted=["1.2"], timeout=TIMEOUT)) == {"1.2": 0}


# --- the book itself ------------------------------------------------------------------------------------------


def book_selection():
    """The exercises the real book can stub and grade now, and the options that select them."""
    book = load_book(ROOT)
    ready = book.ready()
    if any(book.stubbed(e) for e in ready):
        pytest.skip("this copy is a student edition: its answers are stubs")
    everything = len(ready) == len(book.exercises) and not book.stray_regions()
    return book, ready, [] if everything else ["--exercises", *[e.id for e in ready]]


def graded_selection(ready):
    """Every package exercise, and the notebook exercise with the fewest cells before it.

    (Grading a notebook exercise executes its chapter up to the exercise.)
    """
    book = load_book(ROOT)
    package = [e for e in ready if e.kind == "package"]
    notebook = sorted((e for e in ready if e.kind == "notebook"), key=lambda e: book.sections[e.id].answers[0])
    return package + notebook[:1]


def run_grade(path, exercises, json_path, timeout=120):
    command = [PYTHON, "-m", "tools.grade", str(path), "--quiet", "--timeout", str(timeout), "--json",
               str(json_path), "--exercises", *[e.id for e in exercises]]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    assert json_path.exists(), run.stdout + run.stderr
    data = json.loads(json_path.read_text())
    jsonschema.validate(data, GRADESCOPE_SCHEMA)
    return run, {t["number"]: t for t in data["tests"]}


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    """A student edition of the book, written by the command."""
    book, ready, options = book_selection()
    out = tmp_path_factory.mktemp("student") / "edition"
    run = subprocess.run([PYTHON, "-m", "tools.student", str(out), *options], cwd=ROOT, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    return out, book, ready


def test_the_full_edition_earns_full_marks(tmp_path):
    book, ready, _ = book_selection()
    selection = graded_selection(ready)
    assert selection, "no exercise is ready to grade"
    run, tests = run_grade(ROOT, selection, tmp_path / "results.json")
    lost = {number: test["output"] for number, test in tests.items() if test["score"] != test["max_score"]}
    assert not lost, "the full edition loses points:\n" + "\n".join(f"{k}: {v}" for k, v in lost.items())
    assert run.returncode == 0


def test_the_student_edition_imports_and_hands_out_no_answer(student):
    out, book, ready = student
    modules = sorted(
        ".".join(path.relative_to(out).with_suffix("").parts).removesuffix(".__init__")
        for path in (out / "framework").rglob("*.py")
    )
    script = (f"import importlib, sys, framework\nassert framework.__file__.startswith({str(out)!r})\n"
              "for name in sys.argv[1:]:\n    importlib.import_module(name)\n")
    env = {**os.environ, "PYTHONPATH": str(out)}
    run = subprocess.run([PYTHON, "-c", script, *modules], cwd=out, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr

    stubbed = {e.id for e in ready}
    for exercise in ready:
        if exercise.kind == "package":
            lines, regions = regions_of_file(ROOT, exercise.where)
            student_text = (out / exercise.where).read_text(encoding="utf-8")
            for region in book.regions_of(exercise):
                body = "".join(region_body(lines, region.region))
                assert body.strip() and body not in student_text, f"{region.where}: the answer is still there"
                assert f'raise NotImplementedError("{exercise.label}")' in student_text
    for chapter in find_chapters(out / "chapters"):
        notebook = nbformat.read(out / "notebooks" / chapter.notebook_name, as_version=4)
        everything = json.dumps(notebook) + (out / "chapters" / chapter.source.name).read_text(encoding="utf-8")
        for exercise in ready:
            if exercise.kind == "notebook" and exercise.where.endswith(chapter.source.name):
                reference = book.sections[exercise.id]
                source = chapter_cells(chapter.source.name)
                for index in reference.answers:
                    cell_lines = source.cells[index].source.splitlines(keepends=True)
                    for region in find_regions(cell_lines):
                        body = "".join(region_body(cell_lines, region)).strip()
                        assert body not in everything, f"the answer of exercise {exercise.id} is in {chapter.stem}"
        for exercise in ready:
            if exercise.kind == "package":
                lines, _ = regions_of_file(ROOT, exercise.where)
                for region in book.regions_of(exercise):
                    shown = textwrap.dedent("".join(region_body(lines, region.region))).strip()
                    assert json.dumps(shown)[1:-1] not in json.dumps(notebook), (
                        f"notebooks/{chapter.notebook_name} shows the answer of exercise {exercise.id}")
        graded = [c.metadata["nbgrader"] for c in notebook.cells if "nbgrader" in c.metadata]
        ids = [meta["grade_id"] for meta in graded]
        mine = [e for e in ready if e.kind == "notebook" and e.where.endswith(chapter.source.name)]
        assert len(ids) == len(set(ids)), f"{chapter.stem}: repeated nbgrader grade_id"
        assert {e.grade_id for e in mine} | {e.grade_id + "-check" for e in mine} <= set(ids), chapter.stem
        assert all(any(i == e.grade_id or i.startswith(e.grade_id + "-") for e in mine) for i in ids)
        assert sum(meta.get("points", 0) for meta in graded) == sum(e.points for e in mine), chapter.stem
    assert stubbed, "the edition stubs no exercise"


def chapter_cells(name):
    """The full edition's chapter as notebook JSON (sources only)."""
    from tools.build import chapter_notebook

    (chapter,) = [c for c in find_chapters(ROOT / "chapters") if c.source.name == name]
    return chapter_notebook(chapter)


def test_the_student_notebooks_keep_the_books_outputs_and_pass_the_notebook_checks(student):
    out, book, ready = student
    compared = 0
    for chapter in find_chapters(out / "chapters"):
        full = find_chapters(ROOT / "chapters")
        (original,) = [c for c in full if c.stem == chapter.stem]
        if current_notebook(ROOT, original) is None:
            continue  # the full edition's notebook is missing or stale: nothing to keep
        stored = checks.read_notebook(out / "notebooks" / chapter.notebook_name)
        problems = []
        for check in checks.NOTEBOOK_CHECKS:
            problems += check(chapter, stored)
        assert problems == [], "\n".join(problems)
        compared += 1
    assert compared or not find_chapters(out / "chapters")


def test_the_student_edition_earns_nothing_on_its_stubbed_exercises(student, tmp_path):
    out, book, ready = student
    run, tests = run_grade(out, graded_selection(ready), tmp_path / "results.json")
    earned = {number: test["output"] for number, test in tests.items() if test["score"] != 0}
    assert not earned, "stubbed exercises earn points:\n" + "\n".join(f"{k}: {v}" for k, v in earned.items())
    other = {number: test["output"] for number, test in tests.items() if "NotImplementedError" not in test["output"]}
    assert not other, "an exercise fails for another reason than its stub:\n" + "\n".join(other.values())
    assert run.returncode == 1


def failing_tests(root, arguments):
    """{(test file without .py, test name): failure text} of the tests that fail or error in ``root``."""
    report = Path(root) / ".grading-junit.xml"
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("HYPOTHESIS_PROFILE", None)
    subprocess.run([PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", *arguments],
                   cwd=root, env=env, capture_output=True, text=True, timeout=3600)
    failing = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        problem = case.find("failure") if case.find("failure") is not None else case.find("error")
        if problem is not None:
            path = case.get("classname", "").replace(".", "/")
            failing[(path, case.get("name"))] = f"{problem.get('message', '')}\n{problem.text or ''}"
    report.unlink()
    return failing


def test_the_student_edition_loses_no_test_outside_its_exercises(student):
    """Every test that marks no exercise passes in the student edition, unless it fails in the full edition too.

    A test that fails here needs the code of a stubbed exercise: it carries
    that exercise's mark (``@pytest.mark.exercise("N.K")``) so that the
    student edition leaves it out and the grader counts it for the exercise.
    (The notebook checks are tried on the student notebooks above; this test
    file is left out, it would write another edition.)
    """
    out, book, ready = student
    arguments = ["tests", "-m", "not exercise", "--ignore=tests/test_grading.py", "--ignore=tests/test_notebooks.py",
                 "--ignore=tests/test_grading_redteam.py"]
    failing = failing_tests(out, arguments)
    if not failing:
        return
    # Run the failing tests' files in the full edition: a test failing there too is not lost.
    files = sorted({f"{path}.py" for path, _ in failing})
    also_in_full = failing_tests(ROOT, [*files, "-m", "not exercise"])
    lost = sorted(set(failing) - set(also_in_full))
    needs = {test: sorted(set(re.findall(r"Exercise (\d+\.\d+)", failing[test]))) for test in lost}
    assert not lost, (
        "tests that pass in the full edition fail in the student edition; give each the mark of the exercise "
        "whose code it needs:\n" + "\n".join(
            f"  {path}.py::{name}" + (f"  needs exercise {', '.join(needs[(path, name)])}" if needs[(path, name)] else "")
            for path, name in lost)
    )


def test_some_answers_right_and_some_wrong_get_exactly_their_grades(student, tmp_path):
    out, book, ready = student
    submission = copy_edition(out, tmp_path)
    package = [e for e in ready if e.kind == "package"]
    notebook = [e for e in ready if e.kind == "notebook"]
    right = package[:1] + sorted(notebook, key=lambda e: book.sections[e.id].answers[0])[:1]
    wrong = package[1:2]
    for exercise in right + wrong:
        if exercise.kind == "package":
            lines, every = regions_of_file(ROOT, exercise.where)
            mine = [r.region for r in book.regions_of(exercise)]
            for region in mine:
                index = [r.region for r in every].index(region)
                body = [line.rstrip("\n")[len(region.indent):] for line in region_body(lines, region)]
                fill_region(submission, exercise.where, index, body if exercise in right else ["return None"])
        else:
            (chapter,) = [c for c in find_chapters(ROOT / "chapters") if exercise.where.endswith(c.source.name)]
            reference = chapter_cells(chapter.source.name)
            (answer,) = book.sections[exercise.id].answers
            fill_cell(submission / "notebooks" / chapter.notebook_name, exercise.grade_id,
                      reference.cells[answer].source)
    graded = right + wrong
    run, tests = run_grade(submission, graded, tmp_path / "results.json")
    expected = {e.id: (e.points if e in right else 0) for e in graded}
    assert {number: test["score"] for number, test in tests.items()} == expected, run.stdout
