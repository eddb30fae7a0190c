"""Judges of Chapter 8's exercises (see README.md in this folder)."""

import numpy as np


def inputs_8_1(rng):
    classes = int(rng.integers(3, 8))
    return {"scores": rng.normal(size=(60, classes)), "targets": rng.integers(0, classes, size=60),
            "predictions": rng.integers(0, classes, size=60), "extra": int(rng.integers(1, 3))}


def probe_8_1(inputs, namespace):
    from framework.metrics import confusion_matrix

    classes = inputs["scores"].shape[1]
    return {"from_scores": np.asarray(confusion_matrix(inputs["scores"], inputs["targets"])),
            "from_predictions": np.asarray(confusion_matrix(inputs["predictions"], inputs["targets"],
                                                            num_classes=classes + inputs["extra"]))}


def inputs_8_2(rng):
    counts = rng.integers(0, 40, size=(10, 10))
    counts[np.diag_indices(10)] = rng.integers(300, 1000, size=10)
    return {"classic_confusion": counts}


def probe_8_2(inputs, namespace):
    from probe import rerun

    found = rerun(inputs, namespace, ["recall", "precision", "hardest_digit"],
                  classic_confusion=inputs["classic_confusion"])
    return {**found, "hardest_digit": int(found["hardest_digit"])}


def inputs_8_3(rng):
    classes = int(rng.integers(5, 11))
    return {"scores": rng.normal(size=(50, classes)), "targets": rng.integers(0, classes, size=50)}


def probe_8_3(inputs, namespace):
    top_k_accuracy = namespace["top_k_accuracy"]
    classes = inputs["scores"].shape[1]
    return {"accuracy": [float(top_k_accuracy(inputs["scores"], inputs["targets"], k))
                         for k in range(1, classes + 1)]}
