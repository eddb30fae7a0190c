"""Second derivatives from the recorded backward pass (Chapter 10).

``grad(..., create_graph=True)`` returns gradients that are tensors in a
graph, so they can be differentiated again. Three tools are built on it:

- ``hvp``: the Hessian-vector product $Hv = \\nabla_x (\\nabla_x f \\cdot v)$,
  two backward passes and never the Hessian itself (Pearlmutter's trick);
- ``hessian``: the full matrix of second derivatives of a small function,
  one backward pass through the gradient's graph per entry of the gradient;
- ``jacobian``: the matrix of first derivatives of a function with many
  outputs, one backward pass per output.

Each takes a function of tensors and the point (tensors or arrays) at
which to differentiate it. The point is copied into fresh leaves, so the
caller's tensors and their ``.grad`` are left alone.
"""

import numpy as np

from framework.autograd.tensor import Tensor, array_copy, grad


def _leaves(point):
    """Fresh leaves that require grad holding the values of ``point`` (a tensor, array or a sequence of them)."""
    single = not isinstance(point, (tuple, list))
    values = (point,) if single else tuple(point)
    leaves = []
    for value in values:
        data = array_copy(value)
        if data.dtype.kind != "f":
            data = data.astype(np.float64)
        leaves.append(Tensor(data, requires_grad=True))
    return single, tuple(leaves)


def _scalar_output(name, output):
    if not isinstance(output, Tensor) or output.data.size != 1:
        shape = output.shape if isinstance(output, Tensor) else type(output).__name__
        raise ValueError(f"{name}: the function must return a tensor with one value, got {shape}")
    return output


def _zeros_where_unused(gradients, leaves):
    """``grad(..., allow_unused=True)`` results with None replaced by zeros."""
    return tuple(
        Tensor._result(np.zeros_like(x.data)) if g is None else g for g, x in zip(gradients, leaves)
    )


def hvp(f, point, vector):
    """``(f(point), H v)``: the Hessian of the scalar ``f`` at ``point`` times ``vector``.

    $$Hv = \\nabla_x \\big( \\nabla_x f(x) \\cdot v \\big):$$

    the gradient is computed with ``create_graph=True``, dotted with the
    constant ``v``, and that scalar is differentiated again. The cost is a
    few times that of one gradient, whatever the number of variables, and
    the $n \\times n$ Hessian is never formed. ``point`` and ``vector`` are
    a tensor (or array) each, or sequences of the same length; the product
    comes back in the same form, as tensors without a graph.
    """
    single, leaves = _leaves(point)
    vectors = (vector,) if single else tuple(vector)
    if len(vectors) != len(leaves):
        raise ValueError(f"hvp: {len(vectors)} vectors for {len(leaves)} inputs; give one per input")
    for position, (v, x) in enumerate(zip(vectors, leaves)):
        if np.shape(v) != x.shape:
            raise ValueError(f"hvp: vector {position} has shape {np.shape(v)} but input {position} has shape {x.shape}")
    value = _scalar_output("hvp", f(*leaves))
    gradients = _zeros_where_unused(grad(value, leaves, create_graph=True, allow_unused=True), leaves)
    directional = sum((g * array_copy(v, x.dtype)).sum() for g, v, x in zip(gradients, vectors, leaves))
    if not directional.requires_grad:  # the gradient does not depend on x: f is linear, H = 0
        products = tuple(Tensor._result(np.zeros_like(x.data)) for x in leaves)
    else:
        products = _zeros_where_unused(grad(directional, leaves, allow_unused=True), leaves)
    products = tuple(p.detach() for p in products)
    return value.detach(), products[0] if single else products


def hessian(f, point):
    """The Hessian of the scalar ``f`` at ``point`` (one tensor or array), as an array.

    The result has shape ``point.shape + point.shape``: entry ``[i, j]``
    is $\\partial^2 f / \\partial x_i \\partial x_j$. Row ``i`` is the
    gradient of the ``i``-th entry of the gradient, one backward pass
    through the gradient's recorded graph each.
    """
    _, (x,) = _leaves(point)
    value = _scalar_output("hessian", f(x))
    (gradient,) = _zeros_where_unused(grad(value, x, create_graph=True, allow_unused=True), (x,))
    flat = gradient.reshape(-1)
    rows = np.zeros((x.size, x.size), dtype=x.dtype)
    if gradient.requires_grad:
        for i in range(x.size):
            (row,) = grad(flat[i], x, retain_graph=True, allow_unused=True)
            if row is not None:
                rows[i] = row.data.reshape(-1)
    return rows.reshape(x.shape + x.shape)


def jacobian(f, point):
    """The Jacobian of ``f`` at ``point`` (one tensor or array), as an array.

    The result has shape ``f(point).shape + point.shape``: entry
    ``[i, j]`` is $\\partial y_i / \\partial x_j$. One backward pass per
    output value, each giving a row.
    """
    _, (x,) = _leaves(point)
    output = f(x)
    if not isinstance(output, Tensor):
        raise ValueError(f"jacobian: the function must return a tensor, got {type(output).__name__}")
    rows = np.zeros((output.size, x.size), dtype=x.dtype)
    if output.requires_grad:
        flat = output.reshape(-1)
        for i in range(output.size):
            (row,) = grad(flat[i], x, retain_graph=True, allow_unused=True)
            if row is not None:
                rows[i] = row.data.reshape(-1)
    return rows.reshape(output.shape + x.shape)
