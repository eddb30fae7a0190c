"""Checks that the stored notebooks are faithful, executed copies of the chapters.

Each function returns a list of problems, one readable sentence each; an
empty list means the check passed. ``tests/test_notebooks.py`` turns them
into tests and ``python -m tools.build check`` prints them.
"""

import ast
import difflib
import re
from pathlib import Path

from tools.chapters import CHAPTERS_DIR, NOTEBOOKS_DIR, find_chapters, misnamed_chapter_files

# At most this many cells per chapter may be left out of output comparison
# (tags nbval-ignore-output or nbval-skip): only cells whose output cannot be
# the same twice, such as timings and progress bars.
MAX_EXCLUDED_CELLS = 3

# nbval reads a cell's behaviour from tags and from marker comments.
TAG_MARKERS = {
    "nbval-ignore-output": "ignore-output",
    "nbval-skip": "skip",
    "raises-exception": "raises-exception",
    "nbval-raises-exception": "raises-exception",
}
COMMENT_MARKERS = {
    "NBVAL_IGNORE_OUTPUT": "ignore-output",
    "PYTEST_VALIDATE_IGNORE_OUTPUT": "ignore-output",
    "NBVAL_SKIP": "skip",
    "NBVAL_RAISES_EXCEPTION": "raises-exception",
}
# A skipped cell or one that raises on purpose says why, in a comment line
# "# nbval-skip: <reason>" or "# raises-exception: <reason>".
REASON_LINE = {
    "skip": re.compile(r"^\s*#\s*nbval-skip:\s*\S", re.MULTILINE),
    "raises-exception": re.compile(r"^\s*#\s*raises-exception:\s*\S", re.MULTILINE),
}
MEMORY_ADDRESS = re.compile(r"\bat 0x[0-9a-fA-F]{6,}")
FIX = "regenerate it with `./run notebooks {number:02d}`"


def read_notebook(path):
    import nbformat

    return nbformat.read(Path(path), as_version=4)


def markers(cell):
    """nbval behaviours of a code cell: 'ignore-output', 'skip', 'raises-exception'."""
    found = {TAG_MARKERS[tag] for tag in cell.get("metadata", {}).get("tags", []) if tag in TAG_MARKERS}
    for line in cell.get("source", "").splitlines():
        comment = line.strip()
        if comment.startswith("#"):
            name = comment.lstrip("#").strip()
            if name in COMMENT_MARKERS:
                found.add(COMMENT_MARKERS[name])
    return found


def code_cells(notebook):
    return [(index, cell) for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"]


def pairing_problems(chapters_dir=CHAPTERS_DIR, notebooks_dir=NOTEBOOKS_DIR):
    """Every chapter has a notebook, every notebook a chapter, names are well formed."""
    chapters_dir, notebooks_dir = Path(chapters_dir), Path(notebooks_dir)
    chapters = find_chapters(chapters_dir)
    problems = [
        f"{path.name}: chapter files are named NN_slug.md (two digits, lowercase words joined by _)"
        for path in misnamed_chapter_files(chapters_dir)
    ]
    numbers = {}
    for chapter in chapters:
        numbers.setdefault(chapter.number, []).append(chapter.source.name)
    problems += [
        f"chapters {', '.join(names)} share the number {number:02d}"
        for number, names in numbers.items()
        if len(names) > 1
    ]
    for chapter in chapters:
        if not (notebooks_dir / chapter.notebook_name).exists():
            problems.append(
                f"chapters/{chapter.source.name} has no notebook notebooks/{chapter.notebook_name}; "
                + FIX.format(number=chapter.number)
            )
    stems = {chapter.stem for chapter in chapters}
    for path in sorted(notebooks_dir.glob("*.ipynb")):
        if path.stem not in stems:
            problems.append(
                f"notebooks/{path.name} has no chapter chapters/{path.stem}.md; "
                "every notebook is generated from a chapter (delete it or add the chapter)"
            )
    return problems


def content_problems(chapter, stored):
    """The stored notebook's cells (sources, tags, ids) and metadata equal the chapter's."""
    from tools.build import chapter_notebook, stable_metadata

    expected = chapter_notebook(chapter)
    name = f"notebooks/{chapter.notebook_name}"
    fix = FIX.format(number=chapter.number)
    problems = []
    if stable_metadata(stored.metadata) != stored.metadata:
        extra = sorted(set(stored.metadata) - {"kernelspec", "language_info"})
        problems.append(f"{name}: notebook metadata holds run-dependent entries {extra or ['version']}; {fix}")
    if stored.metadata.get("kernelspec") != expected.metadata.get("kernelspec"):
        problems.append(f"{name}: kernelspec differs from the chapter's; {fix}")
    if len(stored.cells) != len(expected.cells):
        problems.append(
            f"{name} has {len(stored.cells)} cells, chapters/{chapter.source.name} has "
            f"{len(expected.cells)}; {fix}"
        )
    for index, (want, have) in enumerate(zip(expected.cells, stored.cells)):
        where = f"{name}, cell {index}"
        if want.cell_type != have.cell_type:
            problems.append(f"{where} is {have.cell_type}, the chapter has {want.cell_type}; {fix}")
            continue
        if want.source != have.source:
            diff = "\n".join(
                list(
                    difflib.unified_diff(
                        want.source.splitlines(), have.source.splitlines(),
                        "chapter", "notebook", lineterm="", n=1,
                    )
                )[:12]
            )
            problems.append(f"{where} ({have.cell_type}) differs from the chapter; {fix}\n{diff}")
        elif dict(want.metadata) != dict(have.metadata):
            problems.append(
                f"{where}: metadata {dict(have.metadata)} differs from the chapter's "
                f"{dict(want.metadata)}; {fix}"
            )
        elif want.get("id") != have.get("id"):
            problems.append(f"{where}: cell id {have.get('id')!r} is not the generated one; {fix}")
    return problems


def execution_problems(chapter, stored):
    """Every code cell was executed, in order, in one run from the top."""
    name = f"notebooks/{chapter.notebook_name}"
    fix = FIX.format(number=chapter.number)
    problems = []
    count = 0
    for index, cell in code_cells(stored):
        if not cell.source.strip():
            problems.append(f"{name}, cell {index}: empty code cell (remove it from the chapter)")
            continue
        count += 1
        if cell.execution_count is None:
            problems.append(f"{name}, cell {index} was stored unexecuted; {fix}")
        elif cell.execution_count != count:
            problems.append(
                f"{name}, cell {index} has execution count {cell.execution_count}, expected "
                f"{count}: the notebook was not executed top to bottom in one run; {fix}"
            )
    return problems


def output_problems(chapter, stored):
    """No errors except where expected, no warnings on stderr, no memory addresses."""
    name = f"notebooks/{chapter.notebook_name}"
    problems = []
    for index, cell in code_cells(stored):
        behaviour = markers(cell)
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "error" and "raises-exception" not in behaviour:
                problems.append(
                    f"{name}, cell {index} raised {output.get('ename')}: {output.get('evalue')}"
                )
            if kind == "stream" and output.get("name") == "stderr" and "ignore-output" not in behaviour:
                first = (output.get("text", "").strip().splitlines() or [""])[0]
                problems.append(f"{name}, cell {index} wrote to stderr (a warning?): {first}")
            for text in output_texts(output):
                if MEMORY_ADDRESS.search(text):
                    problems.append(
                        f"{name}, cell {index} prints a memory address ({MEMORY_ADDRESS.search(text)[0]}),"
                        " which differs between runs; print something deterministic"
                        " (end plotting cells with plt.show())"
                    )
    return problems


def output_texts(output):
    if output.get("output_type") == "stream":
        yield output.get("text", "")
    for mime, value in output.get("data", {}).items():
        if mime.startswith("text/"):
            yield value if isinstance(value, str) else "".join(value)


def exclusion_problems(chapter, stored):
    """Few cells escape output comparison, each for a stated reason.

    - cells tagged nbval-ignore-output or nbval-skip: at most MAX_EXCLUDED_CELLS;
    - a nbval-ignore-output cell asserts its claim in code;
    - a nbval-skip or raises-exception cell says why in a comment line
      ``# nbval-skip: <reason>`` / ``# raises-exception: <reason>``.
    """
    name = f"notebooks/{chapter.notebook_name}"
    problems = []
    excluded = []
    for index, cell in code_cells(stored):
        behaviour = markers(cell)
        if behaviour & {"ignore-output", "skip"}:
            excluded.append(index)
        if "ignore-output" in behaviour and "skip" not in behaviour and not has_assert(cell.source):
            problems.append(
                f"{name}, cell {index} ignores its output but asserts nothing: "
                "a cell whose output is not compared checks its claim with assert"
            )
        for marker, reason in REASON_LINE.items():
            if marker in behaviour and not reason.search(cell.source):
                tag = "nbval-skip" if marker == "skip" else marker
                problems.append(
                    f"{name}, cell {index} is marked {tag} without a reason; "
                    f"add a comment line '# {tag}: <why>'"
                )
    if len(excluded) > MAX_EXCLUDED_CELLS:
        problems.append(
            f"{name}: {len(excluded)} cells are excluded from output comparison (cells {excluded}), "
            f"at most {MAX_EXCLUDED_CELLS} are allowed; make their output deterministic"
        )
    return problems


def has_assert(source):
    """Whether the cell's code contains an assert statement."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        tree = ast.parse(TransformerManager().transform_cell(source))
    except (ImportError, SyntaxError):
        return re.search(r"^\s*assert\b", source, re.MULTILINE) is not None
    return any(isinstance(node, ast.Assert) for node in ast.walk(tree))


NOTEBOOK_CHECKS = (content_problems, execution_problems, output_problems, exclusion_problems)


def all_problems(chapters_dir=CHAPTERS_DIR, notebooks_dir=NOTEBOOKS_DIR):
    """Every problem of every chapter's stored notebook."""
    problems = pairing_problems(chapters_dir, notebooks_dir)
    for chapter in find_chapters(chapters_dir):
        path = Path(notebooks_dir) / chapter.notebook_name
        if path.exists():
            stored = read_notebook(path)
            for check in NOTEBOOK_CHECKS:
                problems += check(chapter, stored)
    return problems
