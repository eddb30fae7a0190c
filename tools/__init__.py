"""Tools that turn the chapters into executed notebooks and HTML, and check them.

- ``tools.chapters``: where chapters live, their titles, and which chapter
  introduces each module of the package.
- ``tools.build``: the command line (``python -m tools.build --help``).
- ``tools.checks``: the checks that a stored notebook matches its chapter.
"""
