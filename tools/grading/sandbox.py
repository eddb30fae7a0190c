"""Run a student's code: as a user of its own when the grader is root, with limits, leaving nothing behind.

Every process the student's code starts is found again and killed before
its results are used: the grader becomes a *subreaper* (Linux), so that a
child that detaches itself (``setsid``, a double fork) is re-parented to the
grader instead of to ``init``; as root, the student's code runs under a user
id no other process has, and every process of that user id is killed.

The process reports over a pipe the grader made (its file descriptor number
is in ``GRADER_CHANNEL_FD``); the grader keeps what arrives and uses it only
once the process and all its descendants are dead.
"""

import ctypes
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
IPC_RMID = 0
FIRST_UID = 2_000_000_000  # student user ids: FIRST_UID + 100 * (grader pid) + n, unused by anyone else
FILE_SIZE_LIMIT = 64 * 2**20  # bytes a student process may write to one file
MEMORY_LIMIT = 8 * 2**30  # bytes of address space of each student process (so that it cannot starve the grader)
PROCESS_LIMIT = 256  # processes and threads of the student's user id (as root)
CHANNEL_LIMIT = 16 * 2**20  # bytes of a report read (the rest is dropped)
SHARED_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock")  # every user may write there


def is_root():
    return hasattr(os, "geteuid") and os.geteuid() == 0


def become_subreaper():
    """Make orphaned descendants children of this process (Linux); False where that is not possible."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def limitation():
    """A sentence on what the sandbox cannot do here, or ''."""
    if is_root():
        return ""
    return ("the grader is not running as root, so it cannot drop privileges: the student's code runs as the "
            "grader's own user and can read and change whatever that user can, the reference answers included. "
            "Grade as root (as on Gradescope, or in a container) for grades you can trust.")


def reachable(path):
    """Whether every user may run ``path`` (it and every folder above it allow others to enter)."""
    path = Path(os.path.realpath(path))
    if not path.exists() or not path.stat().st_mode & stat.S_IXOTH:
        return False
    return all(folder.stat().st_mode & stat.S_IXOTH for folder in path.parents)


def _limit_child():
    """In the child, before exec: bounded files and memory, no core dumps, no setuid gain, few processes."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    if os.getuid() >= FIRST_UID:
        resource.setrlimit(resource.RLIMIT_NPROC, (PROCESS_LIMIT, PROCESS_LIMIT))
    try:
        ctypes.CDLL(None).prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _processes():
    """{pid: (real uid, parent pid, state)} of every process, read from /proc."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            fields = dict(line.split(":", 1) for line in Path(f"/proc/{name}/status").read_text().splitlines()
                          if ":" in line)
            found[int(name)] = (int(fields["Uid"].split()[0]), int(fields["PPid"]), fields["State"].split()[0])
        except (OSError, KeyError, ValueError):
            continue  # gone meanwhile
    return found


@dataclass
class Finished:
    """How a student process ended: its exit status (negative: a signal), or why the grader stopped it."""

    status: object
    stopped: str
    seconds: float


class Sandbox:
    """Runs commands as the student; ``uid`` is the student's user id (the grader's own when not root)."""

    def __init__(self):
        self.root = is_root()
        become_subreaper()
        self.uid = self._free_uid() if self.root else os.getuid()
        self.gid = self.uid if self.root else os.getgid()

    @staticmethod
    def _free_uid():
        import pwd

        taken = {uid for uid, _, _ in _processes().values()}
        for n in range(100):
            uid = FIRST_UID + 100 * (os.getpid() % 4_000_000) + n
            try:
                pwd.getpwuid(uid)
            except KeyError:
                if uid not in taken:
                    return uid
        raise RuntimeError("no free user id for the student's code")

    def python(self, trusted=False):
        """(interpreter, folders of packages to add to its path) that the student's user can run.

        That is the grader's own Python, unless it sits where other users
        cannot reach it (a Python installed in /root): then the system's
        Python of the same version, with the grader's installed packages.
        """
        if trusted or not self.root or reachable(sys.executable):
            return sys.executable, []
        import sysconfig

        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        for folder in ("/usr/local/bin", "/usr/bin", "/bin"):
            if reachable(Path(folder) / version):
                paths = sysconfig.get_paths()
                return str(Path(folder) / version), sorted({paths["purelib"], paths["platlib"]})
        raise RuntimeError(f"the student's user cannot run {sys.executable}, and there is no {version} it can run: "
                           "install Python where every user can run it")

    def give(self, folder):
        """Hand ``folder`` (and everything in it) to the student's user."""
        if not self.root:
            return
        for path in [Path(folder), *Path(folder).rglob("*")]:
            os.lchown(path, self.uid, self.gid)

    def run(self, command, cwd, env, timeout, on_line, should_stop=None, trusted=False):
        """Run ``command`` as the student (unless ``trusted``); stop it after ``timeout`` s or when ``should_stop()``.

        ``on_line`` gets each line of the report as it arrives; the run
        returns once every process the command started is dead. What the
        command prints is not kept: the student sees only the grader's words.
        """
        read_end, write_end = os.pipe()
        identity = {"user": self.uid, "group": self.gid, "extra_groups": []} if self.root and not trusted else {}
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=cwd, env={**env, "GRADER_CHANNEL_FD": str(write_end)},
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   pass_fds=(write_end,), start_new_session=True, preexec_fn=_limit_child,
                                   umask=0o077, **identity)
        os.close(write_end)
        reader = threading.Thread(target=_read, args=(read_end, on_line), daemon=True)
        reader.start()
        stopped = ""
        while process.poll() is None and not stopped:
            if time.monotonic() - started > timeout:
                stopped = f"still running after {timeout:g} s"
            elif should_stop is not None:
                stopped = should_stop()
            time.sleep(0.05)
        self.kill_all()
        status = process.wait()
        reader.join()  # returns once every holder of the pipe's write end is dead
        return Finished(None if stopped else status, stopped, time.monotonic() - started)

    def kill_all(self):
        """Kill every process of the student, detached ones included, and reap them."""
        for _ in range(200):
            alive = self._student_processes()
            if not alive:
                return
            if self.root:
                self._kill_as_student()
            for pid in alive:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            self._reap()
            time.sleep(0.02)
        raise RuntimeError(f"processes of the student's code survive: {sorted(self._student_processes())}")

    def remove_files(self):
        """As root: remove what the student's user left in the folders every user may write to.

        (It owns nothing else.) Those are the shared temporary folders and
        any folder inside them that others may write to.
        """
        for folder in SHARED_FOLDERS if self.root else ():
            self._remove_from(Path(folder))
        if self.root:
            self._remove_system_v_objects()

    def _remove_system_v_objects(self):
        """Remove the student's System V shared memory, message queues and semaphores (they outlive processes)."""
        libc = ctypes.CDLL(None, use_errno=True)
        remove = {"shm": lambda number: libc.shmctl(number, IPC_RMID, None),
                  "msg": lambda number: libc.msgctl(number, IPC_RMID, None),
                  "sem": lambda number: libc.semctl(number, 0, IPC_RMID)}
        for kind, remove_one in remove.items():
            try:
                header, *rows = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()
            except (OSError, ValueError):
                continue
            for row in rows:
                fields = dict(zip(header.split(), row.split()))
                if int(fields["uid"]) == self.uid:
                    remove_one(int(row.split()[1]))  # the second column: shmid, msqid or semid

    def _remove_from(self, folder):
        for entry in folder.iterdir() if folder.is_dir() and not folder.is_symlink() else ():
            try:
                status = entry.lstat()
                if status.st_uid == self.uid:
                    shutil.rmtree(entry) if stat.S_ISDIR(status.st_mode) else entry.unlink()
                elif stat.S_ISDIR(status.st_mode) and status.st_mode & stat.S_IWOTH:
                    self._remove_from(entry)
            except OSError:
                pass

    def _student_processes(self):
        """The student's user's processes (as root), and every descendant of the grader."""
        table = _processes()
        found = {pid for pid, (uid, _, _) in table.items() if self.root and uid == self.uid}
        children = {}
        for pid, (_, parent, _) in table.items():
            children.setdefault(parent, []).append(pid)
        todo = list(children.get(os.getpid(), []))
        while todo:
            pid = todo.pop()
            found.add(pid)
            todo += children.get(pid, [])
        return {pid for pid in found if table.get(pid, (0, 0, "Z"))[2] != "Z"}

    def _kill_as_student(self):
        """kill(-1) as the student's user: one signal to every process of that user at once (a fork bomb too)."""
        pid = os.fork()
        if pid == 0:
            try:
                os.setgroups([])
                os.setgid(self.gid)
                os.setuid(self.uid)
                os.kill(-1, signal.SIGKILL)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)

    def _reap(self):
        """Collect the exit status of dead children (orphans re-parented to the grader among them)."""
        for pid, (_, parent, state) in _processes().items():
            if parent == os.getpid() and state == "Z":
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass


def _read(fd, on_line):
    """Hand each line arriving on ``fd`` to ``on_line``, up to CHANNEL_LIMIT bytes."""
    kept, pending = 0, b""
    with open(fd, "rb", buffering=0) as pipe:
        while data := pipe.read(65536):
            if kept < CHANNEL_LIMIT:
                kept += len(data)
                *lines, pending = (pending + data).split(b"\n")
                for line in lines:
                    on_line(line)


def environment(workspace, python, packages=(), settings=None):
    """The student's environment: nothing of the grader's, paths inside the workspace, fixed seeds, one thread."""
    workspace = str(workspace)
    env = {
        "PATH": os.pathsep.join([str(Path(python).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": workspace, "USER": "student", "LOGNAME": "student", "LANG": "C.UTF-8",
        "TMPDIR": os.path.join(workspace, ".tmp"),
        "PYTHONPATH": os.pathsep.join([workspace, os.path.join(workspace, ".grader"), *packages]),
        "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
        "IPYTHONDIR": os.path.join(workspace, ".ipython"), "MPLCONFIGDIR": os.path.join(workspace, ".matplotlib"),
        "JUPYTER_CONFIG_DIR": os.path.join(workspace, ".jupyter"),
        "JUPYTER_DATA_DIR": os.path.join(workspace, ".jupyter-data"),
        "JUPYTER_RUNTIME_DIR": os.path.join(workspace, ".jupyter-runtime"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    }
    return {**env, **(settings or {})}
