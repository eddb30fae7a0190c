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

Non-finite values follow PyTorch: ``log(-1)`` is nan, ``exp(1000)`` and
``1 / 0`` are inf, the mean of an empty tensor is nan, and so are the
gradients that such values lead to. They are results, not errors, and no
operation prints NumPy's RuntimeWarning about them: forward and backward
run under ``np.errstate(all="ignore")``. To find where a nan first
appears, turn on anomaly detection (``with detect_anomaly(): ...``): every
operation then checks its result and the gradients its backward returns,
and the first one that holds nan or inf raises a ``RuntimeError`` naming
the operation and the line of your code that created it. The checks cost
time, so they are off by default.
"""

import contextlib
import functools
import linecache
import os
import sys

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
# Quiet NumPy: nan and inf without RuntimeWarnings
# ---------------------------------------------------------------------------

# NumPy 2 keeps its floating point error settings (np.errstate) in a context
# variable. np.errstate(all="ignore") rebuilds the settings at every call,
# which would add half a microsecond to every operation; _quiet_fast builds
# them once, and each call only installs and restores them.
try:
    from numpy._core._ufunc_config import _extobj_contextvar as _NUMPY_ERROR_SETTINGS
except ImportError:  # another NumPy: np.errstate does the same, a little slower
    _NUMPY_ERROR_SETTINGS = None
else:
    with np.errstate(all="ignore"):
        _IGNORE_ERRORS = _NUMPY_ERROR_SETTINGS.get()


def _quiet_fast(function):
    """Decorator: ``function`` runs with NumPy's floating point warnings off, as under ``np.errstate(all="ignore")``."""

    @functools.wraps(function)
    def quietly(*args, **kwargs):
        if _NUMPY_ERROR_SETTINGS.get() is _IGNORE_ERRORS:  # inside another quiet call: nothing to change
            return function(*args, **kwargs)
        token = _NUMPY_ERROR_SETTINGS.set(_IGNORE_ERRORS)
        try:
            return function(*args, **kwargs)
        finally:
            _NUMPY_ERROR_SETTINGS.reset(token)

    return quietly


_quiet_portable = np.errstate(all="ignore")  # the same as a decorator, with any NumPy
_quiet = _quiet_portable if _NUMPY_ERROR_SETTINGS is None else _quiet_fast


# ---------------------------------------------------------------------------
# Anomaly detection: stop at the first nan or inf
# ---------------------------------------------------------------------------

_anomaly_enabled = False


def is_anomaly_enabled():
    """True when every operation checks its results for nan and inf."""
    return _anomaly_enabled


class set_detect_anomaly:
    """Switch anomaly detection on or off, as ``torch.autograd.set_detect_anomaly``.

    ``set_detect_anomaly(True)`` switches it on until switched off;
    ``with set_detect_anomaly(True): ...`` only for the block.
    """

    def __init__(self, mode):
        global _anomaly_enabled
        self.previous = _anomaly_enabled
        _anomaly_enabled = bool(mode)

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        global _anomaly_enabled
        _anomaly_enabled = self.previous


@contextlib.contextmanager
def detect_anomaly():
    """Run a block with anomaly detection, as ``torch.autograd.detect_anomaly()``.

    Inside, each operation remembers the line of your code that called it,
    checks its forward result and, during ``backward()``, the gradients its
    backward returns. The first that holds nan or inf raises a
    ``RuntimeError`` naming the operation, the values and that line.
    """
    with set_detect_anomaly(True):
        yield


# Frames in these folders are skipped when looking for the user's line.
_LIBRARY_FOLDERS = tuple(
    os.path.dirname(os.path.abspath(module_file)) + os.sep
    for module_file in (os.path.dirname(os.path.abspath(__file__)), np.__file__)
)


def _caller_outside_the_package():
    """``File "...", line n, in f: source`` for the innermost frame outside the framework and NumPy."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_LIBRARY_FOLDERS):
        frame = frame.f_back
    if frame is None:
        return "inside the framework"
    code = frame.f_code
    line = linecache.getline(code.co_filename, frame.f_lineno).strip()
    return f'File "{code.co_filename}", line {frame.f_lineno}, in {code.co_name}' + (f": {line}" if line else "")


def _non_finite(values):
    """A description such as ``2 nan and 1 inf among 6 values``, or None if all are finite."""
    if values is None:
        return None
    values = as_array(values)
    if values.dtype.kind not in "fc" or np.isfinite(values).all():
        return None
    nan = int(np.count_nonzero(np.isnan(values)))
    inf = int(np.count_nonzero(np.isinf(values)))
    found = " and ".join(f"{count} {kind}" for count, kind in ((nan, "nan"), (inf, "inf")) if count)
    return f"{found} among {values.size} value{'s' if values.size != 1 else ''} (shape {values.shape})"


def _anomaly_error(what, found, received, fn):
    """The error anomaly detection raises for ``fn``."""
    created = getattr(fn, "created_at", None)
    where = (
        f"{fn.name} was created at\n  {created}"
        if created
        else f"(turn anomaly detection on before the forward pass to learn where {fn.name} was created)"
    )
    return RuntimeError(f"anomaly detected: {what} produced {found}; {received}.\n{where}")


def _check_forward(fn, inputs, data):
    """Anomaly mode: remember where ``fn`` was called; raise if its result is not finite."""
    fn.created_at = _caller_outside_the_package()
    found = _non_finite(data)
    if found is None:
        return
    bad = [i for i, t in enumerate(inputs) if _non_finite(t.data)]
    received = (
        f"input {bad[0]} already held {_non_finite(inputs[bad[0]].data)}, from outside the recorded operations"
        if bad
        else "its inputs were finite"
    )
    raise _anomaly_error(f"the forward of {fn.name}", found, received, fn)


def _check_backward(fn, grad_output, input_grads):
    """Anomaly mode: raise if a gradient returned by ``fn.backward`` is not finite."""
    for position, grad in enumerate(input_grads):
        found = _non_finite(grad)
        if found is not None:
            incoming = _non_finite(grad_output)
            received = f"the gradient it received held {incoming}" if incoming else "the gradient it received was finite"
            what = f"the backward of {fn.name}, in the gradient for input {position},"
            raise _anomaly_error(what, found, received, fn)


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

    @_quiet  # nan and inf are results, not warnings
    def __call__(self, *args):
        inputs = _as_tensors(args, self)
        try:
            data = self.forward(*[t.data for t in inputs])
        except (ValueError, IndexError) as error:
            raise _forward_error(self, inputs, error) from None
        if _anomaly_enabled:
            _check_forward(self, inputs, data)
        out = Tensor._result(data)
        if out.data is not data and self.saved:  # a NumPy scalar became a 0-d array: save that array
            self.saved = tuple([out.data if value is data else value for value in self.saved])
        if _grad_enabled:
            needs = tuple([t._requires_grad for t in inputs])
            if True in needs:
                self.inputs = inputs
                self.needs_input_grad = needs
                out._requires_grad = True
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
    array = _checked_array(data, dtype, copy=False)
    if dtype is None and array.dtype.kind not in "fc":
        array = array.astype(np.float64)
    return array


def _not_numbers(data, dtype, error):
    """The error for data a tensor cannot hold, e.g. strings or rows of different lengths."""
    shown = repr(data)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    if isinstance(error, ValueError) and "inhomogeneous" in str(error):
        problem = "its rows have different lengths, so it is not a rectangular array"
    elif dtype is not None and error is not None:
        problem = f"it cannot be converted to dtype {np.dtype(dtype)} ({error})"
    elif error is None and np.asarray(data).dtype.kind in "US":
        problem = "it holds strings, not numbers"
    else:
        problem = "it holds things that are not numbers"
    return TypeError(
        f"tensor: cannot make a tensor from {shown}: {problem}; a tensor holds numbers "
        "(a number, a list of numbers with equal lengths in each dimension, or a numeric NumPy array)"
    )


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
        if not isinstance(requires_grad, (bool, np.bool_)):
            raise TypeError(f"Tensor: requires_grad must be True or False, got {requires_grad!r}")
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"Tensor: only floating point tensors can require gradients, got dtype "
                f"{self.data.dtype}; create it with a float dtype, e.g. tensor(data, dtype=np.float64)"
            )
        self._requires_grad = bool(requires_grad)
        self._grad = None
        self.grad_fn = None
        self.name = name

    @classmethod
    def _result(cls, data):
        """A new tensor for an operation's result, without the checks."""
        out = cls.__new__(cls)
        out.data = data if isinstance(data, np.ndarray) else np.asarray(data)
        out._requires_grad = False
        out._grad = None
        out.grad_fn = None
        out.name = None
        return out

    # -- checked attributes ------------------------------------------------------

    @property
    def requires_grad(self):
        """Whether gradients flow to this tensor (only floating point tensors can)."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, requires_grad):
        self.requires_grad_(requires_grad)

    @property
    def grad(self):
        """The gradient accumulated by ``backward()``, a Tensor of this tensor's shape and dtype, or None.

        Assigning one is checked as in PyTorch: it must be ``None``, a
        Tensor of this tensor's shape and dtype, or a NumPy array of this
        shape, which is converted to this tensor's dtype.
        """
        return self._grad

    @grad.setter
    def grad(self, value):
        self._grad = None if value is None else _checked_gradient(self, value)

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
        if self.data.ndim == 0:
            raise TypeError(
                "len() of a 0-d tensor: it holds a single value and has no length; "
                "use .item() for the value, .size for the number of elements or .shape"
            )
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
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor with {self.data.size} elements (shape {self.shape}) is "
                "ambiguous; use (x > 0).any() or .all() for a condition on all of them, or x.item()"
            )
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
        self._grad = None

    def requires_grad_(self, requires_grad=True):
        """Switch gradient tracking on or off for a leaf, in place.

        Setting the attribute (``x.requires_grad = True``) does the same,
        with the same checks.
        """
        if not isinstance(requires_grad, (bool, np.bool_)):
            raise TypeError(
                f"requires_grad: must be True or False, got {type(requires_grad).__name__} {requires_grad!r}"
            )
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"requires_grad: dtype {self.data.dtype} cannot require gradients, only floating point "
                "tensors can; make a float copy first, e.g. tensor(x, dtype=np.float64)"
            )
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError(
                f"requires_grad: only a leaf's flag can be switched off, and this tensor was computed by "
                f"{self.grad_fn.name}; use x.detach() for a copy cut off from the graph"
            )
        self._requires_grad = bool(requires_grad)
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

    def backward(self, grad=None, retain_graph=None, create_graph=False):
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

        ``create_graph=True`` records the backward pass itself: each
        ``.grad`` is then a tensor in a graph, which can be differentiated
        again (second and higher derivatives). The graph is then kept, as
        if ``retain_graph=True``, unless ``retain_graph=False`` is given.
        """
        backward(self, grad, retain_graph=retain_graph, create_graph=create_graph)

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
        return self.data == as_array(other)

    def __ne__(self, other):
        return self.data != as_array(other)

    def __lt__(self, other):
        return self.data < as_array(other)

    def __le__(self, other):
        return self.data <= as_array(other)

    def __gt__(self, other):
        return self.data > as_array(other)

    def __ge__(self, other):
        return self.data >= as_array(other)

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
                return ufunc(*[as_array(x) for x in inputs])
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


def as_array(x):
    """The NumPy array of a tensor (its ``data``, not a copy), or ``np.asarray(x)`` for anything else."""
    return x.data if isinstance(x, Tensor) else np.asarray(x)


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
    return Tensor(array_copy(data, dtype), requires_grad=requires_grad, dtype=dtype, name=name)


def array_copy(data, dtype=None):
    """A new NumPy array of the numbers in ``data`` (a tensor, array, list or number), checked.

    Anything that is not numbers (strings, ``None``, rows of different
    lengths) is a TypeError that says so, instead of NumPy's message.
    """
    return _checked_array(data, dtype, copy=True)


def _checked_array(data, dtype, copy):
    """The numbers in ``data`` as an array of ``dtype`` (a copy if ``copy``), or a TypeError saying what is wrong."""
    if isinstance(data, Tensor):
        data = data.data
    dtype = _checked_dtype(dtype)
    try:
        array = np.array(data, dtype=dtype) if copy else np.asarray(data, dtype=dtype)
    except (ValueError, TypeError) as error:
        raise _not_numbers(data, dtype, error) from None
    if array.dtype.kind not in "biufc":
        raise _not_numbers(data, dtype, None)
    return array


def _checked_dtype(dtype):
    """``dtype`` as a NumPy dtype (None stays None), or a TypeError naming it."""
    if dtype is None:
        return None
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"tensor: {dtype!r} is not a dtype; use a NumPy type such as np.float32 or a name such as 'float64'"
        ) from None


# ---------------------------------------------------------------------------
# Gradients: checked when assigned, read-only when computed
# ---------------------------------------------------------------------------


def _checked_gradient(owner, value):
    """``value`` as the gradient of ``owner``: a Tensor of its shape and dtype.

    A Tensor must match exactly (as in PyTorch); a NumPy array of real
    numbers and of the right shape is converted to the owner's dtype.
    """
    if isinstance(value, Tensor):
        if value.data.dtype != owner.data.dtype:
            raise TypeError(
                f"grad: the gradient has dtype {value.data.dtype} but the tensor has dtype "
                f"{owner.data.dtype}; they must be equal (assign a NumPy array to have it converted)"
            )
        gradient = value
    elif isinstance(value, (np.ndarray, np.generic)):
        if value.dtype.kind not in "biuf":
            raise TypeError(
                f"grad: the gradient has dtype {value.dtype}; a gradient holds real numbers of the "
                f"tensor's dtype {owner.data.dtype}"
            )
        with np.errstate(over="ignore"):
            gradient = Tensor._result(np.asarray(value, dtype=owner.data.dtype))
    else:
        raise TypeError(
            f"grad: cannot assign a {type(value).__name__} as a gradient; assign None, a Tensor or a "
            f"NumPy array of shape {owner.shape}"
        )
    if gradient.shape != owner.shape:
        raise ValueError(
            f"grad: the gradient has shape {gradient.shape} but the tensor has shape {owner.shape}; "
            "a gradient has the shape of its tensor"
        )
    return gradient


def _read_only_error():
    return ValueError(
        "this gradient array is read-only: backward may hand the same array to several tensors "
        "(both inputs of an addition get it), so changing one gradient in place could silently "
        "change another. Compute a new gradient and assign it instead, e.g. "
        "p.grad = p.grad * 0.5, or zero it with p.grad = None"
    )


def _refused_if_read_only(write):
    """``write`` (an ndarray method that changes the array), explaining a refusal in our words."""

    def checked(array, *args):
        if not array.flags.writeable:
            raise _read_only_error()
        return write(array, *args)

    checked.__name__ = write.__name__
    return checked


class GradientArray(np.ndarray):
    """The read-only array of a gradient computed by ``backward()``.

    An ordinary NumPy array for reading and computing: the results of
    arithmetic on it are plain arrays (``__array_wrap__``). Writing into it
    by assignment (``g[0] = 1``), an in-place operator (``g *= 0.5``) or
    ``fill`` fails with a message saying why it is read-only and what to do
    instead, rather than NumPy's "assignment destination is read-only".
    """

    def __array_wrap__(self, result, context=None, return_scalar=False):
        return result[()] if return_scalar else result

    __setitem__ = _refused_if_read_only(np.ndarray.__setitem__)
    fill = _refused_if_read_only(np.ndarray.fill)
    __iadd__ = _refused_if_read_only(np.ndarray.__iadd__)
    __isub__ = _refused_if_read_only(np.ndarray.__isub__)
    __imul__ = _refused_if_read_only(np.ndarray.__imul__)
    __itruediv__ = _refused_if_read_only(np.ndarray.__itruediv__)
    __ifloordiv__ = _refused_if_read_only(np.ndarray.__ifloordiv__)
    __imod__ = _refused_if_read_only(np.ndarray.__imod__)
    __ipow__ = _refused_if_read_only(np.ndarray.__ipow__)
    __imatmul__ = _refused_if_read_only(np.ndarray.__imatmul__)

    def __repr__(self):
        return repr(self.view(np.ndarray))


# ---------------------------------------------------------------------------
# The backward pass
# ---------------------------------------------------------------------------


def topological_order(output, stop=()):
    """The tensors of ``output``'s graph, each after all the tensors it uses.

    An iterative depth-first search. A tensor on top of the stack is first
    *expanded*: its inputs are pushed above it. When it is back on top, all
    of them have been listed, so it is listed itself; a leaf, which has no
    inputs, is listed as soon as it is on top. Reading the list
    backwards therefore visits every tensor before any tensor it was
    computed from. Only tensors that require grad are visited. No recursion,
    so depth is not limited, and the stack holds the tensors themselves, so
    a deep graph costs no extra objects per node.

    Tensors in ``stop`` (and what only they lead to) are left out.
    """
    order = []
    expanded = set(stop)
    listed = set()
    stack = [output]
    while stack:
        node = stack[-1]
        fn = node.grad_fn
        if fn is not None and node not in expanded:
            expanded.add(node)
            for parent in fn.inputs:
                if parent._requires_grad and parent not in expanded:
                    stack.append(parent)
        else:  # all its inputs are listed (a leaf has none: it is listed at its first visit)
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
        # np.array(1) and a reshape: a quarter of the time of np.ones, a Python function
        return np.array(1, dtype=output.data.dtype).reshape(output.data.shape)
    try:
        grad = np.array(as_array(grad), dtype=output.data.dtype)  # a private copy
    except (ValueError, TypeError):
        raise TypeError(
            f"backward: the gradient must be a tensor or an array of numbers of shape {output.shape}, "
            f"got {type(grad).__name__} {grad!r}"
        ) from None
    if grad.shape != output.shape:
        raise ValueError(
            f"backward: the gradient has shape {grad.shape} but the output has shape {output.shape}; "
            "they must be equal"
        )
    return grad


@_quiet  # nan and inf are results, not warnings
def backward(output, grad=None, retain_graph=None, create_graph=False):
    """Backpropagation: the engine behind ``Tensor.backward``.

    Walks the graph in reverse topological order (``walk_backward``). A
    leaf that requires grad adds what reaches it to its ``.grad``. With
    ``create_graph=True`` the gradients are tensors recorded in a graph of
    their own, which can be differentiated again.
    """
    if not output._requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad, so there is no graph to go back "
            "through. It was computed under no_grad(), or from tensors that all have "
            "requires_grad=False; create the inputs with requires_grad=True. (To differentiate "
            "a gradient, compute it with create_graph=True.)"
        )
    start = _initial_gradient(output, grad)
    if create_graph:
        start = grad if isinstance(grad, Tensor) else Tensor._result(start)
    retain_graph = create_graph if retain_graph is None else retain_graph
    walk_backward(output, start, retain_graph, create_graph)


@_quiet
def walk_backward(output, start, retain_graph=False, create_graph=False, captured=None, stop=()):
    """The one walk behind ``backward``, ``grad`` and the drawings of flowing gradients.

    Starts from the gradient ``start`` of ``output`` and visits the graph in
    reverse topological order. Each tensor's gradient is complete when it is
    reached (everything that used it came later in the forward pass, so
    earlier in this walk), is handed to its ``grad_fn``, and the gradients
    it returns are added to those of its inputs.

    ``captured`` None: leaves add their gradient to ``.grad`` (backward).
    Otherwise a dict whose keys are tensors: each one's gradient is stored
    as its value, and no ``.grad`` is touched (``grad``).

    ``create_graph``: gradients are tensors and every backward step runs
    on tensors (``_backward_in_graph``), so it is recorded like any
    forward computation.

    ``stop``: tensors the walk does not go beyond (their gradients are
    captured, their inputs not visited).
    """
    grads = {output: start}
    for node in reversed(topological_order(output, stop)):
        g = grads.pop(node, None)
        if g is None:  # no gradient reached this tensor
            continue
        if captured is not None and node in captured:
            captured[node] = g
        fn = node.grad_fn
        if fn is None:
            if captured is None:
                _accumulate_leaf(node, g, create_graph)
            continue
        if fn._freed:
            raise RuntimeError(
                f"backward: tried to go through {fn.name} a second time, but its saved values were "
                "released after the first backward; call backward(retain_graph=True) the first time "
                "if you need to go back twice"
            )
        input_grads = _backward_in_graph(fn, node, g) if create_graph else fn.backward(g)
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        if _anomaly_enabled:
            _check_backward(fn, g, input_grads)
        if not retain_graph:
            fn.saved = ()
            fn._freed = True
        if len(input_grads) != len(fn.inputs):
            raise RuntimeError(
                f"{fn.name}.backward returned {len(input_grads)} gradients for "
                f"{len(fn.inputs)} inputs; it must return one per input (None for none)"
            )
        for parent, parent_grad in zip(fn.inputs, input_grads):
            if parent_grad is None or not parent._requires_grad:
                continue
            if getattr(parent_grad, "shape", None) != parent.data.shape:
                raise _wrong_shape(fn, parent, parent_grad)
            if parent in grads:
                grads[parent] = grads[parent] + parent_grad
            else:
                grads[parent] = parent_grad
    for node in stop:  # never visited: what reached them is their whole gradient
        captured[node] = grads.get(node)


@_quiet
def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """The gradients of ``outputs`` with respect to ``inputs``, returned rather than stored.

    As ``torch.autograd.grad``: ``outputs`` and ``inputs`` are tensors or
    sequences of tensors; the result is a tuple with one gradient per input,
    of that input's shape. No ``.grad`` is changed. ``grad_outputs`` gives
    the gradient to start from for each output (needed unless the output
    has one element, where it is 1); with several outputs their gradients
    add up.

    ``create_graph=True`` records the backward pass, so the gradients are
    tensors in a graph that can be differentiated again. ``retain_graph``
    (by default the value of ``create_graph``) keeps the saved values for
    another pass. An input the outputs do not depend on is an error, or
    gives ``None`` with ``allow_unused=True``.
    """
    outputs = _sequence(outputs, "outputs")
    inputs = _sequence(inputs, "inputs")
    grad_outputs = (None,) * len(outputs) if grad_outputs is None else _sequence(grad_outputs, "grad_outputs", True)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(grad_outputs)} grad_outputs for {len(outputs)} outputs; give one per output")
    for position, t in enumerate(inputs):
        if not t._requires_grad:
            raise RuntimeError(
                f"grad: input {position} (shape {t.shape}) does not require grad, so no gradient is "
                "computed for it; create it with requires_grad=True"
            )
    retain_graph = create_graph if retain_graph is None else retain_graph
    totals = dict.fromkeys(inputs)
    for k, (output, grad_output) in enumerate(zip(outputs, grad_outputs)):
        start = _start_of_grad(output, grad_output, k, create_graph)
        captured = dict.fromkeys(inputs)
        walk_backward(output, start, retain_graph or k < len(outputs) - 1, create_graph, captured)
        for t, g in captured.items():
            if g is not None:
                totals[t] = g if totals[t] is None else totals[t] + g
    return tuple([_grad_result(totals[t], t, position, create_graph, allow_unused) for position, t in enumerate(inputs)])


def _sequence(items, what, may_hold_none=False):
    """A tensor or a sequence of tensors as a tuple, checked."""
    items = (items,) if isinstance(items, Tensor) or items is None else tuple(items)
    for position, item in enumerate(items):
        if not isinstance(item, Tensor) and not (may_hold_none and item is None):
            raise TypeError(f"grad: {what}[{position}] is a {type(item).__name__}; expected a Tensor")
    return items


def _start_of_grad(output, grad_output, k, create_graph):
    """The gradient ``grad`` starts from for output ``k``, checked."""
    if not output._requires_grad:
        raise RuntimeError(
            f"grad: output {k} does not require grad, so there is no graph to differentiate. If it is "
            "a gradient, compute that gradient with create_graph=True so that it is recorded; "
            "otherwise create the inputs with requires_grad=True"
        )
    if grad_output is None and output.data.size != 1:
        raise RuntimeError(
            f"grad: output {k} has shape {output.shape}, so its gradient is not implied; pass "
            "grad_outputs (one tensor of that shape per output), or reduce the output to a scalar first"
        )
    if grad_output is not None and grad_output.shape != output.shape:
        raise ValueError(
            f"grad: grad_outputs[{k}] has shape {grad_output.shape} but output {k} has shape "
            f"{output.shape}; they must be equal"
        )
    if create_graph and grad_output is not None:
        return grad_output
    start = _initial_gradient(output, grad_output)
    return Tensor._result(start) if create_graph else start


def _grad_result(g, t, position, create_graph, allow_unused):
    """One input's gradient as ``grad`` returns it."""
    if g is None:
        if allow_unused:
            return None
        raise RuntimeError(
            f"grad: input {position} (shape {t.shape}) is not part of the graph of the outputs, so "
            "they do not depend on it; pass allow_unused=True to get None for it"
        )
    if create_graph:
        return g if isinstance(g, Tensor) else Tensor._result(g)
    g = g.astype(t.data.dtype) if g.dtype != t.data.dtype else g
    return gradient_tensor(g)


def _backward_in_graph(fn, node, g):
    """``fn.backward(g)`` run on tensors, so that the gradient computation is itself recorded.

    The values ``fn`` saved are arrays; those that are the data of one of
    its inputs or of its result ``node`` are handed to backward as those
    tensors, so the gradient depends on them in the graph (``Mul`` saved
    ``a`` and ``b``; ``Exp`` saved its result). Everything else it saved
    (shapes, masks, indices) is a constant. An operation fused from
    several steps, whose saved arrays are neither, defines
    ``composite(*inputs)``: the same function written with recorded
    operations, differentiated instead. An operation that can offer neither
    sets ``differentiable_twice = False`` and is refused with a clear error.
    """
    if not getattr(fn, "differentiable_twice", True):
        raise RuntimeError(
            f"{fn.name}: its backward cannot be recorded (it uses values saved by its forward as constants), "
            "so create_graph=True cannot go through it; compute the second derivative without this operation"
        )
    global _grad_enabled
    previous_saved, previous_enabled = fn.saved, _grad_enabled
    _grad_enabled = True
    try:
        composite = getattr(fn, "composite", None)
        if composite is not None:
            return _backward_of_composite(fn, composite, g)
        fn.saved = _saved_in_graph(fn.saved, fn.inputs, node)
        input_grads = fn.backward(g)
    finally:
        fn.saved, _grad_enabled = previous_saved, previous_enabled
    if type(input_grads) is not tuple:
        input_grads = (input_grads,)
    return tuple([Tensor._result(x) if isinstance(x, np.ndarray) else x for x in input_grads])


def _saved_in_graph(saved, inputs, node):
    """The saved values with each input's or the result's array replaced by that tensor."""
    tensors = {id(t.data): t for t in inputs}
    tensors[id(node.data)] = node
    return tuple([tensors.get(id(value), value) if isinstance(value, np.ndarray) else value for value in saved])


def _backward_of_composite(fn, composite, g):
    """The gradients of a fused operation's inputs, through its ``composite`` form.

    The composite is built on the operation's own inputs, and the walk stops
    at them, so it goes through the few recorded steps of the composite only.
    """
    rebuilt = composite(*fn.inputs)
    wanted = {t: None for t in fn.inputs if t._requires_grad}
    walk_backward(rebuilt, g, retain_graph=True, create_graph=True, captured=wanted, stop=tuple(wanted))
    return tuple([wanted.get(t) for t in fn.inputs])


def _wrong_shape(fn, parent, parent_grad):
    position = next(i for i, t in enumerate(fn.inputs) if t is parent)
    return RuntimeError(
        f"{fn.name}.backward returned a gradient of shape {np.shape(parent_grad)} for input "
        f"{position}, which has shape {parent.shape}; each gradient must have its input's "
        "shape (sum_to reduces a broadcast gradient)"
    )


def _accumulate_leaf(leaf, g, create_graph=False):
    """Add ``g`` to ``leaf.grad``, in the leaf's dtype.

    Operations may pass one gradient array to several inputs, so arrays in
    ``.grad`` are made read-only: changing one in place would silently
    change another. Update a gradient by assigning a new one instead.

    With ``create_graph`` the gradient is a tensor in a graph, kept as it is
    (added to the earlier one by a recorded addition).
    """
    if create_graph:
        leaf._grad = g if leaf._grad is None else leaf._grad + g
        return
    if leaf._grad is not None:
        g = leaf._grad.data + g
    if g.dtype != leaf.data.dtype:
        g = g.astype(leaf.data.dtype)
    leaf._grad = gradient_tensor(g)


def gradient_tensor(g):
    """A tensor holding the gradient array ``g`` as a read-only ``GradientArray``.

    The flag is set on a view, so the array other operations hold stays
    writeable.
    """
    if not isinstance(g, np.ndarray):  # arithmetic on 0-d arrays gives NumPy scalars
        g = np.array(g)
    g = g.view(GradientArray)
    g.setflags(write=False)
    return Tensor._result(g)


# ops.py uses Tensor and Function from this module, and the operators above
# use ops; importing it at the end (once both classes exist) lets the two
# modules refer to each other.
from framework.autograd import ops  # noqa: E402
