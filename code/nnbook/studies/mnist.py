"""Two-layer networks on MNIST: accuracy and shifts, less data, and the normalised loss.

Explained in the chapters "MNIST with two-layer networks" and "Classification:
softmax and the negative log-likelihood".
"""

from __future__ import annotations

from .. import data as datamod
from ..configspec import LOSSES
from ..errors import ConfigError
from ..models import MLP
from ..registry import register
from ..train import TrainConfig, evaluate, fit, set_seed
from .common import classify, test_part, train_subset

_MLP = dict(hidden=10, n_train=10000, n_test=None, num_epochs=20, batch_size=64, lr=1e-3,
            optimizer="adam", loss="nll", monitor=1000, evals_per_epoch=1, seed=0)


@register("mnist-mlp", chapter="MNIST with two-layer networks", data="mnist",
          description="784-hidden-10 ReLU network on MNIST; test accuracy and shifted test sets",
          build_model=lambda c: MLP([784, c["hidden"], 10]),
          # full: all 60,000 images for 10 epochs (9,380 steps, three times the quick
          # profile's 3,140; the lecture gives no epoch count for these networks)
          quick=_MLP, full=dict(_MLP, n_train=None, num_epochs=10),
          # a run takes seconds: ten seeds, so that no verdict rests on the noise of three
          seeds=(tuple(range(10)), tuple(range(10))))
def _mnist_mlp(config, ds):
    return classify(config, ds, MLP([784, config["hidden"], 10]),
                    desc=f"784-{config['hidden']}-10 seed {config['seed']}")


@register("mnist-overfit", chapter="MNIST with two-layer networks", data="mnist",
          description="784-32-10 network trained on 60000/10000/1000/100 images: "
                      "training and test accuracy per epoch (sizes larger than the data "
                      "are skipped; then the largest available size is added, flagged)",
          # quick: the lecture's sizes up to 10,000 (60,000 images for 30 epochs is the full
          # profile's); on the offline subset the 4,000 it has stand in for the larger ones
          quick=dict(sizes=[10000, 1000, 100], largest_available=True, hidden=32,
                     num_epochs=30, batch_size=64, lr=1e-3, optimizer="adam", loss="nll",
                     seed=0),
          full=dict(sizes=[60000, 10000, 1000, 100], largest_available=True, hidden=32,
                    num_epochs=40, batch_size=64, lr=1e-3, optimizer="adam", loss="nll",
                    seed=0))
def _mnist_overfit(config, ds):
    sizes = list(config["sizes"])
    if not sizes or any(not isinstance(n, int) or n < 1 for n in sizes):
        raise ConfigError(f"mnist-overfit: sizes must be positive integers, got {sizes}")
    skipped = [n for n in sizes if n > ds.n_train]
    todo = [(n, True) for n in sizes if n <= ds.n_train]
    if skipped and config["largest_available"] and ds.n_train not in sizes:
        todo.append((ds.n_train, False))  # stands in for the sizes the data cannot give
    if not todo:
        raise ConfigError(f"mnist-overfit: every size in {sizes} exceeds the {ds.n_train:,} "
                          "training images available; nothing to train (set "
                          "largest_available=true or smaller sizes)")
    runs = []
    for n, lecture_size in sorted(todo, reverse=True):
        train = train_subset(ds, n, config["seed"])
        set_seed(config["seed"])
        model = MLP([784, config["hidden"], 10])
        tc = TrainConfig.from_dict(dict(config, eval_train=True))
        history = fit(model, train.X_train, train.y_train, tc, ds.X_test, ds.y_test,
                      desc=f"{n} images")
        runs.append({"n_train": n, "lecture_size": lecture_size, "history": history,
                     "train_acc": history[-1]["train_acc"], "test_acc": history[-1]["test_acc"]})
    note = ""
    if skipped:
        note = (f"sizes {', '.join(f'{n:,}' for n in skipped)} exceed the {ds.n_train:,} "
                f"training images available ({ds.provenance['label']})")
    return {"metrics": {str(r["n_train"]): {"train_acc": r["train_acc"],
                                            "test_acc": r["test_acc"]} for r in runs},
            "runs": runs, "skipped_sizes": skipped, "note": note,
            "n_train": max(r["n_train"] for r in runs) if runs else 0, "n_test": ds.n_test}



@register("loss-compare", chapter="Classification and loss", data="mnist",
          description="negative log-likelihood vs the normalised loss -f.y/|f|, same network, "
                      "data, seed and budget (MNIST 784-32-10 and the two rings)",
          quick=dict(hidden=32, n_train=10000, n_test=None, num_epochs=20, batch_size=64,
                     lr=1e-3, optimizer="adam", seed=0),
          full=dict(hidden=32, n_train=None, n_test=None, num_epochs=10, batch_size=64,
                    lr=1e-3, optimizer="adam", seed=0),
          # ten paired seeds: "works equally well" is judged by an interval (findings.equivalent)
          seeds=(tuple(range(10)), tuple(range(10))))
def _loss_compare(config, ds):
    """One seed: the MNIST network and the rings network, each trained with both losses
    from the same initial weights and batch order."""
    s = config["seed"]
    train = train_subset(ds, config["n_train"], s)
    X_test, y_test = test_part(ds, config["n_test"])
    Xr, yr = datamod.rings(400, 0, 0.15)
    Xr_test, yr_test = datamod.rings(400, 1, 0.15)
    rows = []
    for loss in LOSSES:
        set_seed(s)
        model = MLP([784, config["hidden"], 10])
        tc = TrainConfig.from_dict(dict(config, loss=loss))
        hist = fit(model, train.X_train, train.y_train, tc, X_test, y_test,
                   desc=f"mnist {loss} seed {s}")
        rows.append({"task": "mnist", "loss": loss, "test_acc": hist[-1]["test_acc"],
                     "history": hist})
        set_seed(s)
        model = MLP([2, 20, 20, 2], "tanh")
        tc = TrainConfig(num_epochs=1000, batch_size=400, lr=0.5, optimizer="sgd",
                         momentum=0.9, loss=loss, seed=s)
        hist = fit(model, Xr, yr, tc, desc=f"rings {loss} seed {s}")
        rows.append({"task": "rings", "loss": loss,
                     "test_acc": evaluate(model, Xr_test, yr_test)["accuracy"],
                     "train_acc": evaluate(model, Xr, yr)["accuracy"], "history": hist[-1:]})
    return {"metrics": {f"{r['task']}-{r['loss']}": r["test_acc"] for r in rows},
            "rows": rows, "n_train": train.n_train, "n_test": len(y_test),
            "rings_data": {"label": "two rings (synthetic, nnbook.data.rings)",
                           "n_train": len(yr), "n_test": len(yr_test), "seeds": [0, 1]},
            "rings_config": {"lr": 0.5, "momentum": 0.9, "steps": 1000, "batch_size": 400,
                             "optimizer": "sgd", "hidden": [20, 20], "activation": "tanh"}}
