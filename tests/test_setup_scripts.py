"""The set-up scripts: apt-get waits for a busy package manager, then explains.

A fake ``apt-get`` (and ``sudo``) first on PATH plays another package
manager holding the lock for its first few calls; it records every call.
"""

import os
import subprocess

import pytest

from tools.chapters import ROOT

FAKE_APT_GET = """#!/bin/sh
# Fails with apt's lock message for the first $LOCKED_CALLS calls.
echo "$*" >> "$FAKE_DIR/calls"
count=$(wc -l < "$FAKE_DIR/calls")
if [ "$count" -le "${LOCKED_CALLS:-0}" ]; then
    echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (unattended-upgr)" >&2
    echo "E: Unable to lock directory /var/lib/apt/lists/" >&2
    exit 100
fi
case "$*" in *nosuchpackage*)
    echo "E: Unable to locate package nosuchpackage" >&2; exit 100;;
esac
exit 0
"""

FAKE_SUDO = """#!/bin/sh
[ "$1" = -n ] && shift
exec "$@"
"""


@pytest.fixture
def fake_apt(tmp_path):
    for name, text in (("apt-get", FAKE_APT_GET), ("sudo", FAKE_SUDO)):
        path = tmp_path / name
        path.write_text(text)
        path.chmod(0o755)
    return tmp_path


def apt_install(fake_dir, *packages, locked_calls=0, timeout=30):
    env = dict(os.environ, PATH=f"{fake_dir}{os.pathsep}{os.environ['PATH']}",
               FAKE_DIR=str(fake_dir), LOCKED_CALLS=str(locked_calls),
               APT_LOCK_TIMEOUT=str(timeout))
    finished = subprocess.run(["sh", "scripts/apt-install.sh", *packages], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
    calls = (fake_dir / "calls").read_text().splitlines() if (fake_dir / "calls").exists() else []
    return finished, calls


def test_apt_get_waits_for_the_lock_and_then_installs(fake_apt):
    finished, calls = apt_install(fake_apt, "graphviz", locked_calls=2)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.count("Another package manager is busy; waiting for it") == 1
    assert [call.split()[-1] for call in calls] == ["update", "update", "update", "graphviz"]
    install = calls[-1].split()
    assert install[:2] == ["-o", install[1]] and install[1].startswith("DPkg::Lock::Timeout=")
    assert 0 < int(install[1].split("=")[1]) <= 30  # what is left of the 30 s
    assert install[-3:] == ["install", "-y", "graphviz"]


def test_a_lock_held_too_long_is_explained(fake_apt):
    finished, calls = apt_install(fake_apt, "graphviz", locked_calls=1000, timeout=3)
    assert finished.returncode == 1
    assert len(calls) >= 2 and all(call.endswith("update") for call in calls)  # tried again
    assert "held by process 4242 (unattended-upgr)" in finished.stderr  # apt's own words
    assert "Another package manager held a lock of the package system for more than\n3 seconds" in finished.stderr
    assert "graphviz could not be installed" in finished.stderr
    assert "APT_LOCK_TIMEOUT=900" in finished.stderr


def test_other_failures_are_not_retried_nor_blamed_on_a_lock(fake_apt):
    finished, calls = apt_install(fake_apt, "nosuchpackage")
    assert finished.returncode == 1
    assert len(calls) == 2  # update, then one install
    assert "Unable to locate package nosuchpackage" in finished.stderr
    assert "Another package manager" not in finished.stderr + finished.stdout


def test_the_set_up_installs_system_packages_through_the_waiting_script():
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert "sh scripts/apt-install.sh" in setup
    assert "apt-get install" not in setup.replace("sudo apt-get install", "")  # only in advice


def tracked_text_files():
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    for name in listed.stdout.decode().split("\0"):
        path = ROOT / name
        if name and path.is_file():
            try:
                yield name, path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue


def test_no_file_names_the_folder_of_one_machine():
    # The shared data is found relative to the repository, never at a fixed place.
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    machine_folder = "/" + "work" + "/"  # spelled apart, so that this file does not name it
    found = [name for name, text in tracked_text_files() if machine_folder in text]
    assert found == []


def test_ci_sets_up_and_runs_the_readmes_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "./run test    # runs every test" in readme
    assert ci.rstrip().endswith('sh ./run test "$@"')
    assert ci.index("sh scripts/setup.sh") < ci.index("torch==2.13.0") < ci.index("sh ./run test")
