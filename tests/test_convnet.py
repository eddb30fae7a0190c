"""The chapter's networks, the CNN written by hand, and PyTorch's twins."""

import numpy as np
import pytest

from framework import nn, optim
from framework.autograd.tensor import Tensor, no_grad
from framework.convnet import HandWrittenCNN, layer_times, mnist_cnn, small_cnn, time_in_turns, to_pytorch
from framework.train import train_epoch


def digits(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (n, 1, 28, 28)), rng.integers(0, 10, n)


def test_the_hand_written_cnn_takes_the_same_steps_as_the_framework():
    x, y = digits(60)
    model = small_cnn(dtype=np.float64, seed=3)
    by_hand = HandWrittenCNN.from_model(model)
    batches = [(x[i:i + 20], y[i:i + 20]) for i in range(0, 60, 20)]
    losses = []
    train_epoch(model, optim.SGD(model.parameters(), lr=0.1), batches, batch_loss=losses)
    hand_losses = [by_hand.train_step(inputs, labels, 0.1)[0] for inputs, labels in batches]
    np.testing.assert_allclose(losses, hand_losses, rtol=1e-12)
    np.testing.assert_allclose(model[0].weight.data, by_hand.conv_weight, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model[4].weight.data, by_hand.weight, rtol=1e-10, atol=1e-12)


def test_the_hand_written_cnn_refuses_what_it_does_not_write():
    model = small_cnn()
    setattr(model, "0", nn.Conv2d(1, 8, 3, padding=1))
    with pytest.raises(ValueError, match="HandWrittenCNN: only a plain convolution"):
        HandWrittenCNN.from_model(model)


@pytest.mark.parametrize("options", [{}, {"batch_norm": True}, {"dropout": 0.25}, {"channels": (4, 8), "hidden": 16}])
def test_mnist_cnn_gives_ten_scores_per_digit(options):
    model = mnist_cnn(**options)
    x, _ = digits(5)
    assert model(Tensor(x.astype(np.float32))).shape == (5, 10)
    has = {type(layer).__name__ for layer in model}
    assert ("BatchNorm2d" in has) == bool(options.get("batch_norm"))
    assert ("Dropout" in has) == bool(options.get("dropout"))


def test_time_in_turns_gives_every_contender_every_batch():
    calls = {"a": [], "b": []}
    trainers = {name: (lambda part, name=name: calls[name].append(len(part)) or [0.0] * len(part))
                for name in calls}
    seconds, losses = time_in_turns(trainers, range(7), chunk=3)
    assert calls == {"a": [3, 3, 1], "b": [3, 3, 1]} and len(losses["a"]) == 7 and set(seconds) == {"a", "b"}


def test_layer_times_times_every_layer_and_leaves_the_weights_alone():
    model = mnist_cnn(channels=(2, 3), hidden=5, batch_norm=True, seed=2)
    before = {name: np.array(parameter.data) for name, parameter in model.named_parameters()}
    x, _ = digits(4)
    rows = layer_times(model, x.astype(np.float32), repeats=2)
    assert [name for name, _, _ in rows] == ["Conv2d 1->2 3x3", "BatchNorm2d 2", "ReLU", "MaxPool2d 2x2",
                                             "Conv2d 2->3 3x3", "BatchNorm2d 3", "ReLU", "MaxPool2d 2x2", "Flatten",
                                             "Linear 147->5", "BatchNorm1d 5", "ReLU", "Linear 5->10"]
    assert all(ours > 0 and (theirs is None or theirs > 0) for _, ours, theirs in rows)
    for name, parameter in model.named_parameters():
        np.testing.assert_array_equal(parameter.data, before[name])


def test_the_pytorch_twin_computes_the_same_outputs():
    pytest.importorskip("torch")
    import torch

    model = mnist_cnn(channels=(4, 6), hidden=12, batch_norm=True, dropout=0.5, dtype=np.float64, seed=1)
    x, _ = digits(8)
    model(Tensor(x))                               # move the running statistics
    twin = to_pytorch(model)
    model.eval()
    twin.eval()
    with no_grad():
        mine = model(Tensor(x)).data
    np.testing.assert_allclose(mine, twin(torch.from_numpy(x)).detach().numpy(), rtol=1e-10, atol=1e-12)
