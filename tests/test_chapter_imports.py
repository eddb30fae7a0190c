"""Each chapter builds only on itself and the chapters before it.

- A module of chapter k imports only framework modules of chapters <= k.
- The code of chapter k imports only framework modules of chapters <= k.

Which chapter introduces which module is written once, in
``tools.chapters.MODULE_CHAPTERS``. Imports anywhere in a file count,
including those inside functions.
"""

import ast
from pathlib import Path

import pytest

from tools.chapters import MODULE_CHAPTERS, ROOT, chapter_of_module, find_chapters

PACKAGE_DIR = ROOT / "framework"


def module_name(path):
    """'framework/autograd/ops.py' -> 'framework.autograd.ops'; a package's __init__ -> the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_framework_module(name):
    """Whether ``name`` is a module or package in framework/."""
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def framework_imports(tree, package=None):
    """The framework modules a syntax tree imports.

    ``package`` is the package that relative imports start from (None for
    code outside the package, such as a chapter's cells).
    """
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if package is None:
                    continue
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            found.add(module)
            # "from framework import nn" imports the module framework.nn.
            found.update(
                f"{module}.{alias.name}"
                for alias in node.names
                if is_framework_module(f"{module}.{alias.name}")
            )
    return {name for name in found if name == "framework" or name.startswith("framework.")}


def chapter_code(chapter):
    """The Python code of a chapter's code cells (IPython magics turned into calls)."""
    import jupytext
    from IPython.core.inputtransformer2 import TransformerManager

    notebook = jupytext.read(chapter.source, fmt="md:myst")
    transform = TransformerManager().transform_cell
    return [
        (index, transform(cell.source))
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
    ]


def late_imports(imported, chapter):
    """Sentences about imported modules that come after ``chapter`` or have no chapter."""
    problems = []
    for name in sorted(imported):
        introduced = chapter_of_module(name)
        if introduced is None:
            problems.append(f"{name} belongs to no chapter: add it to MODULE_CHAPTERS in tools/chapters.py")
        elif introduced > chapter:
            problems.append(f"{name} is introduced in chapter {introduced}")
    return problems


MODULE_FILES = sorted(PACKAGE_DIR.rglob("*.py"))
CHAPTERS = find_chapters()


def test_the_table_names_only_framework_modules():
    assert all(key.startswith("framework") for key in MODULE_CHAPTERS)


@pytest.mark.parametrize("path", MODULE_FILES, ids=[module_name(p) for p in MODULE_FILES])
def test_module_imports_only_modules_of_its_own_and_earlier_chapters(path):
    name = module_name(path)
    chapter = chapter_of_module(name)
    assert chapter is not None, f"{name} belongs to no chapter: add it to MODULE_CHAPTERS in tools/chapters.py"
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    problems = late_imports(framework_imports(tree, package), chapter)
    assert not problems, f"{name} (chapter {chapter}) imports later work:\n" + "\n".join(problems)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_chapter_imports_only_modules_of_its_own_and_earlier_chapters(chapter):
    problems = []
    for index, code in chapter_code(chapter):
        try:
            tree = ast.parse(code)
        except SyntaxError as error:
            problems.append(f"code cell {index} is not valid Python: {error}")
            continue
        problems += [f"code cell {index}: {p}" for p in late_imports(framework_imports(tree), chapter.number)]
    assert not problems, (
        f"chapters/{Path(chapter.source).name} (chapter {chapter.number}) uses later work:\n"
        + "\n".join(problems)
    )
