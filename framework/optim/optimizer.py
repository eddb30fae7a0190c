"""The base class of every optimizer (Chapter 7).

An optimizer holds the tensors it trains, grouped in *parameter groups*
(dictionaries with the tensors under ``"params"`` and the hyperparameters,
such as ``"lr"``, under their names), plus a per-tensor ``state`` (momentum
buffers, running averages, step counts). Each training step is::

    optimizer.zero_grad()   # forget the previous gradients
    loss.backward()         # fill every parameter's .grad
    optimizer.step()        # move every parameter against its gradient

A subclass defines one method, ``update(param, grad, state, group)``: the
update rule for a single tensor. The base class loops over the groups,
validates the input, and saves and restores the state.
"""

import math

import numpy as np

from framework.autograd.tensor import Tensor


def check_number(owner, name, value, minimum=0.0, below=None):
    """``value`` as a float, after checking ``minimum <= value`` (``< below``).

    Raises TypeError for something that is not a real number and ValueError
    for a value that is infinite, NaN or out of range, naming ``owner`` (the
    optimizer or schedule) and the hyperparameter.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner}: {name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    allowed = f"{minimum} <= {name}" + (f" < {below}" if below is not None else "")
    if not math.isfinite(value):
        raise ValueError(f"{owner}: {name} must be finite, got {value}; use a value with {allowed}")
    if value < minimum or (below is not None and value >= below):
        raise ValueError(f"{owner}: invalid {name} {value}; it must satisfy {allowed}")
    return value


def check_parameter(owner, param, position):
    """Check that ``param`` is a leaf tensor that requires grad."""
    if not isinstance(param, Tensor):
        raise TypeError(
            f"{owner}: parameter {position} is a {type(param).__name__}, not a Tensor; "
            "pass model.parameters() or a list of tensors created with requires_grad=True"
        )
    if not param.requires_grad:
        raise ValueError(
            f"{owner}: parameter {position} (shape {param.shape}) does not require grad, so it "
            "would never get a gradient; create it with requires_grad=True"
        )
    if not param.is_leaf:
        raise ValueError(
            f"{owner}: parameter {position} (shape {param.shape}) was computed by "
            f"{param.grad_fn.name}; only leaf tensors (created by you, not by an operation) can "
            "be optimized"
        )


class Optimizer:
    """Base class: parameter groups, ``zero_grad``, ``step``, state dicts.

    ``params`` is an iterable of tensors, or of dictionaries each with a
    ``"params"`` entry and hyperparameters that override ``defaults`` for
    that group (for example a smaller ``lr`` for some layers). Schedules
    change ``group["lr"]`` between steps.
    """

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}  # parameter -> its state (a dict), created at its first update
        self.work_arrays = {}  # parameter -> a scratch array of its shape, reused at every step (not saved)
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError(
                f"{self.name}: params must be an iterable of tensors, got a single Tensor of shape "
                f"{params.shape}; wrap it in a list: {self.name}([x], lr=...)"
            )
        groups = list(params)
        if not groups:
            raise ValueError(
                f"{self.name}: got no parameters to optimize; pass model.parameters() or a list of "
                "tensors with requires_grad=True (a generator such as model.parameters() can be "
                "used only once)"
            )
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    @property
    def name(self):
        return type(self).__name__

    def add_param_group(self, group):
        """Add a group: ``{"params": [...], "lr": ..., ...}``; missing settings use the defaults."""
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(
                f"{self.name}: a parameter group must be a dict with a 'params' entry, got "
                f"{type(group).__name__}; do not mix tensors and groups in one list"
            )
        unknown = set(group) - set(self.defaults) - {"params"}
        if unknown:
            raise ValueError(
                f"{self.name}: unknown setting(s) {sorted(unknown)} in a parameter group; "
                f"known: {sorted(self.defaults)}"
            )
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        if not params:
            raise ValueError(f"{self.name}: parameter group {len(self.param_groups)} has no parameters")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for position, param in enumerate(params):
            check_parameter(self.name, param, position)
            if id(param) in seen:
                raise ValueError(
                    f"{self.name}: parameter {position} (shape {param.shape}) is given twice; "
                    "each tensor may appear only once among all parameter groups"
                )
            seen.add(id(param))
        settings = {**self.defaults, **{k: v for k, v in group.items() if k != "params"}}
        settings = self.check_settings(settings)
        self.param_groups.append({"params": params, **settings})

    def check_settings(self, settings):
        """Validate a group's hyperparameters; returns them (numbers as floats).

        Subclasses check their own; the base class checks the learning rate.
        """
        settings["lr"] = check_number(self.name, "lr", settings["lr"])
        return settings

    def zero_grad(self):
        """Forget every parameter's gradient (``grad`` becomes ``None``)."""
        for group in self.param_groups:
            for param in group["params"]:
                param._grad = None  # the attribute behind the property: None needs no check

    def step(self, closure=None):
        """Update every parameter that has a gradient, one ``update`` each.

        ``closure``, if given, is called first (it should compute the loss
        and call backward) and its result is returned. Parameters without a
        gradient (``grad is None``) are skipped.
        """
        loss = closure() if closure is not None else None
        for number, group in enumerate(self.param_groups):
            for position, param in enumerate(group["params"]):
                grad = param.grad
                if grad is None:
                    continue
                grad, values = grad.data, param.data
                if not isinstance(grad, np.ndarray) or grad.shape != values.shape or grad.dtype != values.dtype:
                    raise self.wrong_gradient(param, grad, number, position)
                state = self.state.setdefault(param, {})
                self.update(param, grad.view(np.ndarray), state, group)  # a plain array computes fastest
        return loss

    def work_array(self, param):
        """A scratch array of ``param``'s shape and dtype, the same one at every step.

        An update computes its intermediate results in it (``out=``)
        instead of in new arrays, so a step allocates no memory. Its
        contents mean nothing between steps, and it is not saved.
        """
        work = self.work_arrays.get(param)
        if work is None or work.shape != param.data.shape or work.dtype != param.data.dtype:
            work = self.work_arrays[param] = np.empty_like(param.data)
        return work

    def wrong_gradient(self, param, grad, number, position):
        """The error for a gradient that no longer fits its parameter (position in group ``number``).

        ``param.grad`` is checked when assigned, but ``param.grad.data`` or
        ``param.data`` may have been replaced since.
        """
        found = (
            f"shape {grad.shape} and dtype {grad.dtype}"
            if isinstance(grad, np.ndarray)
            else f"type {type(grad).__name__}"
        )
        return ValueError(
            f"{self.name}.step: parameter {position} of group {number} has shape {param.data.shape} and "
            f"dtype {param.data.dtype}, but its gradient has {found}; a gradient must match its "
            "parameter. Assign gradients with param.grad = ... (which checks them), not by changing "
            "param.grad.data, and call zero_grad() and backward() again after changing param.data"
        )

    def update(self, param, grad, state, group):
        """Change ``param.data`` in place, given its gradient array ``grad``.

        ``grad`` is read-only: compute new arrays from it (or into
        ``self.work_array(param)``), never change it. ``state`` is this
        parameter's dictionary (empty at the first step) and ``group`` holds
        the hyperparameters.
        """
        raise NotImplementedError(f"{self.name}.update is not implemented")

    # -- saving and restoring ----------------------------------------------------

    def state_dict(self):
        """A copy of the optimizer's state, in PyTorch's layout.

        ``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}``:
        parameters are numbered in the order of the groups, so the state
        can be loaded into a new optimizer built over the same model.
        Arrays are copied, so later steps do not change what was saved.
        """
        groups, state, index = [], {}, 0
        for group in self.param_groups:
            saved = {key: value for key, value in group.items() if key != "params"}
            saved["params"] = list(range(index, index + len(group["params"])))
            for position, param in zip(saved["params"], group["params"]):
                if param in self.state:
                    state[position] = {key: _copy(value) for key, value in self.state[param].items()}
            index += len(group["params"])
            groups.append(saved)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore a state saved by ``state_dict()``.

        Checks everything before changing anything: the number of groups,
        of parameters per group, the hyperparameters and the shape of every
        saved array.
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{self.name}.load_state_dict: the saved state has {len(saved_groups)} parameter "
                f"group(s), this optimizer {len(self.param_groups)}"
            )
        param_of = {}
        for number, (mine, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(saved["params"]) != len(mine["params"]):
                raise ValueError(
                    f"{self.name}.load_state_dict: group {number} was saved with "
                    f"{len(saved['params'])} parameter(s), but this optimizer has "
                    f"{len(mine['params'])}; build the optimizer over the same model"
                )
            missing = set(self.defaults) - set(saved)
            if missing:
                raise ValueError(
                    f"{self.name}.load_state_dict: group {number} lacks {sorted(missing)}; was it "
                    "saved from a different kind of optimizer?"
                )
            param_of.update(zip(saved["params"], mine["params"]))
        new_state = {}
        for index, saved_state in state_dict["state"].items():
            if index not in param_of:
                raise ValueError(f"{self.name}.load_state_dict: state for unknown parameter {index}")
            param = param_of[index]
            for key, value in saved_state.items():
                if isinstance(value, np.ndarray) and value.shape != param.shape:
                    raise ValueError(
                        f"{self.name}.load_state_dict: {key!r} of parameter {index} has shape "
                        f"{value.shape}, but the parameter has shape {param.shape}"
                    )
            new_state[param] = {
                key: _laid_out_like(param.data, value) if isinstance(value, np.ndarray) else value
                for key, value in saved_state.items()
            }
        for mine, saved in zip(self.param_groups, saved_groups):
            mine.update({key: value for key, value in saved.items() if key != "params"})
        self.state = new_state

    def __repr__(self):
        lines = [f"{self.name} ("]
        for number, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {number}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        return "\n".join(lines + [")"])


def _copy(value):
    """A copy of a state value; an array keeps its memory layout (that of its parameter)."""
    return np.array(value, copy=True) if isinstance(value, np.ndarray) else value


def _laid_out_like(param_values, value):
    """``value`` copied into a new array with the dtype and the memory layout of the parameter.

    The update mixes the state with the parameter and its gradient element
    by element: arrays stored in different orders (row by row, column by
    column) make NumPy's loops many times slower.
    """
    array = np.empty_like(param_values)
    array[...] = value
    return array
