"""Judges of Chapter 10's exercises (see README.md in this folder)."""

import numpy as np


def inputs_10_1(rng):
    return {"a": rng.uniform(0.5, 3.0), "c": rng.uniform(1.5, 9.0), "starts": rng.uniform(0.8, 3.0, size=3)}


def probe_10_1(inputs, namespace):
    """One Halley step from several points, on cubics and a quartic with hidden coefficients."""
    halley_step = namespace["halley_step"]
    a, c = float(inputs["a"]), float(inputs["c"])
    functions = [lambda x: x**3 - c, lambda x: x**3 + a * x - c, lambda x: x * x * x * x - a * x - c]
    return {"steps": [float(halley_step(g, float(x0))) for g in functions for x0 in inputs["starts"]]}


# Halley's step from exact first and second derivatives; differences would be off by far more.
TOLERANCE_10_1 = {"rtol": 1e-10, "atol": 0}


def inputs_10_2(rng):
    size = int(rng.integers(3, 6))
    basis, _ = np.linalg.qr(rng.normal(size=(size, size)))
    # a clear gap below the largest eigenvalue, so that 200 iterations settle it
    eigenvalues = np.concatenate([[rng.uniform(5.0, 20.0)], rng.uniform(0.5, 3.0, size=size - 1)])
    return {"matrix": (basis * eigenvalues) @ basis.T, "point": rng.normal(size=size)}


def probe_10_2(inputs, namespace):
    """The largest eigenvalue of a hidden quadratic form's Hessian, from the answer's power iteration."""
    from framework.autograd import tensor

    largest_eigenvalue = namespace["largest_eigenvalue"]
    matrix = tensor(np.asarray(inputs["matrix"], dtype=np.float64))

    def quadratic(p):
        return (p * (matrix @ p)).sum() * 0.5

    return {"largest": float(largest_eigenvalue(quadratic, np.asarray(inputs["point"], dtype=np.float64)))}


TOLERANCE_10_2 = {"rtol": 1e-6, "atol": 0}
