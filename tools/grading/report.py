"""The grades as a printed table and as Gradescope's results.json, written once, whole, at the end."""

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

OUTPUT_LINES = 25  # lines of an exercise's output in results.json (what Gradescope shows the student)
OUTPUT_CHARACTERS = 2000
SUMMARY_LINES = 6  # lines of each failure printed under the table


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


def printable(line):
    """``line`` with each control character (a terminal's escape sequences: clear, move up) shown as ``?``."""
    return "".join(c if c.isprintable() else " " if c == "\t" else "?" for c in line)


def short(text, lines, characters=OUTPUT_CHARACTERS):
    """At most ``lines`` lines and about ``characters`` characters of ``text``, saying how much was left out."""
    kept = text.strip().splitlines()
    total = len(kept)
    kept = [line if len(line) <= 200 else line[:200] + " ..." for line in map(printable, kept[:lines])]
    while len("\n".join(kept)) > characters and len(kept) > 1:
        kept.pop()
    if len(kept) < total:
        kept.append(f"... ({total - len(kept)} more lines)")
    return kept


def table(results, submission, note=""):
    width = max([len(r.exercise.title) for r in results] + [5])
    rows = [f"Grades of {submission}", "", f"  {'exercise':<9} {'title':<{width}}  {'points':>9}  result"]
    for r in results:
        points = f"{r.score:g} / {r.exercise.points:g}"
        rows.append(f"  {r.exercise.id:<9} {r.exercise.title:<{width}}  {points:>9}  {r.status}")
    earned, total = sum(r.score for r in results), sum(r.exercise.points for r in results)
    rows.append(f"  {'total':<9} {'':<{width}}  {f'{earned:g} / {total:g}':>9}")
    failures = [r for r in results if not r.passed]
    if failures:
        rows += ["", "Failures:"]
        for r in failures:
            rows.append(f"  {r.exercise.label}")
            rows += ["    " + line for line in short(r.output, SUMMARY_LINES)]
    if note:
        rows += ["", f"Note: {note}"]
    return "\n".join(rows)


def gradescope_results(results, seconds):
    """The results in Gradescope's autograder format (results.json)."""
    earned, total = sum(r.score for r in results), sum(r.exercise.points for r in results)
    return {
        "score": earned,
        "execution_time": int(round(seconds)),
        "output": f"{sum(r.passed for r in results)} of {len(results)} exercises passed: "
                  f"{earned:g} of {total:g} points.",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [
            {"name": r.exercise.label, "number": r.exercise.id, "score": r.score, "max_score": r.exercise.points,
             "status": r.status, "output": "\n".join(short(r.output, OUTPUT_LINES)), "visibility": "visible"}
            for r in results
        ],
    }


def write_atomically(path, text):
    """Write ``text`` to ``path`` in one step: a reader sees the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def dumps(data):
    return json.dumps(data, indent=2) + "\n"
