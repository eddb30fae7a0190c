"""environment.yml (conda) and pyproject.toml (pip) name the same dependencies.

Compared: the package's dependencies plus its ``dev`` extra, by name and
version specification. Conda spells some names differently; the table below
translates them. Environment markers (``; python_version < '3.11'``) cannot
be written in environment.yml, so such a dependency is listed there
unconditionally.
"""

import re
import sys

from tools.chapters import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

# conda-forge name -> the name pip knows the same package by
CONDA_TO_PIP = {
    "python-graphviz": "graphviz",
    "matplotlib-base": "matplotlib",
}
# conda packages with no pip dependency counterpart
CONDA_ONLY = {
    "python": "the interpreter (requires-python in pyproject.toml)",
    "pip": "installs the package itself",
    "graphviz": "the dot program (pip cannot install it)",
}

REQUIREMENT = re.compile(r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?P<spec>[^;]*?)\s*(?:;.*)?$")


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def parse(requirement):
    """'numpy >= 1.26 ; marker' -> ('numpy', '>=1.26')."""
    match = REQUIREMENT.match(requirement)
    assert match, f"cannot read the requirement {requirement!r}"
    return normalize(match["name"]), match["spec"].replace(" ", "")


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def pip_dependencies():
    project = pyproject()["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["dev"]
    return dict(parse(requirement) for requirement in requirements)


def environment_lists(text):
    """The conda dependencies and the pip dependencies listed in environment.yml.

    Reads the small part of YAML the file uses: a top-level ``dependencies:``
    list of strings, one of which may be a ``pip:`` list.
    """
    conda, pip = [], []
    in_dependencies = in_pip = False
    item_indent = None
    for line in text.splitlines():
        content = re.sub(r"(^|\s)#.*$", "", line).rstrip()
        if not content.strip():
            continue
        indent = len(content) - len(content.lstrip())
        if indent == 0:
            in_dependencies = content.startswith("dependencies:")
            continue
        if not in_dependencies:
            continue
        entry = content.strip()
        assert entry.startswith("- "), f"environment.yml: expected a list item, got {line!r}"
        value = entry[2:].strip()
        if item_indent is None:
            item_indent = indent
        if indent == item_indent:
            in_pip = value == "pip:"
            if not in_pip:
                conda.append(value)
        elif in_pip:
            pip.append(value)
    return conda, pip


def conda_dependencies():
    """environment.yml's dependencies: conda's, and those its pip list installs (not on conda-forge)."""
    conda, pip = environment_lists((ROOT / "environment.yml").read_text(encoding="utf-8"))
    from_pip = [requirement for requirement in pip if not requirement.startswith("-")]
    return dict(parse(requirement) for requirement in conda + from_pip)


def test_environment_and_pyproject_list_the_same_dependencies():
    pip = pip_dependencies()
    conda = {
        CONDA_TO_PIP.get(name, name): spec
        for name, spec in conda_dependencies().items()
        if name not in CONDA_ONLY
    }
    only_pip = sorted(set(pip) - set(conda))
    only_conda = sorted(set(conda) - set(pip))
    differ = sorted(f"{n}: pyproject {pip[n]!r}, environment {conda[n]!r}" for n in set(pip) & set(conda) if pip[n] != conda[n])
    assert not (only_pip or only_conda or differ), (
        f"only in pyproject.toml: {only_pip}\nonly in environment.yml: {only_conda}\n"
        f"different versions: {differ}\n(conda names are translated with CONDA_TO_PIP)"
    )


def test_environment_has_the_dot_program_and_the_python_version():
    conda = conda_dependencies()
    assert "graphviz" in conda, "environment.yml must list graphviz (the dot program)"
    assert conda.get("python") == pyproject()["project"]["requires-python"], (
        "environment.yml's python version must equal requires-python in pyproject.toml"
    )


def test_environment_installs_the_package_itself():
    _, pip = environment_lists((ROOT / "environment.yml").read_text(encoding="utf-8"))
    assert "-e ." in pip, "environment.yml must install the package with pip: '- -e .'"


def test_the_reader_of_environment_yml():
    text = "name: x\ndependencies:\n  - python>=3.10  # comment\n  - pip\n  - pip:\n      - -e .\n  - numpy\nother: 1\n"
    assert environment_lists(text) == (["python>=3.10", "pip", "numpy"], ["-e ."])
