"""Judges of Chapter 1's exercises (see README.md in this folder)."""

import numpy as np


def inputs_1_1(rng):
    return {"points": rng.uniform(0.3, 2.0, size=3), "steps": rng.uniform(1e-2, 3e-2, size=2)}


def probe_1_1(inputs, namespace):
    second_difference = namespace["second_difference"]
    functions = [np.exp, np.sin, np.cos, np.cosh]
    estimates = [float(second_difference(f, float(x))) for f in functions for x in inputs["points"]]
    with_step = [float(second_difference(f, float(x), h=float(h)))
                 for f in (np.exp, np.cosh) for x in inputs["points"] for h in inputs["steps"]]
    return {"estimates": estimates, "with_step": with_step}


# Both estimates are within 1e-6 of f'' when right; with a given step of about 1e-2
# the error of the formula, h**2 f''''/12, is more than 1e-5: the step is used.
TOLERANCE_1_1 = {"rtol": 0, "atol": 2e-6}


def probe_1_2(inputs, namespace):
    from framework.differentiate import symbolic

    x = symbolic.Var("x")
    c = float(inputs["c"])
    expressions = [symbolic.log(x), symbolic.log(x * x + c), symbolic.log(symbolic.exp(x) + c * x),
                   symbolic.log(symbolic.log(x + c))]
    return {"derivatives": [[float(symbolic.diff(e, "x").evaluate(x=float(p))) for p in inputs["points"]]
                            for e in expressions]}


def inputs_1_2(rng):
    return {"c": rng.uniform(1.5, 4.0), "points": rng.uniform(0.5, 3.0, size=4)}


def inputs_1_3(rng):
    return {"values": rng.normal(size=5) * 2, "derivatives": rng.normal(size=5)}


def probe_1_3(inputs, namespace):
    from framework.differentiate import dual

    results = [dual.tanh(dual.Dual(float(v), float(d))) for v, d in zip(inputs["values"], inputs["derivatives"])]
    chained = [float(dual.derivative(lambda t: dual.tanh(t * t) * 3.0, float(v))) for v in inputs["values"]]
    return {"values": [float(r.value) for r in results], "derivatives": [float(r.derivative) for r in results],
            "chained": chained}


def inputs_1_4(rng):
    return {"a": rng.uniform(1.0, 3.0), "c": rng.uniform(2.0, 8.0), "start": rng.uniform(1.0, 3.0),
            "square": rng.uniform(2.0, 10.0)}


def probe_1_4(inputs, namespace):
    newton = namespace["newton"]
    a, c, square = float(inputs["a"]), float(inputs["c"]), float(inputs["square"])
    cubic = newton(lambda t: t**3 + a * t - c, float(inputs["start"]))
    root = newton(lambda t: t * t - square, float(inputs["start"]))
    return {"cubic": float(cubic), "root": float(root)}


TOLERANCE_1_4 = {"rtol": 0, "atol": 1e-10}
