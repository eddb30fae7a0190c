"""Judges of Chapter 9's exercises (see README.md in this folder)."""

import numpy as np


def inputs_9_1(rng):
    kernel = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    stride = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    padding = (int(rng.integers(0, kernel[0] // 2 + 1)), int(rng.integers(0, kernel[1] // 2 + 1)))
    shape = (2, int(rng.integers(1, 4)), int(rng.integers(kernel[0], 8)), int(rng.integers(kernel[1], 8)))
    return {"x": rng.normal(size=shape), "kernel": kernel, "stride": stride, "padding": padding,
            "seed": int(rng.integers(2**31))}


def probe_9_1(inputs, namespace):
    """The input gradient of average pooling, and its derivative with respect to dL/dy.

    The gradient is computed with ``create_graph=True`` and differentiated
    again: the exercise asks for a backward that records its work, and one
    that only computes arrays leaves nothing to differentiate.
    """
    from framework.autograd import tensor
    from framework.autograd.tensor import grad
    from framework.nn import functional as F

    rng = np.random.default_rng(inputs["seed"])
    x = tensor(inputs["x"], requires_grad=True)
    y = F.avg_pool2d(x, inputs["kernel"], inputs["stride"], inputs["padding"])
    gy = tensor(rng.normal(size=y.shape), requires_grad=True)
    (gx,) = grad(y, x, gy, create_graph=True)
    weights = rng.normal(size=x.shape)
    (second,) = grad((gx * weights).sum(), gy)          # d<dL/dx, weights>/d(dL/dy) = avg_pool2d(weights)
    return {"gradient": gx.data, "second": second.data}


def inputs_9_2(rng):
    return {"layers": [[(int(rng.integers(1, 6)), int(rng.integers(1, 4))) for _ in range(int(rng.integers(1, 6)))]
                       for _ in range(4)]}


def probe_9_2(inputs, namespace):
    receptive_field = namespace["receptive_field"]
    return {"fields": [int(receptive_field(layers)) for layers in inputs["layers"]],
            "cnn_field": int(namespace["cnn_field"])}


def inputs_9_3(rng):
    return {"seed": int(rng.integers(2**31))}


def probe_9_3(inputs, namespace):
    """The folded weights for the chapter's layers with running statistics and parameters changed."""
    from probe import rerun

    conv, norm = namespace["conv"], namespace["norm"]
    rng = np.random.default_rng(inputs["seed"])
    saved = [np.array(a, copy=True) for a in (norm.running_mean, norm.running_var, norm.weight.data, norm.bias.data)]
    try:
        norm.running_mean[...] = rng.normal(size=norm.running_mean.shape)
        norm.running_var[...] = rng.uniform(0.5, 2.0, size=norm.running_var.shape)
        norm.weight.data[...] = rng.uniform(0.5, 2.0, size=norm.weight.shape)
        norm.bias.data[...] = rng.normal(size=norm.bias.shape)
        found = rerun(inputs, namespace, ["folded_weight", "folded_bias"], conv=conv, norm=norm)
        return {name: np.asarray(value, dtype=np.float64) for name, value in found.items()}
    finally:
        norm.running_mean[...], norm.running_var[...], norm.weight.data[...], norm.bias.data[...] = saved
