"""The grader's verdict: the student's results on the grader's inputs, compared with the reference's.

The judges of a chapter's exercises are in the reference, ``tests/judges/chapter_NN.py``
(what they define: ``tests/judges/README.md``). Each probe runs twice on the same
inputs: with the student's answer, in the sandbox, and with the reference's, in a
process of the grader's that no student code touches. Only this module, in the
grader, compares the two; its messages never show an expected value, so that a
failed attempt does not reveal the answer on the grader's inputs.
"""

import importlib.util
import json
from pathlib import Path

import numpy as np

from tools.grading.probe import decode, encode

JUDGES = "tests/judges"
DEFAULT_TOLERANCE = {"rtol": 1e-7, "atol": 1e-10}


def judges_path(root, chapter):
    return Path(root) / JUDGES / f"chapter_{chapter:02d}.py"


def load_judges(root, chapter):
    """The module of the chapter's judges, or None when the reference has none."""
    path = judges_path(root, chapter)
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(f"judges_chapter_{chapter:02d}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def name(exercise):
    return exercise.id.replace(".", "_")


def has_judge(module, exercise):
    return module is not None and callable(getattr(module, "probe_" + name(exercise), None))


def grading_inputs(module, exercise, seed):
    """The exercise's inputs for this seed (plain data, as JSON)."""
    make = getattr(module, "inputs_" + name(exercise), None)
    chapter, number = (int(part) for part in exercise.id.split("."))
    values = make(np.random.default_rng([seed, chapter, number])) if make else {}
    return encode(values)


def parse_report(line):
    """One JSON line of a report, or None when it is not a JSON object."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return record if isinstance(record, dict) else None


def verdict(module, exercise, got, expected):
    """(passed, message) for the student's result ``got`` against the reference's ``expected``."""
    expected = decode(expected)
    try:
        got = decode(got)
    except (ValueError, TypeError, KeyError, RecursionError) as error:
        return False, f"The result could not be read: {error}."
    try:  # the student's data may be anything a JSON document can hold
        custom = getattr(module, "judge_" + name(exercise), None)
        if custom is not None:
            return custom(got, expected)
        problems = differences(got, expected, getattr(module, "TOLERANCE_" + name(exercise), DEFAULT_TOLERANCE),
                               "result")
    except Exception as error:
        return False, f"The result could not be judged: {type(error).__name__}."
    if problems:
        return False, "\n".join(problems[:5])
    return True, "Right on the grader's inputs."


def differences(got, expected, tolerance, where):
    """Sentences saying where ``got`` differs from ``expected`` (without showing ``expected``)."""
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return [f"{where} should be a dict, got {type(got).__name__}."]
        found = []
        for key, value in expected.items():
            if key not in got:
                found.append(f"{where}: {key} is missing.")
            else:
                found += differences(got[key], value, tolerance, key)
        return found
    if isinstance(expected, list):
        if not isinstance(got, list) or len(got) != len(expected):
            return [f"{where} should be a list of {len(expected)} items."]
        return [p for g, e, i in zip(got, expected, range(len(got))) for p in differences(g, e, tolerance,
                                                                                          f"{where}[{i}]")]
    if expected is None or isinstance(expected, str):
        return [] if got == expected else [f"{where} is wrong."]
    if got is None or isinstance(got, (str, list, dict)):
        return [f"{where} should be a number or an array, got {type(got).__name__}."]
    expected, got = np.asarray(expected), np.asarray(got)
    if got.shape != expected.shape:
        return [f"{where} has shape {got.shape}, expected {expected.shape}."]
    if expected.dtype.kind in "bi" and got.dtype.kind not in "biu":
        return [f"{where} should hold whole numbers, got dtype {got.dtype}."]
    if expected.dtype.kind == "b" or expected.dtype.kind in "iu":
        wrong = np.count_nonzero(got != expected)
    else:
        wrong = np.count_nonzero(~np.isclose(got, expected, equal_nan=True, **tolerance))
    if not wrong:
        return []
    return [f"{where} is wrong." if expected.size == 1 else
            f"{where}: {wrong} of {expected.size} values differ from the right ones."]
