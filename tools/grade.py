"""Grade a copy of the book: the full edition, or a student's filled-in student edition.

Usage (from the repository root, inside the environment)::

    python -m tools.grade PATH                       grade every exercise of exercises.toml
    python -m tools.grade PATH --exercises 4 5.2     only the exercises of Chapter 4 and 5.2
    python -m tools.grade PATH --json results.json   also write Gradescope's results.json
    python -m tools.grade PATH --timeout 60          seconds each exercise may run (default 60)

The grader takes only the answers from PATH: the bodies of the solution
regions (between ``### BEGIN SOLUTION`` and ``### END SOLUTION``) of the
package files, and the answer cells of the notebooks (``notebooks/*.ipynb``,
or the chapters when a notebook is missing). Everything else, the rest of
the package, the tests and the check cells, comes from the repository the
grader belongs to (or ``--reference DIR``), so a submission cannot change
how it is graded.

Each exercise is graded on its own, in a fresh temporary copy where every
other answer is the reference's: a package exercise runs its tests
(``@pytest.mark.exercise("N.K")``) in a process of its own; a notebook
exercise passes when its answer and check cells run without error in the
chapter's notebook, executed in a kernel of its own (a chapter's exercises
are first tried together in one run; one that fails there is run again on
its own). An exercise that runs longer than the time limit is stopped. Code
that hangs, crashes, writes to stderr or exits the interpreter costs only
the exercises it belongs to, and the reason is in their output.

An exercise earns all its points when every one of its tests (or its check
cells) passes, and none otherwise. The exit status is 0 when every graded
exercise earned its points, 1 when some did not, 2 when grading was not
possible.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tools.chapters import ROOT, Chapter, find_chapters, prepare_kernel_environment
from tools.exercises import (
    SKIPPED_DIRS,
    TableError,
    enclosing_names,
    exercise_sections,
    find_regions,
    load_book,
    read_chapter,
    region_body,
    regions_of_file,
    replace_regions,
    select,
)
from tools.notebook_runner import TIME_LIMIT
from tools.student import repository_files

DEFAULT_TIMEOUT = 60
BOOK_CELL_TIMEOUT = 1800  # seconds for a cell of the chapter itself (training on MNIST included)
GRACE = 10  # seconds an interrupted cell gets to stop before its kernel is killed
OUTPUT_LIMIT = 64 * 1024 * 1024  # bytes a graded process may write to a file (RLIMIT_FSIZE)
MAX_OUTPUT_LINES = 40  # lines of output kept per exercise in results.json
SUMMARY_LINES = 6  # lines of each failure printed under the table
MAX_FAILURES = 5  # a test run stops after this many failed tests (the grade is decided by then)


@dataclass
class Result:
    """The grade of one exercise."""

    exercise: object
    passed: bool = False
    output: str = ""
    seconds: float = 0.0

    @property
    def score(self):
        return self.exercise.points if self.passed else 0

    @property
    def status(self):
        return "passed" if self.passed else "failed"


# --- processes ------------------------------------------------------------------------------------


def grading_env(workspace):
    """The environment of a graded process: the workspace's package, fixed seeds, one thread."""
    env = prepare_kernel_environment(dict(os.environ))
    # The workspace first: its package is the graded one. The grader's own
    # folder after it, for the grader's helpers (tools.exercise_plugin,
    # tools.notebook_runner) when the reference has none.
    env["PYTHONPATH"] = os.pathsep.join([str(workspace), str(ROOT)])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = "1"
    for name in ("HYPOTHESIS_PROFILE", "PYTEST_ADDOPTS", "PYTEST_PLUGINS"):
        env.pop(name, None)
    return env


def limit_output():
    """In the child: cap the size of files it writes, so that an endless print cannot fill the disk."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (OUTPUT_LIMIT, OUTPUT_LIMIT))
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
    except (ImportError, ValueError, OSError, AttributeError):
        pass


def start(command, cwd, env, output):
    """Start ``command`` in a session of its own (so that it can be killed with all its children)."""
    kwargs = {}
    if os.name == "posix":
        kwargs = {"start_new_session": True, "preexec_fn": limit_output}
    return subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=output,
                            stderr=subprocess.STDOUT, **kwargs)


def kill_group(pid):
    """Kill a process and everything in its process group; ignore what is already gone."""
    if pid is None:
        return
    try:
        if os.name == "posix":
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError, OSError):
        pass


def read_log(path):
    """The JSON lines of a log written by a graded process (a torn last line is skipped)."""
    records = []
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return records
    for line in text.splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def tail(path, lines=15):
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def describe_exit(code):
    if code is None:
        return "was stopped"
    if code < 0:
        if hasattr(signal, "SIGXFSZ") and -code == signal.SIGXFSZ:
            return f"was stopped for writing more than {OUTPUT_LIMIT // 2**20} MB of output"
        try:
            return f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


# --- workspaces -------------------------------------------------------------------------------------


class Workspaces:
    """Temporary copies of the reference repository (without its notebooks), one per graded run."""

    def __init__(self, reference, keep=False):
        self.reference = Path(reference).resolve()
        self.top = Path(tempfile.mkdtemp(prefix="grade-"))
        self.keep = keep
        self.base = self.top / "base"
        self.count = 0
        self.lock = threading.Lock()
        for name in repository_files(self.reference):
            if name.startswith("notebooks/") and name.endswith(".ipynb"):
                continue
            target = self.base / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(self.reference / name, target)
        self.base.mkdir(parents=True, exist_ok=True)

    def new(self, label):
        with self.lock:
            self.count += 1
            path = self.top / f"{self.count:03d}-{label}"
        shutil.copytree(self.base, path, symlinks=True)
        return path

    def close(self):
        if not self.keep:
            shutil.rmtree(self.top, ignore_errors=True)


# --- finding the submission's answers --------------------------------------------------------------------


def locate(submission, relative):
    """The submission's file at ``relative``, or the only file of that name anywhere in it.

    (A student may upload loose files instead of the repository.) Hidden
    folders, virtual environments and caches are not searched.
    """
    submission = Path(submission)
    exact = submission / relative
    if exact.is_file():
        return exact
    name = Path(relative).name
    found = []
    for folder, dirs, files in os.walk(submission):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
        if name in files:
            found.append(Path(folder) / name)
    return found[0] if len(found) == 1 else None


def package_answers(submission, book, exercise):
    """{reference Region: the submission's body lines} for a package exercise, or an error text."""
    mine = book.regions_of(exercise)
    path = locate(submission, exercise.where)
    if path is None:
        return None, f"The submission has no file {exercise.where}, where the answer of this exercise goes."
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    try:
        regions = find_regions(lines)
    except TableError as error:
        return None, f"{exercise.where}, {error}: the answer must stay between the two marker lines."
    names = enclosing_names(text, regions)
    _, every = regions_of_file(book.root, exercise.where)
    answers = {}
    every_region = [r.region for r in every]
    for region in mine:
        same_name = [r.region for r in every if r.name == region.name]
        occurrence = same_name.index(region.region)
        candidates = [r for r, (name, _) in zip(regions, names) if name == region.name]
        if occurrence < len(candidates):
            answers[region.region] = region_body(lines, candidates[occurrence])
        elif len(regions) == len(every):
            answers[region.region] = region_body(lines, regions[every_region.index(region.region)])
        else:
            return None, (
                f"The answer region inside {region.name} was not found in {exercise.where}: keep the lines "
                "### BEGIN SOLUTION and ### END SOLUTION around your answer."
            )
    return answers, None


def submission_notebook(submission, chapter):
    """The submission's notebook of ``chapter`` (or its chapter file), or an error text."""
    import nbformat

    candidates = [("notebooks/" + chapter.notebook_name, "ipynb"), ("chapters/" + chapter.source.name, "md")]
    for relative, kind in candidates:
        path = locate(submission, relative)
        if path is None:
            continue
        try:
            if kind == "ipynb":
                return nbformat.read(path, as_version=4), None
            return read_chapter(path), None
        except Exception as error:  # a damaged file: say so and grade the rest
            return None, f"{relative} cannot be read: {type(error).__name__}: {error}"
    return None, f"The submission has neither notebooks/{chapter.notebook_name} nor chapters/{chapter.source.name}."


def notebook_answers(notebook, exercise, section):
    """The sources of the submission's answer cells for ``exercise``, or an error text.

    Cells are found by their nbgrader grade_id, else by the exercise's heading.
    """
    wanted = [exercise.grade_id] + [f"{exercise.grade_id}-{n}" for n in range(2, len(section.answers) + 1)]
    by_id = {}
    for cell in notebook.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code" and grade_id in wanted:
            by_id.setdefault(grade_id, cell.source)
    if len(by_id) == len(wanted):
        return [by_id[grade_id] for grade_id in wanted], None
    sections, _ = exercise_sections(notebook)
    found = sections.get(exercise.id)
    if found is not None and len(found.answers) == len(section.answers):
        return [notebook.cells[i].source for i in found.answers], None
    if found is not None and len(found.code) == len(section.code):
        # The markers are gone, but the cells under the heading are those of the book.
        return [notebook.cells[found.code[section.code.index(i)]].source for i in section.answers], None
    if found is None:
        return None, (f"No answer cell for exercise {exercise.id} was found: the notebook has no heading "
                      f"'Exercise {exercise.id}: ...' followed by a cell with ### BEGIN SOLUTION.")
    return None, (f"Exercise {exercise.id} has {len(section.answers)} answer cell(s) in the book, the submission "
                  f"{len(found.answers)}: keep the lines ### BEGIN SOLUTION and ### END SOLUTION in your answer cell.")


# --- package exercises ------------------------------------------------------------------------------------


def grade_package(exercise, submission, book, workspaces, timeout):
    """Run the exercise's tests against the submission's answer, in a workspace of its own.

    The tests are those of the reference's test files that mark the exercise.
    """
    result = Result(exercise)
    answers, problem = package_answers(submission, book, exercise)
    if problem:
        result.output = problem
        return result
    test_files = book.tests.get(exercise.id, [])
    if not test_files:
        result.output = "No test of the reference marks this exercise."
        return result
    workspace = workspaces.new(exercise.grade_id)
    target = workspace / exercise.where
    lines = target.read_text(encoding="utf-8").splitlines(keepends=True)
    target.write_text("".join(replace_regions(lines, answers)), encoding="utf-8")
    log_file = workspace / ".exercise-log.jsonl"
    output = workspace / ".pytest-output.txt"
    command = [sys.executable, "-m", "pytest", "-p", "tools.exercise_plugin", "-p", "no:cacheprovider",
               "-p", "no:nbval", "-q", "--no-header", "--color=no", f"--basetemp={workspace / '.tmp'}",
               f"--maxfail={MAX_FAILURES}", "--no-shrink", f"--exercise={exercise.id}",
               f"--exercise-log={log_file}", *test_files]
    began = time.monotonic()
    timed_out = False
    with open(output, "wb") as out:
        process = start(command, workspace, grading_env(workspace), out)
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            kill_group(process.pid)
            code = process.wait()
    result.seconds = time.monotonic() - began
    records = read_log(log_file)
    passed, text = judge_tests(records, code, timed_out, timeout, output)
    result.passed, result.output = passed, without_workspace(text, workspace)
    return result


def without_workspace(text, workspace):
    """Paths in messages relative to the graded copy (the same in every run)."""
    return text.replace(str(workspace) + os.sep, "").replace(str(workspace), ".")


MEMORY_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def readable(message):
    """A test's failure message without what differs between runs or repeats the message.

    An assertion with a message of its own keeps just that message (pytest
    adds an explanation of the assert expression below it); memory addresses
    in pytest's explanations are dropped.
    """
    lines = MEMORY_ADDRESS.sub("", message.strip()).splitlines()
    if lines and lines[0].startswith("AssertionError: "):
        explanation = [i for i, line in enumerate(lines[1:], 1) if line.startswith("assert ")]
        if explanation:
            lines = lines[: explanation[0]]
    return "\n".join(lines)


def judge_tests(records, code, timed_out, timeout, output_file):
    """(passed, output) from the log of one test run."""
    started = [r["test"] for r in records if r["event"] == "start"]
    results = [r for r in records if r["event"] == "result"]
    finished = {r["test"] for r in results if r["when"] in ("call", "teardown") or r["outcome"] != "passed"}
    failed = [r for r in results if r["outcome"] == "failed"]
    passed = [r for r in results if r["when"] == "call" and r["outcome"] == "passed"]
    skipped = [r for r in results if r["outcome"] == "skipped"]
    collect_errors = [r for r in records if r["event"] == "collect-error"]
    running = [t for t in started if t not in finished]
    lines = []
    for r in collect_errors:
        message = r["message"].strip().splitlines()
        lines.append(f"Error while importing {r['node']}:")
        lines += ["    " + line for line in message[-6:]]
    messages = {readable(r.get("message") or "") for r in failed}
    same = len(failed) > 1 and len(messages) == 1
    if same:
        message = next(iter(messages))
        note = " (the answer is not written yet)" if message.startswith("NotImplementedError") else ""
        lines.append(f"Every failed test failed with {message}{note}." if passed else
                     f"Every test failed with {message}{note}.")
    for r in [] if same else failed:
        name = r["test"].split("::", 1)[-1]
        where = f" (raised at {r['location']})" if r.get("location") else ""
        stage = "" if r["when"] == "call" else f" during {r['when']}"
        message = readable(r.get("message") or "").splitlines() or ["(no message)"]
        lines.append(f"{name} failed{stage}{where}:")
        lines += ["    " + line for line in message[:12]]
    if timed_out:
        lines.insert(0, f"The tests were still running after {timeout:g} s, the time limit of this exercise, "
                        "and were stopped (an endless loop?)."
                        + (f" Running: {running[-1].split('::', 1)[-1]}" if running else ""))
    elif running:
        lines.insert(0, f"The test process {describe_exit(code)} while running {running[-1].split('::', 1)[-1]}: "
                        "the code exited the interpreter (sys.exit, os._exit) or crashed.")
    elif not started and not collect_errors:
        lines.insert(0, f"No test ran (the test process {describe_exit(code)}):\n{tail(output_file)}")
    ok = not timed_out and not running and not failed and not collect_errors and bool(passed) and code in (0, None)
    if ok:
        note = f"All {len(passed)} tests passed." if len(passed) > 1 else "The test passed."
        if skipped:
            note += f" ({len(skipped)} skipped.)"
        return True, note
    if not lines:
        if skipped and not passed:
            lines.append("Every test was skipped: " + (skipped[0].get("message") or ""))
        else:
            lines.append(f"The test process {describe_exit(code)}:\n{tail(output_file)}")
    total = len(set(started))
    if total and not timed_out and not running:
        stopped = f" (the run stops after {MAX_FAILURES} failed tests)" if len(failed) >= MAX_FAILURES else ""
        lines.insert(0, f"{len(passed)} of {total} tests passed{stopped}.")
    return False, "\n".join(lines)


# --- notebook exercises -------------------------------------------------------------------------------------


def run_notebook(notebook, stem, workspaces, exercise_of_cell, budgets, label):
    """Execute ``notebook`` in a fresh workspace; return ({cell: record}, note on how the run ended)."""
    import nbformat

    workspace = workspaces.new(label)
    folder = workspace / "notebooks"
    folder.mkdir(exist_ok=True)
    path = folder / f"{stem}.ipynb"
    nbformat.write(notebook, path)
    log_file = workspace / ".notebook-log.jsonl"
    plan_file = workspace / ".notebook-plan.json"
    plan_file.write_text(json.dumps({"exercise_of_cell": {str(k): v for k, v in exercise_of_cell.items()},
                                     "budget": budgets, "book_timeout": BOOK_CELL_TIMEOUT}), encoding="utf-8")
    output = workspace / ".runner-output.txt"
    command = [sys.executable, "-m", "tools.notebook_runner", str(path), f"--log={log_file}", f"--plan={plan_file}"]
    spent = {exercise: 0.0 for exercise in budgets}
    records, kernel, current, since = {}, None, None, None
    launched = time.monotonic()
    ending = None
    with open(output, "wb") as out:
        process = start(command, workspace, grading_env(workspace), out)
        seen = 0
        while True:
            finished = process.poll() is not None
            log = read_log(log_file)
            for record in log[seen:]:
                event = record.get("event")
                if event == "kernel":
                    kernel = record.get("pid")
                elif event == "start":
                    current, since = record["cell"], time.monotonic()
                elif event == "done":
                    records[record["cell"]] = record
                    exercise = exercise_of_cell.get(record["cell"])
                    if exercise is not None and since is not None:
                        spent[exercise] += time.monotonic() - since
                    current, since = None, None
                elif event in ("died", "failed"):
                    ending = record
            seen = len(log)
            if finished:
                break
            now = time.monotonic()
            if current is not None:
                exercise = exercise_of_cell.get(current)
                allowed = (budgets[exercise] - spent[exercise]) if exercise else BOOK_CELL_TIMEOUT
                if now - since > max(allowed, 1) + GRACE:
                    records[current] = {"event": "done", "cell": current, "status": "timeout"}
                    ending = {"event": "killed"}
                    break
            elif kernel is None and now - launched > 300:
                ending = {"event": "failed", "message": "the kernel did not start within 300 s"}
                break
            time.sleep(0.1)
        if not finished:
            kill_group(kernel)  # the kernel runs in a session of its own
            kill_group(process.pid)
        process.wait()
    if current is not None and current not in records:
        records[current] = {"event": "done", "cell": current, "status": "died",
                            "message": (ending or {}).get("message", "")}
    if ending is None and not any(r.get("event") == "finished" for r in read_log(log_file)):
        ending = {"event": "failed", "message": f"the notebook runner {describe_exit(process.returncode)}:\n"
                                                f"{tail(output)}"}
    return records, ending


def cell_role(section, index):
    if index in section.answers:
        return f"answer cell (cell {index})"
    return f"check cell (cell {index})"


def judge_cells(exercise, section, records, ending, timeout):
    """(passed, output) for one notebook exercise from the records of a run."""
    lines = []
    for index in section.cells:
        record = records.get(index)
        role = cell_role(section, index)
        if record is None:
            if ending and ending.get("event") == "failed":
                lines.append(f"The {role} did not run: {ending.get('message', '')}")
            else:
                lines.append(f"The {role} did not run.")
            break
        status = record.get("status")
        if status == "timeout" or record.get("ename") == TIME_LIMIT:
            lines.append(f"The {role} was still running after {timeout:g} s, the time limit of this exercise, "
                         "and was stopped (an endless loop?).")
            break
        if status == "died":
            lines.append(f"The kernel died while running the {role}: the code exited the interpreter "
                         "(sys.exit, os._exit) or crashed.")
            break
        if status == "error":
            evalue = record.get("evalue", "")
            lines.append(f"The {role} raised {record.get('ename', 'an error')}: {evalue}".rstrip(": "))
            if record.get("ename") == "NotImplementedError":
                lines.append("    (the answer is not written yet)")
            elif record.get("ename") != "AssertionError" or index in section.answers:
                # Where the error comes from helps; a check's own failed assertion says it all.
                trace = [line for line in record.get("traceback", "").splitlines() if line.strip()]
                lines += ["    " + line for line in trace[-8:-1]]
            break
    if lines:
        return False, "\n".join(lines)
    printed = "".join(records[i].get("stdout", "") for i in section.checks).strip()
    note = "The answer and check cells ran without error."
    warnings = "".join(records[i].get("stderr", "") for i in section.cells).strip()
    if warnings:
        note += "\nThey wrote to stderr:\n" + "\n".join("    " + l for l in warnings.splitlines()[:6])
    return True, note + (f"\n{printed}" if printed else "")


def grade_chapter(chapter, exercises, submission, book, workspaces, timeout):
    """Grade the notebook exercises of one chapter (a list of Results)."""
    from tools.build import chapter_notebook

    reference = chapter_notebook(chapter)
    sections, _ = exercise_sections(reference)
    student, problem = submission_notebook(submission, chapter)
    answers, results = {}, {}
    for exercise in exercises:
        section = sections.get(exercise.id)
        if section is None:
            results[exercise.id] = Result(exercise, output=f"The reference has no section for exercise {exercise.id}.")
            continue
        if problem:
            results[exercise.id] = Result(exercise, output=problem)
            continue
        sources, missing = notebook_answers(student, exercise, section)
        if missing:
            results[exercise.id] = Result(exercise, output=missing)
        else:
            answers[exercise.id] = sources
    pending = [e for e in exercises if e.id in answers]
    if not pending:
        return [results[e.id] for e in exercises]

    def notebook_with(ids, last_cell=None):
        import copy

        notebook = copy.deepcopy(reference)
        for exercise_id in ids:
            for index, source in zip(sections[exercise_id].answers, answers[exercise_id]):
                notebook.cells[index].source = source
        if last_cell is not None:
            notebook.cells = notebook.cells[: last_cell + 1]
        return notebook

    exercise_of_cell = {i: e.id for e in pending for i in sections[e.id].cells}
    budgets = {e.id: float(timeout) for e in pending}
    began = time.monotonic()
    if len(pending) > 1:
        # All answers in one run, in the order of the chapter. An exercise's
        # verdict is final when it passes, or when it fails with every earlier
        # exercise passed (its cells then ran after the student's own, correct,
        # earlier answers, as when the notebook is run from the top). The
        # others are run again on their own.
        records, ending = run_notebook(notebook_with([e.id for e in pending]), chapter.stem, workspaces,
                                       exercise_of_cell, budgets, f"chapter-{chapter.number:02d}")
        clean = True
        for exercise in sorted(pending, key=lambda e: sections[e.id].cells[0]):
            section = sections[exercise.id]
            passed, output = judge_cells(exercise, section, records, ending, timeout)
            if passed or (clean and section.cells[0] in records):
                results[exercise.id] = Result(exercise, passed, output)
            clean = clean and passed
    shared = (time.monotonic() - began) / len(pending)
    for exercise in pending:
        if exercise.id in results:
            results[exercise.id].seconds = shared
            continue
        section = sections[exercise.id]
        start_time = time.monotonic()
        records, ending = run_notebook(
            notebook_with([exercise.id], last_cell=max(section.cells)), chapter.stem, workspaces,
            {i: exercise.id for i in section.cells}, {exercise.id: float(timeout)}, exercise.grade_id)
        passed, output = judge_cells(exercise, section, records, ending, timeout)
        results[exercise.id] = Result(exercise, passed, output, time.monotonic() - start_time)
    return [results[e.id] for e in exercises]


# --- the whole grading ------------------------------------------------------------------------------------


def grade(submission, reference=ROOT, wanted=(), timeout=DEFAULT_TIMEOUT, jobs=1, keep=False, progress=None):
    """Grade the copy at ``submission``; return the Results in the order of the exercises."""
    submission = Path(submission).resolve()
    if not submission.is_dir():
        raise TableError(f"{submission} is not a folder")
    book = load_book(reference)
    selected = select(book.exercises, wanted)
    progress = progress or (lambda result: None)
    results = {}
    workspaces = Workspaces(book.root, keep=keep)
    try:
        gradable = []
        for exercise in selected:
            reasons = [r for r in book.blocking(exercise) if r != "no test carries its mark"]
            if reasons:
                results[exercise.id] = Result(exercise, output="This exercise cannot be graded: " + "; ".join(reasons))
                progress(results[exercise.id])
            else:
                gradable.append(exercise)
        package = [e for e in gradable if e.kind == "package"]
        chapters = {}
        for exercise in gradable:
            if exercise.kind == "notebook":
                chapters.setdefault(exercise.where, []).append(exercise)
        tasks = []
        for exercise in package:
            tasks.append(lambda e=exercise: [grade_package(e, submission, book, workspaces, timeout)])
        for where, exercises in chapters.items():
            chapter = chapter_of(book.root, where)
            tasks.append(lambda c=chapter, es=exercises: grade_chapter(c, es, submission, book, workspaces, timeout))

        def run(task):
            done = task()
            for result in done:
                progress(result)
            return done

        if jobs > 1:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                for done in pool.map(run, tasks):
                    results.update((r.exercise.id, r) for r in done)
        else:
            for task in tasks:
                results.update((r.exercise.id, r) for r in run(task))
    finally:
        workspaces.close()
    return [results[e.id] for e in selected]


def chapter_of(root, where):
    path = Path(root) / where
    (chapter,) = [c for c in find_chapters(path.parent) if c.source.name == path.name]
    return Chapter(chapter.number, chapter.stem, path)


# --- reports ------------------------------------------------------------------------------------------------


def short(text, lines):
    kept = text.strip().splitlines()
    if len(kept) > lines:
        kept = kept[:lines] + [f"... ({len(text.strip().splitlines()) - lines} more lines)"]
    return kept


def table(results, submission):
    width = max([len(r.exercise.title) for r in results] + [5])
    rows = [f"Grades of {submission}", "",
            f"  {'exercise':<9} {'title':<{width}}  {'points':>9}  result"]
    for r in results:
        points = f"{r.score:g} / {r.exercise.points:g}"
        rows.append(f"  {r.exercise.id:<9} {r.exercise.title:<{width}}  {points:>9}  {r.status}")
    earned = sum(r.score for r in results)
    total = sum(r.exercise.points for r in results)
    rows.append(f"  {'total':<9} {'':<{width}}  {f'{earned:g} / {total:g}':>9}")
    failures = [r for r in results if not r.passed]
    if failures:
        rows += ["", "Failures:"]
        for r in failures:
            rows.append(f"  {r.exercise.label}")
            rows += ["    " + line for line in short(r.output, SUMMARY_LINES)]
    return "\n".join(rows)


def gradescope_results(results, seconds):
    """The results in Gradescope's autograder format (results.json)."""
    tests = [
        {
            "name": r.exercise.label,
            "number": r.exercise.id,
            "score": r.score,
            "max_score": r.exercise.points,
            "status": r.status,
            "output": "\n".join(short(r.output, MAX_OUTPUT_LINES)),
            "visibility": "visible",
        }
        for r in results
    ]
    earned = sum(r.score for r in results)
    total = sum(r.exercise.points for r in results)
    passed = sum(r.passed for r in results)
    return {
        "score": earned,
        "execution_time": int(round(seconds)),
        "output": f"{passed} of {len(results)} exercises passed: {earned:g} of {total:g} points.",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


VISIBILITY = ("hidden", "after_due_date", "after_published", "visible")
# Gradescope's results.json, as JSON Schema (the fields this grader writes, and the
# other optional ones Gradescope documents).
GRADESCOPE_SCHEMA = {
    "type": "object",
    "required": ["tests"],
    "properties": {
        "score": {"type": "number"},
        "execution_time": {"type": "number", "minimum": 0},
        "output": {"type": "string"},
        "output_format": {"type": "string"},
        "visibility": {"enum": list(VISIBILITY)},
        "stdout_visibility": {"enum": list(VISIBILITY)},
        "extra_data": {"type": "object"},
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["score", "max_score", "name"],
                "properties": {
                    "score": {"type": "number", "minimum": 0},
                    "max_score": {"type": "number", "minimum": 0},
                    "status": {"enum": ["passed", "failed"]},
                    "name": {"type": "string"},
                    "number": {"type": "string"},
                    "output": {"type": "string"},
                    "output_format": {"type": "string"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "visibility": {"enum": list(VISIBILITY)},
                    "extra_data": {"type": "object"},
                },
                "additionalProperties": False,
            },
        },
        "leaderboard": {"type": "array"},
    },
    "additionalProperties": False,
}


def format_problems(data):
    """What in ``data`` does not follow Gradescope's results.json format (GRADESCOPE_SCHEMA)."""

    def is_number(value):
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    def check(value, schema, where):
        found = []
        if "enum" in schema and value not in schema["enum"]:
            found.append(f"{where} = {value!r}, expected one of {schema['enum']}")
        kind = schema.get("type")
        types = {"object": dict, "array": list, "string": str}
        if kind == "number":
            if not is_number(value):
                return found + [f"{where} = {value!r} is not a number"]
            if "minimum" in schema and value < schema["minimum"]:
                found.append(f"{where} = {value!r} is below {schema['minimum']}")
        elif kind in types and not isinstance(value, types[kind]):
            return found + [f"{where} is not a{'n' if kind[0] in 'aeiou' else ''} {kind}"]
        if kind == "object":
            found += [f"{where}: {key!r} is missing" for key in schema.get("required", []) if key not in value]
            properties = schema.get("properties")
            for key, item in value.items():
                if properties is not None and key in properties:
                    found += check(item, properties[key], f"{where}.{key}")
                elif schema.get("additionalProperties") is False:
                    found.append(f"{where}: unknown field {key!r}")
        if kind == "array" and "items" in schema:
            for index, item in enumerate(value):
                found += check(item, schema["items"], f"{where}[{index}]")
        return found

    problems = check(data, GRADESCOPE_SCHEMA, "results")
    if not problems:
        for index, test in enumerate(data["tests"]):
            if test["score"] > test["max_score"]:
                problems.append(f"results.tests[{index}]: score {test['score']} exceeds max_score {test['max_score']}")
        if "score" in data and abs(data["score"] - sum(t["score"] for t in data["tests"])) > 1e-9:
            problems.append("results.score is not the sum of the tests' scores")
    return problems


def parser():
    main = argparse.ArgumentParser(prog="python -m tools.grade", description=__doc__.split("\n")[0])
    main.add_argument("path", type=Path, help="the copy to grade (a folder)")
    main.add_argument("--exercises", nargs="+", default=[], metavar="ID",
                      help="only these exercises (ids such as 4.2, or chapter numbers); default: all")
    main.add_argument("--json", type=Path, metavar="FILE", help="write Gradescope's results.json here")
    main.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                      help=f"seconds each exercise may run (default {DEFAULT_TIMEOUT})")
    main.add_argument("--reference", type=Path, default=ROOT,
                      help="the repository whose tests and check cells grade (default: this one)")
    main.add_argument("--jobs", type=int, default=1, help="grade this many exercises at once (default 1)")
    main.add_argument("--keep", action="store_true", help="keep the temporary workspaces (to debug the grader)")
    main.add_argument("--quiet", action="store_true", help="no progress lines")
    return main


def main(argv=None):
    args = parser().parse_args(argv)
    began = time.monotonic()

    def progress(result):
        if not args.quiet:
            print(f"  {result.exercise.id:<6} {result.status:<7} {result.score:g} / {result.exercise.points:g}"
                  f"  ({result.seconds:.1f} s)", file=sys.stderr, flush=True)

    try:
        results = grade(args.path, args.reference, args.exercises, args.timeout, max(1, args.jobs),
                        args.keep, progress)
    except TableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(table(results, args.path))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        data = gradescope_results(results, time.monotonic() - began)
        args.json.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
