"""Chapter 1: three ways a computer can find a derivative.

- :mod:`~framework.differentiate.numerical`: difference quotients from
  function values (forward and central differences, gradients, Jacobians);
- :mod:`~framework.differentiate.symbolic`: expression trees differentiated
  by the rules of calculus, simplified, printed and turned into functions;
- :mod:`~framework.differentiate.dual`: dual numbers, forward-mode automatic
  differentiation.

The three modules share function names (``exp``, ``sigmoid``, ...) that mean
different things, so import the module you need::

    from framework.differentiate import numerical, symbolic, dual
"""

from . import dual, numerical, symbolic

__all__ = ["dual", "numerical", "symbolic"]
