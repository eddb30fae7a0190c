"""Modules: the building blocks of networks.

A ``Module`` is a piece of a network with its own parameters, possibly made
of smaller modules. Subclasses assign parameters and sub-modules as plain
attributes in ``__init__`` and describe the computation in ``forward``::

    class TwoLayers(Module):
        def __init__(self):
            super().__init__()
            self.fc1 = Linear(2, 8)
            self.fc2 = Linear(8, 1)

        def forward(self, x):
            return self.fc2(relu(self.fc1(x)))

Assigning ``self.fc1 = ...`` registers the sub-module (``__setattr__``
watches for ``Parameter`` and ``Module`` values), which is what lets
``parameters()``, ``state_dict()``, ``zero_grad()`` and ``repr`` find
everything without the subclass listing it again.
"""

import numpy as np

from framework.autograd.tensor import Tensor, as_array
from framework.nn.parameter import Parameter


class Module:
    """Base class of layers, activations, losses and whole networks.

    - ``parameters()`` / ``named_parameters()``: every parameter, including
      those of sub-modules, with dotted names such as ``"fc1.weight"``;
    - ``train()`` / ``eval()`` set ``training`` on every sub-module (layers
      such as dropout behave differently in the two modes);
    - ``zero_grad()`` forgets the gradients of all parameters;
    - ``state_dict()`` / ``load_state_dict()`` save and restore the values;
    - ``module(x)`` calls ``forward(x)``.
    """

    def __init__(self):
        # object.__setattr__ skips our own __setattr__, which needs these.
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)

    # -- registration ---------------------------------------------------------

    def __setattr__(self, name, value):
        """Assign an attribute; a Parameter or Module value is also registered.

        The attribute is an ordinary instance attribute (fast to read in
        ``forward``); the registries only remember names, in assignment order.
        Assigning something else to a registered name unregisters it, except
        for a buffer, which stays a buffer.
        """
        registries = self.__dict__.get("_parameters")
        if registries is None:
            if isinstance(value, (Parameter, Module)):
                raise AttributeError(
                    f"{type(self).__name__}: cannot assign {name!r} before Module.__init__() has run; "
                    "call super().__init__() first in __init__"
                )
            object.__setattr__(self, name, value)
            return
        if isinstance(value, Parameter):
            self._modules.pop(name, None)
            self._buffers.pop(name, None)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._parameters.pop(name, None)
            self._buffers.pop(name, None)
            self._modules[name] = value
        elif name in self._buffers:
            self._buffers[name] = value
        else:
            self._parameters.pop(name, None)
            self._modules.pop(name, None)
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        object.__delattr__(self, name)

    def register_parameter(self, name, parameter):
        """Register ``parameter`` under ``name`` (same as ``self.name = parameter``)."""
        if parameter is not None and not isinstance(parameter, Parameter):
            raise TypeError(
                f"register_parameter: {name!r} must be a Parameter, got {type(parameter).__name__}"
            )
        setattr(self, name, parameter)

    def register_buffer(self, name, value):
        """Register a state that is saved in ``state_dict`` but not learned.

        A buffer (a NumPy array or a tensor that does not require grad), for
        example a running average kept by batch normalisation, is saved and
        loaded with the parameters but is not returned by ``parameters()``.
        """
        if isinstance(value, Tensor) and value.requires_grad:
            raise TypeError(f"register_buffer: {name!r} requires grad; make it a Parameter instead")
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self._buffers[name] = value
        object.__setattr__(self, name, value)

    # -- walking the tree of modules -------------------------------------------

    def named_children(self):
        """(name, module) for each direct sub-module, in assignment order."""
        return iter(self._modules.items())

    def children(self):
        """Each direct sub-module, in assignment order."""
        return iter(self._modules.values())

    def named_modules(self, prefix=""):
        """(dotted name, module) for this module and every module below it.

        This module itself comes first, with the name ``prefix`` (empty by
        default), then each sub-module followed by its own sub-modules. A
        module used in two places is listed once.
        """
        found = []
        self._collect_modules(prefix, found, set())
        return iter(found)

    def _collect_modules(self, name, found, seen):
        if id(self) in seen:
            return
        seen.add(id(self))
        found.append((name, self))
        for child_name, child in self._modules.items():
            child._collect_modules(f"{name}.{child_name}" if name else child_name, found, seen)

    def modules(self):
        """This module and every module below it."""
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix="", recurse=True):
        """(dotted name, parameter) pairs, e.g. ``("0.weight", ...)`` in a Sequential.

        A parameter shared by two modules is listed once, under its first name.
        """
        seen = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, parameter in module._parameters.items():
                if parameter is None or id(parameter) in seen:
                    continue
                seen.add(id(parameter))
                yield (f"{module_name}.{name}" if module_name else name), parameter

    def parameters(self, recurse=True):
        """Every parameter of this module and its sub-modules, each once."""
        for _, parameter in self.named_parameters(recurse=recurse):
            yield parameter

    def named_buffers(self, prefix=""):
        """(dotted name, buffer) pairs for every registered buffer."""
        for module_name, module in self.named_modules(prefix):
            for name, buffer in module._buffers.items():
                if buffer is not None:
                    yield (f"{module_name}.{name}" if module_name else name), buffer

    def apply(self, fn):
        """Call ``fn(module)`` on every sub-module and then on this one; returns self.

        Handy for initialisation: ``net.apply(init_weights)``.
        """
        for module in reversed(list(self.modules())):
            fn(module)
        return self

    # -- modes and gradients -------------------------------------------------------

    def train(self, mode=True):
        """Switch this module and all below it to training mode (``eval`` mode for False)."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self):
        """Switch to evaluation mode: ``training`` becomes False everywhere."""
        return self.train(False)

    def zero_grad(self):
        """Forget the gradients of all parameters (``grad`` becomes None)."""
        for module in self.modules():
            for parameter in module._parameters.values():
                if parameter is not None:
                    parameter.grad = None

    def to(self, dtype):
        """Convert every parameter and floating point buffer to ``dtype``, in place.

        ``net.to(np.float64)`` turns a float32 network into one that the
        gradient check can test precisely. Returns the module.
        """
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"to: parameters must stay floating point, got dtype {dtype}")
        for parameter in self.parameters():
            if parameter.data.dtype != dtype:
                parameter.data = parameter.data.astype(dtype)
                parameter.grad = None
        for module in self.modules():
            for name, buffer in module._buffers.items():
                values = buffer.data if isinstance(buffer, Tensor) else buffer
                if isinstance(values, np.ndarray) and values.dtype.kind == "f":
                    if isinstance(buffer, Tensor):
                        buffer.data = values.astype(dtype)
                    else:
                        module._buffers[name] = values.astype(dtype)
                        object.__setattr__(module, name, module._buffers[name])
        return self

    def double(self):
        """Convert to float64 (``to(np.float64)``)."""
        return self.to(np.float64)

    def float(self):
        """Convert to float32 (``to(np.float32)``)."""
        return self.to(np.float32)

    # -- saving and loading ------------------------------------------------------------

    def _state_tensors(self):
        """Name -> the object holding each saved value.

        Module by module, its parameters and then its buffers: PyTorch's
        order, so the two frameworks' state dicts list the same names alike.
        """
        held = dict(self.named_parameters())
        held.update(self.named_buffers())
        entries = {}
        for module_name, module in self.named_modules():
            for name in (*module._parameters, *module._buffers):
                full = f"{module_name}.{name}" if module_name else name
                if full in held:
                    entries[full] = held[full]
        return entries

    def state_dict(self):
        """Every parameter and buffer by dotted name, as NumPy arrays (copies).

        The arrays are copies: the dictionary is a snapshot that later
        training does not change. ``load_state_dict`` puts it back.
        """
        return {name: np.array(as_array(held), copy=True) for name, held in self._state_tensors().items()}

    def load_state_dict(self, state_dict, strict=True):
        """Copy the values of ``state_dict`` into this module's parameters and buffers.

        With ``strict=True`` (the default) the names must match exactly: a
        name the module has but the dictionary lacks (missing) or one the
        dictionary has but the module lacks (unexpected) is an error. A value
        whose shape differs from the parameter's is always an error, and so
        is one that does not fit its dtype: not numbers, complex numbers,
        finite numbers too large for it (1e300 in float32), fractions or
        out-of-range numbers for an integer buffer. Every entry is checked
        and converted before any is assigned, so a failed load changes
        nothing.

        Values are copied into the existing arrays (and cast to their dtype),
        so an optimizer that holds these parameters keeps working. Returns
        ``(missing, unexpected)``: the lists of names, empty when strict.
        """
        if not isinstance(state_dict, dict):
            raise TypeError(
                f"load_state_dict: expected a dict of name -> array (from state_dict()), got "
                f"{type(state_dict).__name__}"
            )
        own = self._state_tensors()
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict if name not in own]
        problems, converted = [], {}
        for name, held in own.items():
            if name in state_dict:
                if not isinstance(held, (Tensor, np.ndarray)):
                    held_value = f"{type(held).__name__} {held!r}"
                    problems.append(f"{name!r} holds {held_value}, not an array, so it cannot be loaded in place")
                    continue
                value, problem = _converted(name, state_dict[name], as_array(held))
                if problem is None:
                    converted[name] = value
                else:
                    problems.append(problem)
        if strict:
            if missing:
                problems.append("missing key(s): " + ", ".join(repr(n) for n in missing))
            if unexpected:
                problems.append("unexpected key(s): " + ", ".join(repr(n) for n in unexpected))
        if problems:
            raise RuntimeError(
                f"load_state_dict: cannot load into {type(self).__name__}:\n  "
                + "\n  ".join(problems)
                + "\n(was the state dict saved from a network with the same layers?)"
            )
        for name, value in converted.items():
            as_array(own[name])[...] = value
        return missing, unexpected

    # -- calling -------------------------------------------------------------------------

    def forward(self, *args, **kwargs):
        raise NotImplementedError(
            f"{type(self).__name__} has no forward method; define forward(self, ...) to say what it computes"
        )

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # -- printing ------------------------------------------------------------------------

    def extra_repr(self):
        """The settings shown between the parentheses, e.g. ``in_features=2, ...``."""
        return ""

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        if extra:
            lines.extend(extra.split("\n"))
        for name, module in self._modules.items():
            child = repr(module).replace("\n", "\n  ")
            lines.append(f"({name}): {child}")
        name = type(self).__name__
        if not self._modules:
            return f"{name}({extra})"
        return name + "(\n  " + "\n  ".join(lines) + "\n)"


def _converted(name, value, target):
    """``(value as an array of target's shape and dtype, None)``, or ``(None, what is wrong)``.

    Refuses what cannot be stored without losing it: a wrong shape,
    strings or objects, complex numbers, finite values that would become
    inf in a narrower float type, and fractions or out-of-range values for
    an integer array.
    """
    try:
        array = as_array(value)
    except (ValueError, TypeError) as error:
        return None, f"{name!r} cannot be read as an array ({error})"
    if array.dtype.kind not in "biuf":
        kind = {"c": "complex numbers", "U": "strings", "S": "strings"}.get(array.dtype.kind, "non-numbers")
        return None, (
            f"wrong type for {name!r}: the module holds real numbers ({target.dtype}), the state dict "
            f"holds {kind} ({array.dtype})"
        )
    if array.shape != target.shape:
        return None, f"wrong shape for {name!r}: the module has {target.shape}, the state dict has {array.shape}"
    with np.errstate(all="ignore"):  # overflow is detected below
        cast = array.astype(target.dtype)
    if target.dtype.kind == "f":
        overflow = np.isinf(cast) & np.isfinite(array)
        if overflow.any():
            largest = array[overflow].flat[0]
            return None, (
                f"value out of range for {name!r}: {largest:g} does not fit in {target.dtype} "
                f"(largest {np.finfo(target.dtype).max:g}); it would become inf"
            )
    elif target.dtype.kind in "iu" and not np.array_equal(cast, array):
        return None, (
            f"wrong values for {name!r}: {target.dtype} holds whole numbers in "
            f"[{np.iinfo(target.dtype).min}, {np.iinfo(target.dtype).max}], the state dict has others"
        )
    return cast, None


class Sequential(Module):
    """Modules applied one after the other: ``Sequential(Linear(2, 8), ReLU(), Linear(8, 1))``.

    The modules are named ``"0"``, ``"1"``, ... (or by the keys of a single
    dict argument), so the parameters are called ``"0.weight"``, ``"2.bias"``,
    as in PyTorch. ``net[0]`` is the first module, ``net[1:]`` a Sequential
    of the rest, ``len(net)`` their number.
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], dict):
            named = list(modules[0].items())
        else:
            named = [(str(i), m) for i, m in enumerate(modules)]
        for name, module in named:
            if not isinstance(module, Module):
                raise TypeError(
                    f"Sequential: element {name} is a {type(module).__name__}, not a Module; "
                    "pass layers such as Linear(2, 8) or ReLU() (a function f can be wrapped in a Module)"
                )
            setattr(self, name, module)

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

    def append(self, module):
        """Add a module at the end; returns self."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.append: expected a Module, got {type(module).__name__}")
        setattr(self, str(len(self._modules)), module)
        return self

    def __getitem__(self, index):
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(dict(items[index]))
        if not -len(items) <= index < len(items):
            raise IndexError(f"Sequential: index {index} is out of range for {len(items)} modules")
        return items[index][1]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())
