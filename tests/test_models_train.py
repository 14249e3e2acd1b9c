"""Models and the trainer (nnbook.models, nnbook.train)."""

import pytest
import torch

from nnbook import data
from nnbook.errors import ConfigError
from nnbook.models import CNN, MLP, DeepMLP, count_parameters
from nnbook.train import TrainConfig, evaluate, fit, loss_fn, set_seed


def test_cnn_is_the_lecture_network():
    """The teaching code is pytorch/examples' (torch's own dropout; nnbook.speedups
    holds what the trainer swaps in)."""
    model = CNN()
    assert type(model.dropout1) is torch.nn.Dropout and type(model.dropout2) is torch.nn.Dropout
    assert count_parameters(model) == 1_199_882
    assert model.fc1.in_features == 9216
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert CNN(extra_pool=True)(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    feats = model.features(torch.zeros(1, 1, 28, 28))
    assert feats["conv1"].shape == (1, 32, 26, 26) and feats["conv2"].shape == (1, 64, 24, 24)


def test_mlp_and_deep_mlp_shapes():
    assert count_parameters(MLP([784, 10, 10])) == 784 * 10 + 10 + 10 * 10 + 10
    x = torch.zeros(3, 1, 28, 28)
    assert MLP([784, 32, 10])(x).shape == (3, 10)
    for residual in (False, True):
        assert DeepMLP(784, 16, 5, 10, residual=residual)(x).shape == (3, 10)
    with pytest.raises(ConfigError):
        MLP([784, 0, 10])
    with pytest.raises(ConfigError):
        DeepMLP(784, 16, 0, 10)
    with pytest.raises(ConfigError):
        MLP([2, 3], "swish")


@pytest.mark.parametrize("bad", [dict(num_epochs=0), dict(batch_size=-1), dict(lr=0),
                                 dict(lr=float("nan")), dict(optimizer="lbfgs"),
                                 dict(loss="hinge"), dict(gamma=1.5), dict(num_epochs=True)])
def test_bad_train_config(bad):
    with pytest.raises(ConfigError):
        TrainConfig(**bad)


def test_tiny_training_run_reaches_stated_accuracy():
    """A 2-16-16-2 tanh net on the rings must reach >= 95 % test accuracy in 300 steps."""
    X, y = data.rings(400, seed=0)
    Xt, yt = data.rings(400, seed=1)
    set_seed(0)
    model = MLP([2, 16, 16, 2], "tanh")
    hist = fit(model, X, y, TrainConfig(num_epochs=300, batch_size=400, lr=0.5,
                                        optimizer="sgd", momentum=0.9), Xt, yt)
    assert hist[-1]["test_acc"] >= 0.95
    assert hist[-1]["loss"] < hist[0]["loss"]


def test_same_seed_same_numbers():
    ds = data.mnist(download=False)

    def once():
        set_seed(7)
        model = MLP([784, 16, 10])
        h = fit(model, ds.X_train[:512], ds.y_train[:512],
                TrainConfig(num_epochs=2, batch_size=64, lr=1e-3, optimizer="adam", seed=7),
                ds.X_test[:256], ds.y_test[:256])
        return [(r["loss"], r["test_acc"]) for r in h]

    assert once() == once()


def test_normalised_loss_matches_its_formula():
    f = torch.tensor([[3.0, 4.0], [1.0, 0.0]])
    y = torch.tensor([1, 0])
    expected = -(4 / 5 + 1 / 1) / 2
    assert loss_fn(f, y, "normalised").item() == pytest.approx(expected)
    assert loss_fn(f, y, "nll").item() == pytest.approx(
        torch.nn.functional.cross_entropy(f, y).item())


def test_evaluate_and_max_steps():
    X, y = data.rings(100, seed=0)
    model = MLP([2, 8, 2])
    hist = fit(model, X, y, TrainConfig(num_epochs=5, batch_size=10, max_steps=7,
                                        optimizer="sgd", lr=0.1))
    assert hist[-1]["steps"] == 7
    ev = evaluate(model, X, y)
    assert 0 <= ev["accuracy"] <= 1 and ev["loss"] > 0


def test_precision_choice(monkeypatch):
    from nnbook.train import bf16_supported, resolve_precision

    monkeypatch.delenv("NNBOOK_PRECISION", raising=False)  # the config's setting decides

    cpu = torch.device("cpu")
    with pytest.raises(ConfigError, match="precision"):
        TrainConfig(precision="fp16")
    assert resolve_precision("auto", MLP([2, 3, 2]), cpu) == "fp32"
    expected = "bf16" if bf16_supported(cpu) else "fp32"
    assert resolve_precision("auto", CNN(), cpu) == expected
    assert resolve_precision("fp32", CNN(), cpu) == "fp32"
    X, y = data.rings(64, seed=0)
    hist = fit(MLP([2, 4, 2]), X, y, TrainConfig(num_epochs=1, batch_size=32, optimizer="sgd",
                                                 lr=0.1))
    assert hist[0]["precision"] == "fp32"


def test_nnbook_precision_overrides_the_config(monkeypatch):
    """NNBOOK_PRECISION=fp32 makes a bf16-capable machine train what an fp32-only one does;
    the setting is part of the cache key, and a bad value is a one-line error."""
    from nnbook.train import precision_key, resolve_precision

    cpu = torch.device("cpu")
    monkeypatch.setenv("NNBOOK_PRECISION", "fp32")
    assert resolve_precision("auto", CNN(), cpu) == "fp32"
    assert resolve_precision("bf16", CNN(), cpu) == "fp32"
    assert precision_key(cpu) == "fp32"
    monkeypatch.setenv("NNBOOK_PRECISION", "auto")
    assert precision_key(cpu) in ("auto-bf16", "auto-fp32")
    assert resolve_precision("auto", MLP([4, 2]), cpu) == "fp32"  # fully connected: always fp32
    monkeypatch.setenv("NNBOOK_PRECISION", "fp16")
    with pytest.raises(ConfigError, match="NNBOOK_PRECISION"):
        resolve_precision("auto", CNN(), cpu)


def test_forced_fp32_trains_in_fp32(monkeypatch):
    monkeypatch.setenv("NNBOOK_PRECISION", "fp32")
    X, y = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))
    hist = fit(CNN(), X, y, TrainConfig(num_epochs=1, batch_size=32, max_steps=1))
    assert hist[-1]["precision"] == "fp32"


def test_evaluate_many_gives_evaluates_numbers():
    from nnbook.train import evaluate_many

    X, y = torch.randn(300, 1, 28, 28), torch.randint(0, 10, (300,))
    set_seed(0)
    model = CNN()
    fit(model, X, y, TrainConfig(num_epochs=1, batch_size=32, max_steps=5))
    sets = [X, X.flip(-1), torch.roll(X, 2, -1)]
    many = evaluate_many(model, sets, y)
    assert many == [evaluate(model, S, y)["accuracy"] for S in sets]
    assert model.training  # mode restored
    assert evaluate_many(model, [], y) == []
    mlp = MLP([784, 8, 10])
    assert evaluate_many(mlp, sets[:1], y) == [evaluate(mlp, X, y)["accuracy"]]
    with pytest.raises(ConfigError):
        evaluate_many(model, [X[:10]], y)


def test_a_fresh_cnn_can_be_evaluated_then_trained(monkeypatch):
    """predict() on a model that was never prepared must not turn its parameters into
    inference tensors (a learning curve measures before the first step), in fp32 too."""
    from nnbook.train import evaluate_many, predict

    monkeypatch.setenv("NNBOOK_PRECISION", "fp32")
    X, y = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))
    for measure in (lambda m: predict(m, X), lambda m: evaluate_many(m, [X], y)):
        model = CNN()
        measure(model)
        hist = fit(model, X, y, TrainConfig(num_epochs=1, batch_size=32, max_steps=2))
        assert hist[-1]["steps"] == 2


def test_divergence_is_its_own_error():
    """A run whose loss overflows raises DivergedError (a ConfigError: one line, exit 2),
    which the depth study recognises by its type, not by its message."""
    from nnbook.errors import DivergedError

    torch.manual_seed(0)
    X, y = torch.randn(64, 4) * 100, torch.randint(0, 2, (64,))
    with pytest.raises(DivergedError, match="diverged") as caught:
        fit(MLP([4, 8, 2]), X, y, TrainConfig(num_epochs=3, batch_size=64, lr=1e12,
                                               optimizer="sgd"))
    assert isinstance(caught.value, ConfigError)
