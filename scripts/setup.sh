#!/bin/sh
# Set up what the book needs; a later run only checks and returns quickly.
#
#   1. Python 3.10 or newer, with its venv module (on Debian and Ubuntu the
#      python3-venv package; installed with apt-get when possible);
#   2. the graphviz dot program (installed with apt-get or Homebrew when
#      possible; otherwise a message says how, and the set-up stops);
#   3. the virtual environment .venv;
#   4. the package, editable, with its dependencies and the dev extra
#      (installed again whenever pyproject.toml or this script changes), and
#      the book's fixed settings in the Jupyter kernel of .venv (the same
#      arithmetic on every processor: tools.chapters.pin_jupyter_kernel).
#
# "When possible" means: as root, through sudo without a password prompt, or
# (for Homebrew) as the user. apt-get waits for the dpkg lock when another
# package manager holds it (scripts/apt-install.sh). Set PYTHON=/path/to/python3.x to choose the
# interpreter that creates .venv.
set -eu

cd "$(dirname "$0")/.."
VENV=.venv
STAMP=$VENV/.installed

say() { printf '%s\n' "$*"; }
fail() { printf '\n%s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

# Whether we may install system packages: as root, or with sudo that does not ask.
can_be_root() {
    [ "$(id -u)" = 0 ] || { have sudo && sudo -n true 2>/dev/null; }
}


# Whether apt-get is there and we may use it.
may_apt_install() {
    have apt-get && can_be_root
}

# apt_install PACKAGE...: install with apt-get (check may_apt_install first),
# waiting for the dpkg lock when another package manager holds it.
apt_install() {
    sh scripts/apt-install.sh "$@"
}

python_is_recent() {
    "$1" -c 'import sys; sys.exit(sys.version_info < (3, 10))' >/dev/null 2>&1
}

find_python() {
    if [ -n "${PYTHON:-}" ]; then
        python_is_recent "$PYTHON" && { say "$PYTHON"; return 0; }
        fail "PYTHON=$PYTHON is not Python 3.10 or newer."
    fi
    for candidate in python3 python3.14 python3.13 python3.12 python3.11 python3.10 python; do
        if have "$candidate" && python_is_recent "$candidate"; then
            say "$candidate"
            return 0
        fi
    done
    fail "The book needs Python 3.10 or newer, and none was found.
Install it (Debian/Ubuntu: sudo apt-get install python3 python3-venv), or name
one with PYTHON=/path/to/python3.x, then run this command again."
}

venv_works() {
    [ -x "$VENV/bin/python" ] && python_is_recent "$VENV/bin/python" &&
        "$VENV/bin/python" -m pip --version >/dev/null 2>&1
}

# 1. Python with a complete venv module (only needed to create .venv).
if ! venv_works; then
    PY=$(find_python) || exit 1
    VERSION=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    if ! "$PY" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        say "Python $VERSION cannot create virtual environments: its venv module is incomplete."
        if may_apt_install; then
            apt_install "python$VERSION-venv" || apt_install python3-venv || true
            WHY="Installing python3-venv with apt-get did not help (see the messages above)."
        else
            WHY="It cannot be installed from here: that needs root or sudo without a password."
        fi
        "$PY" -c 'import ensurepip, venv' >/dev/null 2>&1 || fail "Python $VERSION ($PY) lacks a complete venv module, so .venv cannot be created.
$WHY
Install it, then run this command again:
    Debian/Ubuntu:  sudo apt-get install python3-venv
                    (or python$VERSION-venv, for this Python $VERSION)
Or choose another Python 3.10+ with PYTHON=/path/to/python3.x."
    fi
fi

# 2. The graphviz dot program.
if ! have dot; then
    say "The graphviz dot program, which draws the book's graphs, is not installed."
    if may_apt_install; then
        apt_install graphviz || true
        WHY="Installing it with apt-get did not work (see the messages above)."
    elif have brew && [ "$(id -u)" != 0 ]; then
        say "Installing graphviz with Homebrew ..."
        brew install graphviz || true
        WHY="Installing it with Homebrew did not work (see the messages above)."
    else
        WHY="It cannot be installed from here: that needs root, sudo without a password, or Homebrew."
    fi
    have dot || fail "The book needs the graphviz dot program, which is missing.
$WHY
Install it with the command for your system, then run this command again:
    Debian/Ubuntu:  sudo apt-get install graphviz
    macOS:          brew install graphviz
    conda:          conda install -c conda-forge graphviz"
    say "Installed $(dot -V 2>&1)."
fi

# 3. The virtual environment.
if ! venv_works; then
    say "Creating the virtual environment $VENV with $PY (Python $VERSION) ..."
    "$PY" -m venv --clear "$VENV" || fail "Could not create $VENV with $PY (see the message above)."
    rm -f "$STAMP"
fi

# 4. The package and its dependencies, again whenever pyproject.toml or this
#    script changes (or the repository moved, as the editable install points at it).
WANT="$("$VENV/bin/python" -c 'import hashlib; print(*(hashlib.sha256(open(f, "rb").read()).hexdigest()[:16] for f in ("pyproject.toml", "scripts/setup.sh")))') $(pwd -P)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    say "Installing the package and its dependencies into $VENV (the first time takes about 3 minutes on 2 cores) ..."
    "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet -e ".[dev]" ||
        fail "pip could not install the dependencies (see the messages above).
Check the network connection, then run this command again."
    env -u OPENBLAS_CORETYPE -u NPY_DISABLE_CPU_FEATURES "$VENV/bin/python" -c \
        "from tools.chapters import pin_jupyter_kernel; pin_jupyter_kernel()" ||
        fail "Could not write the settings of the Jupyter kernel (see the message above)."
    printf '%s\n' "$WANT" >"$STAMP"
    say "Set-up complete: $VENV has the package and its dependencies."
fi
