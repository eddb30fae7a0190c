"""Judges of Chapter 6's exercises (see README.md in this folder)."""

import numpy as np


def inputs_6_1(rng):
    x = rng.normal(size=(3, 5))
    x[np.abs(x) < 1e-3] = 0.5  # no input at the kink
    return {"x": x, "slope": rng.uniform(0.02, 0.4), "weights": rng.normal(size=(3, 5))}


def probe_6_1(inputs, namespace):
    from framework.autograd import tensor
    from framework.nn import functional as F

    x = tensor(inputs["x"], requires_grad=True)
    y = F.leaky_relu(x, float(inputs["slope"]))
    (y * tensor(inputs["weights"])).sum().backward()
    return {"output": y.data, "grad": x.grad.data}


GATES = [tuple(int(bit) for bit in f"{number:04b}") for number in range(16)]  # outputs on (0,0), (0,1), (1,0), (1,1)


def probe_6_2(inputs, namespace):
    answers = [namespace["neuron_for"](np.array(gate)) for gate in GATES]
    return {"answers": [None if a is None else [float(v) for v in a] for a in answers]}


def judge_6_2(got, expected):
    """For each of the 16 gates: weights that compute it, exactly where the reference finds some, else None."""
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    answers = got.get("answers")
    if not isinstance(answers, list) or len(answers) != len(GATES):
        return False, "neuron_for should answer for each of the 16 gates."
    for gate, mine, right in zip(GATES, answers, expected["answers"]):
        if (mine is None) != (right is None):
            return False, f"For the gate {gate}, neuron_for says {'no neuron' if mine is None else 'a neuron'} " \
                          "computes it: that is wrong."
        if mine is not None:
            if len(mine) != 3 or not all(isinstance(v, float) for v in mine):
                return False, f"For the gate {gate}, neuron_for should return (w1, w2, theta)."
            w1, w2, theta = mine
            if tuple((w1 * x[:, 0] + w2 * x[:, 1] >= theta).astype(int)) != gate:
                return False, f"For the gate {gate}, the weights neuron_for returns compute another gate."
    return True, "Right for all 16 gates."


def inputs_6_4(rng):
    sizes = rng.integers(2, 9, size=4)
    return {"logits": [rng.normal(size=int(n)) * 3 for n in sizes], "targets": [int(rng.integers(n)) for n in sizes],
            "eps": [float(e) for e in rng.uniform(0, 0.5, size=4)]}


def probe_6_4(inputs, namespace):
    gradient = namespace["smoothed_cross_entropy_gradient"]
    return {"gradients": [np.asarray(gradient(np.array(z, dtype=float), t, eps), dtype=float)
                          for z, t, eps in zip(inputs["logits"], inputs["targets"], inputs["eps"])]}


TOLERANCE_6_4 = {"rtol": 1e-7, "atol": 1e-9}


ACTIVATIONS = ("ReLU", "Tanh", "Sigmoid")


def inputs_6_3(rng):
    sizes = [int(s) for s in rng.integers(1, 7, size=int(rng.integers(2, 6)))]
    return {"sizes": sizes, "activation": int(rng.integers(len(ACTIVATIONS))), "x": rng.normal(size=(4, sizes[0]))}


def probe_6_3(inputs, namespace):
    from framework import nn
    from framework.autograd import tensor

    net = namespace["mlp"](list(inputs["sizes"]), getattr(nn, ACTIVATIONS[inputs["activation"]]))
    modules = list(net)
    parameters = list(net.parameters())
    for number, parameter in enumerate(parameters):
        parameter.data[...] = np.sin(np.arange(parameter.data.size) + number).reshape(parameter.data.shape) / 2
    return {"kind": type(net).__name__, "layers": [type(m).__name__ for m in modules],
            "distinct": len({id(m) for m in modules}) == len(modules),
            "shapes": [list(p.shape) for p in parameters], "output": net(tensor(inputs["x"], dtype=np.float32)).data}


TOLERANCE_6_3 = {"rtol": 1e-5, "atol": 1e-6}
