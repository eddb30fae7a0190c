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


def probe_6_2(inputs, namespace):
    return {name: float(namespace[name]) for name in ("nand_w1", "nand_w2", "nand_theta")}


def judge_6_2(got, expected):
    """A threshold neuron with the student's weights computes NAND: 1 where w1 x1 + w2 x2 >= theta."""
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    outputs = (got["nand_w1"] * x[:, 0] + got["nand_w2"] * x[:, 1] >= got["nand_theta"]).astype(int)
    if outputs.tolist() != [1, 1, 1, 0]:
        return False, f"With these weights the neuron gives {outputs.tolist()} on (0,0), (0,1), (1,0), (1,1)."
    return True, "The neuron computes NAND."


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
