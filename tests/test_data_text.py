"""The text corpus, the character vocabulary, sequence chunks and the sequence models."""

import math

import numpy as np
import pytest

from framework import optim
from framework.data.text import CharVocabulary, SequenceChunks, load_first_names, recall_task
from framework.sequence_models import (
    CharModel,
    SequenceClassifier,
    next_symbol_probabilities,
    perplexity,
    sample,
    time_char_model_step,
    time_lstm_step,
    train_truncated,
)


def test_the_corpus_ships_with_the_package():
    names = load_first_names()
    assert len(names) == 5163 and len(set(names)) == len(names)
    assert names == sorted(names) and all(name.isalpha() and name.islower() for name in names)
    assert {"mary", "james", "zelma"} <= set(names)


def test_vocabulary_round_trip_and_unknown_characters():
    vocabulary = CharVocabulary("hello\n")
    assert vocabulary.symbols == ["\n", "e", "h", "l", "o"]
    assert vocabulary.encode("hole").tolist() == [2, 4, 3, 1]
    assert vocabulary.decode(vocabulary.encode("hello\nhe")) == "hello\nhe"
    with pytest.raises(ValueError, match="the character 'z' is not in the vocabulary"):
        vocabulary.encode("zoo")


@pytest.mark.parametrize("batch_first", [False, True])
def test_chunks_are_contiguous_rows_with_targets_shifted_by_one(batch_first):
    sequence = np.arange(103)
    chunks = SequenceChunks(sequence, batch_size=4, chunk_length=6, batch_first=batch_first)
    rows = [[] for _ in range(4)]
    for inputs, targets in chunks:
        if batch_first:
            inputs, targets = inputs.T, targets.T
        assert inputs.shape == targets.shape and inputs.shape[1] == 4
        assert np.array_equal(targets, inputs + 1)  # the next value of this sequence
        for b in range(4):
            rows[b].extend(inputs[:, b].tolist())
    # Each row reads 25 consecutive values (103 // 4 = 25 per row; the last 3 dropped);
    # the last value of a row is only a target.
    assert rows == [list(range(25 * b, 25 * b + 24)) for b in range(4)]
    assert len(chunks) == 4  # 24 inputs per row in chunks of 6


def test_chunks_refuse_a_sequence_too_short_for_the_batch():
    with pytest.raises(ValueError, match="rows of 1 for batch_size=5"):
        SequenceChunks(np.arange(9), batch_size=5, chunk_length=3)


def test_the_recall_task_puts_the_target_first_and_distractors_after():
    inputs, targets = recall_task(distance=7, count=50, symbols=4, distractors=3, seed=1)
    assert inputs.shape == (7, 50) and targets.shape == (50,)
    assert np.array_equal(inputs[0], targets) and targets.max() < 4
    assert inputs[1:].min() >= 4 and inputs[1:].max() < 7
    again, _ = recall_task(distance=7, count=50, symbols=4, distractors=3, seed=1)
    assert np.array_equal(inputs, again)


def test_temperature_sharpens_and_flattens():
    logits = np.array([2.0, 1.0, 0.0])
    cold, warm, hot = (next_symbol_probabilities(logits, t) for t in (0.5, 1.0, 2.0))
    assert cold[0] > warm[0] > hot[0] and abs(hot.sum() - 1) < 1e-12
    with pytest.raises(ValueError, match="temperature must be positive"):
        next_symbol_probabilities(logits, 0)


def test_an_untrained_model_is_near_uniform_and_training_lowers_perplexity():
    text = "abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabc" * 4
    vocabulary = CharVocabulary(text)
    sequence = vocabulary.encode(text)
    model = CharModel(len(vocabulary), embedding_dim=4, hidden_size=8, seed=0)
    before = perplexity(model, sequence)
    assert 2 < before < 4.5  # three symbols: about 3 when nothing is known
    optimizer = optim.Adam(model.parameters(), lr=0.05)
    losses = train_truncated(model, SequenceChunks(sequence, 4, 8), optimizer, epochs=15, max_norm=1.0)
    after = perplexity(model, sequence)
    assert after < 1.1 and losses[-1] < losses[0] / 5  # the text is fully predictable
    assert math.isclose(after, perplexity(model, sequence, chunk_length=7), rel_tol=1e-5)
    written = sample(model, vocabulary, "a", 12, temperature=0.5, seed=3)
    assert written == "bcabcabcabca"
    assert sample(model, vocabulary, "a", 12, temperature=2.0, seed=3) == sample(
        model, vocabulary, "a", 12, temperature=2.0, seed=3
    )


def test_sampling_stops_at_the_stop_symbol():
    vocabulary = CharVocabulary("ab\n")
    model = CharModel(len(vocabulary), hidden_size=4, seed=1)
    written = sample(model, vocabulary, "\n", 200, temperature=1.0, seed=0, stop="\n")
    assert written.count("\n") <= 1 and (written.endswith("\n") or len(written) == 200)


def test_the_classifier_scores_each_sequence():
    inputs, _ = recall_task(distance=5, count=3)
    scores = SequenceClassifier("gru", 8, 4, hidden_size=6)(inputs)
    assert scores.shape == (3, 4)


@pytest.mark.exercise("4.1")  # the unrolled layer uses the backward of tanh
def test_the_timing_functions_time_the_same_computation_in_each_library():
    # Only the structure is checked here; speed is measured by benchmarks/lstm_step.py.
    times = time_char_model_step(vocabulary_size=5, embedding_dim=3, hidden_size=4, steps=3, batch=2, repeats=1)
    layer_times = time_lstm_step(steps=3, batch=2, input_size=3, hidden_size=4, repeats=1)
    expected = {"framework"} | ({"pytorch"} if torch_installed() else set())
    assert set(times) == expected and all(seconds > 0 for seconds in times.values())
    assert set(layer_times) == {"fused", "unrolled"} | ({"pytorch"} if torch_installed() else set())


def torch_installed():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True
