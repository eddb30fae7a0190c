"""Data for training: small generated datasets, MNIST and a mini-batch loader.

- ``framework.data.datasets``: XOR, AND, OR, spirals and noisy lines,
  generated in code (used from Chapter 6 on);
- ``framework.data.mnist``: the MNIST loader, which parses and verifies the
  IDX files and downloads them when needed (Chapter 8);
- ``framework.data.loader``: ``DataLoader``, mini-batches (Chapter 8).

This file imports none of them, so a chapter that uses the generated
datasets does not load the code of a later chapter. The package needs only
NumPy and the standard library (and tqdm for a download's progress bar).
"""
