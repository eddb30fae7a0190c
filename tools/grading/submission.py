"""The submission's answers: the bodies of its solution regions and its answer cells, nothing else.

A submission may be a copy of the repository or a folder of loose files
(``ops.py``, ``04_backpropagation.ipynb``): each file is looked up by its
path, else by its name.
"""

import ast
import os
from pathlib import Path

from tools.exercises import (
    SKIPPED_DIRS,
    TableError,
    enclosing_names,
    exercise_sections,
    find_regions,
    read_chapter,
    region_body,
    regions_of_file,
    replace_regions,
)


def locate(submission, relative):
    """The submission's file at ``relative``, or the only file of that name anywhere in it.

    (A student may upload loose files instead of the repository.) Hidden
    folders, virtual environments and caches are not searched.
    """
    submission = Path(submission).resolve()
    exact = submission / relative
    if exact.is_file():
        return exact if inside(exact, submission) else None
    name = Path(relative).name
    found = []
    for folder, dirs, files in os.walk(submission):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
        if name in files:
            found.append(Path(folder) / name)
    return found[0] if len(found) == 1 and inside(found[0], submission) else None


def inside(path, folder):
    """Whether ``path`` is a regular file of ``folder``, reached without a symbolic link.

    (A link could make the grader read, as the submission's answer, a file
    the student cannot read: the reference's own.)
    """
    return not Path(path).is_symlink() and Path(path).resolve().is_relative_to(folder) and Path(path).is_file()


def package_answers(submission, book, exercise):
    """{reference Region: the submission's body lines} for a package exercise, or an error text."""
    mine = book.regions_of(exercise)
    path = locate(submission, exercise.where)
    if path is None:
        return None, f"The submission has no file {exercise.where}, where the answer of this exercise goes."
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    try:
        regions = find_regions(lines)
    except TableError as error:
        return None, f"{exercise.where}, {error}: the answer must stay between the two marker lines."
    names = enclosing_names(text, regions)
    _, every = regions_of_file(book.root, exercise.where)
    answers = {}
    every_region = [r.region for r in every]
    for region in mine:
        same_name = [r.region for r in every if r.name == region.name]
        occurrence = same_name.index(region.region)
        candidates = [r for r, (name, _) in zip(regions, names) if name == region.name]
        if occurrence < len(candidates):
            answers[region.region] = region_body(lines, candidates[occurrence])
        elif len(regions) == len(every):
            answers[region.region] = region_body(lines, regions[every_region.index(region.region)])
        else:
            return None, (
                f"The answer region inside {region.name} was not found in {exercise.where}: keep the lines "
                "### BEGIN SOLUTION and ### END SOLUTION around your answer."
            )
    return answers, leaving_its_function(book, exercise.where, answers)


def leaving_its_function(book, relative, answers):
    """An error text if an answer, put in the book's file, does not stay inside its function; else None.

    An answer is pasted between the markers as it is written. A line
    indented less than the function's body would end the function, and
    what follows would run at import time, where it could change code
    outside the answers. Every statement of an answer must lie in a
    function that begins before the answer. (An answer that does not parse
    is left to fail when it is imported, with its own error.)
    """
    lines, regions = regions_of_file(book.root, relative)
    placed = replace_regions(lines, answers)
    try:
        tree = ast.parse("".join(placed))
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # too deep for the parser: import fails too
        return None
    parent = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}

    def in_function_begun_before(node, line):
        while node in parent:
            node = parent[node]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.lineno < line:
                return True
        return False

    for original, region in zip(regions, find_regions(placed)):
        if original.region not in answers:
            continue
        begin, end = region.begin + 1, region.end + 1   # the marker lines, counted from 1 as ast counts
        for node in ast.walk(tree):
            if isinstance(node, ast.stmt) and begin < node.lineno < end and not in_function_begun_before(node, begin):
                return (f"The answer inside {original.name} leaves its function at its line {node.lineno - begin} "
                        f"(indented less than the function's body): an answer must stay inside its function, "
                        "between the two marker lines.")
    return None


def submission_notebook(submission, chapter):
    """The submission's notebook of ``chapter`` (or its chapter file), or an error text."""
    import nbformat

    candidates = [("notebooks/" + chapter.notebook_name, "ipynb"), ("chapters/" + chapter.source.name, "md")]
    for relative, kind in candidates:
        path = locate(submission, relative)
        if path is None:
            continue
        try:
            if kind == "ipynb":
                return nbformat.read(path, as_version=4), None
            return read_chapter(path), None
        except Exception as error:  # a damaged file: say so and grade the rest
            return None, f"{relative} cannot be read: {type(error).__name__}: {error}"
    return None, f"The submission has neither notebooks/{chapter.notebook_name} nor chapters/{chapter.source.name}."


def notebook_answers(notebook, exercise, section):
    """The sources of the submission's answer cells for ``exercise``, or an error text.

    Cells are found by their nbgrader grade_id, else by the exercise's heading.
    """
    wanted = [exercise.grade_id] + [f"{exercise.grade_id}-{n}" for n in range(2, len(section.answers) + 1)]
    by_id = {}
    for cell in notebook.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code" and grade_id in wanted:
            by_id.setdefault(grade_id, cell.source)
    if len(by_id) == len(wanted):
        return [by_id[grade_id] for grade_id in wanted], None
    sections, _ = exercise_sections(notebook)
    found = sections.get(exercise.id)
    if found is not None and len(found.answers) == len(section.answers):
        return [notebook.cells[i].source for i in found.answers], None
    if found is not None and len(found.code) == len(section.code):
        # The markers are gone, but the cells under the heading are those of the book.
        return [notebook.cells[found.code[section.code.index(i)]].source for i in section.answers], None
    if found is None:
        return None, (f"No answer cell for exercise {exercise.id} was found: the notebook has no heading "
                      f"'Exercise {exercise.id}: ...' followed by a cell with ### BEGIN SOLUTION.")
    return None, (f"Exercise {exercise.id} has {len(section.answers)} answer cell(s) in the book, the submission "
                  f"{len(found.answers)}: keep the lines ### BEGIN SOLUTION and ### END SOLUTION in your answer cell.")
