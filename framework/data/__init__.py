"""Data for training: MNIST, small generated datasets, and a mini-batch loader.

This package needs only NumPy and the standard library (and tqdm for the
progress bar of a download), so its generated datasets can be used by any
chapter. ``DataLoader(as_tensor=True)`` imports ``framework.autograd`` only
when asked for.
"""

from framework.data.datasets import and_gate, noisy_line, or_gate, spirals, xor
from framework.data.loader import DataLoader
from framework.data.mnist import (
    MNIST_CLASSES,
    MNIST_MIRRORS,
    MNIST_SHA256,
    MNISTError,
    MNISTFileError,
    MNISTNotFoundError,
    data_directory,
    download_mnist,
    load_mnist,
    parse_idx,
)

__all__ = [
    "DataLoader",
    "MNISTError",
    "MNISTFileError",
    "MNISTNotFoundError",
    "MNIST_CLASSES",
    "MNIST_MIRRORS",
    "MNIST_SHA256",
    "and_gate",
    "data_directory",
    "download_mnist",
    "load_mnist",
    "noisy_line",
    "or_gate",
    "parse_idx",
    "spirals",
    "xor",
]
