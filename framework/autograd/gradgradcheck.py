"""The second-derivative check: double backward against differences of backward (Chapter 10).

``gradcheck`` (Chapter 4) tests each backward method against central
differences of the forward computation. ``gradgradcheck`` does the same one
level up: the recorded backward pass (``create_graph=True``) is
differentiated, and the result compared with central differences of the
ordinary gradient.

With a random gradient $u$ for the output $y = f(x)$ and a random weight
$w$ for the gradient, the scalar

$$M(x, u) = w \\cdot \\nabla_x (u \\cdot y) = w \\cdot J(x)^T u$$

is a function of the input and of $u$. Its gradient with respect to $x$
holds second derivatives of $f$; its gradient with respect to $u$ is
$J w$, which differentiates the backward methods themselves (for a linear
operation such as indexing, whose second derivative is zero, this is the
part that tests anything). Both come from one double backward and are
compared with the central differences of $M$.
"""

import numpy as np

from framework.autograd.gradcheck import GradcheckError
from framework.autograd.tensor import Tensor, grad


class GradgradcheckError(GradcheckError):
    """Double backward and the differences of backward disagree (raised by ``gradgradcheck``)."""


def gradgradcheck(f, *inputs, atol=1e-5, rtol=1e-4, seed=0):
    """Check the second derivatives of ``f`` at ``inputs`` against central differences of its gradient.

    ``f(*inputs)`` returns a tensor; the inputs that are tensors requiring
    grad are checked, the others are constants. Everything is evaluated in
    float64 on copies. A position fails when
    $|a - n| > \\text{atol} + \\text{rtol}\\,|n|$ for the value $a$ from
    double backward and $n$ from the differences; ``GradgradcheckError``
    then names the variable, the position and both values. Otherwise the
    largest error $|a - n| / \\max(1, |a|, |n|)$ is returned.
    """
    values = [np.array(x.data if isinstance(x, Tensor) else x, dtype=np.float64) for x in inputs]
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradgradcheck: no input requires grad, so there is no derivative to check")
    rng = np.random.default_rng(seed)
    output_shape = _call(f, values, checked)[0].shape
    u = rng.standard_normal(output_shape)
    weights = [rng.standard_normal(values[i].shape) for i in checked]

    analytic = _double_backward(f, values, checked, u, weights)
    names = [f"input {i}" for i in checked] + ["the output's gradient u"]
    worst = 0.0
    for which, (name, a) in enumerate(zip(names, analytic)):
        n = _differences(f, values, checked, u, weights, which)
        worst = max(worst, _compare(name, a, n, atol, rtol))
    return worst


def _call(f, values, checked):
    """``f`` on fresh tensors holding ``values``; the checked ones require grad."""
    tensors = [Tensor(v.copy(), requires_grad=i in checked) for i, v in enumerate(values)]
    return f(*tensors), tensors


def _gradient_dot(f, values, checked, u, weights, create_graph):
    """``M = sum_i w_i . grad_{x_i}(u . y)``, with the tensors it was computed from."""
    output, tensors = _call(f, values, checked)
    u_tensor = Tensor(np.array(u), requires_grad=create_graph)
    xs = [tensors[i] for i in checked]
    gradients = grad(output, xs, grad_outputs=u_tensor, create_graph=create_graph, allow_unused=True)
    terms = [(g * w).sum() for g, w in zip(gradients, weights) if g is not None]
    total = terms[0] if terms else Tensor(np.array(0.0))
    for term in terms[1:]:
        total = total + term
    return total, xs + [u_tensor]


def _double_backward(f, values, checked, u, weights):
    """The gradient of M with respect to each checked input and u, from double backward."""
    total, variables = _gradient_dot(f, values, checked, u, weights, create_graph=True)
    if not total.requires_grad:  # M does not depend on anything: all second derivatives are 0
        return [np.zeros(v.shape) for v in variables]
    gradients = grad(total, variables, allow_unused=True)
    return [np.zeros(v.shape) if g is None else np.array(g.data) for g, v in zip(gradients, variables)]


def _differences(f, values, checked, u, weights, which):
    """Central differences of M in each entry of variable ``which`` (a checked input, or u last)."""
    base = [values[i] for i in checked] + [u]
    target = base[which]
    result = np.zeros(target.shape)
    for position in np.ndindex(target.shape):
        step = 2.0**-17 * max(1.0, abs(target[position]))
        sides = []
        for sign in (1, -1):
            moved = [v.copy() for v in base]
            moved[which][position] += sign * step
            new_values = list(values)
            for i, v in zip(checked, moved[:-1]):
                new_values[i] = v
            total, _ = _gradient_dot(f, new_values, checked, moved[-1], weights, create_graph=False)
            sides.append(float(total.data))
        result[position] = (sides[0] - sides[1]) / (2 * step)
    return result


def _compare(name, analytic, numeric, atol, rtol):
    """The largest scaled error, or GradgradcheckError at the first position out of tolerance."""
    if analytic.shape != numeric.shape:
        raise GradgradcheckError(f"gradgradcheck: {name}: double backward gave shape {analytic.shape}, expected {numeric.shape}")
    bad = np.abs(analytic - numeric) > atol + rtol * np.abs(numeric)
    if bad.any():
        position = tuple(int(i) for i in np.argwhere(bad)[0])
        raise GradgradcheckError(
            f"gradgradcheck: {name} at position {position}: double backward gives "
            f"{analytic[position]:.10g}, the central difference of the gradient {numeric[position]:.10g}"
        )
    if analytic.size == 0:
        return 0.0
    scale = np.maximum(1.0, np.maximum(np.abs(analytic), np.abs(numeric)))
    return float(np.max(np.abs(analytic - numeric) / scale))
