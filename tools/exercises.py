"""The book's exercises: the table in exercises.toml, their solution regions, their checks.

Usage (from the repository root)::

    python -m tools.exercises          list every exercise: points, where its answer goes, its checks
    python -m tools.exercises check    report every inconsistency (exit status 1 if there is one)

Every exercise is one entry of ``exercises.toml`` (id, title, chapter,
points, kind, where). Its answer is marked in the source by the lines
``### BEGIN SOLUTION`` and ``### END SOLUTION`` (the delimiters nbgrader also
understands):

- a *package* exercise has its regions in the file ``where`` of the package,
  each inside a function body, and its tests carry
  ``@pytest.mark.exercise("N.K")``;
- a *notebook* exercise sits in its chapter under the heading
  ``### Exercise N.K: Title (P points)``: the code cells holding a region are
  its answer cells, the code cells after them (up to the next heading) its
  check cells.

When one file holds the regions of several package exercises, the regions
are given to the exercises in the order of their ids; an entry can name the
functions holding its regions instead, e.g. ``functions = ["Tanh.backward"]``.

Everything else (the student edition, the grader, the tests) reads the
exercises through this module, so that a new exercise needs nothing but its
entry, its markers and its tests.
"""

import ast
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tools.chapters import ROOT

TABLE_NAME = "exercises.toml"
BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
KINDS = ("package", "notebook")
ID_PATTERN = re.compile(r"^(\d+)\.(\d+)$")
HEADING = re.compile(
    r"^Exercise\s+(?P<id>\d+\.\d+)\s*:\s*(?P<title>.*?)\s*"
    r"(?:\(\s*(?P<points>\d+(?:\.\d+)?)\s+points?\s*\))?\s*$"
)
TEST_MARK = re.compile(r"""\bexercise\(\s*["'](?P<id>\d+\.\d+)["']\s*\)""")
# Folders never searched for package files or tests.
SKIPPED_DIRS = {".git", ".venv", "venv", "build", "__pycache__", ".pytest_cache", ".hypothesis",
                "node_modules", ".ipynb_checkpoints"}


class TableError(Exception):
    """exercises.toml cannot be read, or an exercise's answer cannot be located."""


# --- the table ---------------------------------------------------------------------


@dataclass(frozen=True)
class Exercise:
    """One entry of exercises.toml."""

    id: str
    title: str
    chapter: int
    points: float
    kind: str
    where: str
    functions: tuple = ()

    @property
    def sort_key(self):
        match = ID_PATTERN.match(self.id)
        return (int(match[1]), int(match[2])) if match else (sys.maxsize, self.id)

    @property
    def label(self):
        """'Exercise 4.2: Title', the text of the stub that replaces its answer."""
        return f"Exercise {self.id}: {self.title}"

    @property
    def grade_id(self):
        """The nbgrader grade_id (letters, digits, - and _ only): 'exercise-4-2'."""
        return "exercise-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.id)


def table_path(root=ROOT):
    return Path(root) / TABLE_NAME


def read_table(root=ROOT):
    """The raw entries of exercises.toml (a list of dicts)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    path = table_path(root)
    if not path.exists():
        raise TableError(f"{path} does not exist: the book's exercises are listed there")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise TableError(f"{TABLE_NAME} is not valid TOML: {error}") from None
    entries = data.get("exercise", [])
    if not isinstance(entries, list):
        raise TableError(f"{TABLE_NAME}: exercises are [[exercise]] tables")
    return entries


def entry_problems(entry, index):
    """What is wrong with one raw entry of the table (a list of sentences)."""
    name = f"{TABLE_NAME}, exercise {entry.get('id', f'number {index + 1}')!s}"
    problems = []
    required = {"id": str, "title": str, "chapter": int, "points": (int, float), "kind": str, "where": str}
    for key, kind in required.items():
        if key not in entry:
            problems.append(f"{name}: the field {key!r} is missing")
        elif not isinstance(entry[key], kind) or isinstance(entry[key], bool):
            problems.append(f"{name}: {key} = {entry[key]!r} has the wrong type")
    if problems:
        return problems
    match = ID_PATTERN.match(entry["id"])
    if not match:
        problems.append(f"{name}: the id must look like \"4.2\" (chapter.number)")
    elif int(match[1]) != entry["chapter"]:
        problems.append(f"{name}: chapter = {entry['chapter']} but the id says chapter {match[1]}")
    if not entry["title"].strip():
        problems.append(f"{name}: the title is empty")
    if entry["points"] <= 0:
        problems.append(f"{name}: points must be positive")
    if entry["kind"] not in KINDS:
        problems.append(f"{name}: kind = {entry['kind']!r}, expected one of {', '.join(KINDS)}")
    functions = entry.get("functions", [])
    if not isinstance(functions, list) or not all(isinstance(f, str) for f in functions):
        problems.append(f"{name}: functions must be a list of names such as \"Tanh.backward\"")
    unknown = sorted(set(entry) - set(required) - {"functions"})
    if unknown:
        problems.append(f"{name}: unknown field(s) {', '.join(unknown)}")
    return problems


def load_exercises(root=ROOT):
    """The exercises of exercises.toml, in the order of their ids.

    Raises TableError when an entry is malformed or an id repeats.
    """
    entries = read_table(root)
    problems = [problem for index, entry in enumerate(entries) for problem in entry_problems(entry, index)]
    ids = [entry.get("id") for entry in entries]
    problems += [f"{TABLE_NAME}: exercise {i} is listed {ids.count(i)} times" for i in sorted(set(ids), key=str)
                 if i is not None and ids.count(i) > 1]
    if problems:
        raise TableError("\n".join(problems))
    exercises = [
        Exercise(
            id=entry["id"], title=entry["title"].strip(), chapter=entry["chapter"],
            points=entry["points"], kind=entry["kind"], where=entry["where"],
            functions=tuple(entry.get("functions", ())),
        )
        for entry in entries
    ]
    return sorted(exercises, key=lambda exercise: exercise.sort_key)


def select(exercises, wanted):
    """The exercises named in ``wanted`` (ids like "4.2", or chapter numbers like "4").

    An empty ``wanted`` selects all. Raises TableError for a name that matches nothing.
    """
    if not wanted:
        return list(exercises)
    chosen = set()
    for name in wanted:
        for part in str(name).replace(",", " ").split():
            found = [e for e in exercises if e.id == part or (part.isdigit() and e.chapter == int(part))]
            if not found:
                known = ", ".join(e.id for e in exercises) or "none"
                raise TableError(f"no exercise matches {part!r}; exercises: {known}")
            chosen.update(e.id for e in found)
    return [e for e in exercises if e.id in chosen]


# --- solution regions in text ---------------------------------------------------------


@dataclass(frozen=True)
class Region:
    """Lines ``begin`` (the BEGIN marker) to ``end`` (the END marker) of a text, 0-based."""

    begin: int
    end: int
    indent: str


def is_marker(line, marker):
    return line.strip().startswith(marker)


def find_regions(lines):
    """The solution regions among ``lines``; raises TableError if the markers do not pair up."""
    regions, opened = [], None
    for number, line in enumerate(lines):
        if is_marker(line, BEGIN):
            if opened is not None:
                raise TableError(f"line {number + 1}: {BEGIN} inside the region opened on line {opened + 1}")
            opened = number
        elif is_marker(line, END):
            if opened is None:
                raise TableError(f"line {number + 1}: {END} without {BEGIN}")
            begin_line = lines[opened]
            indent = begin_line[: len(begin_line) - len(begin_line.lstrip())]
            regions.append(Region(opened, number, indent))
            opened = None
    if opened is not None:
        raise TableError(f"line {opened + 1}: {BEGIN} is never closed by {END}")
    return regions


def stub_line(exercise, indent, newline="\n"):
    """The line that replaces an answer: ``raise NotImplementedError("Exercise 4.2: Title")``."""
    return f"{indent}raise NotImplementedError({json.dumps(exercise.label, ensure_ascii=False)}){newline}"


def region_body(lines, region):
    return lines[region.begin + 1 : region.end]


def is_stub(body_lines):
    """Whether a region's body is just the stub (the answer is not written yet)."""
    code = [line.strip() for line in body_lines if line.strip() and not line.strip().startswith("#")]
    return len(code) == 1 and code[0].startswith("raise NotImplementedError")


def replace_regions(lines, replacements):
    """``lines`` with the bodies of some regions replaced.

    ``replacements`` maps a Region to the list of lines that become its body
    (the marker lines stay). Returns a new list of lines.
    """
    result, position = [], 0
    for region in sorted(replacements, key=lambda r: r.begin):
        result += lines[position : region.begin + 1]
        result += list(replacements[region])
        position = region.end
    return result + lines[position:]


def stub_regions(lines, stubs):
    """``lines`` with each region in ``stubs`` (Region -> Exercise) replaced by the stub."""
    replacements = {}
    for region, exercise in stubs.items():
        newline = "\r\n" if lines[region.begin].endswith("\r\n") else "\n"
        replacements[region] = [stub_line(exercise, region.indent, newline)]
    return replace_regions(lines, replacements)


def dedented(body_lines):
    """The body lines without their common indentation, blank lines dropped (for comparisons)."""
    lines = [line.rstrip() for line in body_lines if line.strip()]
    if not lines:
        return ()
    width = min(len(line) - len(line.lstrip()) for line in lines)
    return tuple(line[width:] for line in lines)


# --- where a region sits in Python code ------------------------------------------------


def enclosing_names(source, regions):
    """For each region: (qualified name of the innermost enclosing def or class, inside a function?).

    Uses the syntax tree when the code parses, otherwise reads indentation
    (so that a file with a syntax error inside an answer can still be matched).
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # a parser's limit, e.g. nesting too deep
        return [_names_from_indentation(source.splitlines(), region) for region in regions]
    scopes = []

    def visit(node, prefix, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}.{child.name}" if prefix else child.name
                is_function = not isinstance(child, ast.ClassDef)
                first = min([child.lineno] + [d.lineno for d in child.decorator_list])
                scopes.append((first, child.end_lineno, name, is_function))
                visit(child, name, in_function or is_function)
            else:
                visit(child, prefix, in_function)

    visit(tree, "", False)
    found = []
    for region in regions:
        line = region.begin + 1
        around = [s for s in scopes if s[0] < line <= s[1]]
        if not around:
            found.append(("", False))
            continue
        innermost = max(around, key=lambda s: s[0])
        found.append((innermost[2], innermost[3]))
    return found


DEF_OR_CLASS = re.compile(r"^\s*(?:async\s+def|def|class)\s+(\w+)")


def _names_from_indentation(lines, region):
    level = len(region.indent)
    names, is_function = [], None
    for line in reversed(lines[: region.begin]):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        if indent < level:
            level = indent
            match = DEF_OR_CLASS.match(line)
            if match:
                names.insert(0, match[1])
                if is_function is None:
                    is_function = not line.lstrip().startswith("class")
        if level == 0:
            break
    return ".".join(names), bool(is_function)


# --- package exercises ------------------------------------------------------------------


@dataclass
class PackageRegion:
    """A solution region in a file of the package."""

    path: str  # relative to the repository, with /
    region: Region
    name: str  # qualified name of the enclosing function, e.g. "Tanh.backward"
    in_function: bool
    exercise: Exercise = None

    @property
    def where(self):
        return f"{self.path}:{self.region.begin + 1}"


def package_files(root):
    """The Python files of the package (framework/) plus any other file named by a package exercise."""
    root = Path(root)
    files = set()
    package = root / "framework"
    if package.is_dir():
        files.update(p for p in package.rglob("*.py") if not SKIPPED_DIRS & set(p.relative_to(root).parts))
    return sorted(files)


def relative_name(root, path):
    return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()


def regions_of_file(root, relative):
    """(lines, [PackageRegion]) of one file; raises TableError if its markers do not pair up."""
    text = (Path(root) / relative).read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    try:
        regions = find_regions(lines)
    except TableError as error:
        raise TableError(f"{relative}, {error}") from None
    names = enclosing_names(text, regions)
    return lines, [PackageRegion(relative, r, name, inside) for r, (name, inside) in zip(regions, names)]


def assign_regions(exercises, regions, path):
    """Give each region of one file to one of ``exercises`` (all naming that file).

    Returns a list of problems (sentences); sets ``region.exercise``.
    """
    problems = []
    remaining = list(regions)
    unnamed = []
    ambiguous = False
    for exercise in exercises:
        if not exercise.functions:
            unnamed.append(exercise)
            continue
        for function in exercise.functions:
            matching = [r for r in remaining if r.name == function or r.name.endswith("." + function)]
            if not matching:
                problems.append(
                    f"exercise {exercise.id}: {path} has no solution region inside {function} "
                    f"(functions = {list(exercise.functions)} in {TABLE_NAME})"
                )
            for region in matching:
                region.exercise = exercise
                remaining.remove(region)
    if len(unnamed) == 1:
        for region in remaining:
            region.exercise = unnamed[0]
        remaining = []
    elif unnamed and (len(unnamed) == len(remaining) or not remaining):
        for exercise, region in zip(unnamed, remaining):
            region.exercise = exercise
        remaining = []
    elif unnamed:
        ambiguous = True
        problems.append(
            f"{path} holds {len(remaining)} solution region(s) for exercises "
            f"{', '.join(e.id for e in unnamed)}: which region belongs to which is ambiguous; give each "
            f"exercise the functions holding its regions in {TABLE_NAME}, e.g. functions = "
            f"[\"{remaining[0].name if remaining else 'Class.method'}\"]"
        )
    for exercise in unnamed:
        if not ambiguous and not any(r.exercise is exercise for r in regions):
            problems.append(f"exercise {exercise.id}: {path} has no solution region ({BEGIN} / {END})")
    for region in remaining:
        if region.exercise is None and not ambiguous:
            problems.append(
                f"{region.where}: a solution region that belongs to no exercise of {TABLE_NAME} "
                "(register the exercise, or remove the markers)"
            )
    return problems


# --- notebook exercises --------------------------------------------------------------------


@dataclass
class Section:
    """A notebook exercise inside its chapter: the indices of its cells in the notebook."""

    id: str
    heading_title: str
    heading_points: float = None
    answers: list = field(default_factory=list)
    checks: list = field(default_factory=list)
    code: list = field(default_factory=list)  # every code cell of the section

    @property
    def cells(self):
        return self.answers + self.checks


def headings(markdown):
    """(level, text) of every heading of a markdown text, outside fenced code."""
    from jupytext.myst import get_parser

    tokens = get_parser().parse(markdown)
    found = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and index + 1 < len(tokens):
            found.append((int(token.tag[1:]), tokens[index + 1].content.strip()))
    return found


def exercise_sections(notebook):
    """{id: Section} of the exercises in a notebook (by headings and markers), and problems.

    A heading ``Exercise N.K: Title (P points)`` opens an exercise; a
    heading of the same or a higher level closes it. In between, the code
    cells with a solution region are its answer cells and the code cells
    after the first answer cell that have no region are its check cells.
    """
    sections, problems = {}, []
    current, level = None, None
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            for heading_level, text in headings(cell.source):
                match = HEADING.match(text)
                if match:
                    points = float(match["points"]) if match["points"] else None
                    current = Section(match["id"], match["title"], points)
                    level = heading_level
                    if current.id in sections:
                        problems.append(f"two headings for exercise {current.id}")
                    sections[current.id] = current
                elif current is not None and heading_level <= level:
                    current = None
        elif cell.cell_type == "code":
            lines = cell.source.splitlines(keepends=True)
            try:
                has_region = bool(find_regions(lines))
            except TableError as error:
                problems.append(f"code cell {index}: {error}")
                has_region = True
            if current is None:
                if has_region:
                    problems.append(f"code cell {index} has a solution region outside any exercise section")
                continue
            current.code.append(index)
            if has_region:
                current.answers.append(index)
            elif current.answers:
                current.checks.append(index)
    return sections, problems


def read_chapter(path):
    """The chapter (MyST markdown) as a notebook, the way the build tool reads it."""
    import jupytext

    return jupytext.read(Path(path), fmt="md:myst")


# --- the whole book ------------------------------------------------------------------------------


@dataclass
class Book:
    """The exercises of one copy of the repository and where their answers and checks are."""

    root: Path
    exercises: list
    regions: list  # PackageRegion, every region found in the package
    sections: dict  # exercise id -> Section (notebook exercises)
    chapter_sections: dict  # chapter path -> {id: Section} (every exercise heading found)
    tests: dict  # exercise id -> [test files marking it]
    problems: list

    def exercise(self, exercise_id):
        for exercise in self.exercises:
            if exercise.id == exercise_id:
                return exercise
        raise TableError(f"no exercise {exercise_id} in {TABLE_NAME}")

    uncompilable: set = field(default_factory=set)  # files that do not compile once stubbed
    notebooks: dict = field(default_factory=dict)  # chapter path -> the chapter read as a notebook

    def regions_of(self, exercise):
        return [r for r in self.regions if r.exercise is not None and r.exercise.id == exercise.id]

    def stray_regions(self):
        """Solution regions of the package that belong to no exercise of the table."""
        return [r for r in self.regions if r.exercise is None]

    def blocking(self, exercise):
        """Why the exercise cannot be stubbed or graded (an empty list when it can)."""
        reasons = []
        if not (self.root / exercise.where).is_file():
            return [f"{exercise.where} does not exist"]
        if exercise.kind == "package":
            regions = self.regions_of(exercise)
            if not regions:
                reasons.append(f"no solution region of {exercise.where} is assigned to it")
            reasons += [f"the region at {r.where} is not inside a function" for r in regions if not r.in_function]
            if exercise.where in self.uncompilable:
                reasons.append(f"{exercise.where} does not compile once stubbed")
            if not self.tests.get(exercise.id):
                reasons.append("no test carries its mark")
        else:
            section = self.sections.get(exercise.id)
            if section is None:
                reasons.append(f"{exercise.where} has no section for it")
            elif not section.answers or not section.checks:
                reasons.append(f"its section in {exercise.where} lacks an answer or a check cell")
        return reasons

    def stubbed(self, exercise):
        """Whether the exercise's answer is still the stub here (as in a fresh student edition)."""
        bodies = []
        if exercise.kind == "package":
            if not self.regions_of(exercise):
                return False
            lines = (self.root / exercise.where).read_text(encoding="utf-8").splitlines()
            bodies = [lines[r.region.begin + 1 : r.region.end] for r in self.regions_of(exercise)]
        else:
            section, notebook = self.sections.get(exercise.id), self.notebooks.get(exercise.where)
            if section is None or notebook is None:
                return False
            for index in section.answers:
                lines = notebook.cells[index].source.splitlines()
                bodies += [lines[r.begin + 1 : r.end] for r in find_regions(lines)]
        return bool(bodies) and all(is_stub(body) for body in bodies)

    def ready(self):
        """The exercises that can be stubbed and graded."""
        return [e for e in self.exercises if not self.blocking(e)]


def marked_tests(root):
    """{exercise id: [test files]} from the exercise marks written in tests/.

    The files that test the exercise most come first: files named after
    exercises, then by the number of marks of that exercise. (The grader runs
    them in this order, so that a student first sees the messages of the
    tests written for the exercise.)
    """
    counts = {}
    tests = Path(root) / "tests"
    if not tests.is_dir():
        return {}
    for path in sorted(tests.rglob("*.py")):
        if SKIPPED_DIRS & set(path.parts):
            continue
        name = relative_name(root, path)
        for match in TEST_MARK.finditer(path.read_text(encoding="utf-8")):
            files = counts.setdefault(match["id"], {})
            files[name] = files.get(name, 0) + 1
    return {
        exercise_id: sorted(files, key=lambda f: ("exercise" not in Path(f).name, -files[f], f))
        for exercise_id, files in counts.items()
    }


def load_book(root=ROOT):
    """Read exercises.toml and find every exercise's regions, sections and tests.

    Raises TableError only when the table itself cannot be read; every other
    inconsistency is listed in ``Book.problems``.
    """
    root = Path(root)
    exercises = load_exercises(root)
    problems = []
    by_file = {}
    for exercise in exercises:
        if not (root / exercise.where).is_file():
            problems.append(f"exercise {exercise.id}: where = {exercise.where!r} is not a file of the repository")
            continue
        if exercise.kind == "package":
            by_file.setdefault(exercise.where, []).append(exercise)
    files = {relative_name(root, p) for p in package_files(root)} | set(by_file)
    regions, uncompilable = [], set()
    for path in sorted(files):
        if not path.endswith(".py"):
            problems.append(f"{path}: package exercises are written in Python files")
            continue
        try:
            lines, found = regions_of_file(root, path)
        except TableError as error:
            problems.append(str(error))
            continue
        problems += assign_regions(by_file.get(path, []), found, path)
        for region in found:
            if region.exercise is not None and not region.in_function:
                problems.append(
                    f"{region.where}: the solution region of exercise {region.exercise.id} is not inside a "
                    "function body, so the student edition could not import the module"
                )
        stubs = {r.region: r.exercise for r in found if r.exercise is not None}
        if stubs:
            try:
                compile("".join(stub_regions(lines, stubs)), path, "exec")
            except SyntaxError as error:
                uncompilable.add(path)
                problems.append(f"{path}: with the answers replaced by stubs the file does not compile: {error}")
        regions += found

    sections, chapter_sections, notebooks = {}, {}, {}
    chapter_files = sorted({e.where for e in exercises if e.kind == "notebook" and (root / e.where).is_file()})
    chapter_files += sorted(
        {relative_name(root, p) for p in (root / "chapters").glob("*.md")} - set(chapter_files)
    ) if (root / "chapters").is_dir() else []
    for path in chapter_files:
        try:
            notebook = read_chapter(root / path)
        except Exception as error:  # jupytext reports malformed chapters in many ways
            problems.append(f"{path} cannot be read as a chapter: {error}")
            continue
        found, chapter_problems = exercise_sections(notebook)
        chapter_sections[path] = found
        notebooks[path] = notebook
        problems += [f"{path}: {problem}" for problem in chapter_problems]
        for exercise_id, section in found.items():
            exercise = next((e for e in exercises if e.id == exercise_id), None)
            if exercise is None:
                if section.answers:
                    problems.append(f"{path}: exercise {exercise_id} has an answer cell but is not in {TABLE_NAME}")
                continue
            if exercise.kind == "notebook" and exercise.where == path:
                sections[exercise_id] = section

    tests = marked_tests(root)
    known = {e.id for e in exercises}
    for exercise_id, files in sorted(tests.items()):
        if exercise_id not in known:
            problems.append(f"{', '.join(files)} mark(s) exercise {exercise_id!r}, which {TABLE_NAME} does not list")

    for exercise in exercises:
        problems += exercise_problems(exercise, root, sections, chapter_sections, tests)
    return Book(root, exercises, regions, sections, chapter_sections, tests, problems, uncompilable, notebooks)


def chapter_file(root, number):
    from tools.chapters import find_chapters

    chapters_dir = Path(root) / "chapters"
    if not chapters_dir.is_dir():
        return None
    found = [c for c in find_chapters(chapters_dir) if c.number == number]
    return relative_name(root, found[0].source) if found else None


def exercise_problems(exercise, root, sections, chapter_sections, tests):
    """What is wrong with one exercise beyond its regions."""
    problems = []
    name = f"exercise {exercise.id}"
    if exercise.kind == "package" and exercise.id not in tests:
        problems.append(f"{name}: no test carries @pytest.mark.exercise({exercise.id!r})")
    if exercise.kind == "notebook" and (Path(root) / exercise.where).is_file():
        if not exercise.where.endswith(".md"):
            problems.append(f"{name}: a notebook exercise's where is its chapter, chapters/NN_slug.md")
        section = sections.get(exercise.id)
        if section is None:
            problems.append(f"{name}: {exercise.where} has no heading '### Exercise {exercise.id}: {exercise.title}'")
        elif not section.answers:
            problems.append(f"{name}: no code cell under its heading in {exercise.where} has a solution region")
        elif not section.checks:
            problems.append(f"{name}: no check cell follows its answer cell in {exercise.where}")
    # The heading in the chapter agrees with the table (for package exercises too).
    chapter = exercise.where if exercise.kind == "notebook" else chapter_file(root, exercise.chapter)
    section = chapter_sections.get(chapter, {}).get(exercise.id) if chapter else None
    if chapter and chapter in chapter_sections and section is None and exercise.kind == "package":
        problems.append(f"{name}: {chapter} has no heading '### Exercise {exercise.id}: {exercise.title}'")
    if section is not None:
        if section.heading_title != exercise.title:
            problems.append(
                f"{name}: the heading in {chapter} says {section.heading_title!r}, {TABLE_NAME} says {exercise.title!r}"
            )
        if section.heading_points is not None and section.heading_points != exercise.points:
            problems.append(
                f"{name}: the heading in {chapter} says {section.heading_points:g} points, "
                f"{TABLE_NAME} says {exercise.points:g}"
            )
    return problems


# --- command line ------------------------------------------------------------------------------------


def describe(book):
    lines = []
    for exercise in book.exercises:
        points = f"{exercise.points:g} point{'' if exercise.points == 1 else 's'}"
        lines.append(f"{exercise.id:>5}  {exercise.title}  ({points}, {exercise.kind})")
        if exercise.kind == "package":
            for region in book.regions_of(exercise):
                lines.append(f"       answer: {region.where} in {region.name or 'module level'}")
            for path in book.tests.get(exercise.id, []):
                lines.append(f"       tests:  {path}")
        else:
            section = book.sections.get(exercise.id)
            if section:
                lines.append(
                    f"       answer: {exercise.where}, code cell(s) {section.answers}; "
                    f"checks: code cell(s) {section.checks}"
                )
    total = sum(e.points for e in book.exercises)
    lines.append(f"{len(book.exercises)} exercises, {total:g} points")
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv not in ([], ["check"], ["list"]):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        book = load_book(ROOT)
    except TableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if argv != ["check"]:
        print(describe(book))
    for problem in book.problems:
        print(f"problem: {problem}", file=sys.stderr if argv != ["check"] else sys.stdout)
    if argv == ["check"]:
        print(f"{len(book.problems)} problem(s)." if book.problems else "exercises.toml and the book agree.")
    return 1 if book.problems else 0


if __name__ == "__main__":
    sys.exit(main())
