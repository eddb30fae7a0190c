"""Timings of the framework against the same computation written in NumPy.

Run ``python -m benchmarks.step``.
"""
