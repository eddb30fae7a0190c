"""A cheating student against the grader: each attack earns nothing and changes no other grade.

Every submission below writes only inside the answer regions and answer
cells of the small book of test_grading.py, and knows everything public
(the tests, the check cells, the grader's code, where the reference is).
Each is graded end to end, together with an honest answer to another
exercise; then

- the attacked exercise earns no point and the honest one earns its own;
- no process of the submission is left running;
- the grader's files, the reference and the installed packages are unchanged,
  and nothing the submission wrote stays in the shared temporary folders;
- an untouched submission graded afterwards gets its full grade.

Attacks that only a grader running as root can stop (reading or writing
files of the grader's user, signalling the grader) are skipped otherwise.
"""

import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from tests.test_grading import TIMEOUT, copy_edition, fill_cell, fill_region, grades, mini, mini_student  # noqa: F401
from tools.chapters import ROOT
from tools.grade import grade
from tools.grading.sandbox import FIRST_UID, _processes, is_root

pytestmark = pytest.mark.slow

ROOT_ONLY = pytest.mark.skipif(not is_root(), reason="only a grader running as root can keep the student's code "
                                                    "from the files and processes of its own user")
HONEST = {"1.1": 1, "1.2": 2, "1.3": 2, "1.4": 1}


@pytest.fixture
def drop():
    """A folder every user may write to, outside the grader's folders (for pid files and a careless results file)."""
    folder = Path(tempfile.mkdtemp(prefix="redteam-"))
    folder.chmod(0o777)
    (folder / "pids").touch(mode=0o666)  # the grader's own: what the student's user writes in it stays
    (folder / "pids").chmod(0o666)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def package_attack(body):
    """The lines of an answer to exercise 1.1 (double)."""
    return textwrap.dedent(body).strip().splitlines()


def notebook_attack(body):
    return "### BEGIN SOLUTION\n" + textwrap.dedent(body).strip() + "\n### END SOLUTION"


def attacks(reference, drop):
    """{name: (exercise, answer)}: each answer an attack on the exercise, with what it knows filled in."""
    known = {"REFERENCE": str(reference), "GRADER": str(ROOT), "DROP": str(drop),
             "PACKAGES": sysconfig.get_paths()["purelib"]}

    def fill(text):
        for key, value in known.items():
            text = text.replace(key, value)
        return text

    found = {
        "forged report and os._exit": ("1.1", package_attack("""
            import json, os
            fd = int(os.environ.get("GRADER_CHANNEL_FD", "1"))
            for exercise in ("1.1", "1.2"):
                record = {"event": "probe", "exercise": exercise, "data": {"doubled": [6.0] * 4, "halved": [1.5] * 4}}
                os.write(fd, (json.dumps(record) + "\\n").encode())
            os._exit(0)
            """)),
        "forged report through json.dumps and _pytest": ("1.1", package_attack("""
            import json, sys, types
            sys.modules["_pytest"] = types.ModuleType("_pytest")
            json.dumps = lambda *args, **kwargs: '{"event": "probe", "exercise": "1.1", "data": {"doubled": [0, 0, 0, 0]}}'
            return 0
            """)),
        "forged display data and a write into the runner's channel": ("1.3", notebook_attack("""
            import glob, json, os
            from IPython.display import publish_display_data
            report = {"exercise": "1.3", "data": {"answer": 42}}
            publish_display_data({"application/vnd.grader.report+json": report})
            for path in glob.glob(f"/proc/{os.getppid()}/fd/*"):
                try:
                    with open(path, "w") as channel:
                        channel.write(json.dumps({"event": "probe", **report}) + "\\n")
                except OSError:
                    pass
            answer = 42
            """)),
        "a value that fools the check cell": ("1.3", notebook_attack("""
            import numpy as np
            np.isclose = np.allclose = lambda *args, **kwargs: True
            class Anything(int):
                def __ne__(self, other):
                    return False
                def __eq__(self, other):
                    return True
            answer = Anything(0)
            """)),
        "IPython input transformers that empty the later cells": ("1.3", notebook_attack("""
            get_ipython().input_transformers_post.append(lambda lines: ["answer = 42\\n"])
            answer = 42
            """)),
        "a detached setsid double-forked child": ("1.1", package_attack("""
            import json, os, time
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    with open("DROP/pids", "a") as file:
                        file.write(str(os.getpid()) + "\\n")
                    time.sleep(2)
                    for path in ["DROP/results.json", *[f"/proc/{p}/fd/1" for p in range(1, 5)]]:
                        try:
                            with open(path, "w") as file:
                                json.dump({"score": 100, "tests": []}, file)
                        except OSError:
                            pass
                    time.sleep(600)
                os._exit(0)
            return 0
            """)),
    }
    rooted = {
        "reading the reference on disk and on sys.path": ("1.1", package_attack("""
            import glob, os, sys
            places = ["REFERENCE/framework/ops.py", *glob.glob("/tmp/grade-*/reference/framework/ops.py"),
                      *[os.path.join(p, "framework", "ops.py") for p in sys.path]]
            for path in places:
                try:
                    source = open(path).read()
                except OSError:
                    continue
                if "return 2 * x" in source:
                    scope = {}
                    exec(source, scope)
                    return scope["double"](x)
            raise LookupError("no reference answer is readable")
            """)),
        "reading the chapter and the notebooks": ("1.3", notebook_attack("""
            import glob, re
            answer = None
            for path in ["REFERENCE/chapters/01_mini.md", *glob.glob("../chapters/*.md"), *glob.glob("../notebooks/*"),
                         *glob.glob("/tmp/grade-*/reference/chapters/*.md"), *glob.glob("REFERENCE/notebooks/*")]:
                try:
                    text = open(path).read()
                except OSError:
                    continue
                for expression in re.findall(r"answer = (b\\w+ \\+ \\d+)", text):
                    answer = eval(expression)
            """)),
        "writing to the grader, the reference and the installed packages": ("1.1", package_attack("""
            import glob, os
            os.makedirs("/tmp/redteam-planted/sitecustomize", exist_ok=True)
            open("/var/tmp/redteam-planted.py", "w").close()
            targets = ["GRADER/tools/grading/judge.py", "GRADER/tools/grade.py", "REFERENCE/tests/judges/chapter_01.py",
                       "REFERENCE/framework/ops.py", "PACKAGES/sitecustomize.py", "PACKAGES/redteam.pth",
                       *glob.glob("/tmp/grade-*/reference/tests/judges/chapter_01.py")]
            for path in targets:
                try:
                    with open(path, "a") as file:
                        file.write("\\nraise SystemExit('the grader was changed')\\n")
                except OSError:
                    pass
            return 0
            """)),
        "signals to the grader and a fork bomb": ("1.1", package_attack("""
            import os, signal
            for pid in range(2, 100000):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            for _ in range(400):
                try:
                    os.fork()
                except OSError:
                    break
            return 0
            """)),
    }
    return {name: (exercise, fill(answer) if isinstance(answer, str) else [fill(line) for line in answer])
            for name, (exercise, answer) in {**found, **rooted}.items()}, set(rooted)


ATTACKS = ["forged report and os._exit", "forged report through json.dumps and _pytest",
           "forged display data and a write into the runner's channel", "a value that fools the check cell",
           "IPython input transformers that empty the later cells", "reading the reference on disk and on sys.path",
           "reading the chapter and the notebooks", "writing to the grader, the reference and the installed packages",
           "signals to the grader and a fork bomb"]


def fingerprint(*folders):
    """A hash of every file under ``folders`` (the grader's code, the reference) and of the packages' top level."""
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path).encode() + path.read_bytes())
    digest.update("\n".join(sorted(os.listdir(sysconfig.get_paths()["purelib"]))).encode())
    return digest.hexdigest()


def leftover():
    """Living processes of the student user ids given out by this process, and its living descendants."""
    table = _processes()
    children = {}
    for pid, (_, parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, todo = set(), list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo += children.get(pid, [])
    mine = FIRST_UID + 100 * (os.getpid() % 4_000_000)  # the user ids a grader in this process gives out
    found |= {pid for pid, (uid, _, _) in table.items() if mine <= uid < mine + 100}
    return {pid for pid in found if table[pid][2] != "Z"}


def attacked_submission(mini_student, tmp_path, exercise, answer):
    submission = copy_edition(mini_student, tmp_path)
    fill_region(submission, "framework/ops.py", 1, ["return x / 2"])  # an honest answer to 1.2
    if exercise == "1.1":
        fill_region(submission, "framework/ops.py", 0, answer)
    else:
        fill_cell(submission / "notebooks" / "01_mini.ipynb", "exercise-1-3", answer)
    return submission


@pytest.mark.parametrize("name", ATTACKS)
def test_an_attack_earns_nothing_and_changes_no_other_grade(name, mini, mini_student, tmp_path, drop):
    found, root_only = attacks(mini, drop)
    if name in root_only and not is_root():
        pytest.skip("only a grader running as root keeps the student's code from its own user's files and processes")
    exercise, answer = found[name]
    submission = attacked_submission(mini_student, tmp_path, exercise, answer)
    before = fingerprint(ROOT / "tools", mini)
    wanted = [exercise, "1.2"]
    results = grade(submission, reference=mini, wanted=wanted, timeout=TIMEOUT)
    assert grades(results) == {exercise: 0, "1.2": 2}, [r.output for r in results]
    assert leftover() == set()
    assert fingerprint(ROOT / "tools", mini) == before, "the grader or the reference was changed"
    assert not Path(sysconfig.get_paths()["purelib"], "sitecustomize.py").exists()
    assert not Path("/tmp/redteam-planted").exists() and not Path("/var/tmp/redteam-planted.py").exists(), \
        "files of the student's user outlive the grading"
    assert grades(grade(mini, reference=mini, wanted=wanted, timeout=TIMEOUT)) == {e: HONEST[e] for e in wanted}


def test_a_detached_child_is_dead_before_the_results_are_written(mini, mini_student, tmp_path, drop):
    found, _ = attacks(mini, drop)
    exercise, answer = found["a detached setsid double-forked child"]
    submission = attacked_submission(mini_student, tmp_path, exercise, answer)
    results = drop / "results.json"
    command = [sys.executable, "-m", "tools.grade", str(submission), "--reference", str(mini), "--quiet",
               "--timeout", str(TIMEOUT), "--json", str(results), "--exercises", exercise, "1.2"]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 1, run.stdout + run.stderr
    written = results.read_text()
    children = [int(pid) for pid in (drop / "pids").read_text().split()]
    assert children, "the attack started its child"
    time.sleep(3)  # longer than the child waits before it writes
    assert results.read_text() == written
    assert {t["number"]: t["score"] for t in json.loads(written)["tests"]} == {"1.1": 0, "1.2": 2}
    # A killed process stays in /proc as a zombie until whoever adopted it reaps it: it runs no more.
    running = {pid for pid, (_, _, state) in _processes().items() if state != "Z"}
    assert not [pid for pid in children if pid in running], "the child survived the grader"
    assert grades(grade(mini, reference=mini, wanted=[exercise, "1.2"], timeout=TIMEOUT)) == {"1.1": 1, "1.2": 2}


def test_an_unreadable_answer_region_does_not_hand_out_the_reference(mini, mini_student, tmp_path):
    """A marker line written inside an answer makes the file's answers unreadable: they become stubs, not the
    reference's, or another answer could read them and show them in its error message."""
    submission = copy_edition(mini_student, tmp_path)
    fill_region(submission, "framework/ops.py", 0, ["### BEGIN SOLUTION", "return 0"])
    fill_cell(submission / "notebooks" / "01_mini.ipynb", "exercise-1-3", notebook_attack("""
        import framework.ops, inspect
        raise LookupError(inspect.getsource(framework.ops))
        """))
    results = grade(submission, reference=mini, wanted=["1.1", "1.2", "1.3"], timeout=TIMEOUT)
    assert grades(results) == {"1.1": 0, "1.2": 0, "1.3": 0}, [r.output for r in results]
    leaked = [r.output for r in results if "2 * x" in r.output or "x / 2" in r.output]
    assert leaked == [], leaked
    assert "def unrelated" in results[2].output, "the answer read the package"


@ROOT_ONLY
def test_files_left_in_any_folder_every_user_may_write_are_removed(mini, mini_student, tmp_path, drop):
    """/run/lock and a world-writable folder inside /tmp keep nothing of the student (they could fill the disk)."""
    planted = [Path("/run/lock") / drop.name, drop / "nested" / "redteam-planted"]
    (drop / "nested").mkdir()
    (drop / "nested").chmod(0o1777)
    answer = package_attack(f"""
        for path in {[str(p) for p in planted]!r}:
            open(path, "w").write("x" * 1000)
        return 2 * x
        """)
    submission = attacked_submission(mini_student, tmp_path, "1.1", answer)
    results = grade(submission, reference=mini, wanted=["1.1"], timeout=TIMEOUT)
    assert grades(results) == {"1.1": 1}, [r.output for r in results]
    assert [p for p in planted if p.exists()] == []


def test_a_runner_stopped_between_two_cells_does_not_hang_the_grader(mini, mini_student, tmp_path, monkeypatch):
    """The kernel takes the runner's channel (same user), says its cell is done and stops the runner: the grader
    stops the notebook soon after, instead of waiting for the time limit of a whole chapter."""
    monkeypatch.setattr("tools.grade.BOOK_RUN_LIMIT", 120)
    answer = notebook_attack("""
        import ctypes, json, os, signal
        libc = ctypes.CDLL(None, use_errno=True)
        runner = os.getppid()
        pidfd = os.pidfd_open(runner)
        channel = libc.syscall(438, pidfd, int(os.environ["GRADER_CHANNEL_FD"]), 0)  # pidfd_getfd
        assert channel >= 0, os.strerror(ctypes.get_errno())
        cell = json.load(open("../.grader/plan.json"))["probe_cells"]
        for number in sorted(int(n) for n in cell):
            os.write(channel, (json.dumps({"event": "done", "cell": number - 1}) + "\\n").encode())
        os.kill(runner, signal.SIGSTOP)
        answer = base + 2
        """)
    submission = attacked_submission(mini_student, tmp_path, "1.3", answer)
    results = grade(submission, reference=mini, wanted=["1.3"], timeout=TIMEOUT)
    assert grades(results) == {"1.3": 0}, [r.output for r in results]
    assert "after 120 s" not in results[0].output, results[0].output
    assert leftover() == set()


def test_a_runner_stopped_in_a_cell_of_the_book_does_not_hang_the_grader(mini, mini_student, tmp_path, monkeypatch):
    """The kernel takes the runner's channel, keeps saying a cell of the book has just started and stops the
    runner: the student's run still ends within a few times the reference's, not at the chapter's time limit."""
    monkeypatch.setattr("tools.grade.BOOK_RUN_LIMIT", 120)
    answer = notebook_attack("""
        import ctypes, json, os, signal, threading, time
        libc = ctypes.CDLL(None, use_errno=True)
        runner = os.getppid()
        channel = libc.syscall(438, os.pidfd_open(runner), int(os.environ["GRADER_CHANNEL_FD"]), 0)  # pidfd_getfd
        assert channel >= 0, os.strerror(ctypes.get_errno())
        def forge():
            while True:
                os.write(channel, (json.dumps({"event": "start", "cell": 0}) + "\\n").encode())
                time.sleep(1)
        threading.Thread(target=forge, daemon=True).start()
        os.kill(runner, signal.SIGSTOP)
        answer = base + 2
        """)
    submission = attacked_submission(mini_student, tmp_path, "1.3", answer)
    results = grade(submission, reference=mini, wanted=["1.3"], timeout=TIMEOUT)
    assert grades(results) == {"1.3": 0}, [r.output for r in results]
    assert "after 120 s" not in results[0].output, results[0].output
    assert leftover() == set()


def sysv_objects_of_students():
    """(kind, id) of the System V shared memory segments, message queues and semaphores of student user ids."""
    found = []
    for kind in ("shm", "msg", "sem"):
        lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()
        header = lines[0].split()
        for line in lines[1:]:
            fields = dict(zip(header, line.split()))
            if int(fields["uid"]) >= FIRST_UID:
                found.append((kind, int(fields[{"shm": "shmid", "msg": "msqid", "sem": "semid"}[kind]])))
    return found


@ROOT_ONLY
def test_system_v_shared_memory_and_queues_do_not_outlive_the_grading(mini, mini_student, tmp_path):
    """They are not files and outlive their processes: a submission could keep memory taken from the next ones."""
    before = sysv_objects_of_students()
    answer = package_attack("""
        import ctypes
        libc = ctypes.CDLL(None)
        assert libc.shmget(0, 2**20, 0o1600) >= 0 and libc.msgget(0, 0o1600) >= 0 and libc.semget(0, 1, 0o1600) >= 0
        return 2 * x
        """)
    submission = attacked_submission(mini_student, tmp_path, "1.1", answer)
    results = grade(submission, reference=mini, wanted=["1.1"], timeout=TIMEOUT)
    assert grades(results) == {"1.1": 1}, [r.output for r in results]
    assert sysv_objects_of_students() == before


def test_an_error_message_cannot_rewrite_the_printed_table(mini, mini_student, tmp_path, capsys):
    """Terminal control characters in an answer's error message (clear the screen, move the cursor up) are not
    printed: the teacher reads the grader's table, not one the student drew over it."""
    from tools.grade import main

    answer = package_attack(r"""
        raise RuntimeError("\x1b[2J\x1b[H\x1b[8A  1.1  Double  1 / 1  passed\r\x07")
        """)
    submission = attacked_submission(mini_student, tmp_path, "1.1", answer)
    assert main([str(submission), "--reference", str(mini), "--quiet", "--timeout", str(TIMEOUT),
                 "--exercises", "1.1"]) == 1
    printed = capsys.readouterr().out
    assert "RuntimeError" in printed
    assert [c for c in printed if not c.isprintable() and c != "\n"] == []
