"""The grader's side of a student process: run a judge's probe on the grader's inputs, report plain data.

This file is copied into each workspace (as ``.grader/probe.py``, beside the
chapter's judges as ``.grader/judges.py`` and the inputs as
``.grader/inputs.json``) and needs nothing but NumPy (and nbclient for
notebooks). It decides nothing: it reports what the student's code computed,
and the grader compares that with what the reference computed.

    python .grader/probe.py package ID...     call the probe of each exercise, report its result
    python .grader/probe.py notebook PATH     execute a notebook, report each cell and each probe cell

Reports are JSON lines written to the file descriptor ``GRADER_CHANNEL_FD``.
"""

import json
import os
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
MIMETYPE = "application/vnd.grader.report+json"  # how a probe cell hands its result to the runner
KEEP = 2000  # characters of a cell's output or error kept
TIME_LIMIT = "TimeLimitReached"


def encode(value):
    """``value`` as JSON-ready plain data: arrays become {"__array__": dtype, "shape", "data"}."""
    import numpy as np

    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"an array of dtype {array.dtype} cannot be reported: numbers or booleans only")
        return {"__array__": array.dtype.str, "shape": list(array.shape), "data": array.ravel().tolist()}
    if isinstance(value, dict):
        return {str(key): encode(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"a value of type {type(value).__name__} cannot be reported")


def clip(text):
    text = str(text)
    return text if len(text) <= KEEP else text[: KEEP // 2] + "\n...\n" + text[-KEEP // 2 :]


def result_of(exercise_id, namespace):
    """{"data": ...} with the probe's encoded result, or {"error": ...} with what went wrong."""
    sys.path.insert(0, str(HERE))
    try:
        import judges

        inputs = json.loads((HERE / "inputs.json").read_text(encoding="utf-8"))[exercise_id]
        probe = getattr(judges, "probe_" + exercise_id.replace(".", "_"))
        return {"data": encode(probe(decode(inputs), namespace))}
    except BaseException as error:  # the student's code may raise anything, SystemExit included
        frames = traceback.extract_tb(error.__traceback__)
        where = next((f"{Path(f.filename).name}, line {f.lineno}" for f in reversed(frames)
                      if Path(f.filename).name not in ("probe.py", "judges.py")), "")
        return {"error": clip(f"{type(error).__name__}: {error}"), "where": where}


def decode(value):
    """Plain data back into Python values; raises ValueError for anything but numbers, text and arrays of numbers."""
    import numpy as np

    if isinstance(value, dict):
        if "__array__" in value:
            dtype = np.dtype(value["__array__"])
            if dtype.kind not in "biuf":
                raise ValueError(f"an array of dtype {dtype} was reported")
            return np.array(value["data"], dtype=dtype).reshape(value["shape"])
        return {key: decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode(item) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(f"a {type(value).__name__} was reported")


def emit(exercise_id, namespace):
    """Called by a probe cell in the kernel: hand the probe's result to the runner as display data."""
    from IPython.display import publish_display_data

    publish_display_data({MIMETYPE: {"exercise": exercise_id, **result_of(exercise_id, namespace)}})


def rerun(inputs, namespace, names, **overrides):
    """Run the answer's text (``inputs["answer"]``) again with some variables changed; return ``names`` after it."""
    scope = {**namespace, **overrides}
    exec(compile(inputs["answer"], "<answer>", "exec"), scope)
    return {name: scope[name] for name in names}


def channel():
    """A function that writes one record (a JSON line) to the grader's pipe."""
    pipe = os.fdopen(int(os.environ["GRADER_CHANNEL_FD"]), "w", encoding="utf-8", buffering=1)
    return lambda record: pipe.write(json.dumps(record) + "\n") and pipe.flush()


def run_package(exercise_ids):
    write = channel()
    for exercise_id in exercise_ids:
        write({**result_of(exercise_id, None), "event": "probe", "exercise": exercise_id})


def cell_record(cell, index, reply):
    """({"event": "done", "cell", "status", and "ename", "evalue" for an error}, the cell's probe reports)."""
    outputs = cell.get("outputs", [])
    error = next((output for output in outputs if output.get("output_type") == "error"), None)
    reports = [output["data"][MIMETYPE] for output in outputs if MIMETYPE in output.get("data", {})]
    content = (reply or {}).get("content", {})
    failed = content.get("status", "ok" if error is None else "error") != "ok"
    record = {"event": "done", "cell": index, "status": "error" if failed else "ok"}
    if failed:
        source = content if content.get("ename") == TIME_LIMIT or error is None else error
        record.update(ename=str(source.get("ename", "Error")), evalue=clip(source.get("evalue", "")))
    return record, reports


def run_notebook(path):
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    write = channel()
    plan = json.loads((HERE / "plan.json").read_text(encoding="utf-8"))
    exercise_of_cell = {int(k): v for k, v in plan["exercise_of_cell"].items()}
    probe_cells = {int(k): v for k, v in plan["probe_cells"].items()}
    budget, started = dict(plan["budget"]), {}
    notebook = nbformat.read(path, as_version=4)
    index_of = {id(cell): index for index, cell in enumerate(notebook.cells)}

    def timeout_for(cell):
        exercise = exercise_of_cell.get(index_of.get(id(cell)))
        return plan["book_timeout"] if exercise is None else max(1, int(round(budget[exercise])))

    def on_cell_start(cell, cell_index):
        if cell.cell_type != "code":
            return
        started[cell_index] = time.monotonic()
        write({"event": "start", "cell": cell_index})

    def on_cell_executed(cell, cell_index, execute_reply):
        exercise = exercise_of_cell.get(cell_index)
        if exercise is not None:
            budget[exercise] -= time.monotonic() - started.get(cell_index, time.monotonic())
        record, reports = cell_record(cell, cell_index, execute_reply)
        write(record)
        if cell_index in probe_cells:
            report = next((r for r in reports if r.get("exercise") == probe_cells[cell_index]), None)
            if report is None:
                report = {"exercise": probe_cells[cell_index],
                          "error": record.get("ename", "the probe cell reported nothing") + ": "
                                   + record.get("evalue", "")}
            write({**report, "event": "probe"})  # the event last: a report cannot rename itself

    client = NotebookClient(
        notebook, timeout_func=timeout_for, interrupt_on_timeout=True, allow_errors=True,
        error_on_timeout={"ename": TIME_LIMIT, "evalue": "the time limit ran out", "traceback": []},
        kernel_name="python3", resources={"metadata": {"path": str(Path(path).parent)}}, record_timing=False,
        extra_arguments=["--IPKernelApp.log_level=ERROR"], on_cell_start=on_cell_start,
        on_cell_executed=on_cell_executed)
    try:
        client.execute()
    except DeadKernelError as error:
        write({"event": "died", "message": clip(error)})
    except Exception as error:  # whatever stopped the run: the grader decides
        write({"event": "failed", "message": clip(f"{type(error).__name__}: {error}")})
    write({"event": "finished"})


if __name__ == "__main__":
    if sys.argv[1] == "package":
        run_package(sys.argv[2:])
    else:
        run_notebook(sys.argv[2])
