"""Reverse-mode automatic differentiation on NumPy arrays (Chapters 2 to 5).

``from framework.autograd import tensor`` gives the constructor; the
operations are plain functions (``exp``, ``matmul``, ``sum``, ...) and the
operators of ``Tensor``. The gradient check of Chapter 4 is imported from
its own module: ``from framework.autograd.gradcheck import gradcheck``.
"""

from framework.autograd.tensor import (
    Function,
    Tensor,
    backward,
    is_grad_enabled,
    no_grad,
    tensor,
    topological_order,
)
from framework.autograd.ops import (
    abs,
    add,
    broadcast_to,
    clip,
    concatenate,
    cos,
    div,
    exp,
    getitem,
    log,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    neg,
    pow,
    relu,
    reshape,
    sigmoid,
    sin,
    sqrt,
    stack,
    sub,
    sum,
    sum_to,
    tanh,
    transpose,
    where,
)
