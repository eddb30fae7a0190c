"""Random programs: second and third derivatives and Hessian-vector products against PyTorch.

The programs are those of ``test_autograd_torch`` (random compositions of
every operation of the framework, with broadcasting). Here each one is
differentiated three times, in the framework with ``grad(...,
create_graph=True)`` and in PyTorch with ``torch.autograd.grad(...,
create_graph=True)``: the gradient g, the Hessian-vector product
H v = grad(g . v), and a third derivative grad(H v . w), for fixed random
v and w. Skipped when PyTorch is not installed.
"""

import numpy as np
import pytest

import framework.autograd as ag

torch = pytest.importorskip("torch")

from tests.test_autograd_torch import LEAVES, Framework, Torch, leaf_values, run_program  # noqa: E402

NAMES = list(LEAVES)

# The programs use exp, tanh, concatenate and where, whose backward methods are
# exercises 2.1, 4.1, 5.1 and 5.2: the student edition leaves these tests out.
pytestmark = [pytest.mark.exercise(i) for i in ("2.1", "4.1", "5.1", "5.2")]


def framework_derivatives(values, seed, directions):
    leaves = {name: ag.tensor(v, requires_grad=True) for name, v in values.items()}
    loss, used = run_program(Framework, seed, leaves)
    inputs = [leaves[n] for n in NAMES]
    results = []
    current = loss
    for direction in directions:
        if not current.requires_grad:  # the previous derivative is constant: this one is zero
            results.append([np.zeros(v.shape) for v in values.values()])
            current = ag.tensor(0.0)
            continue
        gradients = ag.grad(current, inputs, create_graph=True, allow_unused=True)
        gradients = [ag.tensor(np.zeros(x.shape)) if g is None else g for g, x in zip(gradients, inputs)]
        results.append([g.data.copy() for g in gradients])
        if direction is not None:
            current = sum((g * ag.tensor(d)).sum() for g, d in zip(gradients, direction))
    return results, used


def torch_derivatives(values, seed, directions):
    leaves = {name: torch.tensor(v, dtype=torch.float64, requires_grad=True) for name, v in values.items()}
    loss, _ = run_program(Torch, seed, leaves)
    inputs = [leaves[n] for n in NAMES]
    results = []
    current = loss
    for direction in directions:
        if not current.requires_grad:
            results.append([np.zeros(v.shape) for v in values.values()])
            current = torch.tensor(0.0, dtype=torch.float64)
            continue
        gradients = torch.autograd.grad(current, inputs, create_graph=True, allow_unused=True)
        gradients = [torch.zeros_like(x) if g is None else g for g, x in zip(gradients, inputs)]
        results.append([g.detach().numpy(force=True).copy() for g in gradients])
        if direction is not None:
            current = sum((g * torch.tensor(d)).sum() for g, d in zip(gradients, direction))
    return results, None


@pytest.mark.parametrize("seed", range(40))
def test_second_and_third_derivatives_of_random_programs_agree_with_pytorch(seed):
    values = leaf_values(seed)
    rng = np.random.default_rng(20_000 + seed)
    # v (g . v gives H v) and w (H v . w gives the third derivative); the third gradient is not dotted
    directions = [[rng.standard_normal(v.shape) for v in values.values()] for _ in range(2)] + [None]
    ours, used = framework_derivatives(values, seed, directions)
    theirs, _ = torch_derivatives(values, seed, directions)
    for order, (mine, reference) in enumerate(zip(ours, theirs), start=1):
        for name, a, b in zip(NAMES, mine, reference):
            np.testing.assert_allclose(
                a, b, rtol=1e-9, atol=1e-9, err_msg=f"derivative {order} for {name}; operations {used}"
            )


def test_hessian_vector_products_agree_with_pytorch():
    from framework.autograd.functional import hvp

    rng = np.random.default_rng(3)
    a = rng.standard_normal((6, 4))
    x0, v = rng.standard_normal(4), rng.standard_normal(4)

    def f(x, L=ag):
        return (L.tanh(L.matmul(L.tensor(a) if L is ag else torch.tensor(a), x)) ** 2).sum() + L.exp(x).sum()

    _, ours = hvp(f, x0, v)
    _, theirs = torch.autograd.functional.hvp(lambda x: f(x, torch), torch.tensor(x0), torch.tensor(v))
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12)
