"""Grade a copy of the book: the full edition, or a student's filled-in student edition.

Usage (from the repository root, inside the environment)::

    python -m tools.grade PATH                       grade every exercise of exercises.toml
    python -m tools.grade PATH --exercises 4 5.2     only the exercises of Chapter 4 and 5.2
    python -m tools.grade PATH --json results.json   also write Gradescope's results.json
    python -m tools.grade PATH --timeout 60          seconds each exercise may run (default 60)
    python -m tools.grade PATH --seed 8127           the grading inputs (or GRADING_SEED; default 0)

Only the answers come from PATH. Each exercise's probe (``tests/judges/``)
applies the student's answer, in a sandbox, and the reference's answer, in a
process of the grader's, to the same inputs drawn from the seed; the grader
compares the two reports and awards all the exercise's points or none (see
``tools.grading``). The exit status is 0 when every graded exercise earned
its points, 1 when some did not, 2 when grading was not possible.
"""

import argparse
import copy
import os
import signal
import sys
import time
from pathlib import Path

from tools.chapters import ROOT, Chapter, find_chapters, prepare_kernel_environment
from tools.exercises import (TableError, dedented, exercise_sections, find_regions, load_book, region_body, select,
                             stub_line)
from tools.grading import judge, report, workspace
from tools.grading.probe import TIME_LIMIT
from tools.grading.report import Result
from tools.grading.sandbox import Sandbox, environment, limitation
from tools.grading.submission import notebook_answers, package_answers, submission_notebook

DEFAULT_TIMEOUT = 60
BOOK_CELL_TIMEOUT = 1800  # seconds for a cell of the chapter itself (training on MNIST included)
BOOK_RUN_LIMIT = 4 * 3600  # seconds a whole chapter may take
GRACE = 10  # seconds an interrupted cell gets to stop before everything is killed
KERNEL_START = 120  # seconds the kernel may take to start
SLOWER = 4  # times the reference's time a student's run of a chapter may take (beside its exercises' time)
BETWEEN_CELLS = 30  # seconds the runner may take from the end of a cell to the start of the next (or to exit)
MESSAGE = 300  # characters kept of a text the student's code wrote (an exception's message)
PROBE = ".grader/probe.py"


def clip(text, limit=MESSAGE):
    text = str(text).strip()
    return text if len(text) <= limit else text[:limit] + " ..."


class Grading:
    """One grading of one submission: the sandbox, the private copy of the reference, the seed."""

    def __init__(self, submission, reference, timeout, seed, log):
        self.submission, self.timeout, self.seed, self.log = submission, timeout, seed, log
        self.private = workspace.private_folder()
        self.sandbox = Sandbox()
        if self.sandbox.root and (withheld := workspace.withhold(reference)):
            log(f"The reference's {', '.join(withheld)} are now readable by their owner only.")
        self.reference = workspace.copy_reference(reference, self.private / "reference")
        self.book = load_book(self.reference)
        # The data folder, hash seed, threads and arithmetic of the book's kernels, nothing else of os.environ.
        given = {"FRAMEWORK_DATA_DIR": os.environ["FRAMEWORK_DATA_DIR"]} if os.environ.get("FRAMEWORK_DATA_DIR") else {}
        self.settings = prepare_kernel_environment(given)
        self.judges = {}

    def close(self):
        self.sandbox.kill_all()
        self.sandbox.remove_files()
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
        found = {e.id: judge.grading_inputs(self.judges_of(e.chapter), e, self.seed) for e in exercises}
        for exercise_id, answer in (answers or {}).items():
            found[exercise_id]["answer"] = answer
        return found

    def run(self, package, exercises, arguments, timeout, trusted, inputs, **notebook):
        """Run the probe in a fresh workspace; return (Finished, {exercise id: its first report}, records)."""
        folder = workspace.workspace(package, judge.judges_path(self.reference, exercises[0].chapter), inputs,
                                     None if trusted else self.sandbox, **notebook)
        watch = Watch(notebook["plan"], self.timeout) if notebook else None
        records = []

        def on_line(line):
            if (record := judge.parse_report(line)) is not None:
                records.append(record)
                if watch:
                    watch.see(record)

        try:
            python, packages = self.sandbox.python(trusted)
            finished = self.sandbox.run([python, PROBE, *arguments], folder,
                                        environment(folder, python, packages, self.settings), timeout, on_line,
                                        watch.should_stop if watch else None, trusted)
        finally:
            workspace.remove(folder)
        reports = {}
        for record in records:
            if record.get("event") == "probe" and record.get("exercise") in {e.id for e in exercises}:
                reports.setdefault(record["exercise"], record)
        return finished, reports, records

    def grade_package(self, exercises, results):
        answers, found = {}, []
        for exercise in exercises:
            regions, problem = package_answers(self.submission, self.book, exercise)
            if problem:  # its regions hold the stub, not the reference's answer, which other answers could read
                results[exercise.id] = Result(exercise, output=problem)
                answers.setdefault(exercise.where, {}).update(
                    {r.region: [stub_line(exercise, r.region.indent)] for r in self.book.regions_of(exercise)})
            else:
                answers.setdefault(exercise.where, {}).update(regions)
                found.append(exercise)
        student = workspace.package_with(self.reference, answers, self.private / "student-package")
        if not found:
            return student
        inputs, expected = self.inputs(found), {}
        for chapter in sorted({e.chapter for e in found}):  # the judges of one chapter per run
            ones = [e for e in found if e.chapter == chapter]
            expected.update(self.run(self.reference, ones, ["package", *[e.id for e in ones]], BOOK_CELL_TIMEOUT,
                                     True, inputs)[1])
        for exercise in found:
            finished, reports, _ = self.run(student, [exercise], ["package", exercise.id], self.timeout, False, inputs)
            results[exercise.id] = self.judged(exercise, reports.get(exercise.id), expected.get(exercise.id),
                                               no_report(finished, self.timeout))
            results[exercise.id].seconds = finished.seconds
        return student

    def judged(self, exercise, got, expected, reason):
        """The Result of one exercise from the student's and the reference's reports."""
        if expected is None or "data" not in expected:
            return Result(exercise, output="The reference answer gives no result on the grader's inputs "
                                           f"({clip((expected or {}).get('error', 'no report'))}): the grader's "
                                           "copy of the book is at fault.")
        if got is None:
            return Result(exercise, output=reason)
        if "data" not in got:
            where = f" ({clip(got['where'], 80)})" if got.get("where") else ""
            message = clip(got.get("error", "no result"))
            note = "\n    (the answer is not written yet)" if message.startswith("NotImplementedError") else ""
            return Result(exercise, output=f"On the grader's inputs your answer raised {message}{where}.{note}")
        return Result(exercise, *judge.verdict(self.judges_of(exercise.chapter), exercise, got["data"],
                                               expected["data"]))

    def grade_chapter(self, chapter, exercises, results, student_package):
        from tools.build import chapter_notebook

        reference = chapter_notebook(chapter)
        sections, _ = exercise_sections(reference)
        notebook, problem = submission_notebook(self.submission, chapter)
        mine = {}
        for exercise in exercises:
            sources, missing = (None, problem) if problem else notebook_answers(notebook, exercise,
                                                                                 sections[exercise.id])
            if missing:
                results[exercise.id] = Result(exercise, output=missing)
            else:
                mine[exercise.id] = sources
        pending = sorted((e for e in exercises if e.id in mine), key=lambda e: sections[e.id].cells[0])
        if not pending:
            return
        theirs = {e.id: [reference.cells[i].source for i in sections[e.id].answers] for e in pending}
        began = time.monotonic()
        book, expected, _ = self.run_chapter(chapter, reference, sections, pending, theirs, self.reference, True)
        # The student's run may take the reference's time a few times over, plus each exercise's own time.
        limit = min(BOOK_RUN_LIMIT, SLOWER * book.seconds + len(pending) * (self.timeout + GRACE))
        run = self.run_chapter(chapter, reference, sections, pending, mine, student_package, False, limit=limit)
        clean = True
        for exercise in pending:
            result = self.notebook_result(exercise, expected, *run)
            if result.passed or clean:  # final: it passed, or failed after correct earlier answers
                results[exercise.id] = result
            clean = clean and result.passed
        for exercise in pending:
            if exercise.id not in results:  # once more, without the other graded exercises' cells
                alone = self.run_chapter(chapter, reference, sections, [exercise], mine, student_package, False,
                                         pending, limit)
                results[exercise.id] = self.notebook_result(exercise, expected, *alone)
            results[exercise.id].seconds = (time.monotonic() - began) / len(pending)

    def run_chapter(self, chapter, reference, sections, exercises, sources, package, trusted, alone=(), limit=None):
        notebook, plan = chapter_run(reference, sections, exercises, sources, self.timeout, alone)
        answers = {e.id: answer_text(sources[e.id]) for e in exercises}
        return self.run(package, exercises, ["notebook", f"notebooks/{chapter.stem}.ipynb"], limit or BOOK_RUN_LIMIT,
                        trusted, self.inputs(exercises, answers), notebook=notebook, plan=plan,
                        notebook_name=f"{chapter.stem}.ipynb")

    def notebook_result(self, exercise, expected, finished, reports, records):
        cells = [r for r in records if r.get("event") == "done" and r.get("exercise") == exercise.id]
        got = reports.get(exercise.id)
        timed_out = any(r.get("ename") == TIME_LIMIT for r in cells) or f"exercise {exercise.id} " in finished.stopped
        if got is not None and str(got.get("error", "")).startswith((TIME_LIMIT, "KeyboardInterrupt")):
            got, timed_out = None, True  # the probe was interrupted for running out of time
        if timed_out:
            reason = (f"Your code was still running after {self.timeout:g} s, the time limit of this exercise, "
                      "and was stopped (an endless loop?).")
        elif any(r.get("event") == "died" for r in records):
            reason = ("The kernel died while running your answer: the code exited the interpreter (sys.exit, "
                      "os._exit) or crashed.")
        else:
            reason = f"The notebook was stopped: {finished.stopped}." if finished.stopped else \
                "Your answer cell did not run."
        result = self.judged(exercise, got, expected.get(exercise.id), reason)
        checks = [r for r in cells if r.get("status") == "error" and r.get("role") == "check"]
        if checks and not result.passed:
            result.output += f"\nYour check cell says: {clip(checks[0].get('ename', '') + ': ' + checks[0].get('evalue', ''))}"
        return result


def no_report(finished, timeout):
    """Why a process gave no report."""
    if finished.stopped:
        return f"Your code was {finished.stopped}, the time limit of this exercise, and was stopped (an endless loop?)."
    code = finished.status
    how = f"exited with status {code}" if code >= 0 else f"was killed by signal {signal.Signals(-code).name}" \
        if -code in signal.valid_signals() else f"was killed by signal {-code}"
    return (f"The process running your code {how} before reporting a result: the code exited the interpreter "
            "(sys.exit, os._exit) or crashed.")


class Watch:
    """Follows a notebook run through its report, to stop a cell that outlives its exercise's time."""

    def __init__(self, plan, timeout):
        self.plan, self.timeout = plan, timeout
        self.spent = {e: 0.0 for e in plan["budget"]}
        self.current, self.since, self.started = None, time.monotonic(), False  # since: the last start or done

    def see(self, record):
        cell = str(record.get("cell"))
        if record.get("event") == "start":
            self.current, self.since, self.started = cell, time.monotonic(), True
        elif record.get("event") == "done":
            record["exercise"] = exercise = self.plan["exercise_of_cell"].get(cell)
            record["role"] = self.plan["roles"].get(cell)
            if exercise in self.spent and self.current is not None:
                self.spent[exercise] += time.monotonic() - self.since
            self.current, self.since = None, time.monotonic()

    def should_stop(self):
        if self.current is None:  # the kernel starting, or the runner between two cells (or stopped there)
            allowed = BETWEEN_CELLS if self.started else KERNEL_START
            waited = time.monotonic() - self.since
            return f"no cell ran for {waited:.0f} s" if waited > allowed else ""
        exercise = self.plan["exercise_of_cell"].get(self.current)
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
    skipped = {i for e in alone for i in sections[e.id].cells if i not in owner}
    notebook = copy.deepcopy(reference)
    notebook.cells = []
    plan = {"exercise_of_cell": {}, "probe_cells": {}, "roles": {}, "budget": {e.id: timeout for e in exercises},
            "book_timeout": BOOK_CELL_TIMEOUT}
    for index, cell in enumerate(reference.cells[: max(owner) + 1 if alone else None]):
        exercise = owner.get(index)
        if index in skipped:
            continue
        cell = copy.deepcopy(cell)
        if exercise is not None:
            answers = sections[exercise].answers
            if index in answers:
                cell.source = sources[exercise][answers.index(index)]
            plan["exercise_of_cell"][str(len(notebook.cells))] = exercise
            plan["roles"][str(len(notebook.cells))] = "answer" if index in answers else "check"
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
    if limitation():
        grading.log(f"Note: {limitation()}")
    results = {}
    try:
        for exercise in selected:
            if reasons := grading.problems(exercise):
                results[exercise.id] = Result(exercise, output="This exercise cannot be graded: " + "; ".join(reasons))
        gradable = [e for e in selected if e.id not in results]
        student_package = grading.grade_package([e for e in gradable if e.kind == "package"], results)
        chapters = {}
        for exercise in (e for e in gradable if e.kind == "notebook"):
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
    main.add_argument("--seed", type=int, default=None, help="the seed of the grading inputs "
                                                             "(default: $GRADING_SEED, else 0)")
    main.add_argument("--reference", type=Path, default=ROOT,
                      help="the repository whose answers and judges grade (default: this one)")
    main.add_argument("--quiet", action="store_true", help="no notes on stderr")
    return main


def main(argv=None):
    args = parser().parse_args(argv)
    began = time.monotonic()
    seed = args.seed if args.seed is not None else int(os.environ.get("GRADING_SEED", "0"))
    log = (lambda text: None) if args.quiet else (lambda text: print(text, file=sys.stderr, flush=True))
    try:
        results = grade(args.path, args.reference, args.exercises, args.timeout, seed, log)
    except TableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.json:
        report.write_atomically(args.json, report.dumps(report.gradescope_results(results, time.monotonic() - began)))
    print(report.table(results, args.path, limitation()))
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
