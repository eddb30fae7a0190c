"""Judges of Chapter 5's exercises (see README.md in this folder)."""

import numpy as np


def inputs_5_1(rng):
    axis = int(rng.integers(0, 3))
    shapes = []
    for _ in range(int(rng.integers(2, 4))):
        shape = [2, 3, 2]
        shape[axis] = int(rng.integers(1, 4))
        shapes.append(shape)
    total = [2, 3, 2]
    total[axis] = sum(s[axis] for s in shapes)
    return {"axis": axis, "arrays": [rng.normal(size=s) for s in shapes], "weights": rng.normal(size=total)}


def probe_5_1(inputs, namespace):
    from framework.autograd import concatenate, tensor

    parts = [tensor(a, requires_grad=True) for a in inputs["arrays"]]
    (concatenate(parts, axis=inputs["axis"]) * tensor(inputs["weights"])).sum().backward()
    return {"grads": [p.grad.data for p in parts]}


def inputs_5_2(rng):
    rows, columns = int(rng.integers(2, 5)), int(rng.integers(2, 5))
    return {"condition": rng.random((rows, columns)) < 0.5, "a": rng.normal(size=(rows, columns)),
            "b": rng.normal(size=(rows, 1)), "c": rng.normal(size=(1, columns)),
            "weights": rng.normal(size=(rows, columns))}


def probe_5_2(inputs, namespace):
    from framework.autograd import tensor, where

    a, b, c = (tensor(inputs[name], requires_grad=True) for name in ("a", "b", "c"))
    weights = tensor(inputs["weights"])
    (where(inputs["condition"], a, b) * weights).sum().backward()
    (where(inputs["condition"], c, a) * weights).sum().backward()
    return {"a": a.grad.data, "b": b.grad.data, "c": c.grad.data}


def inputs_5_3(rng):
    m, k = (int(v) for v in rng.integers(2, 6, size=2))
    return {"A_values": rng.normal(size=(m, k)), "G_bar": rng.normal(size=(m, m))}


def probe_5_3(inputs, namespace):
    from probe import rerun

    given = {name: np.asarray(inputs[name]) for name in ("A_values", "G_bar")}
    return rerun(inputs, namespace, ["grad_A"], **given)


def inputs_5_4(rng):
    return {"p_values": rng.normal(size=int(rng.integers(3, 7))), "q_values": rng.normal(size=int(rng.integers(2, 6)))}


def probe_5_4(inputs, namespace):
    from probe import rerun

    return rerun(inputs, namespace, ["grad_p", "grad_q"], p_values=inputs["p_values"], q_values=inputs["q_values"])
