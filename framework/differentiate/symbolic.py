"""Symbolic differentiation: derivatives as formulas.

An expression such as ``x**2 * sin(x)`` is stored as a tree: the leaves are
constants (:class:`Const`) and variables (:class:`Var`), every inner node is
an operation (:class:`Add`, :class:`Mul`, :class:`Sin`, ...) whose children
are its arguments.  Python's operators build the trees::

    x = Var("x")
    f = x**2 * sin(x)        # Mul(Pow(Var('x'), Const(2)), Sin(Var('x')))

Each operation knows one rule of calculus, the derivative of that operation
written with the derivatives of its arguments (:meth:`Expr.rule`), and
:func:`diff` applies the rules from the leaves up.  The result is another
tree, full of ``* 1`` and ``+ 0`` that :func:`simplify` removes.

The same Python object may appear in several places of a tree (the rule of
``exp(u)`` reuses the node ``exp(u)`` itself).  Every walk below visits each
distinct object once, so work grows with the number of distinct nodes, not
with the size of the tree written out in full; :meth:`Expr.size` counts both.
"""

import math
import numbers

import numpy as np

# Precedence of each kind of node when printed as text: a child whose
# precedence is lower than its parent's needs parentheses.
SUM, PRODUCT, NEGATION, POWER, ATOM = 1, 2, 3, 4, 5

# repr() and Jupyter summarize trees larger than this instead of printing them.
MAX_PRINTED_SIZE = 2000


class Expr:
    """A node of an expression tree.  ``args`` holds its children."""

    args = ()
    precedence = ATOM
    __array_ufunc__ = None  # let numbers from NumPy combine with Expr via our operators

    # --- building expressions with Python operators -------------------------

    def __add__(self, other):
        return Add(self, as_expr(other))

    def __radd__(self, other):
        return Add(as_expr(other), self)

    def __sub__(self, other):
        return Sub(self, as_expr(other))

    def __rsub__(self, other):
        return Sub(as_expr(other), self)

    def __mul__(self, other):
        return Mul(self, as_expr(other))

    def __rmul__(self, other):
        return Mul(as_expr(other), self)

    def __truediv__(self, other):
        return Div(self, as_expr(other))

    def __rtruediv__(self, other):
        return Div(as_expr(other), self)

    def __pow__(self, other):
        return Pow(self, as_expr(other))

    def __rpow__(self, other):
        return Pow(as_expr(other), self)

    def __neg__(self):
        return Neg(self)

    def __pos__(self):
        return self

    # --- structure ----------------------------------------------------------

    def key(self):
        """What identifies this node apart from its children (a name, a value)."""
        return ()

    def with_args(self, *args):
        """A node of the same kind with new children."""
        return type(self)(*args)

    def __eq__(self, other):
        """Structural equality: same kind of node, same key, equal children."""
        if self is other:
            return True
        if not isinstance(other, Expr) or hash(self) != hash(other):
            return False
        return (
            type(self) is type(other)
            and self.key() == other.key()
            and all(a == b for a, b in zip(self.args, other.args))
        )

    def __hash__(self):
        try:
            return self._hash
        except AttributeError:
            child_hashes = tuple(hash(a) for a in self.args)
            self._hash = hash((type(self).__name__, self.key(), child_hashes))
            return self._hash

    def nodes(self):
        """Every distinct node object of the tree, children before their parents.

        A node object that appears several times is listed once, so walking
        this list costs time proportional to the number of distinct objects.
        """
        order, done = [], set()
        stack = [(self, False)]
        while stack:
            node, children_done = stack.pop()
            if id(node) in done:
                continue
            if children_done:
                done.add(id(node))
                order.append(node)
            else:
                stack.append((node, True))
                stack.extend((child, False) for child in reversed(node.args))
        return order

    def variables(self):
        """The names of the variables in the expression, sorted."""
        return sorted({node.name for node in self.nodes() if isinstance(node, Var)})

    def size(self, shared=False):
        """The number of nodes.

        ``shared=False`` counts the tree written out in full: a subexpression
        that occurs k times counts k times.  ``shared=True`` counts distinct
        subexpressions: each is computed once and reused wherever it occurs,
        as in a graph (a DAG) rather than a tree.
        """
        if shared:
            return _count_distinct_subexpressions(self)
        tree_size = {}
        for node in self.nodes():
            tree_size[id(node)] = 1 + sum(tree_size[id(child)] for child in node.args)
        return tree_size[id(self)]

    # --- using expressions ----------------------------------------------------

    def evaluate(self, values=None, **named_values):
        """The value of the expression for given values of its variables.

        Pass values as a dict, ``e.evaluate({"x": 2.0})``, or by name,
        ``e.evaluate(x=2.0)``.  NumPy arrays work too (element-wise).
        """
        values = {**(values or {}), **named_values}
        _check_values_given(self, values)
        return _run(self.nodes(), self, values)

    def to_function(self, *var_names):
        """A Python function of the given variables that evaluates the expression.

        ``e.to_function("x", "y")`` returns ``f`` with ``f(x, y) == e.evaluate(x=x, y=y)``.
        Without names, the variables are taken in sorted order.
        """
        var_names = var_names or tuple(self.variables())
        missing = [name for name in self.variables() if name not in var_names]
        if missing:
            raise ValueError(
                f"to_function: the expression uses {_names(missing)} but the function "
                f"would only take {_names(var_names)}; pass every variable name, for example "
                f"to_function({', '.join(repr(n) for n in self.variables())})"
            )
        order = self.nodes()

        def function(*args):
            if len(args) != len(var_names):
                raise TypeError(
                    f"this function takes {len(var_names)} arguments "
                    f"({', '.join(var_names)}), got {len(args)}"
                )
            return _run(order, self, dict(zip(var_names, args)))

        function.__name__ = "expression_function"
        function.__doc__ = f"({', '.join(var_names)}) -> {self}"
        return function

    def diff(self, var_name):
        """The derivative with respect to a variable; see :func:`diff`."""
        return diff(self, var_name)

    def simplify(self):
        """An equivalent, tidier expression; see :func:`simplify`."""
        return simplify(self)

    def substitute(self, replacements=None, **named_replacements):
        """Replace variables by expressions (or numbers): composition of functions.

        ``(x**2).substitute(x=sin(y))`` is ``sin(y)**2``.
        """
        replacements = {**(replacements or {}), **named_replacements}
        replaced = {}
        for node in self.nodes():
            if isinstance(node, Var) and node.name in replacements:
                replaced[id(node)] = as_expr(replacements[node.name])
            elif node.args:
                args = [replaced[id(child)] for child in node.args]
                unchanged = all(a is b for a, b in zip(args, node.args))
                replaced[id(node)] = node if unchanged else node.with_args(*args)
            else:
                replaced[id(node)] = node
        return replaced[id(self)]

    # --- printing -----------------------------------------------------------

    def __str__(self):
        return _render(self, "text")

    def __repr__(self):
        """The text, or a summary for a tree too large to read (or to print)."""
        size = self.size()
        if size > MAX_PRINTED_SIZE:
            return f"<expression of {size} nodes, {self.size(shared=True)} distinct>"
        return str(self)

    def to_latex(self):
        """The expression as LaTeX math (without the surrounding dollar signs)."""
        return _render(self, "latex")

    def _repr_latex_(self):
        """How Jupyter shows an expression: as rendered math, unless it is huge."""
        if self.size() > MAX_PRINTED_SIZE:
            return None  # Jupyter then shows the summary of __repr__
        return f"${self.to_latex()}$"

    # --- what each kind of node defines ---------------------------------------

    def compute(self, *arg_values):
        """The node's value from the values of its children."""
        raise NotImplementedError

    def rule(self, *arg_derivatives):
        """The node's derivative from its children's derivatives (calculus)."""
        raise NotImplementedError

    def text(self, *arg_texts):
        raise NotImplementedError

    def latex(self, *arg_latex):
        raise NotImplementedError


# --- leaves ------------------------------------------------------------------


class Const(Expr):
    """A number."""

    def __init__(self, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"Const needs a real number, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"Const needs a finite number, got {value!r}")
        whole = float(value).is_integer() and abs(value) < 2**53
        self.value = int(value) if whole else float(value)  # print 2, not 2.0

    @property
    def precedence(self):
        return NEGATION if self.value < 0 else ATOM

    def key(self):
        return (self.value,)

    def with_args(self):
        return self

    def compute(self):
        return self.value

    def text(self):
        return _format_number(self.value)

    latex = text


class Var(Expr):
    """A variable, known by its name."""

    def __init__(self, name):
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(
                f"a variable name must be a Python identifier such as 'x' or 'w1', got {name!r}"
            )
        self.name = name

    def key(self):
        return (self.name,)

    def with_args(self):
        return self

    def text(self):
        return self.name

    def latex(self):
        """w1 -> w_{1}; long names upright: rate -> \\mathrm{rate}."""
        head = self.name.rstrip("0123456789")
        digits = self.name[len(head):]
        if len(head) > 1:
            head = rf"\mathrm{{{head}}}"
        return f"{head}_{{{digits}}}" if digits else head


# --- operations with two arguments -----------------------------------------------


class Binary(Expr):
    symbol = "?"

    def __init__(self, left, right):
        self.args = (as_expr(left), as_expr(right))

    def text(self, left, right):
        a, b = self.args
        left = _parenthesize(left, a.precedence < self.precedence)
        right = _parenthesize(right, _needs_parentheses_on_right(self, b))
        return f"{left} {self.symbol} {right}"

    def latex(self, left, right):
        a, b = self.args
        left = _parenthesize_latex(left, _latex_precedence(a) < self.precedence)
        right = _parenthesize_latex(right, _needs_parentheses_on_right(self, b, latex=True))
        return f"{left} {self.latex_symbol} {right}"


class Add(Binary):
    """a + b"""

    symbol = latex_symbol = "+"
    precedence = SUM

    def compute(self, a, b):
        return a + b

    def rule(self, da, db):
        return da + db


class Sub(Binary):
    """a - b"""

    symbol = latex_symbol = "-"
    precedence = SUM

    def compute(self, a, b):
        return a - b

    def rule(self, da, db):
        return da - db


class Mul(Binary):
    """a * b"""

    symbol = "*"
    latex_symbol = r"\cdot"
    precedence = PRODUCT

    def compute(self, a, b):
        return a * b

    def rule(self, da, db):
        a, b = self.args
        return da * b + a * db  # product rule


class Div(Binary):
    """a / b"""

    symbol = "/"
    precedence = PRODUCT

    def compute(self, a, b):
        return a / b

    def rule(self, da, db):
        a, b = self.args
        return (da * b - a * db) / b**2  # quotient rule

    def latex(self, numerator, denominator):
        return rf"\frac{{{numerator}}}{{{denominator}}}"


class Pow(Binary):
    """a ** b"""

    symbol = "**"
    precedence = POWER

    def compute(self, a, b):
        return a**b

    def rule(self, da, db):
        a, b = self.args
        if isinstance(b, Const):  # power rule: d(a**n) = n a**(n-1) da
            return b * a ** Const(b.value - 1) * da
        # general case, from a**b = exp(b log a)
        return self * (db * Log(a) + b * da / a)

    def text(self, base, exponent):
        a, b = self.args
        base = _parenthesize(base, a.precedence <= POWER)
        exponent = _parenthesize(exponent, b.precedence < ATOM)
        return f"{base}**{exponent}"

    def latex(self, base, exponent):
        a, _ = self.args
        base = _parenthesize_latex(base, _latex_precedence(a) <= POWER)
        return f"{base}^{{{exponent}}}"


# --- operations with one argument ---------------------------------------------


class Unary(Expr):
    def __init__(self, argument):
        self.args = (as_expr(argument),)


class Neg(Unary):
    """-a"""

    precedence = NEGATION

    def compute(self, a):
        return -a

    def rule(self, da):
        return -da

    def text(self, a):
        return "-" + _parenthesize(a, self.args[0].precedence <= NEGATION)

    def latex(self, a):
        # in mathematics -a b means -(a b), so only sums need parentheses
        return "-" + _parenthesize_latex(a, _latex_precedence(self.args[0]) < PRODUCT)


class Function(Unary):
    """An elementary function applied to one argument, printed as name(argument)."""

    name = "?"
    numpy_function = None

    def compute(self, a):
        return type(self).numpy_function(a)

    def text(self, a):
        return f"{self.name}({a})"

    def latex(self, a):
        return rf"\{self.name}\left({a}\right)"


class Exp(Function):
    """exp(a)"""

    name = "exp"
    numpy_function = np.exp

    def rule(self, da):
        return self * da  # d exp(a) = exp(a) da: the node itself reappears

    def latex(self, a):
        return f"e^{{{a}}}"


class Log(Function):
    """log(a), the natural logarithm"""

    name = "log"
    numpy_function = np.log

    def rule(self, da):
        (a,) = self.args
        ### BEGIN SOLUTION
        return da / a
        ### END SOLUTION


class Sin(Function):
    """sin(a)"""

    name = "sin"
    numpy_function = np.sin

    def rule(self, da):
        (a,) = self.args
        return Cos(a) * da


class Cos(Function):
    """cos(a)"""

    name = "cos"
    numpy_function = np.cos

    def rule(self, da):
        (a,) = self.args
        return -Sin(a) * da


# --- functions for building expressions -----------------------------------------


def as_expr(value):
    """An expression from an expression or a number."""
    if isinstance(value, Expr):
        return value
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return Const(value)
    raise TypeError(
        f"cannot use {value!r} (of type {type(value).__name__}) in an expression; "
        "use numbers, Var('name') or other expressions"
    )


def symbols(names):
    """Variables from a string of names: ``x, y = symbols("x y")``."""
    return tuple(Var(name) for name in names.replace(",", " ").split())


def exp(a):
    return Exp(a)


def log(a):
    return Log(a)


def sin(a):
    return Sin(a)


def cos(a):
    return Cos(a)


def sigmoid(a):
    """The logistic sigmoid 1 / (1 + exp(-a)), built from the primitives."""
    return 1 / (1 + exp(-a))


# --- differentiation ------------------------------------------------------------


def diff(expr, var_name):
    """The derivative of ``expr`` with respect to the variable ``var_name``.

    The rules are applied from the leaves up: the derivative of a constant
    is 0, of the variable itself 1, of another variable 0, and every
    operation combines its children's derivatives by its own rule
    (:meth:`Expr.rule`): the chain rule, applied node by node.  The result
    is not simplified; see :func:`simplify`.
    """
    var_name = var_name.name if isinstance(var_name, Var) else var_name
    _check_differentiable(expr, var_name)
    derivative = {}
    for node in expr.nodes():
        if isinstance(node, Var):
            derivative[id(node)] = Const(1 if node.name == var_name else 0)
        elif isinstance(node, Const):
            derivative[id(node)] = Const(0)
        else:
            derivative[id(node)] = node.rule(*(derivative[id(a)] for a in node.args))
    return derivative[id(expr)]


def _check_differentiable(expr, var_name):
    if not isinstance(expr, Expr):
        raise TypeError(f"diff needs an expression, got {expr!r}")
    present = expr.variables()
    if var_name not in present:
        raise ValueError(
            f"cannot differentiate with respect to {var_name!r}: it does not occur in the "
            f"expression, whose variables are {_names(present) or 'none (it is constant)'}; "
            "pass one of those names"
        )


# --- simplification -----------------------------------------------------------------


def simplify(expr):
    """An equivalent expression with the obvious clutter removed.

    Rules, applied from the leaves up and repeated until nothing changes:
    arithmetic on constants is done (constant folding, e.g. ``2 * 3 -> 6``);
    ``a + 0``, ``a - 0``, ``a * 1``, ``a / 1``, ``a**1 -> a``;
    ``a * 0``, ``0 / a``, ``a - a -> 0``; ``a**0``, ``a / a -> 1``;
    ``a + a -> 2 * a``, ``a * a -> a**2``, ``a * (1 / b) -> a / b``;
    negations are pulled out
    (``-(-a) -> a``, ``(-a) * b -> -(a * b)``, ``a + (-b) -> a - b``);
    ``exp(0) -> 1``, ``log(1) -> 0``, ``sin(0) -> 0``, ``cos(0) -> 1``,
    ``log(exp(a)) -> a``.  (Like every computer algebra system, it assumes
    ``a / a`` is taken where a is not zero.)
    """
    for _ in range(100):
        simpler = _simplify_once(expr)
        if simpler is expr:
            return expr
        expr = simpler
    return expr


def _simplify_once(expr):
    simplified = {}
    for node in expr.nodes():
        args = [simplified[id(child)] for child in node.args]
        unchanged = all(a is b for a, b in zip(args, node.args))
        new = _simplify_node(node if unchanged else node.with_args(*args))
        simplified[id(node)] = node if (unchanged and new == node) else new
    return simplified[id(expr)]


def _simplify_node(node):
    """One node whose children are already simple, with one rule applied."""
    if not node.args:
        return node
    folded = _fold_constants(node)
    if folded is not None:
        return folded
    rules = _RULES.get(type(node))
    return rules(*node.args) if rules else node


def _fold_constants(node):
    """A Const if all children are constants and the result is exact enough."""
    if not all(isinstance(a, Const) for a in node.args):
        return None
    if isinstance(node, (Add, Sub, Mul, Neg)):
        return Const(node.compute(*(a.value for a in node.args)))
    if isinstance(node, Div):
        a, b = (arg.value for arg in node.args)
        if b != 0 and (a / b).is_integer():  # keep fractions such as 1/3 as they are
            return Const(a / b)
    if isinstance(node, Pow):
        a, b = (arg.value for arg in node.args)
        if isinstance(b, int) and b >= 0 and isinstance(a, int) and abs(a) ** b < 2**53:
            return Const(a**b)
    return None


def _is(expr, value):
    return isinstance(expr, Const) and expr.value == value


def _simplify_add(a, b):
    if _is(a, 0):
        return b
    if _is(b, 0):
        return a
    if isinstance(b, Neg):
        return a - b.args[0]
    if isinstance(a, Neg):
        return b - a.args[0]
    if isinstance(b, Const) and b.value < 0:
        return a - Const(-b.value)
    if a == b:
        return 2 * a
    return Add(a, b)


def _simplify_sub(a, b):
    if _is(b, 0):
        return a
    if _is(a, 0):
        return -b
    if a == b:
        return Const(0)
    if isinstance(b, Neg):
        return a + b.args[0]
    return Sub(a, b)


def _simplify_mul(a, b):
    if _is(a, 0) or _is(b, 0):
        return Const(0)
    if _is(a, 1):
        return b
    if _is(b, 1):
        return a
    if _is(a, -1):
        return -b
    if _is(b, -1):
        return -a
    if isinstance(b, Const):  # constants go first: x * 2 -> 2 * x
        return Mul(b, a)
    if isinstance(b, Div) and _is(b.args[0], 1):  # a * (1 / b) -> a / b
        return a / b.args[1]
    if isinstance(a, Div) and _is(a.args[0], 1):
        return b / a.args[1]
    if isinstance(a, Const) and isinstance(b, Mul) and isinstance(b.args[0], Const):
        return Const(a.value * b.args[0].value) * b.args[1]
    if isinstance(a, Neg):
        return -(a.args[0] * b)
    if isinstance(b, Neg):
        return -(a * b.args[0])
    if a == b:
        return a ** Const(2)
    return Mul(a, b)


def _simplify_div(a, b):
    if _is(a, 0):
        return Const(0)
    if _is(b, 1):
        return a
    if a == b:
        return Const(1)
    if isinstance(a, Neg):
        return -(a.args[0] / b)
    return Div(a, b)


def _simplify_pow(a, b):
    if _is(b, 0):
        return Const(1)
    if _is(b, 1):
        return a
    if _is(a, 1):
        return Const(1)
    if isinstance(a, Pow) and isinstance(a.args[1], Const) and isinstance(b, Const):
        return a.args[0] ** Const(a.args[1].value * b.value)
    return Pow(a, b)


def _simplify_neg(a):
    if isinstance(a, Neg):
        return a.args[0]
    if isinstance(a, Const):
        return Const(-a.value)
    return Neg(a)


def _simplify_exp(a):
    return Const(1) if _is(a, 0) else Exp(a)


def _simplify_log(a):
    if _is(a, 1):
        return Const(0)
    if isinstance(a, Exp):
        return a.args[0]
    return Log(a)


def _simplify_sin(a):
    return Const(0) if _is(a, 0) else Sin(a)


def _simplify_cos(a):
    return Const(1) if _is(a, 0) else Cos(a)


_RULES = {
    Add: _simplify_add,
    Sub: _simplify_sub,
    Mul: _simplify_mul,
    Div: _simplify_div,
    Pow: _simplify_pow,
    Neg: _simplify_neg,
    Exp: _simplify_exp,
    Log: _simplify_log,
    Sin: _simplify_sin,
    Cos: _simplify_cos,
}


# --- counting, evaluating, printing --------------------------------------------------


def _count_distinct_subexpressions(expr):
    """The number of structurally different subexpressions ("value numbering").

    Each node gets a number; two nodes get the same number when they are of
    the same kind, with the same key and children with the same numbers.
    """
    number_of = {}  # id(node) -> its number
    numbers_by_structure = {}  # (kind, key, children's numbers) -> number
    for node in expr.nodes():
        structure = (type(node), node.key(), tuple(number_of[id(a)] for a in node.args))
        number_of[id(node)] = numbers_by_structure.setdefault(
            structure, len(numbers_by_structure)
        )
    return len(numbers_by_structure)


def _check_values_given(expr, values):
    missing = [name for name in expr.variables() if name not in values]
    if missing:
        given = _names(sorted(values)) or "none"
        raise ValueError(
            f"cannot evaluate the expression: no value for {_names(missing)}; "
            f"values were given for: {given}. Pass a value for every variable, "
            f"for example evaluate({', '.join(f'{n}=1.0' for n in expr.variables())})"
        )


def _run(order, expr, values):
    """Evaluate nodes in order (children first), each distinct node once."""
    value_of = {}
    for node in order:
        if isinstance(node, Var):
            value_of[id(node)] = values[node.name]
        else:
            value_of[id(node)] = node.compute(*(value_of[id(a)] for a in node.args))
    result = value_of[id(expr)]
    return float(result) if np.ndim(result) == 0 else result


def _render(expr, style):
    rendered = {}
    for node in expr.nodes():
        children = (rendered[id(a)] for a in node.args)
        rendered[id(node)] = node.text(*children) if style == "text" else node.latex(*children)
    return rendered[id(expr)]


def _latex_precedence(expr):
    """In LaTeX a fraction and an exponential e^{...} are as tight as atoms."""
    if isinstance(expr, Div):
        return ATOM
    if isinstance(expr, Exp):
        return POWER
    return expr.precedence


def _needs_parentheses_on_right(parent, child, latex=False):
    """a - (b + c) and a / (b * c) need parentheses; a + (b + c) and a * (b * c) do not.

    a * (b / c) keeps them too: a * b / c would be read as (a * b) / c.
    """
    child_precedence = _latex_precedence(child) if latex else child.precedence
    if child_precedence != parent.precedence:
        return child_precedence < parent.precedence
    return type(child) is not type(parent) or isinstance(parent, (Sub, Div))


def _parenthesize(text, needed):
    return f"({text})" if needed else text


def _parenthesize_latex(text, needed):
    return rf"\left({text}\right)" if needed else text


def _format_number(value):
    return str(value) if isinstance(value, int) else repr(value)


def _names(names):
    return ", ".join(repr(name) for name in names)
