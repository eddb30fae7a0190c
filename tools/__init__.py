"""Tools that build, check, grade and hand out the book.

- ``tools.chapters``: where chapters live, their titles, and which chapter
  introduces each module of the package.
- ``tools.build``: the command line behind ``./run`` (``python -m tools.build --help``).
- ``tools.site``: the book's website, built with Sphinx from the executed notebooks.
- ``tools.checks``: the checks that a stored notebook matches its chapter.
- ``tools.exercises``: reads and checks ``exercises.toml`` and the solution regions.
- ``tools.student``: writes the student edition (answers replaced by stubs).
- ``tools.grade``: grades a copy of the book, exercise by exercise, with
  the parts in ``tools.grading``: ``submission`` (finding the answers),
  ``workspace`` (the private reference and the student's folders),
  ``sandbox`` (running the student's code), ``probe`` (the grader's code
  beside it), ``judge`` (the verdict) and ``report`` (table and results.json).
"""
