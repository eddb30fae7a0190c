"""The training loop: determinism, learning, history, progress, checkpoints and the command line."""

import functools
import io
import os
import subprocess
import sys

import numpy as np
import pytest

import framework.train
from framework import nn, optim
from framework.data.datasets import spirals
from framework.data.loader import DataLoader
from framework.data.mnist import MNIST_SHA256, data_directory, load_mnist, mnist_files_present
from framework.metrics import accuracy
from framework.nn import functional as F
from framework.train import (
    BarProgress,
    HandWrittenAdamMLP,
    HandWrittenMLP,
    History,
    PlainProgress,
    SilentProgress,
    classic_mnist_net,
    epoch_summary,
    evaluate,
    fit,
    main,
    mlp_mnist_net,
    plural,
    predict,
    progress_reporter,
    time_against_numpy,
    train_epoch,
)


# The real files, found as every entry point finds them (FRAMEWORK_DATA_DIR,
# the shared copy beside the repository, the per-user cache).
MNIST = str(data_directory()) if mnist_files_present() else None
needs_mnist = pytest.mark.skipif(MNIST is None, reason="the MNIST files are not present")


@pytest.fixture(scope="module")
def mnist_subset():
    x, y = load_mnist("train", MNIST, flatten=True, subset=3000, download=False)
    return (x[:2000], y[:2000]), (x[2000:], y[2000:])


def toy_data(n_per_class=80, seed=0):
    """240 points of three interleaved spirals, float32."""
    x, y = spirals(n_per_class, n_classes=3, seed=seed)
    return x.astype(np.float32), y.astype(np.int64)


def toy_model(seed=0):
    generator = np.random.default_rng(seed)
    x, y = toy_data()
    classes = int(y.max()) + 1
    return nn.Sequential(nn.Linear(x.shape[1], 32, generator=generator), nn.ReLU(),
                         nn.Linear(32, classes, generator=generator))


def run(seed=0, epochs=2, batch_size=16, **fit_options):
    x, y = toy_data()
    model = toy_model(seed)
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    loader = DataLoader(x, y, batch_size=batch_size, shuffle=True, seed=seed)
    fit_options.setdefault("progress", False)
    history = fit(model, optimizer, loader, epochs, **fit_options)
    return model, optimizer, history


# ---------------------------------------------------------------- determinism and learning

def test_the_same_seed_gives_bit_identical_losses():
    _, _, first = run(seed=3)
    _, _, second = run(seed=3)
    assert len(first.batch_loss) == 2 * 15
    assert first.batch_loss == second.batch_loss  # exactly equal floats
    _, _, other = run(seed=4)
    assert other.batch_loss[:5] != first.batch_loss[:5]


@needs_mnist
def test_the_same_seed_gives_bit_identical_mnist_steps(mnist_subset):
    (x, y), _ = mnist_subset
    losses = []
    for _ in range(2):
        model = mlp_mnist_net(hidden=(64,), seed=1)
        optimizer = optim.Adam(model.parameters(), lr=1e-3)
        loader = DataLoader(x[:500], y[:500], batch_size=50, shuffle=True, seed=1)
        losses.append(fit(model, optimizer, loader, 1, progress=False).batch_loss)
    assert losses[0] == losses[1]
    assert len(losses[0]) == 10


@needs_mnist
def test_a_short_run_on_a_subset_reaches_a_floor_accuracy(mnist_subset):
    (x, y), (x_val, y_val) = mnist_subset
    model = mlp_mnist_net(hidden=(128,), seed=0)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(x, y, batch_size=50, shuffle=True, seed=0)
    history = fit(model, optimizer, loader, 3, validation_data=(x_val, y_val), progress=False)
    assert history.val_accuracy[-1] >= 0.88  # 2,000 images, 3 epochs
    assert history.train_loss[-1] < history.train_loss[0]


@needs_mnist
def test_the_classic_network_learns_with_plain_sgd(mnist_subset):
    (x, y), (x_val, y_val) = mnist_subset
    model = classic_mnist_net(seed=0)
    optimizer = optim.SGD(model.parameters(), lr=1.0)
    history = fit(model, optimizer, DataLoader(x, y, 10, shuffle=True), 5,
                  validation_data=(x_val, y_val), progress=False)
    # Sigmoid networks start slowly (about 20% after one epoch on 2,000 images).
    assert history.val_accuracy[-1] >= 0.80


def test_training_lowers_the_loss_and_raises_accuracy_on_toy_data():
    x, y = toy_data()
    model, _, history = run(epochs=30)
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert accuracy(predict(model, x), y) >= 0.9


# ---------------------------------------------------------------- the pieces of the loop

def test_history_records_every_epoch():
    x, y = toy_data()
    model, _, history = run(epochs=3, validation_data=(x[:50], y[:50]))
    assert len(history) == 3
    assert history.epoch == [1, 2, 3]
    assert set(history.records) == {"epoch", "train_loss", "train_accuracy", "lr", "seconds",
                                    "val_loss", "val_accuracy"}
    assert history["val_accuracy"] == history.val_accuracy
    assert history.val_accuracy[-1] == evaluate(model, (x[:50], y[:50])).accuracy
    with pytest.raises(AttributeError, match="recorded"):
        history.test_accuracy


def test_history_round_trips_through_a_dict():
    history = History()
    history.append(epoch=1, train_loss=0.5)
    history.append(epoch=2, train_loss=0.25)
    history.batch_loss.extend([1.0, 0.5])
    copy = History.from_dict(history.to_dict())
    assert copy.records == history.records and copy.batch_loss == [1.0, 0.5]
    with pytest.raises(ValueError, match="earlier epochs recorded"):
        history.append(epoch=3)


def test_train_epoch_reports_the_mean_loss_over_examples():
    x, y = toy_data()
    model = toy_model()
    optimizer = optim.SGD(model.parameters(), lr=0.0)  # no learning: every batch sees the same weights
    losses = []
    loss, acc = train_epoch(model, optimizer, DataLoader(x, y, batch_size=100), batch_loss=losses)
    whole = F.cross_entropy(model(x), y).item()
    assert loss == pytest.approx(whole, rel=1e-5)  # batches of 100, 100 and 40, weighted by size
    assert len(losses) == 3
    assert acc == pytest.approx(accuracy(predict(model, x), y))


def test_evaluate_equals_the_loss_on_the_whole_set():
    x, y = toy_data()
    model = toy_model()
    result = evaluate(model, (x, y), batch_size=64)
    assert result.loss == pytest.approx(F.cross_entropy(model(x), y).item(), rel=1e-5)
    assert result.accuracy == accuracy(model(x).data, y)
    by_loader = evaluate(model, DataLoader(x, y, batch_size=50))
    assert by_loader.loss == pytest.approx(result.loss, rel=1e-5)


def test_predict_keeps_no_graph_and_restores_the_mode():
    x, _ = toy_data()
    model = toy_model()
    model.train()
    outputs = predict(model, x, batch_size=7)
    assert isinstance(outputs, np.ndarray) and outputs.shape == (len(x), 3)
    assert model.training
    model.eval()
    predict(model, x)
    assert not model.training


def test_a_diverging_loss_stops_training_with_advice():
    x, y = toy_data()
    x = x.copy()
    x[0, 0] = np.nan
    model = toy_model()
    with pytest.raises(FloatingPointError, match="learning rate"):
        fit(model, optim.SGD(model.parameters(), lr=0.1), DataLoader(x, y, 300), 1, progress=False)


def test_the_scheduler_steps_once_per_epoch():
    x, y = toy_data()
    model = toy_model()
    optimizer = optim.SGD(model.parameters(), lr=1.0)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    history = fit(model, optimizer, DataLoader(x, y, 60), 3, scheduler=scheduler, progress=False)
    assert history.lr == [1.0, 0.5, 0.25]


# ---------------------------------------------------------------- progress

def test_epoch_summary_is_rounded_and_fixed():
    record = {"epoch": 3, "train_loss": 0.123456, "train_accuracy": 0.98765,
              "val_loss": 0.0712345, "val_accuracy": 0.975, "seconds": 1.234}
    assert epoch_summary(record, 10) == (
        "epoch  3/10  |  train loss 0.1235  accuracy 98.77%  |  val loss 0.0712  accuracy 97.50%"
    )


def test_plain_progress_prints_one_line_per_epoch(capsys):
    run(epochs=2, progress="plain")
    lines = capsys.readouterr().out.splitlines()
    assert [line[:9] for line in lines] == ["epoch 1/2", "epoch 2/2"]


def test_automatic_progress_is_plain_unless_the_output_is_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert isinstance(progress_reporter(None, io.StringIO()), PlainProgress)
    assert isinstance(progress_reporter(True, Terminal()), BarProgress)
    assert isinstance(progress_reporter(False), SilentProgress)
    with pytest.raises(ValueError, match="progress must be"):
        progress_reporter("fancy")


def test_the_bar_shows_loss_and_accuracy():
    stream = io.StringIO()
    x, y = toy_data()
    model = toy_model()
    fit(model, optim.Adam(model.parameters()), DataLoader(x, y, 40), 1,
        validation_data=(x, y), progress=BarProgress(stream))
    text = stream.getvalue()
    assert "epoch 1/1" in text and "6/6" in text
    assert "train loss" in text and "val loss" in text and "accuracy" in text


# ---------------------------------------------------------------- checkpoints

def test_fit_saves_a_checkpoint_every_epoch_and_resumes_exactly(tmp_path):
    path = tmp_path / "run.npz"
    _, _, whole = run(epochs=4)

    x, y = toy_data()
    model = toy_model()
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    loader = DataLoader(x, y, batch_size=16, shuffle=True, seed=0)
    fit(model, optimizer, loader, 2, progress=False, checkpoint=path)
    assert os.listdir(tmp_path) == ["run.npz"]

    model = toy_model(seed=99)  # a fresh process: new objects, other weights
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    loader = DataLoader(x, y, batch_size=16, shuffle=True, seed=0)
    resumed = fit(model, optimizer, loader, 4, progress=False, checkpoint=path, resume=True)
    assert resumed.epoch == [1, 2, 3, 4]
    assert resumed.batch_loss == whole.batch_loss  # bit for bit, as if never interrupted


# ---------------------------------------------------------------- command line

@needs_mnist
def test_the_command_line_trains_and_prints_the_test_accuracy(capsys, tmp_path):
    checkpoint = tmp_path / "mlp.npz"
    result = main(["mnist", "--model", "mlp", "--epochs", "1", "--subset", "600", "--validation", "100",
                   "--data-dir", MNIST, "--progress", "plain", "--checkpoint", str(checkpoint)])
    out = capsys.readouterr().out
    assert "epoch 1/1" in out
    assert "adam lr 0.001, 1 epoch, seed 0" in out  # not "1 epochs"
    assert f"test accuracy: {result:.2%} (600 test images)" in out
    assert 0.5 < result <= 1.0
    assert checkpoint.exists()


@needs_mnist
def test_the_command_line_runs_as_a_module(tmp_path):
    command = [sys.executable, "-m", "framework.train", "mnist", "--model", "classic", "--epochs", "1",
               "--subset", "300", "--validation", "0", "--batch-size", "30", "--data-dir", MNIST]
    finished = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert "test accuracy:" in finished.stdout
    assert "epoch 1/1" in finished.stdout  # not a terminal: plain lines, not a bar
    assert finished.stderr == ""


def test_missing_data_stops_the_command_line_with_the_message_and_no_traceback(tmp_path):
    empty = tmp_path / "no mnist here"
    command = [sys.executable, "-m", "framework.train", "mnist", "--epochs", "1",
               "--data-dir", str(empty), "--no-download"]
    finished = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert finished.returncode == 1
    assert finished.stdout == ""
    assert finished.stderr.startswith("error: MNIST not found: 4 of its 4 files are missing")
    assert "Traceback" not in finished.stderr
    for name in MNIST_SHA256:
        assert f"{name}.gz" in finished.stderr
    assert f"    {empty}  (no such folder)" in finished.stderr
    assert "FRAMEWORK_DATA_DIR" in finished.stderr and "Allow the download" in finished.stderr


def test_a_failed_download_stops_the_command_line_with_the_message(monkeypatch, tmp_path, capsys):
    mirror = tmp_path / "empty mirror"
    mirror.mkdir()
    offline = functools.partial(load_mnist, mirrors=[mirror.as_uri() + "/"], progress=False)
    monkeypatch.setattr(framework.train, "load_mnist", offline)
    with pytest.raises(SystemExit) as stopped:
        main(["mnist", "--data-dir", str(tmp_path / "data")])
    assert stopped.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: MNIST not found: 4 of its 4 files are missing")
    assert "Downloading train-images-idx3-ubyte.gz failed at every mirror" in err
    assert "Traceback" not in err


def test_plural():
    assert [plural(n, "epoch") for n in (0, 1, 2, 1000)] == [
        "0 epochs", "1 epoch", "2 epochs", "1,000 epochs"]


def test_the_command_line_refuses_bad_options(capsys):
    with pytest.raises(SystemExit):
        main(["mnist", "--epochs", "0"])
    with pytest.raises(SystemExit):
        main(["mnist", "--resume"])
    assert "--resume needs --checkpoint" in capsys.readouterr().err


# ---------------------------------------------------------------- the yardstick

@pytest.mark.parametrize("by_hand_class, optimizer_class, lr, hand_lr, batch", [
    (HandWrittenMLP, optim.SGD, 0.1, np.float32(0.1), 50),
    (HandWrittenAdamMLP, optim.Adam, 1e-2, 1e-2, 25),
])
def test_the_hand_written_networks_compute_what_the_framework_computes(by_hand_class, optimizer_class, lr,
                                                                       hand_lr, batch):
    rng = np.random.default_rng(0)
    x = rng.random((200, 784), dtype=np.float32)
    y = rng.integers(0, 10, size=200)
    model = mlp_mnist_net(hidden=(32, 16), seed=2)
    by_hand = by_hand_class.from_model(model)
    optimizer = optimizer_class(model.parameters(), lr=lr)
    for inputs, labels in DataLoader(x, y, batch_size=batch):
        outputs = model(inputs)
        loss = F.cross_entropy(outputs, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        hand_loss, hand_correct = by_hand.train_step(inputs, labels, hand_lr)
        assert hand_loss == pytest.approx(loss.item(), rel=1e-5)
        assert hand_correct == np.count_nonzero(outputs.data.argmax(axis=1) == labels)
    layers = [m for m in model if isinstance(m, nn.Linear)]
    for layer, w, b in zip(layers, by_hand.weights, by_hand.biases):
        np.testing.assert_allclose(layer.weight.data, w, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(layer.bias.data, b, rtol=1e-4, atol=1e-6)


def test_time_against_numpy_reports_both_sides():
    rng = np.random.default_rng(1)
    x = rng.random((300, 784), dtype=np.float32)
    y = rng.integers(0, 10, size=300)
    timing = time_against_numpy((16,), x, y, batch_size=20, chunk=4)
    assert set(timing) == {"framework", "numpy", "ratio", "loss_difference"}
    assert timing["framework"] > 0 and timing["numpy"] > 0
    assert timing["ratio"] == pytest.approx(timing["framework"] / timing["numpy"])
    assert timing["loss_difference"] < 1e-5
