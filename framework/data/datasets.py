"""Small datasets generated in code: logic gates, spirals, a noisy line.

They are small enough to train on in a fraction of a second and to draw in
full, which makes them the right first problems for a new network. Every
function is deterministic: the random ones take a ``seed`` and return the
same arrays for the same seed on every machine.

Shapes follow what the layers expect, one example per row:

- logic gates: inputs ``(4, 2)``, targets ``(4, 1)`` (one output neuron);
- spirals: inputs ``(N, 2)``, labels ``(N,)`` as int64 class indices;
- the line: inputs ``(n, 1)``, targets ``(n, 1)``.

All real values are float64.
"""

import numpy as np

GATE_INPUTS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
"""The four corners of the unit square, in the order of a truth table."""
GATE_INPUTS.flags.writeable = False  # shared by every gate: hand out copies


def truth_table(outputs):
    """The four gate inputs and the given outputs as a ``(4, 1)`` column."""
    targets = np.asarray(outputs, dtype=np.float64).reshape(4, 1)
    return GATE_INPUTS.copy(), targets


def and_gate():
    """x1 AND x2: 1 only at (1, 1). One line separates it from the rest."""
    return truth_table([0, 0, 0, 1])


def or_gate():
    """x1 OR x2: 0 only at (0, 0). One line separates it from the rest."""
    return truth_table([0, 1, 1, 1])


def xor():
    """x1 XOR x2: 1 where the inputs differ. No single line separates the classes."""
    return truth_table([0, 1, 1, 0])


def spirals(n_per_class=100, n_classes=3, noise=0.2, seed=0):
    """Interleaved spiral arms, one per class: ``(inputs, labels)``.

    Point $i$ of class $k$ lies at radius $r_i = i / n$ (for $i = 1, \\dots, n$)
    and angle

    $$\\theta_{k,i} = \\frac{2\\pi k}{K} + 4 r_i + \\varepsilon, \\qquad
    \\varepsilon \\sim \\mathcal{N}(0, \\text{noise}^2),$$

    that is at $(r \\cos\\theta, r \\sin\\theta)$. The arms wind around each
    other, so no straight line (and no single neuron) separates them.
    Examples are ordered by class; a shuffling data loader mixes them.
    """
    _check_count("n_per_class", n_per_class)
    _check_count("n_classes", n_classes)
    _check_noise(noise)
    rng = np.random.default_rng(seed)
    radius = np.arange(1, n_per_class + 1) / n_per_class               # (n,)
    offset = 2 * np.pi * np.arange(n_classes)[:, None] / n_classes     # (K, 1)
    angle = offset + 4 * radius + noise * rng.standard_normal((n_classes, n_per_class))
    inputs = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=-1)
    labels = np.repeat(np.arange(n_classes, dtype=np.int64), n_per_class)
    return inputs.reshape(-1, 2), labels


def noisy_line(n=100, slope=2.0, intercept=1.0, noise=0.1, seed=0, low=-1.0, high=1.0):
    """Points near the line $y = \\text{slope}\\, x + \\text{intercept}$: ``(x, y)``.

    $x$ is drawn uniformly from ``[low, high)``, and
    $y = \\text{slope}\\, x + \\text{intercept} + \\varepsilon$ with
    $\\varepsilon \\sim \\mathcal{N}(0, \\text{noise}^2)$. Both have shape ``(n, 1)``.
    """
    _check_count("n", n)
    _check_noise(noise)
    rng = np.random.default_rng(seed)
    x = rng.uniform(low, high, size=(n, 1))
    y = slope * x + intercept + noise * rng.standard_normal((n, 1))
    return x, y


def _check_count(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive whole number, not {value!r}.")


def _check_noise(noise):
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, not {noise!r}.")
