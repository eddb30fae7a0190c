"""Judges of Chapter 7's exercises (see README.md in this folder)."""

import numpy as np


def inputs_7_1(rng):
    shapes = [(3, 2), (4,)]
    return {"params": [rng.normal(size=s) for s in shapes],
            "grads": [[rng.normal(size=s) * rng.uniform(0.1, 3) for s in shapes] for _ in range(5)],
            "lr": rng.uniform(1e-3, 1e-1), "betas": [rng.uniform(0.5, 0.95), rng.uniform(0.9, 0.9999)],
            "eps": 10 ** rng.uniform(-8, -4), "weight_decay": float(rng.choice([0.0, rng.uniform(0, 0.1)]))}


def probe_7_1(inputs, namespace):
    from framework import optim
    from framework.autograd import tensor

    params = [tensor(p, requires_grad=True) for p in inputs["params"]]
    optimizer = optim.Adamax(params, lr=float(inputs["lr"]), betas=tuple(float(b) for b in inputs["betas"]),
                             eps=float(inputs["eps"]), weight_decay=float(inputs["weight_decay"]))
    trajectory = []
    for grads in inputs["grads"]:
        for param, grad in zip(params, grads):
            param.grad = tensor(grad)
        optimizer.step()
        trajectory.append([param.data.copy() for param in params])
    return {"trajectory": trajectory}


def inputs_7_2(rng):
    angle = rng.uniform(0, np.pi)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return {"A": rotation @ np.diag(rng.uniform(1, 20, size=2)) @ rotation.T}


def probe_7_2(inputs, namespace):
    from probe import rerun

    return rerun(inputs, namespace, ["critical_lr"], A=np.asarray(inputs["A"]))


# The check cell accepts a rate that converges at 0.98 times it and diverges at 1.02 times it.
TOLERANCE_7_2 = {"rtol": 0.01, "atol": 0}


def inputs_7_3(rng):
    return {"warmup": int(rng.integers(2, 15)), "lr": rng.uniform(0.05, 1.0)}


def probe_7_3(inputs, namespace):
    from framework import optim
    from framework.autograd import tensor

    base = float(inputs["lr"])
    scheduler = namespace["InverseSquareRootLR"](optim.SGD([tensor([0.0], requires_grad=True)], lr=base),
                                                 warmup=inputs["warmup"])
    return {"rates": [float(scheduler.lr_at(base, epoch)) for epoch in range(60)]}


def probe_7_4(inputs, namespace):
    return {"momentum": float(namespace["steep_momentum"]), "lr": float(namespace["steep_lr"])}


def judge_7_4(got, expected):
    """Gradient descent with these settings (SGD's momentum) settles on the steep bowl within 80 steps.

    The bowl f = (x^2 + 100 y^2) / 2 from (-4, 1.25); settled: f < 1e-6 for 50 steps in a row.
    """
    momentum, lr = got.get("momentum"), got.get("lr")
    if not (isinstance(momentum, float) and isinstance(lr, float) and 0 <= momentum < 1 and 0 < lr < 1):
        return False, "steep_momentum should be in [0, 1) and steep_lr a small positive number."
    point, buffer, below, losses = np.array([-4.0, 1.25]), None, 0, []
    curvature = np.array([1.0, 100.0])
    for step in range(2001):
        losses.append(float(np.sum(curvature * point**2) / 2))
        below = below + 1 if losses[-1] < 1e-6 else 0
        if below == 50 or not losses[-1] <= 1e6:
            break
        gradient = curvature * point
        buffer = gradient if buffer is None else momentum * buffer + gradient
        point = point - lr * buffer
    if below < 50:
        return False, "With these settings gradient descent does not settle on the steep bowl."
    if len(losses) - 50 > 80:
        return False, f"With these settings gradient descent takes {len(losses) - 50} steps; at most 80 are allowed."
    return True, f"Right: gradient descent settles in {len(losses) - 50} steps."
