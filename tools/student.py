"""Write the student edition: the whole repository with every answer replaced by a stub.

Usage (from the repository root)::

    python -m tools.student OUT                      every exercise of exercises.toml
    python -m tools.student OUT --exercises 4 5.2    only the exercises of Chapter 4 and 5.2
    python -m tools.student OUT --nbgrader-source DIR   also write nbgrader source notebooks to DIR

In OUT:

- each solution region of the package (between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION``) holds ``raise NotImplementedError("Exercise 4.1: ...")``
  instead of the answer; the markers stay, to show where the answer goes (and
  so that the grader finds it); the package still imports;
- the chapters' answer cells hold the same stub, and answer and check cells
  carry nbgrader metadata (grade_id ``exercise-4-2`` / ``exercise-4-2-check``,
  points on the last check cell, solution / grade / locked flags);
- each notebook is regenerated from its stripped chapter. It keeps the outputs
  of the executed book up to the first answer cell; the answer cells, the
  check cells and everything after them have no outputs (they would show the
  answers), and a displayed package source shows the stub, not the answer.

The solutions of exercises not selected stay in place. Nothing is executed.
"""

import argparse
import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tools.chapters import ROOT, Chapter, find_chapters
from tools.exercises import (
    BEGIN,
    TableError,
    dedented,
    exercise_sections,
    find_regions,
    is_stub,
    load_book,
    read_chapter,
    region_body,
    regions_of_file,
    select,
    stub_regions,
)

NBGRADER_SCHEMA_VERSION = 3
# Never copied into an edition: folders of tools and caches anywhere, and at the
# top the environment, the built book and student editions.
EXCLUDED_DIRS = {".git", "__pycache__", ".pytest_cache", ".hypothesis", ".ipynb_checkpoints", "node_modules"}
EXCLUDED_TOP = {".venv", "venv", "build", "student"}


# --- which files make up the repository -------------------------------------------------


def repository_files(root=ROOT, exclude=()):
    """Relative paths (with /) of the repository's files: what git tracks or would track.

    Without git, every file outside build folders, caches and virtual environments.
    """
    root = Path(root).resolve()
    excluded = [Path(p).resolve() for p in exclude]
    names = None
    if (root / ".git").exists():
        try:
            listing = subprocess.run(
                ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                cwd=root, capture_output=True, check=True,
            ).stdout.decode("utf-8")
            names = sorted({name for name in listing.split("\0") if name})
        except (OSError, subprocess.CalledProcessError):
            names = None
    if names is None:
        names = []
        for folder, dirs, files in os.walk(root):
            top = Path(folder) == root
            dirs[:] = sorted(d for d in dirs if d not in EXCLUDED_DIRS and not d.endswith(".egg-info")
                             and not (top and d in EXCLUDED_TOP))
            for name in sorted(files):
                names.append((Path(folder) / name).relative_to(root).as_posix())
    kept = []
    for name in names:
        path = root / name
        parts = Path(name).parts
        if (not path.is_file() or set(parts[:-1]) & EXCLUDED_DIRS or parts[0] in EXCLUDED_TOP
                or any(p.endswith(".egg-info") for p in parts)):
            continue
        if any(path.resolve() == e or e in path.resolve().parents for e in excluded):
            continue
        kept.append(name)
    return kept


# --- chapters: stubs and nbgrader metadata ---------------------------------------------------


def nbgrader_metadata(exercise, section):
    """{cell index: nbgrader metadata} for the answer and check cells of one notebook exercise."""
    metadata = {}
    for number, index in enumerate(section.answers):
        metadata[index] = {
            "grade": False,
            "grade_id": exercise.grade_id + ("" if number == 0 else f"-{number + 1}"),
            "locked": False,
            "schema_version": NBGRADER_SCHEMA_VERSION,
            "solution": True,
        }
    for number, index in enumerate(section.checks):
        last = number == len(section.checks) - 1
        metadata[index] = {
            "grade": True,
            "grade_id": exercise.grade_id + "-check" + ("" if number == 0 else f"-{number + 1}"),
            "locked": True,
            "points": exercise.points if last else 0,
            "schema_version": NBGRADER_SCHEMA_VERSION,
            "solution": False,
        }
    return metadata


def code_cell_tokens(text):
    """The markdown-it fence tokens of the chapter's ``{code-cell}`` blocks, in order."""
    from jupytext.myst import get_parser

    return [t for t in get_parser().parse(text) if t.type == "fence" and t.info.startswith("{code-cell}")]


def rewrite_code_cell(lines, token, metadata=None, stubs=None):
    """The lines of one ``{code-cell}`` block with new metadata and/or stubbed regions."""
    from jupytext.myst import dump_yaml_blocks, parse_directive_options

    start, end = token.map
    body, options = parse_directive_options(token.content, "code cell: ")
    if body and not body[0].strip():
        body = body[1:]
    if metadata:
        options = {**options, **metadata}
    body = [line + "\n" for line in body]
    if stubs:
        regions = find_regions(body)
        body = stub_regions(body, {regions[i]: exercise for i, exercise in stubs.items()})
    block = [lines[start]]
    if options:
        block += dump_yaml_blocks(options).splitlines(keepends=True)
    block += body
    closing = lines[end - 1] if end - 1 > start and lines[end - 1].strip().startswith(token.markup) else None
    if closing is not None:
        block.append(closing)
    return block


def student_chapter(text, exercises, stubbed_ids):
    """The chapter's text with the answers of ``stubbed_ids`` stubbed and nbgrader metadata added.

    ``exercises`` are the notebook exercises of this chapter (Exercise objects).
    """
    import jupytext

    notebook = jupytext.reads(text, fmt="md:myst")
    sections, problems = exercise_sections(notebook)
    if problems:
        raise TableError("; ".join(problems))
    code_indices = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    tokens = code_cell_tokens(text)
    if len(tokens) != len(code_indices):
        raise TableError(f"found {len(tokens)} code-cell blocks but {len(code_indices)} code cells")
    token_of = dict(zip(code_indices, tokens))
    changes = {}
    for exercise in exercises:
        section = sections.get(exercise.id)
        if exercise.id not in stubbed_ids or section is None:
            continue
        for index, metadata in nbgrader_metadata(exercise, section).items():
            changes.setdefault(index, {})["metadata"] = {"nbgrader": metadata}
        for index in section.answers:
            regions = find_regions(notebook.cells[index].source.splitlines(keepends=True))
            changes.setdefault(index, {})["stubs"] = {i: exercise for i in range(len(regions))}
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    result, position = [], 0
    for index in sorted(changes, key=lambda i: token_of[i].map[0]):
        token = token_of[index]
        result += lines[position : token.map[0]]
        result += rewrite_code_cell(lines, token, **changes[index])
        position = token.map[1]
    result += lines[position:]
    return "".join(result)


# --- notebooks: outputs of the executed book, without the answers ------------------------------


def current_notebook(root, chapter):
    """The stored executed notebook of ``chapter`` when it matches the chapter, else None."""
    import nbformat

    from tools.build import chapter_notebook

    path = Path(root) / "notebooks" / chapter.notebook_name
    if not path.exists():
        return None
    stored = nbformat.read(path, as_version=4)
    expected = chapter_notebook(chapter)
    if len(stored.cells) != len(expected.cells):
        return None
    for want, have in zip(expected.cells, stored.cells):
        if want.cell_type != have.cell_type or want.source != have.source:
            return None
    return stored


def output_texts(output):
    """(container, key) of every text held by a notebook output."""
    if output.get("output_type") == "stream":
        yield output, "text"
    for key, value in output.get("data", {}).items():
        if key.startswith("text/") or key in ("application/javascript",):
            yield output["data"], key


def scrub_outputs(outputs, shown_regions):
    """Outputs with displayed solution regions stubbed; None when a region cannot be matched.

    ``shown_regions`` maps the dedented body of each stubbed package region to
    its exercise. A displayed source (``show_source``) contains the region with
    its markers, so the region's body is replaced by the stub, exactly as the
    student's package will show it.
    """
    outputs = copy.deepcopy(outputs)
    for output in outputs:
        for container, key in list(output_texts(output)):
            text = container[key]
            text = "".join(text) if isinstance(text, list) else text
            if BEGIN.split()[-1] not in text:
                continue
            lines = text.splitlines(keepends=True)
            try:
                regions = find_regions(lines)
            except TableError:
                return None
            stubs = {}
            for region in regions:
                body = region_body(lines, region)
                exercise = shown_regions.get(dedented(body))
                if exercise is not None:
                    stubs[region] = exercise
                elif not is_stub(body):
                    return None
            container[key] = "".join(stub_regions(lines, stubs))
    return outputs


def student_notebook(student_chapter_path, full_notebook, stubbed_sections, shown_regions):
    """The notebook of a stripped chapter, with the executed book's outputs where they reveal nothing.

    ``stubbed_sections`` are the Sections of this chapter's stubbed exercises.
    """
    from tools.build import chapter_notebook

    chapter = chapter_from_path(student_chapter_path)
    notebook = chapter_notebook(chapter)
    if full_notebook is None:
        return notebook
    answers = [i for section in stubbed_sections for i in section.answers]
    first_hidden = min(answers) if answers else len(notebook.cells)
    for index, (cell, executed) in enumerate(zip(notebook.cells, full_notebook.cells)):
        if cell.cell_type != "code":
            continue
        cell.execution_count = executed.get("execution_count")
        if index >= first_hidden:
            cell.outputs = []
            continue
        outputs = scrub_outputs(executed.get("outputs", []), shown_regions)
        cell.outputs = outputs if outputs is not None else []
    return notebook


def chapter_from_path(path):
    path = Path(path)
    (chapter,) = [c for c in find_chapters(path.parent) if c.source.name == path.name]
    return Chapter(chapter.number, chapter.stem, path)


def with_nbgrader_metadata(notebook, exercises, sections):
    """A copy of ``notebook`` whose answer and check cells carry nbgrader metadata."""
    notebook = copy.deepcopy(notebook)
    for exercise in exercises:
        section = sections.get(exercise.id)
        if section is None:
            continue
        for index, metadata in nbgrader_metadata(exercise, section).items():
            notebook.cells[index].metadata["nbgrader"] = metadata
    return notebook


# --- the edition -------------------------------------------------------------------------------


def check_selection(book, selected, everything):
    """Raise TableError if a selected exercise cannot be stubbed (its answer would be handed out)."""
    reasons = [f"exercise {e.id}: {reason}" for e in selected for reason in book.blocking(e)
               if reason != "no test carries its mark"]
    if everything:
        reasons += [f"{r.where}: a solution region that belongs to no exercise" for r in book.stray_regions()]
    if reasons:
        raise TableError(
            "the student edition would hand out answers, because:\n  " + "\n  ".join(reasons)
            + "\n(run `python -m tools.exercises check`; or choose exercises with --exercises)"
        )


def prepare_output(out, root, force):
    out, root = Path(out).resolve(), Path(root).resolve()
    if out == root or out in root.parents:
        raise TableError(f"{out} holds the repository itself; choose another folder")
    if out.exists() and any(out.iterdir()):
        if not force:
            raise TableError(f"{out} is not empty; remove it first, or pass --force to replace it")
        if not (out / "exercises.toml").exists():
            raise TableError(f"{out} does not look like an edition of the book; not replacing it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_student_edition(out, root=ROOT, wanted=(), force=False, nbgrader_source=None, log=print):
    """Write the student edition of the repository at ``root`` into ``out``; return the stubbed exercises."""
    import nbformat

    root = Path(root).resolve()
    book = load_book(root)
    selected = select(book.exercises, wanted)
    check_selection(book, selected, everything=not wanted)
    stubbed_ids = {e.id for e in selected}
    out = prepare_output(out, root, force)

    package_stubs = {}  # path -> {Region: Exercise}
    for exercise in selected:
        if exercise.kind == "package":
            for region in book.regions_of(exercise):
                package_stubs.setdefault(region.path, {})[region.region] = exercise
    shown_regions = {}
    for path, stubs in package_stubs.items():
        lines, _ = regions_of_file(root, path)
        for region, exercise in stubs.items():
            shown_regions[dedented(region_body(lines, region))] = exercise

    chapters = {c.source.relative_to(root).as_posix(): c for c in find_chapters(root / "chapters")} \
        if (root / "chapters").is_dir() else {}
    notebook_exercises = {}
    for exercise in book.exercises:
        if exercise.kind == "notebook":
            notebook_exercises.setdefault(exercise.where, []).append(exercise)

    for name in repository_files(root, exclude=[out]):
        source, target = root / name, out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if name.startswith("notebooks/") and name.endswith(".ipynb"):
            continue  # regenerated below from the stripped chapters
        if name in package_stubs:
            lines, _ = regions_of_file(root, name)
            write_text(target, "".join(stub_regions(lines, package_stubs[name])))
        elif name in chapters:
            text = read_text(source)
            write_text(target, student_chapter(text, notebook_exercises.get(name, []), stubbed_ids))
        else:
            shutil.copy2(source, target)

    written = []
    for name, chapter in chapters.items():
        full = current_notebook(root, chapter)
        if full is None:
            log(f"  notebooks/{chapter.notebook_name}: the executed notebook is missing or older than its "
                "chapter; the student notebook has no outputs")
        student_path = out / name
        sections, _ = exercise_sections(read_chapter(student_path))
        stubbed_sections = [s for i, s in sections.items() if i in stubbed_ids and
                            any(e.id == i for e in notebook_exercises.get(name, []))]
        notebook = student_notebook(student_path, full, stubbed_sections, shown_regions)
        target = out / "notebooks" / chapter.notebook_name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.validate(notebook)
        nbformat.write(notebook, target)
        written.append(target)

    if nbgrader_source is not None:
        write_nbgrader_source(nbgrader_source, root, book, selected, chapters, force)
    return selected


def write_nbgrader_source(folder, root, book, selected, chapters, force=False):
    """nbgrader's source/<assignment>/<notebook>.ipynb for each chapter with selected notebook exercises.

    These notebooks keep the answers (nbgrader's generate_assignment removes
    them) and carry the same metadata as the student edition.
    """
    import nbformat

    from tools.build import chapter_notebook

    folder = Path(folder).resolve()
    for name, chapter in chapters.items():
        exercises = [e for e in selected if e.kind == "notebook" and e.where == name]
        if not exercises:
            continue
        notebook = current_notebook(root, chapter) or chapter_notebook(chapter)
        notebook = with_nbgrader_metadata(notebook, exercises, book.chapter_sections.get(name, {}))
        target = folder / "source" / chapter.stem / chapter.notebook_name
        if target.exists() and not force:
            raise TableError(f"{target} exists; pass --force to replace it")
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.validate(notebook)
        nbformat.write(notebook, target)


def read_text(path):
    with open(path, encoding="utf-8", newline="") as file:
        return file.read()


def write_text(path, text):
    with open(path, "w", encoding="utf-8", newline="") as file:
        file.write(text)


def parser():
    main = argparse.ArgumentParser(prog="python -m tools.student", description=__doc__.split("\n")[0])
    main.add_argument("out", type=Path, help="folder for the student edition (created; must be empty)")
    main.add_argument("--exercises", nargs="+", default=[], metavar="ID",
                      help="only these exercises (ids such as 4.2, or chapter numbers); default: all")
    main.add_argument("--force", action="store_true", help="replace an earlier edition in OUT")
    main.add_argument("--nbgrader-source", type=Path, metavar="DIR",
                      help="also write nbgrader source notebooks (with answers) into DIR/source/")
    return main


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        selected = write_student_edition(args.out, ROOT, args.exercises, args.force, args.nbgrader_source)
    except TableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    points = sum(e.points for e in selected)
    print(f"Student edition written to {Path(args.out).resolve()}/")
    print(f"  {len(selected)} exercises stubbed ({points:g} points): {', '.join(e.id for e in selected)}")
    print(f"  grade it with: python -m tools.grade {args.out}")
    if args.nbgrader_source:
        print(f"  nbgrader source notebooks: {Path(args.nbgrader_source).resolve()}/source/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
