"""Tensors, operations and the backward pass (Chapters 2 to 4).

Three ideas make up reverse-mode automatic differentiation:

- a ``Tensor`` holds a NumPy array (``data``) and, once backward has run,
  the gradient of the output with respect to it (``grad``);
- a ``Function`` is one operation: ``forward`` computes the result from
  arrays and saves what ``backward`` will need; ``backward`` turns the
  gradient of the result into gradients of the inputs (the chain rule,
  one local step);
- calling an operation on tensors records, in the result's ``grad_fn``,
  which function made it from which inputs. ``Tensor.backward()`` walks
  these records from the output back to the leaves.

The operations themselves live in ``framework.autograd.ops``.
"""

import contextlib

import numpy as np

# ---------------------------------------------------------------------------
# Recording on and off
# ---------------------------------------------------------------------------

_grad_enabled = True


def is_grad_enabled():
    """True when operations on tensors that require grad are recorded."""
    return _grad_enabled


@contextlib.contextmanager
def no_grad():
    """Run a block without recording operations, as ``torch.no_grad()`` does.

    Results computed inside have ``requires_grad=False`` and no ``grad_fn``:
    no graph is kept, which saves memory and time during evaluation and in
    optimizer updates. Calling ``backward()`` on such a result is an error.
    """
    global _grad_enabled
    previous = _grad_enabled
    _grad_enabled = False
    try:
        yield
    finally:
        _grad_enabled = previous


# ---------------------------------------------------------------------------
# Function: one operation with its local derivative
# ---------------------------------------------------------------------------


class Function:
    """Base class of every operation.

    A subclass defines ``forward(*arrays)``, which returns the result as a
    NumPy array and may keep what backward needs with
    ``save_for_backward``, and ``backward(grad_output)``, which returns one
    gradient per input, each of that input's shape (``None`` for an input
    that needs none). Both work on NumPy arrays only: the graph is built
    around them by ``__call__``.

    ``self.needs_input_grad[i]`` tells backward whether input ``i`` wants a
    gradient, so an operation can skip work nobody will use.

    Backward methods use only operators, array methods (``.T``,
    ``.reshape``, ``.sum``) and NumPy functions that tensors accept too
    (``np.cos``, ``np.where``). They run on arrays, at NumPy's speed; handed
    tensors instead, the same lines would record a graph of the gradient
    computation itself, which is what higher derivatives need.
    """

    inputs = ()
    saved = ()
    needs_input_grad = ()
    _freed = False

    @classmethod
    def apply(cls, *args, **kwargs):
        """Create the function and call it: ``Mul.apply(x, y)``."""
        return cls(**kwargs)(*args)

    def __call__(self, *args):
        inputs = _as_tensors(args, self)
        try:
            data = self.forward(*[t.data for t in inputs])
        except (ValueError, IndexError) as error:
            raise _forward_error(self, inputs, error) from None
        out = Tensor._result(data)
        if _grad_enabled:
            needs = tuple([t.requires_grad for t in inputs])
            if True in needs:
                self.inputs = inputs
                self.needs_input_grad = needs
                out.requires_grad = True
                out.grad_fn = self
        return out

    def save_for_backward(self, *values):
        """Keep what backward needs (inputs, outputs, masks or shapes)."""
        self.saved = values

    def forward(self, *arrays):
        raise NotImplementedError(f"{self.name}.forward is not implemented")

    def backward(self, grad_output):
        raise NotImplementedError(f"{self.name}.backward is not implemented")

    @property
    def name(self):
        """The operation's name in messages and drawings, e.g. ``Mul``."""
        return type(self).__name__

    def __repr__(self):
        return f"<{self.name}>"


def _as_tensors(args, fn):
    """The arguments of an operation as tensors (a tuple).

    Numbers and NumPy arrays become constant tensors. A Python number takes
    the floating point dtype of the tensor it meets, as in NumPy, so that
    ``x * 2`` keeps a float32 ``x`` float32; an array keeps its dtype and
    NumPy's rules decide the dtype of the result.
    """
    for a in args:
        if not isinstance(a, Tensor):
            break
    else:
        return args  # the common case: nothing to convert
    like = None
    for a in args:
        if isinstance(a, Tensor):
            like = a.data.dtype
            break
    return tuple([a if isinstance(a, Tensor) else _constant(a, like, fn) for a in args])


def _constant(a, like, fn):
    """A number or an array as a tensor that requires no grad."""
    if isinstance(a, (int, float)) and not isinstance(a, bool):
        return Tensor._result(np.array(a, dtype=like if like is not None and like.kind == "f" else None))
    if isinstance(a, (np.ndarray, np.generic)) and a.dtype.kind in "biuf":
        return Tensor._result(np.asarray(a))
    raise TypeError(
        f"{fn.name}: unsupported operand of type {type(a).__name__}; expected a Tensor, "
        "a number or a NumPy array of numbers (make one with tensor(...))"
    )


def _forward_error(fn, inputs, error):
    """The error of a forward that failed, naming the operation and the shapes."""
    shapes = ", ".join(str(t.shape) for t in inputs)
    message = f"{fn.name}: cannot apply to inputs of shapes {shapes}: {str(error).strip()}"
    if "broadcast" in message:
        message += (
            ". Broadcasting compares shapes from the right: each pair of sizes must be "
            "equal or one of them 1; reshape an input (e.g. x.reshape(-1, 1)) to line them up"
        )
    return (ValueError if isinstance(error, ValueError) else IndexError)(message)


# ---------------------------------------------------------------------------
# Tensor
# ---------------------------------------------------------------------------


def _to_array(data, dtype):
    """Floating point by default: integers and booleans become float64."""
    if isinstance(data, Tensor):
        data = data.data
    array = np.asarray(data, dtype=dtype)
    if dtype is None and array.dtype.kind not in "fc":
        array = array.astype(np.float64)
    return array


class Tensor:
    """A NumPy array that remembers how it was computed.

    - ``data``: the values, a NumPy array;
    - ``requires_grad``: whether gradients should flow to this tensor;
    - ``grad``: after ``backward()``, the gradient of the output with
      respect to this tensor (a Tensor of the same shape and dtype), else
      ``None``;
    - ``grad_fn``: the Function that produced it, ``None`` for a leaf.

    ``Tensor(array)`` wraps the array without copying it; ``tensor(...)``
    makes a copy.
    """

    def __init__(self, data, requires_grad=False, dtype=None, name=None):
        self.data = _to_array(data, dtype)
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"Tensor: only floating point tensors can require gradients, got dtype "
                f"{self.data.dtype}; create it with a float dtype, e.g. tensor(data, dtype=np.float64)"
            )
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self.grad_fn = None
        self.name = name

    @classmethod
    def _result(cls, data):
        """A new tensor for an operation's result, without the checks."""
        out = cls.__new__(cls)
        out.data = data if isinstance(data, np.ndarray) else np.asarray(data)
        out.requires_grad = False
        out.grad = None
        out.grad_fn = None
        out.name = None
        return out

    # -- attributes borrowed from the array --------------------------------

    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def is_leaf(self):
        """True for tensors made by the user rather than by an operation."""
        return self.grad_fn is None

    def __len__(self):
        return len(self.data)

    def __iter__(self):
        """The rows ``x[0], x[1], ...``, each a tensor in the graph."""
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor; use .item() for its value")
        return (self[i] for i in range(len(self.data)))

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only a tensor with one element can become a number, got shape {self.shape}")
        return self.data.item()

    def __float__(self):
        return float(self.item())

    def __bool__(self):
        return bool(self.data)

    def __format__(self, spec):
        """``f"{loss:.4f}"`` formats the value of a one-element tensor."""
        if spec and self.data.size == 1:
            return format(self.item(), spec)
        return format(repr(self), spec)

    def numpy(self):
        """The values as a NumPy array (shared, not copied)."""
        return self.data

    def __array__(self, dtype=None, copy=None):
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    def detach(self):
        """A new leaf tensor sharing the values, cut off from the graph."""
        return Tensor._result(self.data)

    def zero_grad(self):
        """Forget the accumulated gradient (``grad`` becomes ``None``)."""
        self.grad = None

    def requires_grad_(self, requires_grad=True):
        """Switch gradient tracking on or off for a leaf, in place."""
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"requires_grad_: dtype {self.data.dtype} cannot require gradients; use a float dtype")
        self.requires_grad = bool(requires_grad)
        return self

    def __repr__(self):
        body = np.array2string(
            self.data, separator=", ", prefix="tensor(", threshold=20, edgeitems=3
        )
        extras = []
        if self.data.dtype != np.float64:
            extras.append(f"dtype={self.data.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        if self.name is not None:
            extras.append(f"name={self.name!r}")
        return "tensor(" + ", ".join([body] + extras) + ")"

    # Tensors are graph nodes: hashing by identity lets them be dict keys,
    # while == compares values elementwise as NumPy does.
    __hash__ = object.__hash__

    # -- the backward pass --------------------------------------------------

    def backward(self, grad=None, retain_graph=False):
        """Compute the gradient of this tensor with respect to every leaf.

        ``grad`` is the gradient of some final scalar with respect to this
        tensor, of this tensor's shape; it may be left out when this tensor
        has one element (then it is 1).

        Gradients are *added* to each leaf's ``.grad``, as in PyTorch: two
        calls of ``backward`` (through the same graph or two graphs) leave
        the sum of both gradients. Call ``zero_grad()`` (or set ``grad`` to
        ``None``) between training steps to start afresh.

        The graph is walked in reverse topological order without recursion,
        so graphs of any depth work. By default the values saved for
        backward are released afterwards, and a second ``backward`` through
        any part of the same graph raises a ``RuntimeError``; pass
        ``retain_graph=True`` to keep them and allow it.
        """
        backward(self, grad, retain_graph=retain_graph)

    # -- operators (the operations are defined in ops.py) --------------------

    def __add__(self, other):
        return ops.add(self, other)

    def __radd__(self, other):
        return ops.add(other, self)

    def __sub__(self, other):
        return ops.sub(self, other)

    def __rsub__(self, other):
        return ops.sub(other, self)

    def __mul__(self, other):
        return ops.mul(self, other)

    def __rmul__(self, other):
        return ops.mul(other, self)

    def __truediv__(self, other):
        return ops.div(self, other)

    def __rtruediv__(self, other):
        return ops.div(other, self)

    def __pow__(self, other):
        return ops.pow(self, other)

    def __rpow__(self, other):
        return ops.pow(other, self)

    def __matmul__(self, other):
        return ops.matmul(self, other)

    def __rmatmul__(self, other):
        return ops.matmul(other, self)

    def __neg__(self):
        return ops.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return ops.abs(self)

    def __getitem__(self, index):
        return ops.getitem(self, index)

    # Comparisons give plain boolean arrays: they have no gradient.
    def __eq__(self, other):
        return self.data == _values(other)

    def __ne__(self, other):
        return self.data != _values(other)

    def __lt__(self, other):
        return self.data < _values(other)

    def __le__(self, other):
        return self.data <= _values(other)

    def __gt__(self, other):
        return self.data > _values(other)

    def __ge__(self, other):
        return self.data >= _values(other)

    # -- methods in NumPy's and PyTorch's style ------------------------------

    def sum(self, axis=None, keepdims=False):
        return ops.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return ops.mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return ops.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return ops.min(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        return ops.reshape(self, tuple(shape))

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = axes[0]
        return ops.transpose(self, tuple(axes) if axes else None)

    @property
    def T(self):
        return ops.transpose(self)

    def exp(self):
        return ops.exp(self)

    def log(self):
        return ops.log(self)

    def sqrt(self):
        return ops.sqrt(self)

    def sin(self):
        return ops.sin(self)

    def cos(self):
        return ops.cos(self)

    def tanh(self):
        return ops.tanh(self)

    def sigmoid(self):
        return ops.sigmoid(self)

    def relu(self):
        return ops.relu(self)

    def abs(self):
        return ops.abs(self)

    def clip(self, low, high):
        return ops.clip(self, low, high)

    def broadcast_to(self, shape):
        return ops.broadcast_to(self, shape)

    def sum_to(self, shape):
        return ops.sum_to(self, shape)

    # -- NumPy interoperability ----------------------------------------------

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """Let NumPy's ufuncs act on tensors: ``np.exp(x)`` is ``exp(x)``.

        This is also what makes ``np.ones(3) + x`` return a Tensor: NumPy
        hands the addition over to the tensor. Ufuncs whose derivative is
        zero wherever it exists (comparisons, ``np.sign``) act on the values
        and return arrays.
        """
        if method == "__call__" and not kwargs:
            operation = ops.UFUNCS.get(ufunc)
            if operation is not None:
                return operation(*inputs)
            if ufunc in ops.CONSTANT_UFUNCS:
                return ufunc(*[_values(x) for x in inputs])
        call = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
        raise TypeError(
            f"np.{call} is not an operation on tensors (or not with these arguments); "
            "use the operations of framework.autograd, or apply it to x.data to get an array"
        )

    def __array_function__(self, func, types, args, kwargs):
        """Let NumPy's other functions act on tensors.

        Those that are operations of the framework record them
        (``np.where(c, x, 0)`` is ``where(c, x, 0)``); any other function
        (``np.allclose``, ``np.argmax``, ...) sees the values.
        """
        operation = ops.FUNCTIONS.get(func)
        if operation is not None:
            return operation(*args, **kwargs)
        return func(*_values_inside(args), **_values_inside(kwargs))


def _values(x):
    return x.data if isinstance(x, Tensor) else x


def _values_inside(x):
    """``x`` with every tensor in it, also inside lists, tuples and dicts, replaced by its array."""
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, (list, tuple)):
        return type(x)(_values_inside(item) for item in x)
    if isinstance(x, dict):
        return {key: _values_inside(value) for key, value in x.items()}
    return x


def tensor(data, requires_grad=False, dtype=None, name=None):
    """Create a tensor from a number, a (nested) list or an array.

    Floating point by default: integers and booleans become float64, while
    float32 arrays stay float32. ``dtype`` overrides the choice. The values
    are copied, so changing the tensor never changes ``data``.
    """
    if isinstance(data, Tensor):
        data = data.data
    return Tensor(np.array(data, dtype=dtype), requires_grad=requires_grad, dtype=dtype, name=name)


# ---------------------------------------------------------------------------
# The backward pass
# ---------------------------------------------------------------------------


def topological_order(output):
    """The tensors of ``output``'s graph, each after all the tensors it uses.

    An iterative depth-first search. A tensor on top of the stack is first
    *expanded*: its inputs are pushed above it. When it is back on top, all
    of them have been listed, so it is listed itself. Reading the list
    backwards therefore visits every tensor before any tensor it was
    computed from. Only tensors that require grad are visited. No recursion,
    so depth is not limited, and the stack holds the tensors themselves, so
    a deep graph costs no extra objects per node.
    """
    order = []
    expanded = set()
    listed = set()
    stack = [output]
    while stack:
        node = stack[-1]
        if node not in expanded:
            expanded.add(node)
            if node.grad_fn is not None:
                for parent in node.grad_fn.inputs:
                    if parent.requires_grad and parent not in expanded:
                        stack.append(parent)
        else:
            stack.pop()
            if node not in listed:
                listed.add(node)
                order.append(node)
    return order


def _initial_gradient(output, grad):
    """The gradient that starts backward: 1 for a single value, else ``grad``."""
    if grad is None:
        if output.data.size != 1:
            raise RuntimeError(
                f"backward: the output has shape {output.shape}, so its gradient is not implied; "
                "call backward(grad) with a gradient of that shape, or reduce the output to a "
                "scalar first (e.g. y.sum().backward())"
            )
        return np.ones(output.data.shape, dtype=output.data.dtype)
    grad = np.array(_values(grad), dtype=output.data.dtype)  # a private copy
    if grad.shape != output.shape:
        raise ValueError(
            f"backward: the gradient has shape {grad.shape} but the output has shape {output.shape}; "
            "they must be equal"
        )
    return grad


def backward(output, grad=None, retain_graph=False):
    """Backpropagation: the engine behind ``Tensor.backward``.

    Walks the graph in reverse topological order. Each tensor's gradient is
    complete when it is reached (everything that used it came later in the
    forward pass, so earlier in this walk), is handed to its ``grad_fn``,
    and the gradients it returns are added to those of its inputs. A leaf
    that requires grad adds what reaches it to its ``.grad``.
    """
    if not output.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad, so there is no graph to go back "
            "through. It was computed under no_grad(), or from tensors that all have "
            "requires_grad=False; create the inputs with requires_grad=True."
        )
    grads = {output: _initial_gradient(output, grad)}
    for node in reversed(topological_order(output)):
        g = grads.pop(node, None)
        if g is None:  # no gradient reached this tensor
            continue
        fn = node.grad_fn
        if fn is None:
            _accumulate_leaf(node, g)
            continue
        if fn._freed:
            raise RuntimeError(
                f"backward: tried to go through {fn.name} a second time, but its saved values were "
                "released after the first backward; call backward(retain_graph=True) the first time "
                "if you need to go back twice"
            )
        input_grads = fn.backward(g)
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        if not retain_graph:
            fn.saved = ()
            fn._freed = True
        if len(input_grads) != len(fn.inputs):
            raise RuntimeError(
                f"{fn.name}.backward returned {len(input_grads)} gradients for "
                f"{len(fn.inputs)} inputs; it must return one per input (None for none)"
            )
        for parent, parent_grad in zip(fn.inputs, input_grads):
            if parent_grad is None or not parent.requires_grad:
                continue
            if getattr(parent_grad, "shape", None) != parent.data.shape:
                raise _wrong_shape(fn, parent, parent_grad)
            if parent in grads:
                grads[parent] = grads[parent] + parent_grad
            else:
                grads[parent] = parent_grad


def _wrong_shape(fn, parent, parent_grad):
    position = next(i for i, t in enumerate(fn.inputs) if t is parent)
    return RuntimeError(
        f"{fn.name}.backward returned a gradient of shape {np.shape(parent_grad)} for input "
        f"{position}, which has shape {parent.shape}; each gradient must have its input's "
        "shape (sum_to reduces a broadcast gradient)"
    )


def _accumulate_leaf(leaf, g):
    """Add ``g`` to ``leaf.grad``, in the leaf's dtype.

    Operations may pass one gradient array to several inputs, so arrays in
    ``.grad`` are made read-only: changing one in place would silently
    change another. Update a gradient by assigning a new one instead.
    """
    if leaf.grad is not None:
        g = leaf.grad.data + g
    if g.dtype != leaf.data.dtype:
        g = g.astype(leaf.data.dtype)
    if type(g) is not np.ndarray:  # arithmetic on 0-d arrays gives NumPy scalars
        g = np.array(g)
    g = g.view()  # flag a view, so the array other operations hold stays writeable
    g.setflags(write=False)
    leaf.grad = Tensor._result(g)


# ops.py uses Tensor and Function from this module, and the operators above
# use ops; importing it at the end (once both classes exist) lets the two
# modules refer to each other.
from framework.autograd import ops  # noqa: E402
