"""Execute a notebook for the grader, logging each cell's outcome as it happens.

Usage (the grader starts it in a process of its own)::

    python -m tools.notebook_runner NOTEBOOK --log LOG --plan PLAN.json

PLAN.json gives ``{"exercise_of_cell": {"48": "4.2", ...}, "budget": {"4.2": 60},
"book_timeout": 1800}``: the cells of each exercise share that exercise's
time budget (seconds); any other cell may run ``book_timeout`` seconds. A
cell that runs out of time is interrupted and execution goes on.

LOG receives one JSON line per event: ``{"event": "kernel", "pid": ...}``,
``{"event": "start", "cell": i}`` and ``{"event": "done", "cell": i,
"status": "ok" | "error", "ename", "evalue", "traceback", "stdout",
"stderr"}``; ``{"event": "died"}`` when the kernel dies. The grader reads it
while the notebook runs, so that it can stop a cell that the interrupt
cannot stop and still knows what happened before.

The kernel's working directory is the notebook's folder, as for nbval and
the build tool.
"""

import argparse
import json
import re
import sys
import time
from pathlib import Path

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
KEEP = 4000  # characters of stdout, stderr and traceback kept per cell
TIME_LIMIT = "TimeLimitReached"  # the error name of a cell interrupted for running out of time


def plain(text):
    return ANSI.sub("", text)


def clip(text):
    return text if len(text) <= KEEP else text[: KEEP // 2] + "\n...\n" + text[-KEEP // 2 :]


def cell_record(cell, index, reply):
    """What the grader needs to know about an executed cell."""
    stdout, stderr, error = [], [], None
    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        if kind == "stream":
            (stdout if output.get("name") == "stdout" else stderr).append(output.get("text", ""))
        elif kind == "error":
            error = output
    content = (reply or {}).get("content", {})
    status = content.get("status", "ok" if error is None else "error")
    record = {"event": "done", "cell": index, "status": "ok" if status == "ok" else "error",
              "stdout": clip(plain("".join(stdout))), "stderr": clip(plain("".join(stderr)))}
    if record["status"] == "error":
        # A reply made up after a timeout names TIME_LIMIT; the kernel's own
        # error output then only shows the KeyboardInterrupt of the interrupt.
        source = content if content.get("ename") == TIME_LIMIT or error is None else error
        record["ename"] = source.get("ename", "Error")
        record["evalue"] = plain(str(source.get("evalue", "")))
        record["traceback"] = clip(plain("\n".join(source.get("traceback", []) or [])))
    return record


def main(argv=None):
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    parser = argparse.ArgumentParser(prog="python -m tools.notebook_runner")
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--plan", type=Path, required=True)
    args = parser.parse_args(argv)

    plan = json.loads(args.plan.read_text(encoding="utf-8"))
    exercise_of_cell = {int(k): v for k, v in plan.get("exercise_of_cell", {}).items()}
    budget = dict(plan.get("budget", {}))
    book_timeout = plan.get("book_timeout", 1800)
    notebook = nbformat.read(args.notebook, as_version=4)
    index_of = {id(cell): index for index, cell in enumerate(notebook.cells)}
    log = open(args.log, "a", encoding="utf-8", buffering=1)
    started = {}

    def write(record):
        record["time"] = time.monotonic()
        log.write(json.dumps(record) + "\n")
        log.flush()

    def timeout_for(cell):
        exercise = exercise_of_cell.get(index_of.get(id(cell)))
        if exercise is None:
            return book_timeout
        return max(1, int(round(budget.get(exercise, book_timeout))))

    def on_notebook_start(notebook):
        process = getattr(getattr(client.km, "provisioner", None), "process", None)
        write({"event": "kernel", "pid": getattr(process, "pid", None)})

    def on_cell_start(cell, cell_index):
        started[cell_index] = time.monotonic()
        write({"event": "start", "cell": cell_index})

    def on_cell_executed(cell, cell_index, execute_reply):
        exercise = exercise_of_cell.get(cell_index)
        if exercise is not None and cell_index in started:
            budget[exercise] = budget.get(exercise, book_timeout) - (time.monotonic() - started[cell_index])
        write(cell_record(cell, cell_index, execute_reply))

    client = NotebookClient(
        notebook,
        timeout_func=timeout_for,
        interrupt_on_timeout=True,
        error_on_timeout={"ename": TIME_LIMIT, "evalue": "the time limit ran out; the cell was interrupted",
                          "traceback": []},
        allow_errors=True,
        kernel_name=plan.get("kernel", "python3"),
        resources={"metadata": {"path": str(args.notebook.parent)}},
        record_timing=False,
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
        on_notebook_start=on_notebook_start,
        on_cell_start=on_cell_start,
        on_cell_executed=on_cell_executed,
    )
    try:
        client.execute()
    except DeadKernelError as error:
        write({"event": "died", "message": str(error)})
    except Exception as error:  # report whatever stopped the run; the grader decides
        write({"event": "failed", "message": f"{type(error).__name__}: {error}"})
    write({"event": "finished"})
    log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
