"""Grade a copy of the book: the full edition, or a student's filled-in student edition.

Usage (from the repository root, inside the environment)::

    python -m tools.grade PATH                       grade every exercise of exercises.toml
    python -m tools.grade PATH --exercises 4 5.2     only the exercises of Chapter 4 and 5.2
    python -m tools.grade PATH --json results.json   also write Gradescope's results.json
    python -m tools.grade PATH --timeout 60          seconds each exercise may run (default 60)
    python -m tools.grade PATH --seed 8127           the grading inputs (or GRADING_SEED; default 0)

Only the answers come from PATH: the bodies of the solution regions of the
package files and the answer cells of the notebooks. The student's code runs
in a sandbox (``tools.grading.sandbox``): as a user of its own when the
grader is root, in a fresh workspace, with every process it starts killed
before anything is written. There a *probe* applies the answer to inputs the
grader chose from its seed and reports plain data; the same probe applied to
the reference's answer, in a process of the grader's, gives the expected
data; the grader alone compares the two (``tools.grading.judge``). An
exercise earns all its points when its result is right, none otherwise.

The exit status is 0 when every graded exercise earned its points, 1 when
some did not, 2 when grading was not possible.
"""

import argparse
import copy
import os
import sys
import time
from pathlib import Path

from tools.chapters import ROOT, Chapter, find_chapters, shared_data_dir
from tools.exercises import TableError, dedented, exercise_sections, find_regions, load_book, region_body, select
from tools.grading import judge, report, workspace
from tools.grading.report import Result
from tools.grading.probe import TIME_LIMIT
from tools.grading.sandbox import Sandbox, environment, limitation
from tools.grading.submission import notebook_answers, package_answers, submission_notebook

DEFAULT_TIMEOUT = 60
BOOK_CELL_TIMEOUT = 1800  # seconds for a cell of the chapter itself (training on MNIST included)
BOOK_RUN_LIMIT = 4 * 3600  # seconds a whole chapter may take
GRACE = 10  # seconds an interrupted cell gets to stop before everything is killed
MESSAGE = 300  # characters kept of a message the student's code wrote (an exception's text)


def clip(text, limit=MESSAGE):
    text = str(text).strip()
    return text if len(text) <= limit else text[:limit] + " ..."


class Grading:
    """One grading of one submission: the sandbox, the private reference copy, the seed."""

    def __init__(self, submission, reference, timeout, seed, log):
        self.submission, self.timeout, self.seed, self.log = submission, timeout, seed, log
        self.private = workspace.private_folder()
        self.sandbox = Sandbox(self.private)
        if self.sandbox.root:
            withheld = workspace.withhold(reference)
            if withheld:
                log(f"The reference's {', '.join(withheld)} are now readable by their owner only.")
        self.reference = workspace.copy_reference(reference, self.private / "reference")
        self.book = load_book(self.reference)
        self.data_dir = os.environ.get("FRAMEWORK_DATA_DIR") or shared_data_dir()
        self.judges = {}

    def close(self):
        self.sandbox.kill_all()
        workspace.remove(self.private)

    def judges_of(self, chapter):
        if chapter not in self.judges:
            self.judges[chapter] = judge.load_judges(self.reference, chapter)
        return self.judges[chapter]

    def problems(self, exercise):
        reasons = [r for r in self.book.blocking(exercise) if r != "no test carries its mark"]
        if not judge.has_judge(self.judges_of(exercise.chapter), exercise):
            reasons.append(f"{judge.judges_path('', exercise.chapter)} has no probe_{judge.name(exercise)}")
        return reasons

    def inputs(self, exercises, answers=None):
        found = {}
        for e in exercises:
            found[e.id] = judge.grading_inputs(self.judges_of(e.chapter), e, self.seed)
            if answers is not None:
                found[e.id]["answer"] = answers[e.id]
        return found

    def run(self, package, exercises, command, timeout, trusted, inputs, **options):
        """Run ``command`` in a fresh workspace; return (Finished, {exercise id: report})."""
        judges_file = judge.judges_path(self.reference, exercises[0].chapter)
        folder = workspace.workspace(package, judges_file, inputs, None if trusted else self.sandbox, **options)
        try:
            reports, watch = {}, options.get("plan") and Watch(options["plan"], self.timeout)
            lines = []

            def on_line(line):
                record = judge.parse_report(line)
                if record is not None:
                    lines.append(record)
                    if watch:
                        watch.see(record)

            python, packages = self.sandbox.python(trusted)
            finished = self.sandbox.run([python, *command], folder, environment(folder, python, packages, self.data_dir),
                                        timeout, on_line, watch.should_stop if watch else None, trusted)
        finally:
            workspace.remove(folder)
        wanted = {e.id for e in exercises}
        for record in lines:
            if record.get("event") == "probe" and record.get("exercise") in wanted:
                reports.setdefault(record["exercise"], record)
        return finished, reports, lines

    # --- package exercises ---------------------------------------------------------------------------

    def grade_package(self, exercises, results):
        answers, found = {}, []
        for exercise in exercises:
            regions, problem = package_answers(self.submission, self.book, exercise)
            if problem:
                results[exercise.id] = Result(exercise, output=problem)
                continue
            answers.setdefault(exercise.where, {}).update(regions)
            found.append(exercise)
        if not found:
            return
        student = workspace.package_with(self.reference, answers, self.private / "student-package")
        expected = {}
        for chapter in sorted({e.chapter for e in found}):
            mine = [e for e in found if e.chapter == chapter]
            inputs = self.inputs(mine)
            _, reports, _ = self.run(self.reference, mine, probe_command("package", *[e.id for e in mine]),
                                     BOOK_CELL_TIMEOUT, True, inputs)
            expected.update(reports)
            for exercise in mine:
                began = time.monotonic()
                finished, reports, _ = self.run(student, [exercise], probe_command("package", exercise.id),
                                                self.timeout, False, inputs)
                result = self.judged(exercise, reports.get(exercise.id), expected.get(exercise.id), finished)
                result.seconds = time.monotonic() - began
                results[exercise.id] = result

    def judged(self, exercise, got, expected, finished=None, reason=""):
        """The Result of one exercise from the student's and the reference's reports."""
        if expected is None or "data" not in expected:
            detail = (expected or {}).get("error", "no result")
            return Result(exercise, output=f"The reference answer gives no result on the grader's inputs "
                                           f"({clip(detail)}): the grader's copy of the book is at fault.")
        if got is None:
            if finished is not None and finished.stopped:
                reason = (f"Your code was {finished.stopped}, the time limit of this exercise, and was stopped "
                          "(an endless loop?).")
            elif finished is not None:
                reason = (f"The process running your code {describe_exit(finished.status)} before reporting a "
                          "result: the code exited the interpreter (sys.exit, os._exit) or crashed.")
            return Result(exercise, output=reason or "Your answer reported no result.")
        if "error" in got or "data" not in got:
            where = f" ({clip(got.get('where', ''), 80)})" if got.get("where") else ""
            message = clip(got.get("error", "no result"))
            note = "\n    (the answer is not written yet)" if message.startswith("NotImplementedError") else ""
            return Result(exercise, output=f"On the grader's inputs your answer raised {message}{where}.{note}")
        passed, message = judge.verdict(self.judges_of(exercise.chapter), exercise, got["data"], expected["data"])
        return Result(exercise, passed, message)

    # --- notebook exercises --------------------------------------------------------------------------

    def grade_chapter(self, chapter, exercises, results, student_package):
        from tools.build import chapter_notebook

        reference = chapter_notebook(chapter)
        sections, _ = exercise_sections(reference)
        notebook, problem = submission_notebook(self.submission, chapter)
        sources = {}
        for exercise in exercises:
            found, missing = (None, problem) if problem else notebook_answers(notebook, exercise, sections[exercise.id])
            if missing:
                results[exercise.id] = Result(exercise, output=missing)
            else:
                sources[exercise.id] = found
        pending = [e for e in exercises if e.id in sources]
        if not pending:
            return
        mine = {e.id: sources[e.id] for e in pending}
        theirs = {e.id: [reference.cells[i].source for i in sections[e.id].answers] for e in pending}
        began = time.monotonic()
        _, expected, _ = self.run_chapter(reference, sections, pending, theirs, self.reference, True, chapter)
        finished, reports, records = self.run_chapter(reference, sections, pending, mine, student_package, False,
                                                      chapter)
        order = sorted(pending, key=lambda e: sections[e.id].cells[0])
        clean = True
        for exercise in order:
            result = self.notebook_result(exercise, reports, expected, finished, records)
            if result.passed or clean:
                results[exercise.id] = result
            clean = clean and result.passed
        for exercise in order:
            if exercise.id not in results:  # failed after an earlier exercise failed: once more, alone
                finished, reports, records = self.run_chapter(reference, sections, [exercise], mine, student_package,
                                                              False, chapter, alone=pending)
                results[exercise.id] = self.notebook_result(exercise, reports, expected, finished, records)
        for exercise in pending:
            results[exercise.id].seconds = (time.monotonic() - began) / len(pending)

    def run_chapter(self, reference, sections, exercises, sources, package, trusted, chapter, alone=()):
        notebook, plan = chapter_run(reference, sections, exercises, sources, self.timeout, alone)
        answers = {e.id: answer_text(sources[e.id]) for e in exercises}
        return self.run(package, exercises, probe_command("notebook", f"notebooks/{chapter.stem}.ipynb"),
                        BOOK_RUN_LIMIT, trusted, self.inputs(exercises, answers), notebook=notebook, plan=plan,
                        notebook_name=f"{chapter.stem}.ipynb")

    def notebook_result(self, exercise, reports, expected, finished, records):
        cells = [r for r in records if r.get("event") == "done" and r.get("exercise") == exercise.id]
        got = reports.get(exercise.id)
        timed_out = any(r.get("ename") == TIME_LIMIT for r in cells) or f"exercise {exercise.id} " in finished.stopped
        if got is not None and str(got.get("error", "")).startswith((TIME_LIMIT, "KeyboardInterrupt")):
            got, timed_out = None, True  # the probe was interrupted for running out of time
        if got is not None:
            reason = ""
        elif timed_out:
            reason = (f"Your code was still running after {self.timeout:g} s, the time limit of this exercise, "
                      "and was stopped (an endless loop?).")
        elif any(r.get("event") == "died" for r in records):
            reason = ("The kernel died while running your answer: the code exited the interpreter (sys.exit, "
                      "os._exit) or crashed.")
        elif finished.stopped:
            reason = f"The notebook was stopped: {finished.stopped}."
        else:
            reason = "Your answer cell did not run."
        result = self.judged(exercise, got, expected.get(exercise.id), None, reason)
        if not result.passed:
            checks = [r for r in cells if r.get("status") == "error" and r.get("role") == "check"]
            if checks:
                result.output += f"\nYour check cell says: {clip(checks[0].get('ename', '') + ': ' + checks[0].get('evalue', ''))}"
        return result


class Watch:
    """Follows a notebook run from its report, to stop a cell that outlives its exercise's time."""

    def __init__(self, plan, timeout):
        self.plan, self.timeout = plan, timeout
        self.spent = {e: 0.0 for e in plan["budget"]}
        self.current = self.since = None

    def see(self, record):
        cell = record.get("cell")
        exercise = self.plan["exercise_of_cell"].get(str(cell))
        if record.get("event") == "start":
            self.current, self.since = cell, time.monotonic()
        elif record.get("event") == "done":
            record["exercise"] = exercise
            record["role"] = self.plan["roles"].get(str(cell))
            if exercise is not None and self.since is not None:
                self.spent[exercise] += time.monotonic() - self.since
            self.current = self.since = None

    def should_stop(self):
        if self.current is None:
            return ""
        exercise = self.plan["exercise_of_cell"].get(str(self.current))
        allowed = self.timeout - self.spent.get(exercise, 0) if exercise else BOOK_CELL_TIMEOUT
        if time.monotonic() - self.since > max(allowed, 1) + GRACE:
            return f"exercise {exercise} still running" if exercise else f"cell {self.current} still running"
        return ""


def chapter_run(reference, sections, exercises, sources, timeout, alone=()):
    """The notebook to execute: ``sources`` in the answer cells of ``exercises``, a probe cell after each.

    With ``alone`` (the graded exercises of the chapter), the notebook stops
    after the one exercise's cells and leaves out the cells of the others.
    """
    import nbformat

    owner = {i: e.id for e in exercises for i in sections[e.id].cells}
    graded_here = {e.id for e in exercises}
    skipped = {i for e in alone for i in sections[e.id].cells if e.id not in graded_here}
    last = max(owner) if alone else len(reference.cells)
    notebook = copy.deepcopy(reference)
    notebook.cells = []
    plan = {"exercise_of_cell": {}, "probe_cells": {}, "roles": {}, "budget": {e.id: timeout for e in exercises},
            "book_timeout": BOOK_CELL_TIMEOUT}
    for index, cell in enumerate(reference.cells[: last + 1]):
        if index in skipped:
            continue
        cell = copy.deepcopy(cell)
        exercise = owner.get(index)
        if exercise is not None:
            section = sections[exercise]
            role = "answer" if index in section.answers else "check"
            if role == "answer":
                cell.source = sources[exercise][section.answers.index(index)]
            plan["exercise_of_cell"][str(len(notebook.cells))] = exercise
            plan["roles"][str(len(notebook.cells))] = role
        notebook.cells.append(cell)
        if exercise is not None and index == max(sections[exercise].answers):
            position = str(len(notebook.cells))
            notebook.cells.append(nbformat.v4.new_code_cell(f"import probe\nprobe.emit({exercise!r}, globals())"))
            plan["exercise_of_cell"][position] = plan["probe_cells"][position] = exercise
            plan["roles"][position] = "probe"
    return notebook, plan


def answer_text(sources):
    """The text between the markers of answer cells (the whole cell where the markers are gone)."""
    parts = []
    for source in sources:
        lines = source.splitlines(keepends=True)
        try:
            regions = find_regions(lines)
        except TableError:
            regions = []
        parts += ["\n".join(dedented(region_body(lines, r))) for r in regions] or [source]
    return "\n".join(parts)


def probe_command(*arguments):
    return [".grader/probe.py", *arguments]


def describe_exit(code):
    import signal

    if code is None:
        return "was stopped"
    if code < 0:
        try:
            return f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def chapter_of(root, where):
    path = Path(root) / where
    (chapter,) = [c for c in find_chapters(path.parent) if c.source.name == path.name]
    return Chapter(chapter.number, chapter.stem, path)


def grade(submission, reference=ROOT, wanted=(), timeout=DEFAULT_TIMEOUT, seed=0, log=None):
    """Grade the copy at ``submission``; return the Results in the order of the exercises."""
    submission = Path(submission).resolve()
    if not submission.is_dir():
        raise TableError(f"{submission} is not a folder")
    selected = select(load_book(reference).exercises, wanted)
    grading = Grading(submission, Path(reference).resolve(), timeout, seed, log or (lambda text: None))
    results = {}
    try:
        if grading.sandbox.limitation:
            grading.log(f"Note: {grading.sandbox.limitation}")
        gradable = []
        for exercise in selected:
            reasons = grading.problems(exercise)
            if reasons:
                results[exercise.id] = Result(exercise, output="This exercise cannot be graded: " + "; ".join(reasons))
            else:
                gradable.append(exercise)
        package = [e for e in gradable if e.kind == "package"]
        grading.grade_package(package, results)
        student_package = grading.private / "student-package"
        if not student_package.exists():
            workspace.package_with(grading.reference, {}, student_package)
        chapters = {}
        for exercise in gradable:
            if exercise.kind == "notebook":
                chapters.setdefault(exercise.where, []).append(exercise)
        for where, exercises in chapters.items():
            grading.grade_chapter(chapter_of(grading.reference, where), exercises, results, student_package)
    finally:
        grading.close()
    return [results[e.id] for e in selected]


def parser():
    main = argparse.ArgumentParser(prog="python -m tools.grade", description=__doc__.split("\n")[0])
    main.add_argument("path", type=Path, help="the copy to grade (a folder)")
    main.add_argument("--exercises", nargs="+", default=[], metavar="ID",
                      help="only these exercises (ids such as 4.2, or chapter numbers); default: all")
    main.add_argument("--json", type=Path, metavar="FILE", help="write Gradescope's results.json here")
    main.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                      help=f"seconds each exercise may run (default {DEFAULT_TIMEOUT})")
    main.add_argument("--seed", type=int, default=None,
                      help="the seed of the grading inputs (default: $GRADING_SEED, else 0)")
    main.add_argument("--reference", type=Path, default=ROOT,
                      help="the repository whose answers and judges grade (default: this one)")
    main.add_argument("--quiet", action="store_true", help="no progress lines")
    return main


def main(argv=None):
    args = parser().parse_args(argv)
    began = time.monotonic()
    seed = args.seed if args.seed is not None else int(os.environ.get("GRADING_SEED", "0"))

    def log(text):
        if not args.quiet:
            print(text, file=sys.stderr, flush=True)

    try:
        results = grade(args.path, args.reference, args.exercises, args.timeout, seed, log=log)
    except TableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.json:
        report.write_atomically(args.json, report.dumps(report.gradescope_results(results, time.monotonic() - began)))
    print(report.table(results, args.path, limitation()))
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
