"""Tools that build, check, grade and hand out the book.

- ``tools.chapters``: where chapters live, their titles, and which chapter
  introduces each module of the package.
- ``tools.build``: the command line behind ``./run`` (``python -m tools.build --help``).
- ``tools.site``: the book's website, built with Sphinx from the executed notebooks.
- ``tools.checks``: the checks that a stored notebook matches its chapter.
- ``tools.exercises``: reads and checks ``exercises.toml`` and the solution regions.
- ``tools.student``: writes the student edition (answers replaced by stubs).
- ``tools.grade``: grades a copy of the book, exercise by exercise
  (with ``tools.exercise_plugin`` for pytest and ``tools.notebook_runner``
  for notebook exercises).
"""
