"""Timings of the framework against the same computation written by hand.

Each module is a script that prints a report, for example
``python -m benchmarks.step`` (one training step, and deep backward passes).
"""
