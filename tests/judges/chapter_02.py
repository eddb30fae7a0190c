"""Judges of Chapter 2's exercises (see README.md in this folder)."""


def inputs_2_1(rng):
    return {"x": rng.normal(size=(3, 4)), "weights": rng.normal(size=(3, 4))}


def probe_2_1(inputs, namespace):
    from framework.autograd import tensor

    x = tensor(inputs["x"], requires_grad=True)
    (x.exp() * tensor(inputs["weights"])).sum().backward()
    return {"grad": x.grad.data}


def inputs_2_2(rng):
    return {name: float(value) for name, value in zip(("w", "x", "b", "s", "dv"), rng.uniform(-3, 3, size=5))}


def probe_2_2(inputs, namespace):
    from probe import rerun

    return rerun(inputs, namespace, ["dw", "dx", "db", "ds"], w_value=inputs["w"], x_value=inputs["x"],
                 b_value=inputs["b"], s_value=inputs["s"], dv=inputs["dv"])


def inputs_2_3(rng):
    return {"points": rng.uniform(-3, 3, size=4), "upstream": rng.uniform(0.5, 2.0, size=4)}


def probe_2_3(inputs, namespace):
    from framework.autograd import tensor

    square = namespace["Square"]
    values, grads = [], []
    for point, upstream in zip(inputs["points"], inputs["upstream"]):
        t = tensor(float(point), requires_grad=True)
        y = square()(t)
        values.append(float(y.item()))
        y.backward(float(upstream))
        grads.append(None if t.grad is None else float(t.grad.item()))
    return {"values": values, "grads": grads}
