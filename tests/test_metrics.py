"""Accuracy and the confusion matrix against values counted by hand.

The tests that need the body of ``confusion_matrix`` carry the mark of
Exercise 8.1, which asks for it.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from framework.autograd import tensor
from framework.metrics import accuracy, confusion_matrix, format_confusion_matrix, predicted_classes

# Five examples of three classes; the scores' argmax is 0, 2, 2, 1, 1.
SCORES = np.array([
    [2.0, 1.0, 0.0],
    [0.0, 1.0, 3.0],
    [0.1, 0.2, 0.3],
    [0.0, 5.0, 1.0],
    [1.0, 1.5, 1.0],
])
TARGETS = np.array([0, 1, 2, 2, 1])


def test_accuracy_of_class_scores_takes_the_argmax_of_each_row():
    # right: examples 0, 2 and 4; wrong: 1 (predicted 2) and 3 (predicted 1)
    assert accuracy(SCORES, TARGETS) == pytest.approx(3 / 5)


def test_accuracy_of_class_indices():
    assert accuracy(np.array([0, 2, 2, 1, 1]), TARGETS) == pytest.approx(0.6)
    assert accuracy(TARGETS, TARGETS) == 1.0
    assert isinstance(accuracy(TARGETS, TARGETS), float)


def test_accuracy_accepts_tensors_and_lists():
    assert accuracy(tensor(SCORES), tensor(TARGETS)) == pytest.approx(0.6)
    assert accuracy([1, 1, 0], [1, 0, 0]) == pytest.approx(2 / 3)


def test_ties_go_to_the_smallest_class():
    assert list(predicted_classes(np.array([[1.0, 1.0], [0.0, 0.0]]))) == [0, 0]


@pytest.mark.exercise("8.1")
def test_confusion_matrix_counted_by_hand():
    expected = np.array([
        [1, 0, 0],   # the one 0 was predicted 0
        [0, 1, 1],   # of the two 1s, one predicted 1, one predicted 2
        [0, 1, 1],   # of the two 2s, one predicted 1, one predicted 2
    ])
    np.testing.assert_array_equal(confusion_matrix(SCORES, TARGETS), expected)


@pytest.mark.exercise("8.1")
def test_confusion_matrix_size_comes_from_the_scores_or_the_classes_seen():
    assert confusion_matrix(np.zeros((2, 10)), np.array([0, 0])).shape == (10, 10)
    assert confusion_matrix(np.array([0, 3]), np.array([1, 1])).shape == (4, 4)
    assert confusion_matrix(np.array([0, 1]), np.array([1, 1]), num_classes=5).shape == (5, 5)


@pytest.mark.exercise("8.1")
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=60))
def test_confusion_matrix_rows_columns_and_diagonal(pairs):
    predictions, targets = map(np.array, zip(*pairs))
    matrix = confusion_matrix(predictions, targets, num_classes=7)
    assert matrix.sum() == len(pairs)
    np.testing.assert_array_equal(matrix.sum(axis=1), np.bincount(targets, minlength=7))
    np.testing.assert_array_equal(matrix.sum(axis=0), np.bincount(predictions, minlength=7))
    assert np.trace(matrix) / matrix.sum() == pytest.approx(accuracy(predictions, targets))
    for (p, t) in set(pairs):
        assert matrix[t, p] == pairs.count((p, t))


@pytest.mark.exercise("8.1")
def test_exercise_confusion_matrix_small_example():
    np.testing.assert_array_equal(
        confusion_matrix(np.array([1, 1, 0, 2]), np.array([0, 1, 0, 2]), num_classes=3),
        [[1, 1, 0], [0, 1, 0], [0, 0, 1]],
    )


@pytest.mark.exercise("8.1")
def test_exercise_confusion_matrix_rows_are_truth_columns_predictions():
    matrix = confusion_matrix(np.array([3, 3, 3]), np.array([1, 1, 2]), num_classes=4)
    assert matrix[1, 3] == 2 and matrix[2, 3] == 1, (
        "entry [i, j] counts examples of TRUE class i that were PREDICTED as j"
    )
    assert matrix.sum() == 3
    assert matrix.dtype.kind == "i", "counts are integers"


@pytest.mark.exercise("8.1")
def test_exercise_confusion_matrix_from_scores_and_many_examples():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(1000, 10))
    targets = rng.integers(0, 10, size=1000)
    expected = np.zeros((10, 10), dtype=int)
    for t, p in zip(targets, scores.argmax(axis=1)):
        expected[t, p] += 1
    np.testing.assert_array_equal(confusion_matrix(scores, targets), expected)


def test_mismatched_lengths_are_an_error_naming_both():
    with pytest.raises(ValueError, match=r"5 predictions .* but 4 targets"):
        accuracy(SCORES, TARGETS[:4])


def test_empty_input_is_an_error():
    with pytest.raises(ValueError, match="no examples"):
        accuracy(np.zeros((0, 3)), np.zeros(0, dtype=int))


def test_one_hot_targets_are_refused_with_a_hint():
    with pytest.raises(ValueError, match="argmax"):
        accuracy(SCORES, np.eye(3)[[0, 1, 2, 2, 1]])


def test_fractional_predictions_are_refused():
    with pytest.raises(ValueError, match="whole"):
        accuracy(np.array([0.5, 1.0]), np.array([0, 1]))


def test_class_outside_the_range_is_an_error():
    with pytest.raises(ValueError, match=r"target 5 is not a class index in \[0, 3\)"):
        confusion_matrix(np.zeros((2, 3)), np.array([0, 5]))


def test_format_confusion_matrix():
    text = format_confusion_matrix(np.array([[8, 2], [0, 10]]), labels=["cat", "dog"])
    assert text == (
        "true |  cat  dog | recall\n"
        "-------------------------\n"
        " cat |    8    2 |   80.0%\n"
        " dog |    0   10 |  100.0%"
    )


def test_format_confusion_matrix_refuses_a_non_square_matrix():
    with pytest.raises(ValueError, match="square"):
        format_confusion_matrix(np.zeros((2, 3), dtype=int))
