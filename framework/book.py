"""Helpers every chapter uses: a reproducible setup and showing the package's code.

Every notebook starts with ``setup()`` so that two runs print the same text,
and shows the code it explains with ``show_source(...)``, straight from the
package, so the book and the package can never disagree.
"""

import inspect
import random
import textwrap

import numpy as np

DEFAULT_SEED = 0


def setup(seed=DEFAULT_SEED, precision=4):
    """Make a notebook deterministic: seeds, print options and figure format.

    - seeds Python's ``random`` and NumPy's legacy global generator;
    - prints arrays with ``precision`` digits and suppresses scientific
      notation for small numbers, so printed values are short and stable;
    - draws matplotlib figures as PNG (text and SVG outputs are compared
      byte for byte by the notebook validator; PNG images are not) with a
      fixed size and a resolution of 150 dots per inch.

    Returns a ``numpy.random.Generator`` seeded with ``seed``, for code that
    wants its own generator rather than the global one.
    """
    random.seed(seed)
    np.random.seed(seed)
    np.set_printoptions(precision=precision, suppress=True, linewidth=88)
    _setup_matplotlib()
    return np.random.default_rng(seed)


FIGURE_DPI = 150
"""Pixels per inch of the figures: sharp on a laptop's screen."""


def _setup_matplotlib():
    """Fix the figure size and resolution; inside IPython, show figures inline as PNG.

    The PNG files carry no "Software" entry (matplotlib's version), so that
    a figure drawn again is the same file byte for byte. (The pixels are the
    same from run to run and from machine to machine when the arithmetic
    that computed the data is: see ``tools.chapters.same_arithmetic_everywhere``.)
    """
    import matplotlib

    matplotlib.rcParams.update(
        {
            "figure.figsize": (6.0, 4.0),
            "figure.dpi": FIGURE_DPI,
            "savefig.dpi": FIGURE_DPI,
            "axes.grid": True,
            "grid.alpha": 0.3,
        }
    )
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    shell.run_line_magic("matplotlib", "inline")
    set_matplotlib_formats("png", metadata={"Software": None})


def source_of(obj):
    """The source code of a function, class or method, dedented."""
    return textwrap.dedent(inspect.getsource(obj))


def show_source(*objects):
    """Display the package's own source of each object as a highlighted block.

    Outside IPython the source is printed instead.
    """
    code = "\n\n".join(source_of(obj).rstrip() for obj in objects)
    try:
        from IPython.display import Markdown, display
        from IPython import get_ipython
    except ImportError:
        print(code)
        return
    if get_ipython() is None:
        print(code)
        return
    display(Markdown(f"```python\n{code}\n```"))
