"""The computation graph as data and as DOT text (Chapter 3).

Every operation on tensors records, in its result's ``grad_fn``, the
``Function`` that made it and that function's ``inputs``. Following these
records from an output back to the leaves recovers the whole graph. This
module walks it and describes it in the DOT language of graphviz; the
functions here are pure (they only read the graph) and deterministic, so
the text can be tested character for character. ``framework.autograd.draw``
turns the text into pictures.

Two graphs can be described:

- the *forward graph*: data nodes (boxes) and operation nodes (ellipses),
  arrows pointing the way values flow, from the leaves to the output;
- the *reverse graph*: its mirror image, the computation of the gradients.
  Each tensor that requires grad has a gradient node, each operation a
  backward node naming the local factor it multiplies the incoming
  gradient by on its way to each input (``to w: × x``), and the arrows
  point the way gradients flow, from the output back to the leaves. Given
  the flowing gradients, the factors show their values, each arrow what it
  carries (a number, or a shape), and a gradient made of several
  contributions their sum (``4 + 4 = 8``). Drawn beside the forward graph,
  a dashed line links each backward node to the forward values it saved.

Styles (also drawn by ``legend=True``):

==============  =======================================================
input           grey box: a leaf that does not require grad (data, constants)
parameter       green box with a thick border: a leaf that requires grad
intermediate    white rounded box: the result of an operation
output          the output's box has a double border
operation       orange ellipse, with its settings (``axis=0``) if any
gradient        pink rounded box: the gradient of the output w.r.t. a tensor
backward step   pink ellipse, with the local factor for each input
==============  =======================================================

A data node shows the tensor's name (if it has one) and its values when it
has at most ``max_values`` elements, otherwise its shape. Edges into an
operation with several inputs are labelled with the input's position
(``1st``, ``2nd``). Node identifiers are ``n0, n1, ...`` in a fixed order
(inputs before results, the inputs of an operation from left to right); the
gradient node of ``n3`` is ``n3_grad`` and the backward step of operation
``n2`` is ``n2_backward``.
"""

import inspect
import re

import numpy as np

from framework.autograd.tensor import Function, Tensor, topological_order, walk_backward

# ---------------------------------------------------------------------------
# Walking the graph
# ---------------------------------------------------------------------------


def graph_tensors(output):
    """Every tensor of ``output``'s graph, each after the tensors it was computed from.

    Unlike ``topological_order`` (which backward uses), constants and inputs
    that do not require grad are included: they are part of the picture.
    An iterative depth-first search that visits the inputs of an operation
    from left to right, so the order is the same on every run.
    """
    order = []
    seen = set()
    stack = [(output, False)]
    while stack:
        tensor, inputs_done = stack.pop()
        if inputs_done:
            order.append(tensor)
            continue
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        stack.append((tensor, True))
        if tensor.grad_fn is not None:
            for parent in reversed(tensor.grad_fn.inputs):
                if id(parent) not in seen:
                    stack.append((parent, False))
    return order


def numbered_nodes(output):
    """The graph's nodes, tensors and operations, with identifiers ``n0, n1, ...``.

    Returns a list of ``(identifier, node)`` pairs in the order of
    ``graph_tensors``, each operation placed just before the tensor it made.
    """
    nodes = []
    for tensor in graph_tensors(output):
        if tensor.grad_fn is not None:
            nodes.append(tensor.grad_fn)
        nodes.append(tensor)
    return [(f"n{i}", node) for i, node in enumerate(nodes)]


def input_names(function):
    """Names of an operation's inputs, from its ``forward`` signature.

    ``Mul.forward(self, a, b)`` gives ``["a", "b"]``; an operation taking
    any number of inputs (``forward(self, *xs)``) gives ``x0, x1, ...``.
    """
    parameters = list(inspect.signature(type(function).forward).parameters.values())[1:]
    names = []
    for parameter in parameters:
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            stem = parameter.name.rstrip("s") or "x"
            names.extend(f"{stem}{i}" for i in range(len(function.inputs) - len(names)))
            break
        names.append(parameter.name)
    return names[: len(function.inputs)]


# ---------------------------------------------------------------------------
# Local derivatives of the operations
# ---------------------------------------------------------------------------

# What each backward step does to the gradient g arriving from the output
# side. Elementwise operations show the local factor that multiplies g on
# its way to an input; operations that move or combine values show where g
# goes. In a factor, {a}, {b} or {x} stands for an input of ``forward`` and
# {out} for the result: the drawing writes the tensor's name there (or its
# value when it is an unnamed number), and links the backward step to that
# forward value, which it saved. Keys are operation class names, then input
# names; the key "*" covers every input. An operation class may instead
# define its own ``derivative_labels`` attribute with the same shape.
LOCAL_DERIVATIVES = {
    "Add": {"a": "× 1", "b": "× 1"},
    "Sub": {"a": "× 1", "b": "× -1"},
    "Mul": {"a": "× {b}", "b": "× {a}"},
    "Div": {"a": "× 1/{b}", "b": "× -{a}/{b}²"},
    "Neg": {"x": "× -1"},
    "Pow": {"a": "× {b}·{a}^({b}-1)", "b": "× {out}·log {a}"},
    "Exp": {"x": "× {out}"},
    "Log": {"x": "× 1/{x}"},
    "Sqrt": {"x": "× 1/(2·{out})"},
    "Sin": {"x": "× cos {x}"},
    "Cos": {"x": "× -sin {x}"},
    "Tanh": {"x": "× (1 - {out}²)"},
    "Sigmoid": {"x": "× {out}(1 - {out})"},
    "ReLU": {"x": "× (1 if {x} > 0 else 0)"},
    "Abs": {"x": "× sign {x}"},
    "Maximum": {"a": "× (1 if {a} > {b} else 0)", "b": "× (1 if {b} > {a} else 0)"},
    "Minimum": {"a": "× (1 if {a} < {b} else 0)", "b": "× (1 if {b} < {a} else 0)"},
    "Clip": {"x": "× (1 inside the bounds else 0)"},
    "MatMul": {"a": "g @ {b}ᵀ", "b": "{a}ᵀ @ g"},
    "Sum": {"x": "g copied back"},
    "Mean": {"x": "g / n copied back"},
    "Max": {"x": "g to the largest entries"},
    "Min": {"x": "g to the smallest entries"},
    "Reshape": {"x": "g reshaped back"},
    "Transpose": {"x": "g transposed back"},
    "BroadcastTo": {"x": "g summed back to its shape"},
    "GetItem": {"x": "g scattered into zeros"},
    "ScatterAdd": {"g": "g picked at the index"},
    "Concatenate": {"*": "each input gets its piece of g"},
    "Stack": {"*": "each input gets its slice of g"},
    "Where": {"a": "g where the condition holds", "b": "g where it does not"},
}

# Operations that broadcast their inputs: the gradient of an input whose
# shape differs from the result's is summed back to it (``sum_to``).
BROADCASTING = {"Add", "Sub", "Mul", "Div", "Pow", "Maximum", "Minimum", "Where"}

ORDINALS = ("1st", "2nd", "3rd")

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def position_name(index):
    """``1st``, ``2nd``, ``3rd``, ``4th``...: the place of an input among an operation's inputs."""
    return ORDINALS[index] if index < len(ORDINALS) else f"{index + 1}th"


def _labels_of(function):
    return getattr(type(function), "derivative_labels", None) or LOCAL_DERIVATIVES.get(function.name)


def _roles(function, result):
    """The tensors a factor may name: the inputs by their ``forward`` names, and ``out``."""
    roles = dict(zip(input_names(function), function.inputs))
    if result is not None:
        roles["out"] = result
    return roles


def _mention(tensor, index=None):
    """How a label names a tensor: its name, else its value (a number), else its position."""
    if tensor.name is not None:
        return tensor.name
    if tensor.size == 1:
        return format_number(tensor.data.reshape(()))
    return "its input" if index is None else f"the {position_name(index)} input"


def _fill(template, roles):
    """A factor with every {role} replaced by how the drawing names that tensor."""
    positions = {name: i for i, name in enumerate(roles) if name != "out"}

    def replace(match):
        role = match.group(1)
        if role not in roles:
            return match.group(0)
        return _mention(roles[role], positions.get(role))

    return PLACEHOLDER.sub(replace, template)


def saved_tensors(function, result=None):
    """The forward tensors that the labels of ``function``'s backward step use.

    These are the values the backward step reads from what ``forward``
    saved: for ``Mul`` the other factor, for ``Sigmoid`` its result. Read
    off the placeholders of the factors of the inputs that need a gradient.
    """
    labels = _labels_of(function)
    if labels is None:
        return []
    roles = _roles(function, result)
    used = []
    for name, needed in zip(input_names(function), function.needs_input_grad):
        template = labels.get("*", labels.get(name)) if needed else None
        for role in PLACEHOLDER.findall(template or ""):
            tensor = roles.get(role)
            if tensor is not None and all(tensor is not t for t in used):
                used.append(tensor)
    return used


def derivative_lines(function, result=None, gradient=None, contributions=None):
    """What a backward step does, one line per input that needs a gradient.

    Each line names the input and the factor that multiplies the incoming
    gradient on its way there, e.g. ``to w: × x`` (``result`` is the
    operation's output, for factors that use it). With ``gradient``, the
    gradient arriving from the output side, and ``contributions``, what the
    step sends to each input, a one-number factor also shows its value:
    ``to w: × x = 3``. An input whose shape broadcasting stretched gets a
    second line, ``summed (8, 3) → (3,)``. Looks for a ``derivative_labels``
    attribute of the operation's class, then in ``LOCAL_DERIVATIVES``; an
    operation found in neither is described as applying its own backward.
    """
    labels = _labels_of(function)
    if labels is None:
        return [f"applies {function.name}.backward"]
    if "*" in labels:
        return [labels["*"]]
    roles = _roles(function, result)
    several = len(function.inputs) > 1
    lines = []
    for index, (name, parent, needed) in enumerate(zip(input_names(function), function.inputs, function.needs_input_grad)):
        if not needed or name not in labels:
            continue
        factor = _fill(labels[name], roles)
        value = _factor_value(gradient, None if contributions is None else contributions[index])
        if value is not None and factor.startswith("×") and _is_formula(factor):
            factor += f" = {value}"
        target = _mention(parent, index) if several else _mention(parent)
        if several and sum(t is parent for t in function.inputs) > 1:
            target += f" ({position_name(index)})"
        lines.append(f"to {target}: {factor}" if several or parent.name is not None else factor)
        if result is not None and function.name in BROADCASTING and parent.shape != result.shape:
            lines.append(f"summed {result.shape} → {parent.shape}")
    return lines


def _is_formula(factor):
    """Whether a factor says more than a plain number (``× 1`` needs no ``= 1``)."""
    try:
        float(factor.lstrip("× "))
    except ValueError:
        return True
    return False


def _factor_value(gradient, contribution):
    """The local factor, contribution / gradient, when both are one nonzero number."""
    if gradient is None or contribution is None:
        return None
    gradient, contribution = np.asarray(gradient), np.asarray(contribution)
    if gradient.size != 1 or contribution.size != 1 or gradient.item() == 0:
        return None
    return format_number(contribution.item() / gradient.item())


# ---------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------


def format_number(value):
    """A number in at most four significant digits: 0.5, 3, -1.25, 1e-05."""
    return f"{float(value):.4g}"


def format_values(array, max_values=6):
    """The values of a small array, or the shape of a big one.

    Returns a list of lines: one for a number or a vector, one per row for
    a matrix, ``shape (3, 4)`` when there are more than ``max_values``
    elements (or more than two axes).
    """
    array = np.asarray(array)
    if array.size > max_values or array.ndim > 2:
        return [f"shape {array.shape}"]
    if array.ndim == 0:
        return [format_number(array)]
    if array.ndim == 1:
        return ["[" + ", ".join(format_number(v) for v in array) + "]"]
    rows = ["[" + ", ".join(format_number(v) for v in row) + "]" for row in array]
    if len(rows) == 0:
        return [f"shape {array.shape}"]
    lines = ["[" + rows[0]] + [" " + row for row in rows[1:]]
    lines[-1] += "]"
    return lines


def _named(name, lines):
    """``name = value`` for a one-line value, else the name above the lines."""
    if name is None:
        return lines
    if len(lines) == 1 and not lines[0].startswith("shape"):
        return [f"{name} = {lines[0]}"]
    return [name] + lines


def tensor_label(tensor, max_values=6):
    """A data node's label: its name and values (or shape)."""
    return _named(tensor.name, format_values(tensor.data, max_values))


def _format_setting(value):
    if isinstance(value, slice):
        parts = ["" if v is None else str(v) for v in (value.start, value.stop, value.step)]
        return ":".join(parts[:2] if value.step is None else parts)
    if isinstance(value, tuple):
        return "(" + ", ".join(_format_setting(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, (int, float, bool, np.integer, np.floating)) or value is None:
        return str(value)
    return type(value).__name__


def operation_label(function):
    """An operation node's label: its name and the settings it was created with."""
    settings = vars(function)
    shown = []
    for key in ("axis", "axes", "shape", "low", "high", "index"):
        if key not in settings or settings[key] is None:
            continue
        if key == "axes" and "axis" in settings:
            continue  # reductions keep a normalized copy of axis in axes
        shown.append(f"{key}={_format_setting(settings[key])}")
    if settings.get("keepdims"):
        shown.append("keepdims=True")
    return [function.name] + ([", ".join(shown)] if shown else [])


def tensor_kind(tensor):
    """``"input"``, ``"parameter"`` or ``"intermediate"``: how a data node is drawn."""
    if not tensor.is_leaf:
        return "intermediate"
    return "parameter" if tensor.requires_grad else "input"


# ---------------------------------------------------------------------------
# DOT text
# ---------------------------------------------------------------------------

STYLES = {
    "input": {"shape": "box", "style": "filled", "fillcolor": "#e4e4e4"},
    "parameter": {"shape": "box", "style": "filled", "fillcolor": "#c5e5b4", "penwidth": "2"},
    "intermediate": {"shape": "box", "style": "rounded,filled", "fillcolor": "#ffffff"},
    "operation": {"shape": "ellipse", "style": "filled", "fillcolor": "#fcd9a8"},
    "gradient": {"shape": "box", "style": "rounded,filled", "fillcolor": "#fbe0e6"},
    "backward": {"shape": "ellipse", "style": "filled", "fillcolor": "#f4b6c2"},
}
OUTPUT_STYLE = {"peripheries": "2"}

HEADER = [
    'graph [rankdir=TB, ordering=in, nodesep=0.3, ranksep=0.3, fontname="Helvetica", fontsize=12];',
    'node [fontname="Helvetica", fontsize=11, margin="0.1,0.04"];',
    'edge [fontname="Helvetica", fontsize=9, arrowsize=0.7];',
]

LEGEND = {
    "forward": [
        ("input", "input"),
        ("parameter", "parameter"),
        ("intermediate", "intermediate"),
        ("operation", "operation"),
    ],
    "reverse": [("gradient", "gradient"), ("backward", "backward step")],
}


def quote(text):
    """A DOT string: quoted, with quotes and backslashes escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _attribute(value):
    """A DOT attribute value: quoted unless it is a plain word or number."""
    return value if value.replace(".", "").isalnum() else quote(value)


def _node(identifier, lines, *styles):
    """``n0 [label="w = 0.5", shape=box, ...];``"""
    attributes = {"label": quote("\n".join(lines))}
    for style in styles:
        attributes.update({key: _attribute(value) for key, value in style.items()})
    return f"{identifier} [" + ", ".join(f"{key}={value}" for key, value in attributes.items()) + "];"


def forward_parts(output, max_values=6):
    """The forward graph as two lists of DOT statements: nodes and edges."""
    numbered = numbered_nodes(output)
    ids = {id(node): identifier for identifier, node in numbered}
    nodes, edges = [], []
    for identifier, node in numbered:
        if isinstance(node, Function):
            nodes.append(_node(identifier, operation_label(node), STYLES["operation"]))
            several = len(node.inputs) > 1
            for index, parent in enumerate(node.inputs):
                label = f" [label={quote(position_name(index))}]" if several else ""
                edges.append(f"{ids[id(parent)]} -> {identifier}{label};")
        else:
            extra = OUTPUT_STYLE if node is output else {}
            nodes.append(_node(identifier, tensor_label(node, max_values), STYLES[tensor_kind(node)], extra))
            if node.grad_fn is not None:
                edges.append(f"{ids[id(node.grad_fn)]} -> {identifier};")
    return nodes, edges


def known_gradient(tensor, output, gradients=None):
    """The gradient flowing into ``tensor`` if it is known, else None.

    Known are: the values in ``gradients`` (a dict from tensors to arrays,
    e.g. from ``flowing_gradients``); otherwise the ``.grad`` of a leaf
    (after backward) and the starting gradient 1 of a one-element output.
    """
    if gradients is not None:
        value = gradients.get(tensor)  # tensors are hashed by identity
        return None if value is None else np.asarray(value.data if isinstance(value, Tensor) else value)
    if tensor.is_leaf and tensor.grad is not None:
        return tensor.grad.data
    if tensor is output and output.size == 1:
        return np.ones_like(output.data)
    return None


def gradient_label(tensor, output, gradient=None, max_values=6, parts=()):
    """A gradient node's label: ∂out/∂name and the gradient's values (or shape, when unknown).

    ``parts`` are the contributions that were added up to make the
    gradient; when there are several single numbers the label shows the
    sum, ``∂c/∂b = 4 + 4 = 8``.
    """
    lines = format_values(gradient, max_values) if gradient is not None else [f"shape {tensor.shape}"]
    if gradient is not None and len(parts) > 1 and all(np.size(part) == 1 for part in parts):
        terms = " + ".join(format_number(np.asarray(part).reshape(())) for part in parts)
        lines = [f"{terms} = {lines[0]}".replace("+ -", "- ")]
    if tensor.name is None:
        return lines
    return _named(f"∂{output.name or 'out'}/∂{tensor.name}", lines)


def contributions(output, gradients):
    """What each backward step sends to each of its inputs, given the flowing gradients.

    Returns a dict from each operation (by identity) to the tuple its
    ``backward`` returns for the gradient of its result, or an empty dict
    when ``gradients`` is None or the saved values were already released.
    """
    if gradients is None:
        return {}
    sent = {}
    for tensor in topological_order(output):
        function = tensor.grad_fn
        if function is None or function._freed or gradients.get(tensor) is None:
            continue
        parts = function.backward(np.asarray(gradients[tensor]))
        sent[id(function)] = parts if isinstance(parts, tuple) else (parts,)
    return sent


def reverse_parts(output, gradients=None, max_values=6):
    """The reverse graph as two lists of DOT statements: nodes and edges.

    Only tensors that require grad get a gradient node. Each backward step
    names, for every input that needs a gradient, the factor it multiplies
    the incoming gradient by. With ``gradients`` (see
    ``flowing_gradients``) the factors show their values, the edges the
    contribution each input receives, and a gradient made of several
    contributions shows their sum. The edges are written from the input
    side to the output side with ``dir=back``, so graphviz lays the
    reverse graph out exactly like the forward graph while its arrows point
    the other way, the way gradients flow.
    """
    if not output.requires_grad:
        raise ValueError(
            "reverse graph: the output does not require grad, so no gradient flows through it; "
            "create the leaves with requires_grad=True (and not under no_grad())"
        )
    numbered = numbered_nodes(output)
    ids = {id(node): identifier for identifier, node in numbered}
    results = {id(node.grad_fn): node for _, node in numbered if isinstance(node, Tensor) and node.grad_fn}
    sent = contributions(output, gradients)
    received = {}
    for function_id, parts in sent.items():
        function = results[function_id].grad_fn
        for parent, part in zip(function.inputs, parts):
            if part is not None and parent.requires_grad:
                received.setdefault(id(parent), []).append(part)
    nodes, edges = [], []
    for identifier, node in numbered:
        if isinstance(node, Function):
            result = results[id(node)]
            incoming = known_gradient(result, output, gradients)
            parts = sent.get(id(node))
            lines = [f"{node.name}Backward"] + derivative_lines(node, result, incoming, parts)
            nodes.append(_node(f"{identifier}_backward", lines, STYLES["backward"]))
            several = len(node.inputs) > 1
            for index, (parent, needed) in enumerate(zip(node.inputs, node.needs_input_grad)):
                if not (needed and parent.requires_grad):
                    continue
                edges.append(f"{ids[id(parent)]}_grad -> {identifier}_backward [{_edge_label(parts, index, several)}dir=back];")
        elif node.requires_grad:
            extra = {"penwidth": "2"} if tensor_kind(node) == "parameter" else {}
            extra.update(OUTPUT_STYLE if node is output else {})
            lines = gradient_label(
                node, output, known_gradient(node, output, gradients), max_values, received.get(id(node), ())
            )
            nodes.append(_node(f"{identifier}_grad", lines, STYLES["gradient"], extra))
            if node.grad_fn is not None:
                edges.append(f"{ids[id(node.grad_fn)]}_backward -> {identifier}_grad [dir=back];")
    return nodes, edges


def _edge_label(parts, index, several):
    """The label of the edge to input ``index``.

    What the edge carries when it is known: a one-number contribution as
    its value, a bigger one as its shape; otherwise the input's position.
    """
    if parts is not None and parts[index] is not None:
        part = np.asarray(parts[index])
        text = format_number(part.reshape(())) if part.size == 1 else str(part.shape)
        return f"label={quote(text)}, "
    return f"label={quote(position_name(index))}, " if several else ""


def saved_links(output):
    """Dashed edges from each forward value to the backward steps that use it (for ``both_dot``)."""
    numbered = numbered_nodes(output)
    ids = {id(node): identifier for identifier, node in numbered}
    links = []
    for identifier, node in numbered:
        if isinstance(node, Tensor) and node.grad_fn is not None:
            function_id = ids[id(node.grad_fn)]
            for saved in saved_tensors(node.grad_fn, node):
                links.append(
                    f"{ids[id(saved)]} -> {function_id}_backward "
                    "[style=dashed, color=\"#8c8c8c\", arrowhead=none, constraint=false];"
                )
    return links


def legend_parts(kinds):
    """A legend node: a small table with one cell in each node style."""
    entries = [entry for kind in kinds for entry in LEGEND[kind]]
    cells = []
    for style, text in entries:
        colour = STYLES[style]["fillcolor"]
        border = STYLES[style].get("penwidth", "1")
        cells.append(f'<tr><td bgcolor="{colour}" border="{border}">{text}</td></tr>')
    table = '<table border="0" cellborder="1" cellspacing="3" cellpadding="3">' + "".join(cells) + "</table>"
    return [f"legend [shape=plaintext, fontsize=10, label=<{table}>];"]


def _digraph(name, body):
    return "\n".join([f"digraph {name} {{"] + ["  " + line for line in HEADER + body] + ["}"]) + "\n"


def _cluster(name, label, nodes, edges):
    return [f"subgraph cluster_{name} {{", f"  label={quote(label)};"] + ["  " + s for s in nodes + edges] + ["}"]


def forward_dot(output, max_values=6, legend=False):
    """The forward graph of ``output`` as DOT text."""
    nodes, edges = forward_parts(output, max_values)
    return _digraph("forward", nodes + edges + (legend_parts(["forward"]) if legend else []))


def reverse_dot(output, gradients=None, max_values=6, legend=False):
    """The reverse graph of ``output`` (the gradient computation) as DOT text.

    ``gradients`` optionally maps tensors to the gradients flowing into
    them (see ``flowing_gradients``); without it, leaves show their
    ``.grad`` once backward has run and every other gradient its shape.
    """
    nodes, edges = reverse_parts(output, gradients, max_values)
    return _digraph("reverse", nodes + edges + (legend_parts(["reverse"]) if legend else []))


def both_dot(output, gradients=None, max_values=6, legend=False):
    """The forward graph and its reverse graph side by side, as DOT text."""
    body = _cluster("forward", "forward: values", *forward_parts(output, max_values))
    body += _cluster("reverse", "reverse: gradients", *reverse_parts(output, gradients, max_values))
    body += saved_links(output)
    return _digraph("computation", body + (legend_parts(["forward", "reverse"]) if legend else []))


KINDS = ("forward", "reverse", "both")


def dot_source(output, kind="forward", gradients=None, max_values=6, legend=False):
    """DOT text of ``output``'s graph; ``kind`` is "forward", "reverse" or "both"."""
    if kind == "forward":
        return forward_dot(output, max_values, legend)
    if kind == "reverse":
        return reverse_dot(output, gradients, max_values, legend)
    if kind == "both":
        return both_dot(output, gradients, max_values, legend)
    raise ValueError(f"dot_source: kind must be one of {', '.join(KINDS)}, got {kind!r}")


def graph_summary(output, kind="forward"):
    """One line counting nodes and edges: ``forward graph: 7 nodes, 6 edges``."""
    if kind not in KINDS:
        raise ValueError(f"graph_summary: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    parts = []
    if kind in ("forward", "both"):
        nodes, edges = forward_parts(output)
        parts.append(f"forward graph: {len(nodes)} nodes, {len(edges)} edges")
    if kind in ("reverse", "both"):
        nodes, edges = reverse_parts(output)
        parts.append(f"reverse graph: {len(nodes)} nodes, {len(edges)} edges")
    return "; ".join(parts)


# ---------------------------------------------------------------------------
# The gradients that flow
# ---------------------------------------------------------------------------


def reverse_walk(output, grad):
    """Reverse mode in its plainest form: the gradient of ``output`` w.r.t. each tensor.

    Visits the tensors in reverse topological order, so a tensor's gradient
    is complete (every use of it has sent its share) before its operation's
    ``backward`` passes it on; shares arriving at one tensor are added.
    Returns a dict from each tensor that requires grad to its gradient.
    """
    gradients = {output: grad}
    for tensor in reversed(topological_order(output)):
        if tensor.grad_fn is None:
            continue
        shares = tensor.grad_fn.backward(gradients[tensor])
        for parent, share in zip(tensor.grad_fn.inputs, shares if isinstance(shares, tuple) else (shares,)):
            if share is not None and parent.requires_grad:
                gradients[parent] = gradients[parent] + share if parent in gradients else share
    return gradients


def flowing_gradients(output, grad=None):
    """The gradient of ``output`` with respect to every tensor of its graph that requires grad.

    The walk of ``backward()`` itself (``walk_backward``), asked to keep
    every gradient it passes and to store nothing in ``.grad``: returns a
    dict from each tensor to its gradient (a NumPy array), intermediates
    included, for drawing the reverse graph. The operations must still hold
    their saved values: call it before ``backward()``, or after
    ``backward(retain_graph=True)``; they keep them afterwards.
    """
    if not output.requires_grad:
        raise ValueError("flowing_gradients: the output does not require grad, so no gradient flows")
    if grad is None:
        if output.size != 1:
            raise ValueError(
                f"flowing_gradients: the output has shape {output.shape}; pass grad, the gradient to start from"
            )
        grad = np.ones_like(output.data)
    for tensor in topological_order(output):
        if tensor.grad_fn is not None and tensor.grad_fn._freed:
            raise RuntimeError(
                f"flowing_gradients: {tensor.grad_fn.name} released its saved values in an earlier backward(); "
                "call flowing_gradients before backward(), or run backward(retain_graph=True)"
            )
    gradients = {tensor: None for tensor in topological_order(output) if tensor.requires_grad}
    walk_backward(output, np.asarray(grad, dtype=output.dtype), retain_graph=True, captured=gradients)
    return {tensor: np.asarray(gradient) for tensor, gradient in gradients.items() if gradient is not None}
