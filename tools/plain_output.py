"""A pytest plugin: no colour codes in output that does not go to a terminal.

pytest itself colours only a terminal (or when ``--color=yes``,
``PY_COLORS=1`` or ``FORCE_COLOR`` ask for it, and never with
``NO_COLOR``). The notebook validator colours its reports whatever the
output, and a notebook cell's traceback comes from the kernel with IPython's
colours. So when pytest does not colour, this plugin tells the validator
not to either, and removes the escape codes from the failure reports.
"""

import re

import pytest

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def strip_colour(text):
    """``text`` without ANSI escape sequences (colours, cursor moves)."""
    return ANSI_ESCAPE.sub("", text)


def colouring(config):
    return config.get_terminal_writer().hasmarkup


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    if not colouring(config):
        config.option.color = "no"  # read by the notebook validator (nbval)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if isinstance(report.longrepr, str) and not colouring(item.config):
        report.longrepr = strip_colour(report.longrepr)
