"""Judges of Chapter 10's exercises (see README.md in this folder)."""

import numpy as np


def inputs_10_1(rng):
    return {"a": rng.uniform(0.5, 3.0), "c": rng.uniform(1.5, 9.0), "starts": rng.uniform(0.8, 3.0, size=3)}


def probe_10_1(inputs, namespace):
    """One Halley step from several points, on cubics and a quartic with hidden coefficients.

    The exercise computes g' and g'' with ``ag.grad``: each function takes
    numbers and the framework's tensors only, and must have been called on
    a tensor that requires grad (a hand-made derivative class is refused).
    """
    from framework.autograd import Tensor

    halley_step = namespace["halley_step"]
    a, c = float(inputs["a"]), float(inputs["c"])
    differentiated = []

    def seen_by_the_framework(g):
        def checked(x):
            if not isinstance(x, (Tensor, int, float, np.floating)):
                raise TypeError(f"halley_step called g on a {type(x).__name__}: call it on a tensor "
                                "(tensor(x0, requires_grad=True)) and differentiate with ag.grad")
            differentiated.append(isinstance(x, Tensor) and x.requires_grad)
            return g(x)
        return checked

    functions = [lambda x: x**3 - c, lambda x: x**3 + a * x - c, lambda x: x * x * x * x - a * x - c]
    steps = [float(halley_step(seen_by_the_framework(g), float(x0))) for g in functions for x0 in inputs["starts"]]
    if not any(differentiated):
        raise AssertionError("halley_step never called g on a tensor that requires grad: compute g' and g'' "
                             "with ag.grad (create_graph=True)")
    return {"steps": steps}


# Halley's step from exact first and second derivatives; differences would be off by far more.
TOLERANCE_10_1 = {"rtol": 1e-10, "atol": 0}


def inputs_10_2(rng):
    size = int(rng.integers(3, 6))
    basis, _ = np.linalg.qr(rng.normal(size=(size, size)))
    # a clear gap below the largest eigenvalue, so that 200 iterations settle it
    eigenvalues = np.concatenate([[rng.uniform(5.0, 20.0)], rng.uniform(0.5, 3.0, size=size - 1)])
    return {"matrix": (basis * eigenvalues) @ basis.T, "point": rng.normal(size=size)}


def probe_10_2(inputs, namespace):
    """The largest eigenvalue of a hidden quadratic form's Hessian, from the answer's power iteration.

    The exercise finds it with Hessian-vector products: ``hvp`` is counted
    (the notebook's name and the module's), and an answer that never calls
    it, forming the Hessian instead, is refused.
    """
    import framework.autograd.functional as functional
    from framework.autograd import tensor

    largest_eigenvalue = namespace["largest_eigenvalue"]
    matrix = tensor(np.asarray(inputs["matrix"], dtype=np.float64))

    def quadratic(p):
        return (p * (matrix @ p)).sum() * 0.5

    original, calls = functional.hvp, []

    def counted_hvp(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    missing = object()
    in_notebook = namespace.get("hvp", missing)
    namespace["hvp"], functional.hvp = counted_hvp, counted_hvp
    try:
        largest = float(largest_eigenvalue(quadratic, np.asarray(inputs["point"], dtype=np.float64)))
    finally:
        functional.hvp = original
        if in_notebook is missing:
            del namespace["hvp"]
        else:
            namespace["hvp"] = in_notebook
    if not calls:
        raise AssertionError("largest_eigenvalue never called hvp: find the eigenvalue from Hessian-vector "
                             "products, without forming the Hessian")
    return {"largest": largest}


TOLERANCE_10_2 = {"rtol": 1e-6, "atol": 0}
