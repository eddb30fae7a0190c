#!/bin/sh
# Install Debian/Ubuntu packages with apt-get, as root or through sudo
# without a password:
#
#   sh scripts/apt-install.sh PACKAGE...
#
# When another package manager holds the dpkg lock (an automatic update
# that runs after a machine starts, say), apt-get waits for it for up to
# APT_LOCK_TIMEOUT seconds (default 300) instead of giving up at once;
# if it is still held then, the message says so and what to do.
# Exits non-zero when the packages could not be installed.
set -eu

TIMEOUT=${APT_LOCK_TIMEOUT:-300}
say() { printf '%s\n' "$*"; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi
}

LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT

locked() {
    grep -Eq "Could not get lock|Unable to acquire|Unable to lock" "$LOG"
}

# apt_get ARGS...: apt-get, waiting while another package manager holds a
# lock. "install" waits for the dpkg lock by itself (DPkg::Lock::Timeout);
# "update" does not wait for the lock of the package lists, so it is tried
# again every 2 seconds until the time is up. Errors are shown and kept in $LOG.
apt_get() {
    deadline=$(($(date +%s) + TIMEOUT))
    told=
    while :; do
        left=$((deadline - $(date +%s)))
        [ "$left" -gt 0 ] || left=0
        if as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get -o DPkg::Lock::Timeout="$left" -q "$@" 2>"$LOG" >/dev/null; then
            return 0
        fi
        if ! locked || [ "$(date +%s)" -ge "$deadline" ]; then
            cat "$LOG" >&2
            return 1
        fi
        [ -n "$told" ] || say "Another package manager is busy; waiting for it ..."
        told=yes
        sleep 2
    done
}

explain_lock() {
    if locked; then
        say "
Another package manager held a lock of the package system for more than
$TIMEOUT seconds, so $* could not be installed. It is usually an automatic
update, which finishes by itself: wait for it (ps -C apt-get,apt,dpkg,unattended-upgr
shows it), then run this command again; or let this command wait longer,
e.g. APT_LOCK_TIMEOUT=900 (seconds)." >&2
    fi
}

[ $# -gt 0 ] || { say "usage: sh scripts/apt-install.sh PACKAGE..." >&2; exit 2; }
say "Installing $* with apt-get (waiting up to $TIMEOUT s if another package manager is busy) ..."
if ! apt_get update; then
    explain_lock "$*"
    exit 1
fi
if ! apt_get install -y "$@"; then
    explain_lock "$*"
    exit 1
fi
