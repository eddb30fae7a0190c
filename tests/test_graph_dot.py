"""The DOT text of computation graphs (framework.autograd.graph, Chapter 3)."""

import ast
import inspect
import re

import numpy as np
import pytest

import framework.autograd.draw as draw_module
import framework.autograd.graph as graph_module
from framework.autograd import ops, tensor
from framework.autograd.graph import (
    LOCAL_DERIVATIVES,
    derivative_lines,
    dot_source,
    flowing_gradients,
    format_values,
    forward_dot,
    graph_summary,
    graph_tensors,
    numbered_nodes,
    reverse_dot,
)
from framework.autograd.tensor import Function


def linear():
    """y = w * x + b with w, b parameters and x an input."""
    w = tensor(0.5, requires_grad=True, name="w")
    x = tensor(3.0, name="x")
    b = tensor(0.25, requires_grad=True, name="b")
    y = w * x + b
    y.name = "y"
    return w, x, b, y


HEADER = """\
  graph [rankdir=TB, ordering=in, nodesep=0.3, ranksep=0.3, fontname="Helvetica", fontsize=12];
  node [fontname="Helvetica", fontsize=11, margin="0.1,0.04"];
  edge [fontname="Helvetica", fontsize=9, arrowsize=0.7];
"""

EXPECTED_FORWARD = (
    "digraph forward {\n"
    + HEADER
    + """\
  n0 [label="w = 0.5", shape=box, style=filled, fillcolor="#c5e5b4", penwidth=2];
  n1 [label="x = 3", shape=box, style=filled, fillcolor="#e4e4e4"];
  n2 [label="Mul", shape=ellipse, style=filled, fillcolor="#fcd9a8"];
  n3 [label="1.5", shape=box, style="rounded,filled", fillcolor="#ffffff"];
  n4 [label="b = 0.25", shape=box, style=filled, fillcolor="#c5e5b4", penwidth=2];
  n5 [label="Add", shape=ellipse, style=filled, fillcolor="#fcd9a8"];
  n6 [label="y = 1.75", shape=box, style="rounded,filled", fillcolor="#ffffff", peripheries=2];
  n0 -> n2 [label="1st"];
  n1 -> n2 [label="2nd"];
  n2 -> n3;
  n3 -> n5 [label="1st"];
  n4 -> n5 [label="2nd"];
  n5 -> n6;
}
"""
)

EXPECTED_REVERSE = (
    "digraph reverse {\n"
    + HEADER
    + """\
  n0_grad [label="∂y/∂w = 3", shape=box, style="rounded,filled", fillcolor="#fbe0e6", penwidth=2];
  n2_backward [label="MulBackward\\nto w: × x = 3", shape=ellipse, style=filled, fillcolor="#f4b6c2"];
  n3_grad [label="1", shape=box, style="rounded,filled", fillcolor="#fbe0e6"];
  n4_grad [label="∂y/∂b = 1", shape=box, style="rounded,filled", fillcolor="#fbe0e6", penwidth=2];
  n5_backward [label="AddBackward\\nto 1.5: × 1\\nto b: × 1", shape=ellipse, style=filled, fillcolor="#f4b6c2"];
  n6_grad [label="∂y/∂y = 1", shape=box, style="rounded,filled", fillcolor="#fbe0e6", peripheries=2];
  n0_grad -> n2_backward [label="3", dir=back];
  n2_backward -> n3_grad [dir=back];
  n3_grad -> n5_backward [label="1", dir=back];
  n4_grad -> n5_backward [label="1", dir=back];
  n5_backward -> n6_grad [dir=back];
}
"""
)


def test_forward_dot_of_a_small_graph_is_the_expected_text():
    *_, y = linear()
    assert forward_dot(y) == EXPECTED_FORWARD


def test_reverse_dot_with_flowing_gradients_is_the_expected_text():
    *_, y = linear()
    assert reverse_dot(y, gradients=flowing_gradients(y)) == EXPECTED_REVERSE


def test_both_puts_the_two_graphs_side_by_side_in_clusters():
    *_, y = linear()
    text = dot_source(y, kind="both")
    assert text.startswith("digraph computation {\n")
    assert "  subgraph cluster_forward {\n" in text
    assert "  subgraph cluster_reverse {\n" in text
    assert text.index("cluster_forward") < text.index("cluster_reverse")
    forward_nodes = re.findall(r"^ {4}(n\d+) \[", text, flags=re.M)
    assert forward_nodes == [f"n{i}" for i in range(7)]


def test_same_graph_twice_gives_the_same_text():
    texts = set()
    for _ in range(3):
        *_, y = linear()
        texts.add(dot_source(y, kind="both", legend=True))
    assert len(texts) == 1


def test_identifiers_are_sequential_and_never_addresses():
    rng = np.random.default_rng(0)
    x = tensor(rng.normal(size=(4, 3)))
    w = tensor(rng.normal(size=(3, 2)), requires_grad=True)
    y = ops.tanh(x @ w).sum()
    text = dot_source(y, kind="both", legend=True)
    assert "0x" not in text
    ids = re.findall(r"^\s*(n\d+) \[", text, flags=re.M)
    assert ids == [f"n{i}" for i in range(len(ids))]
    assert [identifier for identifier, _ in numbered_nodes(y)] == ids


def test_graph_tensors_lists_inputs_before_results_once_each():
    a = tensor(2.0, requires_grad=True, name="a")
    b = a + a
    c = b * b
    order = graph_tensors(c)
    assert [t is a for t in order] == [True, False, False]
    assert order[1] is b and order[2] is c


def test_value_used_twice_has_two_edges():
    a = tensor(2.0, requires_grad=True, name="a")
    b = a * a
    text = forward_dot(b)
    assert 'n0 -> n1 [label="1st"];' in text
    assert 'n0 -> n1 [label="2nd"];' in text
    reverse = reverse_dot(b)
    assert 'n0_grad -> n1_backward [label="1st", dir=back];' in reverse
    assert 'n0_grad -> n1_backward [label="2nd", dir=back];' in reverse
    assert "MulBackward\\nto a (1st): × a\\nto a (2nd): × a" in reverse


def test_node_kinds_are_drawn_differently():
    *_, y = linear()
    text = forward_dot(y)
    lines = {m.group(1): m.group(2) for m in re.finditer(r"^  (n\d+) \[label=\"[^\"]*\", (.*)\];$", text, re.M)}
    parameter, input_, intermediate, operation = lines["n0"], lines["n1"], lines["n3"], lines["n2"]
    assert len({parameter, input_, intermediate, operation}) == 4
    assert "peripheries=2" in lines["n6"]  # the output


def test_big_tensors_show_shapes_small_ones_values():
    x = tensor(np.arange(12.0).reshape(3, 4), name="x")
    w = tensor(np.ones((4, 3)), requires_grad=True, name="w")
    y = x @ w
    text = forward_dot(y)
    assert 'label="x\\nshape (3, 4)"' in text
    assert 'label="w\\nshape (4, 3)"' in text
    assert 'label="shape (3, 3)"' in text
    assert 'label="shape (3, 3)"' in reverse_dot(y, gradients=flowing_gradients(y, grad=np.ones((3, 3))))
    small = forward_dot(y, max_values=12)
    assert 'label="x\\n[[0, 1, 2, 3]\\n [4, 5, 6, 7]\\n [8, 9, 10, 11]]"' in small
    assert "shape (4, 3)" not in small


def test_format_values():
    assert format_values(np.array(0.5)) == ["0.5"]
    assert format_values(np.array([1.0, -2.5, 1e-5])) == ["[1, -2.5, 1e-05]"]
    assert format_values(np.array([[1.0, 2.0], [3.0, 4.0]])) == ["[[1, 2]", " [3, 4]]"]
    assert format_values(np.array([[1.0, 2.0]])) == ["[[1, 2]]"]
    assert format_values(np.zeros((2, 2, 2))) == ["shape (2, 2, 2)"]
    assert format_values(np.zeros(7)) == ["shape (7,)"]
    assert format_values(np.zeros(7), max_values=7) == ["[0, 0, 0, 0, 0, 0, 0]"]


def test_reverse_graph_labels_local_derivatives_and_gradients():
    w, x, b, y = linear()
    before = reverse_dot(y)
    assert 'label="∂y/∂w\\nshape ()"' in before  # not known before backward
    assert 'label="∂y/∂y = 1"' in before  # the starting gradient
    assert "to x" not in before  # x needs no gradient, so Mul computes none for it
    assert "to w: × x\\n" not in before and "to w: × x\"" in before  # no values without gradients
    y.backward()
    after = reverse_dot(y)
    assert 'label="∂y/∂w = 3"' in after
    assert 'label="∂y/∂b = 1"' in after
    assert 'label="shape ()"' in after  # intermediate gradients are not stored by backward


def test_constants_get_no_gradient_node():
    *_, y = linear()
    text = reverse_dot(y)
    assert "n1_grad" not in text  # x
    assert "n0_grad" in text and "n4_grad" in text


def test_every_operation_has_a_local_derivative_label():
    functions = [
        obj
        for name, obj in vars(ops).items()
        if inspect.isclass(obj) and issubclass(obj, Function) and obj is not Function and not name.startswith("_")
    ]
    assert len(functions) >= 30
    missing = [f.__name__ for f in functions if f.__name__ not in LOCAL_DERIVATIVES]
    assert not missing, f"add local-derivative labels to LOCAL_DERIVATIVES for {missing}"
    for cls in functions:
        labels = LOCAL_DERIVATIVES[cls.__name__]
        params = list(inspect.signature(cls.forward).parameters)[1:]
        assert "*" in labels or set(labels) == set(params), cls.__name__


def test_labels_follow_which_inputs_need_gradients():
    a = tensor(2.0, requires_grad=True)
    b = tensor(3.0, requires_grad=True)
    assert derivative_lines((a * b).grad_fn) == ["to 2: × 3", "to 3: × 2"]
    assert derivative_lines((a * 3.0).grad_fn) == ["to 2: × 3"]
    assert derivative_lines((3.0 * b).grad_fn) == ["to 3: × 3"]
    a.name, b.name = "p", "q"
    assert derivative_lines((a * b).grad_fn) == ["to p: × q", "to q: × p"]
    assert derivative_lines(ops.stack([a, b]).grad_fn) == ["each input gets its slice of g"]


def test_unknown_operation_falls_back_and_class_labels_win():
    class Twice(Function):
        def forward(self, x):
            return 2 * x

        def backward(self, gy):
            return 2 * gy

    class Thrice(Twice):
        derivative_labels = {"x": "× 3"}

    x = tensor(1.0, requires_grad=True)
    assert derivative_lines(Twice()(x).grad_fn) == ["applies Twice.backward"]
    assert derivative_lines(Thrice()(x).grad_fn) == ["× 3"]
    assert "TwiceBackward\\napplies Twice.backward" in reverse_dot(Twice()(x))


def test_operation_labels_show_their_settings():
    x = tensor(np.ones((2, 3)), requires_grad=True)
    assert 'label="Sum\\naxis=0"' in forward_dot(x.sum(axis=0))
    assert 'label="Sum"' in forward_dot(x.sum())
    assert 'label="Mean\\naxis=1, keepdims=True"' in forward_dot(x.mean(axis=1, keepdims=True))
    assert 'label="Reshape\\nshape=(3, 2)"' in forward_dot(x.reshape(3, 2))
    assert 'label="GetItem\\nindex=(0, 1:3)"' in forward_dot(x[0, 1:3])
    assert 'label="Clip\\nlow=0, high=1"' in forward_dot(x.clip(0, 1))


def test_names_are_escaped():
    x = tensor(1.0, requires_grad=True, name='say "hi"\\')
    text = forward_dot(x * 2)
    assert 'label="say \\"hi\\"\\\\ = 1"' in text


def test_summary_counts_nodes_and_edges():
    *_, y = linear()
    assert graph_summary(y) == "forward graph: 7 nodes, 6 edges"
    assert graph_summary(y, "reverse") == "reverse graph: 6 nodes, 5 edges"
    assert graph_summary(y, "both") == "forward graph: 7 nodes, 6 edges; reverse graph: 6 nodes, 5 edges"


def test_bad_kind_and_no_graph_are_clear_errors():
    *_, y = linear()
    with pytest.raises(ValueError, match="kind must be one of forward, reverse, both"):
        dot_source(y, kind="sideways")
    plain = tensor(1.0) * 2
    assert graph_summary(plain) == "forward graph: 1 nodes, 0 edges"  # nothing recorded
    with pytest.raises(ValueError, match="does not require grad"):
        reverse_dot(plain)


@pytest.mark.exercise("4.1")
def test_flowing_gradients_agree_with_backward():
    rng = np.random.default_rng(1)
    x = tensor(rng.normal(size=(4, 3)), name="x")
    w = tensor(rng.normal(size=(3, 2)), requires_grad=True, name="w")
    b = tensor(rng.normal(size=2), requires_grad=True, name="b")
    h = ops.tanh(x @ w + b)
    loss = (h * h).mean()
    flows = flowing_gradients(loss)
    assert x not in flows and h in flows and loss in flows
    loss.backward()
    np.testing.assert_allclose(flows[w], w.grad.data)
    np.testing.assert_allclose(flows[b], b.grad.data)


def test_flowing_gradients_accumulate_where_a_value_is_used_twice():
    a = tensor(2.0, requires_grad=True)
    b = a + a
    c = b + b
    assert flowing_gradients(c)[a] == 4.0


def test_flowing_gradients_after_backward_needs_retain_graph():
    *_, y = linear()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        flowing_gradients(y)
    *_, y = linear()
    y.backward(retain_graph=True)
    assert flowing_gradients(y)[y] == 1.0


def test_flowing_gradients_of_a_non_scalar_needs_grad():
    x = tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    with pytest.raises(ValueError, match="pass grad"):
        flowing_gradients(y)
    np.testing.assert_allclose(flowing_gradients(y, grad=np.ones(2))[x], [2.0, 4.0])


def test_deep_graph_needs_no_recursion():
    x = tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    assert len(numbered_nodes(y)) == 1 + 2 * 5000 + 5000  # x, then Mul, constant 1 and result per step
    assert graph_summary(y).startswith("forward graph: 15001 nodes")


@pytest.mark.parametrize("module", [graph_module, draw_module])
def test_drawing_modules_import_nothing_from_later_chapters(module):
    tree = ast.parse(inspect.getsource(module))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    framework_modules = {name for name in imported if name.startswith("framework")}
    allowed = {"framework.autograd.tensor", "framework.autograd.graph"}
    assert framework_modules <= allowed, framework_modules - allowed


def test_reverse_graph_shows_factors_contributions_and_their_sum():
    a = tensor(2.0, requires_grad=True, name="a")
    b = a + a
    b.name = "b"
    c = b * b
    c.name = "c"
    text = dot_source(c, kind="both", gradients=flowing_gradients(c))
    assert 'n3_backward [label="MulBackward\\nto b (1st): × b = 4\\nto b (2nd): × b = 4"' in text
    assert text.count('n2_grad -> n3_backward [label="4", dir=back];') == 2
    assert 'n2_grad [label="∂c/∂b = 4 + 4 = 8"' in text
    assert 'n0_grad [label="∂c/∂a = 8 + 8 = 16"' in text
    # the backward step of Mul reads the saved b; that of Add reads nothing
    assert re.findall(r"^  (n\d+) -> (n\d+)_backward \[style=dashed", text, re.M) == [("n2", "n3")]


def test_a_negative_contribution_is_subtracted_in_the_sum():
    a = tensor(3.0, requires_grad=True, name="a")
    d = a * 2.0 - a
    d.name = "d"
    text = reverse_dot(d, gradients=flowing_gradients(d))
    assert 'label="∂d/∂a = 2 - 1 = 1"' in text


def test_saved_links_follow_the_factors():
    x = tensor(0.5, requires_grad=True, name="x")
    s = ops.sigmoid(x)
    s.name = "s"
    assert derivative_lines(s.grad_fn, s) == ["to x: × s(1 - s)"]
    text = dot_source(s, kind="both", gradients=flowing_gradients(s))
    assert "to x: × s(1 - s) = 0.235" in text
    assert re.findall(r"^  (n\d+) -> (n\d+)_backward \[style=dashed", text, re.M) == [("n2", "n1")]


def test_broadcast_inputs_are_shown_summed_back():
    x = tensor(np.ones((8, 3)), name="x")
    bias = tensor(np.zeros(3), requires_grad=True, name="bias")
    y = (x + bias).mean()
    text = reverse_dot(y, gradients=flowing_gradients(y))
    assert "to bias: × 1\\nsummed (8, 3) → (3,)" in text
    assert 'label="∂out/∂bias = [8, 8, 8]"' not in text  # the mean divides by 24
    assert 'label="∂out/∂bias = [0.3333, 0.3333, 0.3333]"' in text


def test_reverse_walk_adds_the_shares_of_a_value_used_twice():
    from framework.autograd.graph import reverse_walk

    a = tensor(2.0, requires_grad=True)
    b = a + a
    c = b * b
    gradients = reverse_walk(c, np.ones(()))
    assert gradients[b] == 8 and gradients[a] == 16
    assert a.grad is None  # the walk stores nothing in .grad


def test_edges_carry_the_shapes_of_array_contributions():
    x = tensor(np.ones((8, 3)), name="x")
    bias = tensor(np.zeros(3), requires_grad=True, name="bias")
    y = (x * 2.0 + bias).mean()
    text = reverse_dot(y, gradients=flowing_gradients(y))
    assert re.search(r'n\d+_grad -> n\d+_backward \[label="\(3,\)", dir=back\];', text)  # to bias, summed
    assert 'label="1st"' not in text and 'label="2nd"' not in text
