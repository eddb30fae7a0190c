"""Measuring a classifier: accuracy and the confusion matrix.

Both take the network's outputs as they come: either one row of scores per
example (logits or probabilities, shape ``(N, C)``; the predicted class is
the column with the largest score) or the predicted class indices directly
(shape ``(N,)``). Targets are class indices ``0 .. C-1``. Tensors are
accepted too (their values are read; nothing is recorded in a graph).

Everything is counted with whole NumPy operations, never a Python loop over
examples, so measuring 10,000 test digits takes a fraction of a millisecond.
"""

import numpy as np


def predicted_classes(outputs):
    """Class indices from scores ``(N, C)`` (argmax of each row) or indices ``(N,)``.

    Ties go to the smallest class index, as with ``np.argmax``.
    """
    values = np.asarray(outputs)
    if values.ndim == 2:
        return values.argmax(axis=1)
    if values.ndim == 1:
        if values.dtype.kind == "f" and not np.all(values == np.round(values)):
            raise ValueError(
                "predicted_classes: a vector of predictions must hold class indices (whole "
                f"numbers), got values such as {values[values != np.round(values)][0]!r}; pass the "
                "scores as a matrix (N, C) to take the argmax of each row"
            )
        return values.astype(np.int64, copy=False)
    raise ValueError(
        f"predicted_classes: expected scores of shape (N, C) or class indices of shape (N,), "
        f"got shape {values.shape}"
    )


def _checked(outputs, targets, name):
    """(predictions, targets) as integer vectors of the same, non-zero length."""
    predictions = predicted_classes(outputs)
    targets = np.asarray(targets)
    if targets.ndim != 1:
        hint = " (one-hot targets? pass targets.argmax(axis=1))" if targets.ndim == 2 else ""
        raise ValueError(f"{name}: targets must be a vector of class indices, got shape {targets.shape}{hint}")
    if len(predictions) != len(targets):
        raise ValueError(
            f"{name}: {len(predictions)} predictions (outputs of shape {np.shape(outputs)}) but "
            f"{len(targets)} targets; give one target per example"
        )
    if len(targets) == 0:
        raise ValueError(f"{name}: no examples (0 predictions and 0 targets)")
    return predictions, targets.astype(np.int64, copy=False)


def accuracy(outputs, targets):
    """The fraction of examples whose predicted class equals the target.

    $$\\text{accuracy} = \\frac{1}{N} \\sum_{i=1}^{N} [\\hat y_i = y_i],
      \\qquad \\hat y_i = \\arg\\max_c \\text{outputs}_{ic}.$$

    Returns a Python float between 0 and 1.
    """
    predictions, targets = _checked(outputs, targets, "accuracy")
    return float(np.count_nonzero(predictions == targets) / len(targets))


def confusion_matrix(outputs, targets, num_classes=None):
    """Counts of (true class, predicted class) pairs: a ``(C, C)`` integer matrix.

    Entry ``[i, j]`` is the number of examples of class ``i`` that were
    predicted as class ``j``: rows are the truth, columns the predictions.
    The diagonal holds the correct predictions, so its sum divided by the
    sum of all entries is the accuracy; everything off the diagonal is a
    mistake, and its position says which class was taken for which.

    ``num_classes`` defaults to the number of score columns, or else to
    one more than the largest class seen.
    """
    predictions, targets = _checked(outputs, targets, "confusion_matrix")
    if num_classes is None:
        scores = np.asarray(outputs)
        num_classes = scores.shape[1] if scores.ndim == 2 else int(max(predictions.max(), targets.max())) + 1
    for name, values in (("prediction", predictions), ("target", targets)):
        outside = (values < 0) | (values >= num_classes)
        if outside.any():
            raise ValueError(
                f"confusion_matrix: {name} {values[outside][0]} is not a class index in "
                f"[0, {num_classes}); pass num_classes= to count more classes"
            )
    ### BEGIN SOLUTION
    pairs = targets * num_classes + predictions  # one number per (true, predicted) pair
    counts = np.bincount(pairs, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)
    ### END SOLUTION


def format_confusion_matrix(matrix, labels=None):
    """The confusion matrix as a fixed-width text table, rows true, columns predicted.

    ``labels`` names the classes (default: their indices). The last column
    gives each class's recall, the fraction of its examples predicted
    correctly, which shows at a glance which classes are hard.
    """
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"format_confusion_matrix: expected a square matrix, got shape {matrix.shape}")
    n = matrix.shape[0]
    labels = [str(label) for label in (range(n) if labels is None else labels)]
    if len(labels) != n:
        raise ValueError(f"format_confusion_matrix: {len(labels)} labels for {n} classes")
    width = max(len(str(matrix.max())), *(len(label) for label in labels)) + 2
    label_width = max(len("true"), *(len(label) for label in labels))
    header = f"{'true':>{label_width}} |" + "".join(f"{label:>{width}}" for label in labels) + " | recall"
    lines = [header, "-" * len(header)]
    for index, (label, row) in enumerate(zip(labels, matrix)):
        total = row.sum()
        recall = f"{row[index] / total:7.1%}" if total else "      -"
        lines.append(f"{label:>{label_width}} |" + "".join(f"{count:>{width}}" for count in row) + f" | {recall}")
    return "\n".join(lines)
