"""Reverse-mode automatic differentiation on NumPy arrays (Chapters 2 to 5).

``from framework.autograd import tensor`` gives the constructor; the
operations are plain functions (``exp``, ``matmul``, ``sum``, ...) and the
operators of ``Tensor``. The gradient check of Chapter 4 is imported from
its own module: ``from framework.autograd.gradcheck import gradcheck``.

nan and inf are ordinary results, as in PyTorch (no warnings);
``detect_anomaly()`` finds the operation that first produced one.
"""

from framework.autograd.tensor import (
    Function,
    Tensor,
    as_array,
    backward,
    detect_anomaly,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    set_detect_anomaly,
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
    swapaxes,
    tanh,
    transpose,
    where,
)
