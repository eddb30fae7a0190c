"""Pictures of computation graphs, drawn by graphviz (Chapter 3).

``draw_graph(output)`` returns a ``GraphDrawing``: in a notebook it shows
as a PNG image, and as text it is a one-line summary such as
``forward graph: 7 nodes, 6 edges``. Its DOT text (from the pure functions
of ``framework.autograd.graph``) is in ``.source``, and ``.save(path)``
writes a PNG, SVG or PDF file, or the DOT text itself.

The images are made by graphviz's ``dot`` program. When it is not
installed, a drawing warns once, explaining how to install it, and shows
only its text; ``.source`` and saving as ``.dot`` still work.
"""

import warnings
from pathlib import Path

import graphviz

from framework.autograd.graph import KINDS, dot_source, graph_summary

INSTALL_HELP = (
    "the graphviz program `dot` was not found, so graphs cannot be drawn as images. "
    "Install it with one of:\n"
    "    Debian/Ubuntu:  sudo apt-get install graphviz\n"
    "    macOS:          brew install graphviz\n"
    "    conda:          conda install -c conda-forge graphviz\n"
    "and restart the notebook. Meanwhile the DOT text is in the drawing's .source "
    "(print(drawing.source)), and .save('graph.dot') writes it to a file."
)

IMAGE_FORMATS = ("png", "svg", "pdf")

#: Resolution of PNG images, in dots per inch. Notebooks show them at the size
#: of graphviz's usual 96 dpi, so on a laptop screen they stay sharp.
PNG_DPI = 144
SCREEN_DPI = 96
TEXT_FORMATS = ("dot", "gv")

_warned_missing_dot = False


class DotNotFoundError(RuntimeError):
    """Raised when an image is asked for and graphviz's ``dot`` is missing."""


class GraphDrawing:
    """A drawn graph: PNG in notebooks, a one-line summary as text.

    - ``source``: the DOT text;
    - ``summary``: the text shown by ``repr``;
    - ``png()`` / ``svg()``: the rendered image (bytes / text);
    - ``save(path)``: write ``.png``, ``.svg``, ``.pdf`` or ``.dot``.

    Only PNG is offered to notebooks: SVG from ``dot`` differs from one
    graphviz version to the next, and notebook validators compare SVG text.
    """

    def __init__(self, source, summary):
        self.source = source
        self.summary = summary

    def __repr__(self):
        return self.summary

    def render(self, format):
        """The image in ``format`` ("png", "svg" or "pdf") as bytes."""
        if format not in IMAGE_FORMATS:
            raise ValueError(f"render: format must be one of {', '.join(IMAGE_FORMATS)}, got {format!r}")
        source = _with_resolution(self.source, PNG_DPI) if format == "png" else self.source
        try:
            return graphviz.Source(source).pipe(format=format)
        except graphviz.ExecutableNotFound:
            raise DotNotFoundError(INSTALL_HELP) from None

    def png(self):
        """The drawing as PNG bytes."""
        return self.render("png")

    def svg(self):
        """The drawing as SVG text."""
        return self.render("svg").decode("utf-8")

    def save(self, path):
        """Write the drawing to ``path``; its suffix chooses the format.

        ``.png``, ``.svg`` and ``.pdf`` need graphviz's ``dot`` program;
        ``.dot`` and ``.gv`` write the DOT text and need nothing.
        Returns the path.
        """
        path = Path(path)
        suffix = path.suffix.lower().lstrip(".")
        if suffix in TEXT_FORMATS:
            path.write_text(self.source, encoding="utf-8")
        elif suffix in IMAGE_FORMATS:
            path.write_bytes(self.render(suffix))
        else:
            known = ", ".join("." + f for f in IMAGE_FORMATS + TEXT_FORMATS)
            raise ValueError(f"save: cannot tell the format of {path.name!r}; use a name ending in {known}")
        return path

    def _repr_png_(self):
        """PNG for notebooks, with the width to show it at; None (so the text is shown) when ``dot`` is missing."""
        global _warned_missing_dot
        try:
            image = self.png()
            return image, {"width": _png_width(image) * SCREEN_DPI // PNG_DPI}
        except DotNotFoundError:
            if not _warned_missing_dot:
                _warned_missing_dot = True
                warnings.warn(INSTALL_HELP, RuntimeWarning, stacklevel=2)
            return None


def _with_resolution(source, dpi):
    """The DOT text with a ``dpi`` setting for the whole graph, right after its opening brace."""
    opening = source.find("{") + 1
    return f"{source[:opening]}\n  graph [dpi={dpi}];{source[opening:]}"


def _png_width(image):
    """The width in pixels of a PNG image, read from its header."""
    return int.from_bytes(image[16:20], "big")


def draw_graph(output, kind="forward", gradients=None, max_values=6, legend=False):
    """Draw the computation graph that produced ``output``.

    - ``kind``: "forward" (values flowing from the leaves to the output),
      "reverse" (gradients flowing back, each backward step labelled with
      its local derivative) or "both" side by side;
    - ``gradients``: optional dict from tensors to the gradients flowing
      into them, e.g. ``flowing_gradients(output)``; without it the reverse
      graph shows the ``.grad`` of leaves (after backward) and shapes;
    - ``max_values``: tensors with more elements show their shape;
    - ``legend``: add a small legend of the node styles.

    Returns a ``GraphDrawing`` (see its docstring).
    """
    if kind not in KINDS:
        raise ValueError(f"draw_graph: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    source = dot_source(output, kind=kind, gradients=gradients, max_values=max_values, legend=legend)
    return GraphDrawing(source, graph_summary(output, kind))
