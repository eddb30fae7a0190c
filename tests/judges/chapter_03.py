"""Judges of Chapter 3's exercises (see README.md in this folder).

Both probes build random graphs of additions, subtractions and products
from a recipe drawn by the grader: some leaves require grad, some do not.
"""

import numpy as np


def random_recipes(rng, sizes):
    recipes = []
    for size in sizes:
        leaves = int(rng.integers(2, 5))
        requires = [True] + [bool(r) for r in rng.random(leaves - 1) < 0.6]
        operations = [[int(rng.integers(3)), int(rng.integers(leaves + k)), int(rng.integers(leaves + k))]
                      for k in range(size)]
        recipes.append({"values": rng.uniform(0.5, 1.5, size=leaves), "requires": requires,
                        "operations": operations})
    return recipes


def build(recipe):
    """The tensors of a recipe, in the order they were made; the last one is the output."""
    from framework.autograd import tensor

    nodes = [tensor(float(v), requires_grad=r) for v, r in zip(recipe["values"], recipe["requires"])]
    for kind, i, j in recipe["operations"]:
        a, b = nodes[i], nodes[j]
        nodes.append(a + b if kind == 0 else a - b if kind == 1 else a * b)
    return nodes


def structure(nodes):
    """Which node requires grad, and the edges (node, input) between nodes that require grad."""
    index = {id(t): i for i, t in enumerate(nodes)}
    edges = [[i, index[id(p)]] for i, t in enumerate(nodes) if t.grad_fn is not None
             for p in t.grad_fn.inputs if p.requires_grad]
    return [bool(t.requires_grad) for t in nodes], edges


def inputs_3_1(rng):
    return {"recipes": random_recipes(rng, [3, 12, 30, 60])}


def probe_3_1(inputs, namespace):
    order_of = namespace["my_topological_order"]
    graphs = []
    for recipe in inputs["recipes"]:
        nodes = build(recipe)
        index = {id(t): i for i, t in enumerate(nodes)}
        order = order_of(nodes[-1])
        requires, edges = structure(nodes)
        graphs.append({"order": [index.get(id(t), -1) for t in order], "requires": requires, "edges": edges})
    return {"graphs": graphs}


def judge_3_1(got, expected):
    """The order lists the tensors the reference lists, each once, each after its inputs."""
    graphs = got.get("graphs") if isinstance(got, dict) else None
    if not isinstance(graphs, list) or len(graphs) != len(expected["graphs"]):
        return False, "The result should hold one order per graph."
    for number, (mine, right) in enumerate(zip(graphs, expected["graphs"]), start=1):
        if not isinstance(mine, dict) or mine.get("requires") != right["requires"] or \
                mine.get("edges") != right["edges"]:
            return False, f"Graph {number} was not built as the grader builds it."
        order = mine.get("order")
        if not isinstance(order, list) or not all(isinstance(i, int) for i in order):
            return False, f"Graph {number}: the order should be a list of the graph's tensors."
        reached = set(right["order"])  # the tensors the reference lists
        if len(order) != len(set(order)):
            return False, f"Graph {number}: some tensor is listed more than once."
        if set(order) != reached:
            return False, (f"Graph {number}: {len(reached)} tensors require grad and lead to the output, "
                           f"the order lists {len(order)} (or other ones).")
        position = {node: k for k, node in enumerate(order)}
        if any(position[parent] > position[node] for node, parent in right["edges"]
               if node in position and parent in position):
            return False, f"Graph {number}: a tensor is listed before one of its inputs."
    return True, "Right on the grader's graphs."


def inputs_3_2(rng):
    return {"recipes": random_recipes(rng, [0, 5, 20, 60]), "chain": int(rng.integers(2500, 3500))}


def probe_3_2(inputs, namespace):
    from framework.autograd import tensor

    graph_depth = namespace["graph_depth"]
    depths = [int(graph_depth(build(recipe)[-1])) for recipe in inputs["recipes"]]
    t = tensor(1.0, requires_grad=True)
    for _ in range(inputs["chain"]):
        t = t * 1.0
    return {"depths": np.array(depths + [int(graph_depth(t))])}
