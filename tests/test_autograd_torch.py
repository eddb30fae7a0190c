"""Random expressions: the framework's gradients against PyTorch's (when PyTorch is installed).

Each test builds one random program from the framework's operations,
runs it on the framework and, through a thin adapter, on PyTorch with the
same float64 inputs, and compares the values and the gradients of every
input. The two libraries were written independently, so agreement on many
random programs is strong evidence for both.
"""

import types

import numpy as np
import pytest

import framework.autograd as ag

torch = pytest.importorskip("torch")

# Every value in a program has a shape that broadcasts to (3, 4), so any two
# of them can meet in a binary operation.
LEAVES = {"a": (3, 4), "b": (4,), "c": (3, 1), "d": (), "e": (1, 4), "w": (4, 4)}
TARGET = (3, 4)


def fits(shape):
    """Whether a value of this shape may join the pool of operands."""
    if len(shape) > len(TARGET):
        return False
    return all(n in (1, m) for n, m in zip(shape[::-1], TARGET[::-1]))


class Framework:
    """The operations as the framework spells them."""

    tensor = staticmethod(lambda values: ag.tensor(values, requires_grad=True))
    exp, log, sqrt, sin, cos, tanh = ag.exp, ag.log, ag.sqrt, ag.sin, ag.cos, ag.tanh
    sigmoid, relu, abs, maximum, minimum, matmul = ag.sigmoid, ag.relu, ag.abs, ag.maximum, ag.minimum, ag.matmul
    clip, broadcast_to, sum_to, where = ag.clip, ag.broadcast_to, ag.sum_to, ag.where

    @staticmethod
    def sum(x, axis=None, keepdims=False):
        return x.sum(axis=axis, keepdims=keepdims)

    @staticmethod
    def mean(x, axis=None, keepdims=False):
        return x.mean(axis=axis, keepdims=keepdims)

    @staticmethod
    def max(x, axis=None, keepdims=False):
        return x.max(axis=axis, keepdims=keepdims)

    @staticmethod
    def min(x, axis=None, keepdims=False):
        return x.min(axis=axis, keepdims=keepdims)

    @staticmethod
    def concatenate(xs, axis):
        return ag.concatenate(xs, axis=axis)

    @staticmethod
    def stack(xs, axis):
        return ag.stack(xs, axis=axis)

    @staticmethod
    def mask(values):
        return values

    @staticmethod
    def grad(x):
        return None if x.grad is None else x.grad.data


def _torch_reduce(name):
    def reduce(x, axis=None, keepdims=False):
        if axis is None:
            result = getattr(torch, name)(x)
            return result.reshape((1,) * x.ndim) if keepdims else result
        return getattr(torch, name)(x, dim=axis, keepdim=keepdims)

    return reduce


class Torch:
    """The same operations as PyTorch spells them."""

    tensor = staticmethod(lambda values: torch.tensor(values, dtype=torch.float64, requires_grad=True))
    exp, log, sqrt, sin, cos, tanh = torch.exp, torch.log, torch.sqrt, torch.sin, torch.cos, torch.tanh
    sigmoid, relu, abs, maximum, minimum, matmul = (
        torch.sigmoid, torch.relu, torch.abs, torch.maximum, torch.minimum, torch.matmul,
    )
    sum, mean, max, min = (staticmethod(_torch_reduce(n)) for n in ("sum", "mean", "amax", "amin"))

    @staticmethod
    def clip(x, low, high):
        return torch.clamp(x, low, high)

    @staticmethod
    def broadcast_to(x, shape):
        return x.broadcast_to(shape)

    @staticmethod
    def sum_to(x, shape):
        return x.sum_to_size(shape) if shape else x.sum()

    @staticmethod
    def where(condition, a, b):
        return torch.where(torch.as_tensor(condition), a, b)

    @staticmethod
    def concatenate(xs, axis):
        return torch.cat(xs, dim=axis)

    @staticmethod
    def stack(xs, axis):
        return torch.stack(xs, dim=axis)

    @staticmethod
    def mask(values):
        return torch.as_tensor(values)

    @staticmethod
    def grad(x):
        return None if x.grad is None else x.grad.numpy()


# Each operation: (name, number of operands, function of the library L, a
# context c and the operands). The context holds a random generator (c.rng)
# and the matrix input (c.w). Domains are protected (log of x*x + 1) so that
# random programs never leave them; None means "does not apply to these".
OPERATIONS = [
    ("add", 2, lambda L, c, x, y: x + y),
    ("sub", 2, lambda L, c, x, y: x - y),
    ("mul", 2, lambda L, c, x, y: x * y),
    ("div", 2, lambda L, c, x, y: x / (y * y + 1)),
    ("rdiv", 1, lambda L, c, x: 2.0 / (x * x + 0.5)),
    ("pow", 2, lambda L, c, x, y: (x * x + 1) ** L.tanh(y)),
    ("square", 1, lambda L, c, x: x**2),
    ("neg", 1, lambda L, c, x: -x),
    ("numbers", 1, lambda L, c, x: 3 - 2 * x + x / 4),
    ("exp", 1, lambda L, c, x: L.exp(L.tanh(x))),
    ("log", 1, lambda L, c, x: L.log(x * x + 1)),
    ("sqrt", 1, lambda L, c, x: L.sqrt(x * x + 1)),
    ("sin", 1, lambda L, c, x: L.sin(x)),
    ("cos", 1, lambda L, c, x: L.cos(x)),
    ("tanh", 1, lambda L, c, x: L.tanh(x)),
    ("sigmoid", 1, lambda L, c, x: L.sigmoid(x)),
    ("relu", 1, lambda L, c, x: L.relu(x)),
    ("abs", 1, lambda L, c, x: L.abs(x)),
    ("maximum", 2, lambda L, c, x, y: L.maximum(x, y)),
    ("minimum", 2, lambda L, c, x, y: L.minimum(x, y)),
    ("clip", 1, lambda L, c, x: L.clip(x, -0.5, 0.5)),
    ("matmul", 1, lambda L, c, x: L.matmul(x, c.w) if x.ndim and x.shape[-1] == 4 else None),
    ("sum", 1, lambda L, c, x: L.sum(x)),
    ("sum0", 1, lambda L, c, x: L.sum(x, axis=0) if x.ndim == 2 else None),
    ("mean-1", 1, lambda L, c, x: L.mean(x, axis=-1, keepdims=True) if x.ndim else None),
    ("max0", 1, lambda L, c, x: L.max(x, axis=0, keepdims=True) if x.ndim else None),
    ("min", 1, lambda L, c, x: L.min(x)),
    ("transpose", 1, lambda L, c, x: L.sum(x.T, axis=1) if x.ndim == 2 else None),
    ("reshape", 1, lambda L, c, x: L.sum(x.reshape(4, 3), axis=1) if x.shape == (3, 4) else None),
    ("rows", 1, lambda L, c, x: x[list(c.rng.integers(0, len(x), size=len(x)))] if x.ndim else None),
    ("slices", 1, lambda L, c, x: L.concatenate([x[..., 3:], x[..., :3]], axis=-1) if x.ndim else None),
    ("mask", 1, lambda L, c, x: L.sum(x[L.mask(c.rng.random(x.shape) < 0.5)]) if x.ndim else None),
    ("concatenate", 1, lambda L, c, x: L.concatenate([x[:1], x[1:]], axis=0) if x.ndim and len(x) > 1 else None),
    ("stack", 2, lambda L, c, x, y: L.sum(L.stack([x, y], axis=0), axis=0) if x.shape == y.shape else None),
    ("where", 2, lambda L, c, x, y: L.where(c.rng.random(TARGET) < 0.5, x, y)),
    ("broadcast_to", 1, lambda L, c, x: L.broadcast_to(x, TARGET)),
    ("sum_to", 1, lambda L, c, x: L.sum_to(x, (1, 4)) if tuple(x.shape) == TARGET else None),
]


def run_program(L, seed, leaves, steps=8):
    """Run a random program (fixed by ``seed``) with the library L.

    Returns the loss and the names of the operations the program used.
    """
    rng = np.random.default_rng(seed)
    pool = [leaves[name] for name in LEAVES if name != "w"]
    used = []
    for _ in range(steps):
        for _attempt in range(20):
            name, arity, apply = OPERATIONS[rng.integers(len(OPERATIONS))]
            operands = [pool[rng.integers(len(pool))] for _ in range(arity)]
            context = types.SimpleNamespace(rng=np.random.default_rng(rng.integers(1 << 32)), w=leaves["w"])
            result = apply(L, context, *operands)
            if result is not None and fits(tuple(result.shape)):
                pool.append(result)
                used.append(name)
                break
    # The loss uses every value of the pool, so every operation's gradient counts.
    weights = np.random.default_rng(seed + 1).standard_normal(len(pool))
    loss = 0
    for value, weight in zip(pool, weights):
        loss = loss + L.sum(value) * float(weight)
    return loss, used


def leaf_values(seed):
    rng = np.random.default_rng(10_000 + seed)
    return {name: rng.standard_normal(shape) for name, shape in LEAVES.items()}


SEEDS = range(150)


@pytest.mark.exercise("2.1")
@pytest.mark.exercise("4.1")
@pytest.mark.exercise("5.1")
@pytest.mark.exercise("5.2")
@pytest.mark.parametrize("seed", SEEDS)
def test_random_program_matches_pytorch(seed):
    values = leaf_values(seed)
    ours = {name: Framework.tensor(v) for name, v in values.items()}
    theirs = {name: Torch.tensor(v) for name, v in values.items()}

    our_loss, our_operations = run_program(Framework, seed, ours)
    their_loss, their_operations = run_program(Torch, seed, theirs)
    assert our_operations == their_operations
    np.testing.assert_allclose(our_loss.item(), their_loss.item(), rtol=1e-12)

    our_loss.backward()
    their_loss.backward()
    for name, shape in LEAVES.items():
        our_grad = Framework.grad(ours[name])
        their_grad = Torch.grad(theirs[name])
        our_grad = np.zeros(shape) if our_grad is None else our_grad
        their_grad = np.zeros(shape) if their_grad is None else their_grad
        np.testing.assert_allclose(our_grad, their_grad, rtol=1e-10, atol=1e-12, err_msg=f"input {name}")


def test_the_programs_use_every_operation():
    used = set()
    for seed in SEEDS:
        leaves = {name: Framework.tensor(v) for name, v in leaf_values(seed).items()}
        used.update(run_program(Framework, seed, leaves)[1])
    assert used == {name for name, _, _ in OPERATIONS}
