"""Parameters: the tensors a network learns.

A ``Parameter`` is an ordinary ``Tensor`` with two differences: it requires
grad from the start, and a ``Module`` that is given one as an attribute
registers it, so that ``module.parameters()`` finds it for the optimizer.
"""

from framework.autograd.tensor import Tensor, array_copy


class Parameter(Tensor):
    """A tensor that a module learns: ``requires_grad=True`` by default.

    ``Parameter(data)`` keeps the dtype of a floating point array (integers
    become float64, as for any tensor); ``dtype`` chooses another. The
    layers create their parameters in float32 by default (see ``Linear``).

    The values are copied, so that training, which updates ``data`` in
    place, never changes the array the parameter was made from.
    """

    def __init__(self, data, requires_grad=True, dtype=None, name=None):
        super().__init__(array_copy(data, dtype), requires_grad=requires_grad, dtype=dtype, name=name)
        if self.data.dtype.kind != "f":
            raise TypeError(f"Parameter: parameters must be floating point, got dtype {self.data.dtype}")

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
