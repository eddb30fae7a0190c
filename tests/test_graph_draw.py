"""Rendering computation graphs (framework.autograd.draw, Chapter 3)."""

import shutil
import warnings

import pytest

import framework.autograd.draw as draw_module
from framework.autograd import tensor
from framework.autograd.draw import DotNotFoundError, GraphDrawing, draw_graph
from framework.autograd.graph import dot_source

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot program is not installed")


def linear():
    w = tensor(0.5, requires_grad=True, name="w")
    x = tensor(3.0, name="x")
    b = tensor(0.25, requires_grad=True, name="b")
    y = w * x + b
    y.name = "y"
    return y


@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    """Pretend graphviz's dot is not installed: an empty PATH, and no warning given yet."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(draw_module, "_warned_missing_dot", False)


def test_repr_is_a_short_deterministic_summary():
    y = linear()
    assert repr(draw_graph(y)) == "forward graph: 7 nodes, 6 edges"
    assert repr(draw_graph(y, kind="reverse")) == "reverse graph: 6 nodes, 5 edges"
    assert repr(draw_graph(y, kind="both")) == "forward graph: 7 nodes, 6 edges; reverse graph: 6 nodes, 5 edges"


def test_source_is_the_pure_dot_text():
    y = linear()
    for kind in ("forward", "reverse", "both"):
        assert draw_graph(y, kind=kind, legend=True).source == dot_source(y, kind=kind, legend=True)


def test_notebooks_get_png_only():
    drawing = draw_graph(linear())
    for name in ("_repr_svg_", "_repr_html_", "_repr_jpeg_", "_repr_mimebundle_"):
        assert not hasattr(drawing, name), name


def test_bad_kind_is_a_clear_error():
    with pytest.raises(ValueError, match="kind must be one of forward, reverse, both, got 'up'"):
        draw_graph(linear(), kind="up")


@needs_dot
def test_png_and_svg_are_rendered():
    drawing = draw_graph(linear(), kind="both", legend=True)
    image, metadata = drawing._repr_png_()
    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    # drawn at 144 dpi, shown at the size of 96 dpi: sharp on a laptop screen
    width = int.from_bytes(image[16:20], "big")
    assert metadata == {"width": width * 96 // 144}
    import graphviz

    plain = graphviz.Source(drawing.source).pipe(format="png")  # graphviz's own 96 dpi
    assert abs(width / int.from_bytes(plain[16:20], "big") - 1.5) < 0.05
    svg = drawing.svg()
    assert "<svg" in svg and "MulBackward" in svg


@needs_dot
def test_save_chooses_the_format_from_the_suffix(tmp_path):
    drawing = draw_graph(linear(), kind="both")
    assert drawing.save(tmp_path / "g.png").read_bytes().startswith(b"\x89PNG")
    assert "<svg" in drawing.save(tmp_path / "g.svg").read_text(encoding="utf-8")
    assert drawing.save(tmp_path / "g.pdf").read_bytes().startswith(b"%PDF")
    assert drawing.save(tmp_path / "g.dot").read_text(encoding="utf-8") == drawing.source
    with pytest.raises(ValueError, match="cannot tell the format of 'g.jpg'"):
        drawing.save(tmp_path / "g.jpg")


def test_missing_dot_warns_once_and_falls_back_to_text(no_dot):
    drawing = draw_graph(linear())
    with pytest.warns(RuntimeWarning) as caught:
        assert drawing._repr_png_() is None
    message = str(caught[0].message)
    for hint in ("sudo apt-get install graphviz", "brew install graphviz", "conda install -c conda-forge graphviz"):
        assert hint in message
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second drawing must stay quiet
        assert draw_graph(linear())._repr_png_() is None
    assert repr(drawing) == "forward graph: 7 nodes, 6 edges"
    assert drawing.source.startswith("digraph forward {")


def test_missing_dot_saving_images_explains_saving_text_works(no_dot, tmp_path):
    drawing = draw_graph(linear(), kind="reverse")
    with pytest.raises(DotNotFoundError, match="apt-get install graphviz"):
        drawing.save(tmp_path / "g.png")
    with pytest.raises(DotNotFoundError, match=r"\.source"):
        drawing.svg()
    assert drawing.save(tmp_path / "g.dot").read_text(encoding="utf-8") == drawing.source


def test_drawing_can_be_built_from_any_dot_text():
    drawing = GraphDrawing("digraph { a -> b; }\n", "two nodes")
    assert repr(drawing) == "two nodes"
