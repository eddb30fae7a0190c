"""A deep learning framework built from nothing, one chapter at a time.

The package root imports nothing on purpose: each chapter imports the
modules it introduces (``framework.differentiate`` in Chapter 1,
``framework.autograd`` from Chapter 2, ``framework.nn`` in Chapter 6, ...),
so a chapter never depends on one that comes after it.
"""

__version__ = "0.1.0"
