"""Pieces shared by the experiments: training subsets, test parts, learning curves,
shifted test sets and the train-and-test routine of every classifier.

Explained in the chapters "MNIST with two-layer networks" and "CNNs on MNIST".
"""

from __future__ import annotations

import torch

from .. import data as datamod
from .. import shifts
from ..models import count_parameters
from ..train import TrainConfig, evaluate, evaluate_many, fit, predict

#: Test images are shifted by 0 to MAX_SHIFT pixels in each axis direction.
MAX_SHIFT = 4


def train_subset(ds: datamod.Dataset, n_train, seed: int) -> datamod.Dataset:
    """``n_train`` class-balanced training images, or all of them (None or too many)."""
    if n_train is None or n_train >= ds.n_train:
        return ds
    return ds.subset(n_train, seed)


def test_part(ds: datamod.Dataset, n_test) -> tuple[torch.Tensor, torch.Tensor]:
    """``n_test`` class-balanced test images (always the same ones), or all of them."""
    if n_test is None or n_test >= ds.n_test:
        return ds.X_test, ds.y_test
    idx = datamod.balanced_indices(ds.y_test, n_test, seed=0)
    return ds.X_test[idx], ds.y_test[idx]


def monitor_part(X: torch.Tensor, y: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed class-balanced part of ``(X, y)`` of at most ``n`` images, for learning curves."""
    if n >= len(y):
        return X, y
    idx = datamod.balanced_indices(y, n, seed=0)
    return X[idx], y[idx]


def accuracies(model, sets: list[torch.Tensor], y: torch.Tensor) -> list[float]:
    """Accuracy of ``model`` on each of ``sets`` (same labels ``y``), in one pass."""
    return evaluate_many(model, sets, y)


def shift_accuracy(model, X: torch.Tensor, y: torch.Tensor, background: float,
                   max_shift: int = MAX_SHIFT) -> list[dict]:
    """Test accuracy on images shifted by 0 to ``max_shift`` pixels in each axis direction
    (zero fill): one :class:`nnbook.schema.ShiftPoint` per shift, index = shift."""
    directions = list(shifts.AXES)
    sets = [X] + [shifts.shift(X, p, d, "zero", background)
                  for p in range(1, max_shift + 1) for d in directions]
    accs = accuracies(model, sets, y)
    points = [shift_point(0, dict.fromkeys(directions, accs[0]))]
    for p in range(1, max_shift + 1):
        k = 1 + (p - 1) * len(directions)
        points.append(shift_point(p, dict(zip(directions, accs[k:k + len(directions)],
                                              strict=True))))
    return points


def shift_point(shift: int, by_direction: dict[str, float]) -> dict:
    """A :class:`nnbook.schema.ShiftPoint`: mean, min and max over the directions."""
    values = list(by_direction.values())
    return {"shift": shift, "mean": sum(values) / len(values), "min": min(values),
            "max": max(values), "directions": dict(by_direction)}


class LearningCurve:
    """Accuracy on fixed monitor images of the training and the test set, measured (in
    eval mode, so dropout is off) before training and ``per_epoch`` times per epoch."""

    def __init__(self, train: tuple, test: tuple, steps_per_epoch: int, num_epochs: int,
                 per_epoch: int):
        self.train, self.test = train, test
        self.steps_per_epoch = steps_per_epoch
        # the steps after which to measure: per_epoch evenly spaced points in every epoch
        self.at = {round(steps_per_epoch * i / per_epoch)
                   for i in range(1, num_epochs * per_epoch + 1)}
        self.points: list[dict] = []

    def measure(self, step: int, model) -> None:
        self.points.append({"step": step, "epoch": round(step / self.steps_per_epoch, 4),
                            "train_acc": evaluate(model, *self.train)["accuracy"],
                            "test_acc": evaluate(model, *self.test)["accuracy"]})

    def __call__(self, step: int, model) -> None:  # fit's callback, after every step
        if step in self.at:
            self.measure(step, model)


def classify(config: dict, ds: datamod.Dataset, model, desc: str = "training") -> dict:
    """Train ``model`` on the configured part of ``ds``; learning curve, final training and
    test accuracy (eval mode), accuracy on shifted test images, confusion matrix."""
    train = train_subset(ds, config["n_train"], config["seed"])
    X_test, y_test = test_part(ds, config["n_test"])
    tc = TrainConfig.from_dict(config)
    steps_per_epoch = -(-train.n_train // tc.batch_size)
    curve = LearningCurve(monitor_part(train.X_train, train.y_train, config["monitor"]),
                          monitor_part(X_test, y_test, config["monitor"]), steps_per_epoch,
                          tc.num_epochs, config["evals_per_epoch"])
    curve.measure(0, model)
    history = fit(model, train.X_train, train.y_train, tc, callback=curve, desc=desc)
    logits = predict(model, X_test)
    pred = logits.argmax(1)
    confusion = torch.zeros(10, 10, dtype=torch.long)
    confusion.index_put_((y_test, pred), torch.ones_like(pred), accumulate=True)
    return {
        "metrics": {"test_acc": (pred == y_test).float().mean().item(),
                    "train_acc": evaluate(model, train.X_train, train.y_train)["accuracy"],
                    "shift_acc": shift_accuracy(model, X_test, y_test, ds.background),
                    "parameters": count_parameters(model)},
        "train_seconds": round(sum(h["seconds"] for h in history), 2),
        "history": history, "curve": curve.points,
        "monitor": {"train": len(curve.train[1]), "test": len(curve.test[1])},
        "n_train": train.n_train, "n_test": len(y_test),
        "confusion": confusion.tolist(),
        "model": model,
    }
