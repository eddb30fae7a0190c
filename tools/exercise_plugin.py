"""A pytest plugin for the grader: select the tests of one exercise and log their results.

Load it with ``-p tools.exercise_plugin``. Options:

- ``--exercise ID`` (repeatable): run only the tests marked
  ``@pytest.mark.exercise(ID)``;
- ``--exercise-map FILE``: after collection, write ``{node id: [exercise ids]}``
  of every collected test as JSON (use with ``--collect-only``);
- ``--exercise-log FILE``: append one JSON line when a test starts and one
  with its outcome, and one per collection error, so that the grader knows
  which test was running if the process is stopped or dies;
- ``--no-shrink``: property tests (Hypothesis) report their first failing
  example instead of searching for a smaller one.
"""

import json
import time

import pytest


def pytest_addoption(parser):
    group = parser.getgroup("exercises", "the book's exercises")
    group.addoption("--exercise", action="append", default=[], metavar="ID",
                    help="run only the tests of this exercise (repeatable)")
    group.addoption("--exercise-map", metavar="FILE", help="write {node id: [exercise ids]} as JSON")
    group.addoption("--exercise-log", metavar="FILE", help="log test starts and outcomes as JSON lines")
    group.addoption("--no-shrink", action="store_true",
                    help="property tests report the first failing example without shrinking it")


def exercise_ids(item):
    return sorted({str(mark.args[0]) for mark in item.iter_markers("exercise") if mark.args})


def pytest_configure(config):
    config.addinivalue_line("markers", "exercise(id): the test checks the exercise with this identifier")
    if config.getoption("no_shrink"):
        skip_shrinking()


def skip_shrinking():
    """Keep the loaded Hypothesis profile (seeds included) but drop its shrink phases.

    A stub fails every example; shrinking the failure would take the grader
    longer than the test itself. This runs after the conftest files have
    loaded their profile.
    """
    try:
        from hypothesis import Phase, settings
    except ImportError:
        return
    phases = [phase for phase in settings.default.phases if phase not in (Phase.shrink, Phase.explain)]
    settings.register_profile("grading", parent=settings.default, phases=phases)
    settings.load_profile("grading")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    path = config.getoption("exercise_map")
    if path:
        mapping = {item.nodeid: {"exercises": exercise_ids(item), "file": item.location[0]} for item in items}
        with open(path, "w", encoding="utf-8") as file:
            json.dump(mapping, file, indent=1, sort_keys=True)
    wanted = set(config.getoption("exercise"))
    if wanted:
        kept = [item for item in items if wanted & set(exercise_ids(item))]
        deselected = [item for item in items if not wanted & set(exercise_ids(item))]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def _log(config, record):
    path = config.getoption("exercise_log")
    if path:
        record["time"] = time.monotonic()
        with open(path, "a", encoding="utf-8") as file:
            file.write(json.dumps(record) + "\n")


_CONFIG = []


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    _CONFIG[:] = [session.config]


def pytest_runtest_logstart(nodeid, location):
    if _CONFIG:
        _log(_CONFIG[0], {"event": "start", "test": nodeid})


def _crash(report):
    """The exception line and where it was raised, from a failed report."""
    longrepr = report.longrepr
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message, f"{crash.path}:{crash.lineno}"
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, line, reason)
        return str(longrepr[2]), f"{longrepr[0]}:{longrepr[1]}"
    return str(longrepr), None


def pytest_runtest_logreport(report):
    if not _CONFIG:
        return
    if report.when == "call" or report.outcome != "passed":
        message, location = _crash(report) if report.outcome != "passed" else (None, None)
        _log(_CONFIG[0], {
            "event": "result", "test": report.nodeid, "when": report.when, "outcome": report.outcome,
            "message": message, "location": location,
        })


def pytest_collectreport(report):
    if _CONFIG and report.failed:
        _log(_CONFIG[0], {"event": "collect-error", "node": report.nodeid, "message": str(report.longrepr)})
