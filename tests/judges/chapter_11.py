"""Judges of Chapter 11's exercises (see README.md in this folder)."""

import numpy as np


def inputs_11_1(rng):
    steps, batch, size, hidden, layers = (int(v) for v in rng.integers(1, 5, size=5))
    layers = 1 + layers % 2
    return {"x": rng.normal(size=(steps, batch, size)), "h0": rng.normal(size=(layers, batch, hidden)) * 0.5,
            "output_weights": rng.normal(size=(steps, batch, hidden)),
            "state_weights": rng.normal(size=(layers, batch, hidden)), "seed": int(rng.integers(2**31))}


def probe_11_1(inputs, namespace):
    from framework.autograd import tensor
    from framework.nn import GRU

    steps, batch, size = inputs["x"].shape
    layers, _, hidden = inputs["h0"].shape
    gru = GRU(size, hidden, num_layers=layers, dtype=np.float64)
    parameters = list(gru.parameters())
    rng = np.random.default_rng(inputs["seed"])
    for parameter in parameters:
        parameter.data[...] = rng.normal(size=parameter.data.shape) * 0.5
    x, h0 = tensor(inputs["x"], requires_grad=True), tensor(inputs["h0"], requires_grad=True)
    output, state = gru(x, h0)
    ((output * tensor(inputs["output_weights"])).sum() + (state * tensor(inputs["state_weights"])).sum()).backward()
    return {"x": x.grad.data, "h0": h0.grad.data, "parameters": [p.grad.data for p in parameters]}


def inputs_11_2(rng):
    return {"seeds": [int(s) for s in rng.integers(2**31, size=3)]}


def probe_11_2(inputs, namespace):
    """The greedy names of the chapter's model with its weights moved a little, once per seed."""
    model, vocabulary = namespace["char_model"], namespace["vocabulary"]
    parameters = list(model.parameters())
    saved = [p.data.copy() for p in parameters]
    names = []
    try:
        for seed in inputs["seeds"]:
            rng = np.random.default_rng(seed)
            for parameter, original in zip(parameters, saved):
                parameter.data[...] = original + rng.normal(size=original.shape) * 0.3 * (original.std() + 1e-3)
            name = namespace["greedy_name"](model, vocabulary)
            names.append(name if isinstance(name, str) else f"not a string: {type(name).__name__}")
    finally:
        for parameter, original in zip(parameters, saved):
            parameter.data[...] = original
    return {"names": names}
