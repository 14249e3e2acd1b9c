"""The registry of the book's experiments, and the one entry point that runs them.

Each experiment is a function of a resolved config (and its data set) that
returns a plain result dict; it declares its ``quick`` and ``full`` configs side
by side, here. ``NNBOOK_PROFILE`` (``quick`` by default, or ``full`` = lecture
scale) picks one. :func:`run` loads a cached result when the key matches
(experiment, profile, resolved config, data fingerprint, package source, torch
version), else seeds, trains and stores it. The chapters, the command line
(``python -m nnbook run NAME``), the tests and the benchmarks all call
:func:`run`, so they all run the same code.
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import torch

from . import configspec
from . import data as datamod
from .cache import Cache, make_key, package_fingerprint
from .errors import ConfigError
from .models import CNN, MLP, DeepMLP, count_parameters
from .train import (
    TrainConfig,
    evaluate,
    fit,
    pick_device,
    precision_key,
    predict,
    set_seed,
)

PROFILES = ("quick", "full")
MAX_SHIFT = 4


def current_profile(profile: str | None = None) -> str:
    """The profile asked for, else ``$NNBOOK_PROFILE``, else ``quick``."""
    name = profile or os.environ.get("NNBOOK_PROFILE") or "quick"
    if name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r}: choose quick or full (NNBOOK_PROFILE)")
    return name


@dataclass(frozen=True)
class Experiment:
    name: str
    func: object
    quick: dict
    full: dict
    description: str
    chapter: str
    build_model: object = None  # config -> nn.Module, to reload cached weights
    data: str | None = None     # "mnist" / "fashion-mnist" / None (synthetic)

    def config(self, profile: str) -> dict:
        return dict(self.quick if profile == "quick" else self.full)


REGISTRY: dict[str, Experiment] = {}


def register(name, *, quick, full, description, chapter, data=None, build_model=None):
    """Decorator: add an experiment to the registry (both profiles side by side)."""
    if set(quick) != set(full):
        raise ValueError(f"{name}: quick and full configs must have the same keys")

    def wrap(func):
        REGISTRY[name] = Experiment(name, func, dict(quick), dict(full), description, chapter,
                                    build_model, data)
        return func

    return wrap


def get(name: str) -> Experiment:
    if name not in REGISTRY:
        raise ConfigError(f"unknown experiment {name!r}: run `python -m nnbook list` "
                          f"(known: {', '.join(sorted(REGISTRY))})")
    return REGISTRY[name]


class Result(dict):
    """A result dict; ``.model`` holds the trained model when one was asked for."""

    model = None


def resolve(name: str, profile: str | None = None, seed: int | None = None,
            **overrides) -> tuple[Experiment, str, dict]:
    """The experiment, profile and validated config that :func:`run` would use.

    Every override and then every key of the resolved config is checked against its
    kind in :mod:`nnbook.configspec` (``null`` only where a key allows it, no empty
    lists, nothing out of range); a bad value is a one-line :class:`ConfigError`.
    """
    exp = get(name)
    profile = current_profile(profile)
    config = exp.config(profile)
    for key, value in overrides.items():
        if key not in config:
            raise ConfigError(f"unknown setting {key!r} for experiment {name!r}: known settings "
                              f"are {', '.join(sorted(config))}")
        config[key] = configspec.validate(name, key, value, config[key])
    if seed is not None:
        config["seed"] = configspec.validate(name, "seed", seed, config.get("seed"))
    config = configspec.validate_config(name, config, exp.config(profile))
    TrainConfig.from_dict(config)  # validates epochs, batch size, lr, ...
    return exp, profile, config


def run(name: str, profile: str | None = None, seed: int | None = None, use_cache: bool = True,
        return_model: bool = False, cache_only: bool = False, **overrides) -> Result | None:
    """Run experiment ``name`` (or load its cached result) and return the result dict.

    ``overrides`` change single settings of the profile's config (e.g.
    ``hidden=32``); they become part of the cache key. With ``return_model``
    the trained model is attached as ``result.model``. With ``cache_only``
    nothing is trained: the cached result, or None.
    """
    exp, profile, config = resolve(name, profile, seed, **overrides)
    dataset = datamod.load(exp.data) if exp.data else None
    key = make_key({"experiment": name, "profile": profile, "config": config,
                    "data": dataset.provenance["sha256"] if dataset else None,
                    "package": package_fingerprint(), "torch": torch.__version__,
                    "precision": precision_key()})
    cache = Cache()
    want_weights = return_model and exp.build_model is not None
    with cache.lock(key):
        if use_cache:
            hit = cache.load(key, want_weights=want_weights)
            if hit is not None:
                result = Result(hit[0])
                result["cached"] = True
                if want_weights:
                    result.model = exp.build_model(config)
                    result.model.load_state_dict(hit[1])
                    result.model.eval()
                return result
        if cache_only:
            return None
        set_seed(config["seed"])
        device = pick_device()
        t0 = time.perf_counter()
        out = exp.func(config, dataset)
        seconds = time.perf_counter() - t0
        model = out.pop("model", None)
        result = {
            "experiment": name, "profile": profile, "config": config, "seed": config["seed"],
            "data": dataset.provenance if dataset else out.pop("data", {"source": "synthetic"}),
            "device": device.type, "threads": torch.get_num_threads(),
            "precision": precision_key(device),
            "torch": torch.__version__, "machine": platform.machine(),
            "seconds": round(seconds, 2), "peak_rss_mb": peak_rss_mb(),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": command(name, profile, config["seed"], overrides),
            **out,
        }
        state = model.state_dict() if (model is not None and exp.build_model) else None
        result = Result(cache.store(key, result, state))
        result["cached"] = False
        if return_model:
            result.model = model.eval() if model is not None else None
        return result


def peak_rss_mb() -> float | None:
    """Peak resident memory of this process so far, in MiB (an upper bound for the run)."""
    try:
        import resource
    except ImportError:  # not POSIX
        return None
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20, 1)


def command(name: str, profile: str, seed: int, overrides: dict) -> str:
    """The one command line that regenerates a result, ready to paste into a shell.

    Values are written as the command line's ``--set`` reads them (JSON: ``true``,
    ``null``, ``[100, 50]``; :func:`nnbook.configspec.format_value`) and every word is
    shell-quoted: ``--set 'sizes=[100, 50]'``.
    """
    words = ["python", "-m", "nnbook", "run", name, "--profile", profile, "--seed", str(seed)]
    for key, value in sorted(overrides.items()):
        words += ["--set", f"{key}={configspec.format_value(value)}"]
    return " ".join(shlex.quote(w) for w in words)


# ----------------------------------------------------------------------------- shared pieces

def _train_subset(ds: datamod.Dataset, n_train, seed: int) -> datamod.Dataset:
    """``n_train`` class-balanced training images, or all of them (None or too many)."""
    if n_train is None or n_train >= ds.n_train:
        return ds
    return ds.subset(n_train, seed)


def _test_part(ds: datamod.Dataset, n_test) -> tuple[torch.Tensor, torch.Tensor]:
    if n_test is None or n_test >= ds.n_test:
        return ds.X_test, ds.y_test
    idx = datamod.balanced_indices(ds.y_test, n_test, seed=0)
    return ds.X_test[idx], ds.y_test[idx]


def shift_accuracy(model, ds: datamod.Dataset, X, y, max_shift: int = MAX_SHIFT) -> dict:
    """Test accuracy on images shifted by 0..max_shift pixels in each direction.

    Returns ``{"0": acc, "1": {"right": .., "left": .., "down": .., "up": .., "mean": ..}, ...}``.
    """
    out = {"0": evaluate(model, X, y)["accuracy"]}
    for p in range(1, max_shift + 1):
        accs = {d: evaluate(model, datamod.shifted(X, p, d, ds.background), y)["accuracy"]
                for d in datamod.DIRECTIONS}
        accs["mean"] = sum(accs.values()) / len(datamod.DIRECTIONS)
        out[str(p)] = accs
    return out


def _classifier(config: dict, ds: datamod.Dataset, model) -> dict:
    """Train ``model`` on the configured part of ``ds``; test, shifts, confusion."""
    train = _train_subset(ds, config["n_train"], config["seed"])
    X_test, y_test = _test_part(ds, config["n_test"])
    history = fit(model, train.X_train, train.y_train, TrainConfig.from_dict(config),
                  X_test, y_test, desc=config.get("desc", "training"))
    logits = predict(model, X_test)
    pred = logits.argmax(1)
    confusion = torch.zeros(10, 10, dtype=torch.long)
    confusion.index_put_((y_test, pred), torch.ones_like(pred), accumulate=True)
    return {
        "metrics": {"test_acc": history[-1]["test_acc"], "train_acc": history[-1]["train_acc"],
                    "shift_acc": shift_accuracy(model, ds, X_test, y_test),
                    "parameters": count_parameters(model)},
        "train_seconds": round(sum(h["seconds"] for h in history), 2),
        "history": history,
        "n_train": train.n_train, "n_test": len(y_test),
        "confusion": confusion.tolist(),
        "model": model,
    }


# ----------------------------------------------------------------------------- experiments

RING_SNAPSHOTS = [50, 150, 250, 350, 500, 3000]


@register("rings", chapter="The two-ring toy problem",
          description="2-20-20-2 tanh network on two rings; decision regions after "
                      "50/150/250/350/500/3000 full-batch gradient-descent steps",
          quick=dict(n=400, noise=0.15, hidden=20, snapshots=RING_SNAPSHOTS, grid=61,
                     lr=0.05, optimizer="sgd", momentum=0.0, loss="nll", seed=0),
          full=dict(n=400, noise=0.15, hidden=20, snapshots=RING_SNAPSHOTS, grid=61,
                    lr=0.05, optimizer="sgd", momentum=0.0, loss="nll", seed=0))
def _rings(config, _data):
    X, y = datamod.rings(config["n"], config["seed"], config["noise"])
    X_test, y_test = datamod.rings(config["n"], config["seed"] + 1, config["noise"])
    model = MLP([2, config["hidden"], config["hidden"], 2], "tanh")
    steps = sorted(config["snapshots"])
    lim = 3.0
    axis = torch.linspace(-lim, lim, config["grid"])
    gx, gy = torch.meshgrid(axis, axis, indexing="xy")
    grid = torch.stack([gx.flatten(), gy.flatten()], 1)
    snaps = []

    def snapshot(step, m):
        if step in steps:
            prob = torch.softmax(predict(m, grid), 1)[:, 1].reshape(gx.shape)
            acc = evaluate(m, X, y, loss=config["loss"])["accuracy"]
            test_acc = evaluate(m, X_test, y_test, loss=config["loss"])["accuracy"]
            snaps.append({"step": step, "train_acc": acc, "test_acc": test_acc,
                          "prob": [[round(v, 4) for v in row] for row in prob.tolist()]})

    tc = TrainConfig(num_epochs=max(steps), batch_size=len(X), lr=config["lr"],
                     optimizer=config["optimizer"], momentum=config["momentum"],
                     loss=config["loss"], seed=config["seed"])
    history = fit(model, X, y, tc, callback=snapshot)
    return {"metrics": {"train_acc": snaps[-1]["train_acc"], "test_acc": snaps[-1]["test_acc"],
                        "final_loss": history[-1]["loss"]},
            "snapshots": snaps, "extent": [-lim, lim], "X": X.tolist(), "y": y.tolist(),
            "losses": [round(h["loss"], 5) for h in history],
            "data": {"source": "synthetic", "label": "two rings (nnbook.data.rings)",
                     "n_train": len(X), "n_test": len(X_test), "seed": config["seed"],
                     "test_seed": config["seed"] + 1}}


@register("mnist-mlp", chapter="MNIST with two-layer networks", data="mnist",
          description="784-hidden-10 ReLU network on MNIST; test accuracy and shifted test sets",
          build_model=lambda c: MLP([784, c["hidden"], 10]),
          quick=dict(hidden=10, n_train=10000, n_test=None, num_epochs=20, batch_size=64,
                     lr=1e-3, optimizer="adam", loss="nll", seed=0),
          full=dict(hidden=10, n_train=None, n_test=None, num_epochs=20, batch_size=64,
                    lr=1e-3, optimizer="adam", loss="nll", seed=0))
def _mnist_mlp(config, ds):
    return _classifier(config, ds, MLP([784, config["hidden"], 10]))


@register("mnist-overfit", chapter="MNIST with two-layer networks", data="mnist",
          description="784-32-10 network trained on 60000/10000/1000/100 images: "
                      "training and test accuracy per epoch (sizes larger than the data "
                      "are skipped; then the largest available size is added, flagged)",
          quick=dict(sizes=[60000, 10000, 1000, 100], largest_available=True, hidden=32,
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
        train = _train_subset(ds, n, config["seed"])
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


DEPTH_VARIANTS = ["plain", "plain-he", "residual"]


@register("depth", chapter="ResNet", data="mnist",
          description="plain (PyTorch's default init, and He init) vs residual MLPs of width 64 "
                      "and increasing depth, same data and budget (SGD): final training "
                      "loss/accuracy and per-layer gradient norms at init; diverged runs recorded",
          quick=dict(depths=[2, 5, 10, 20, 30], variants=DEPTH_VARIANTS, width=64, n_train=4000,
                     n_test=None, num_epochs=5, batch_size=64, lr=0.01, optimizer="sgd",
                     momentum=0.9, loss="nll", n_seeds=1, grad_batch=256, seed=0),
          full=dict(depths=[2, 5, 10, 20, 30], variants=DEPTH_VARIANTS, width=64, n_train=None,
                    n_test=None, num_epochs=10, batch_size=64, lr=0.01, optimizer="sgd",
                    momentum=0.9, loss="nll", n_seeds=3, grad_batch=256, seed=0))
def _depth(config, ds):
    """Each variant at each depth, trained from the same seed(s) with the same budget.

    ``plain``: PyTorch's default init; ``plain-he``: every ReLU layer He-initialised
    (normal, fan-in, zero bias); ``residual``: default init. A run whose loss becomes
    non-finite is kept as ``diverged`` (no loss/accuracy) instead of aborting the rest.
    """
    unknown = sorted(set(config["variants"]) - set(DEPTH_VARIANTS))
    depths = config["depths"]
    if unknown:
        raise ConfigError(f"depth: unknown variants {unknown}: choose from {DEPTH_VARIANTS}")
    if not depths or any(not isinstance(d, int) or d < 1 for d in depths):
        raise ConfigError(f"depth: depths must be positive integers, got {depths}")
    if not isinstance(config["n_seeds"], int) or config["n_seeds"] < 1:
        raise ConfigError(f"depth: n_seeds must be a positive integer, got {config['n_seeds']}")
    train = _train_subset(ds, config["n_train"], config["seed"])
    X_test, y_test = _test_part(ds, config["n_test"])
    Xg, yg = train.X_train[:config["grad_batch"]], train.y_train[:config["grad_batch"]]
    seeds = [config["seed"] + i for i in range(config["n_seeds"])]
    rows, grads = [], {}
    for seed in seeds:
        for variant in config["variants"]:
            for depth in depths:
                set_seed(seed)
                model = DeepMLP(784, config["width"], depth, 10, residual=variant == "residual")
                if variant == "plain-he":
                    for lin in [model.inp[0]] + [blk.linear for blk in model.blocks]:
                        torch.nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
                        torch.nn.init.zeros_(lin.bias)
                if seed == seeds[0] and depth == max(depths):
                    grads[variant] = layer_gradient_norms(model, Xg, yg)
                row = {"variant": variant, "depth": depth, "seed": seed, "diverged": False}
                try:
                    history = fit(model, train.X_train, train.y_train,
                                  TrainConfig.from_dict(dict(config, seed=seed)), X_test, y_test,
                                  desc=f"{variant} depth {depth} seed {seed}")
                except ConfigError as err:
                    if "diverged" not in str(err):
                        raise
                    row.update(diverged=True, error=str(err), train_loss=None, train_acc=None,
                               test_acc=None, history=[])
                else:
                    final = evaluate(model, train.X_train, train.y_train)
                    row.update(train_loss=final["loss"], train_acc=final["accuracy"],
                               test_acc=history[-1]["test_acc"], history=history)
                rows.append(row)
    metrics = {}
    for variant in config["variants"]:
        for depth in depths:
            runs = [r for r in rows if r["variant"] == variant and r["depth"] == depth]
            ok = [r for r in runs if not r["diverged"]]
            metrics[f"{variant}-{depth}"] = {
                "train_loss": sum(r["train_loss"] for r in ok) / len(ok) if ok else None,
                "train_acc": sum(r["train_acc"] for r in ok) / len(ok) if ok else None,
                "test_acc": sum(r["test_acc"] for r in ok) / len(ok) if ok else None,
                "n_runs": len(runs), "n_diverged": len(runs) - len(ok)}
    return {"metrics": metrics, "rows": rows, "grad_norms": grads, "grad_depth": max(depths),
            "seeds": seeds, "n_train": train.n_train, "n_test": len(y_test)}


def layer_gradient_norms(model: DeepMLP, X: torch.Tensor, y: torch.Tensor) -> list[float]:
    """‖∂L/∂W‖ (Frobenius) of the weight matrix of each hidden block, input side first.

    For a residual block that is the inner matrix W_{k,2}. Measured on the
    batch ``(X, y)`` with the mean cross-entropy loss, leaving no gradients behind.
    """
    model.zero_grad()
    torch.nn.functional.cross_entropy(model(X), y).backward()
    norms = []
    for blk in model.blocks:
        w = blk.inner.weight if hasattr(blk, "inner") else blk.linear.weight
        norms.append(w.grad.norm().item())
    model.zero_grad()
    return norms


@register("gradient-descent", chapter="Neural networks",
          description="full-batch gradient descent, gradients by NumPy backpropagation (no "
                      "autograd): a 1-16-16-1 tanh network fitted to noisy samples of sin(x), "
                      "snapshots of the fit, and a learning-rate sweep (the same in both profiles)",
          quick=dict(n=30, noise=0.1, widths=[1, 16, 16, 1], activation="tanh", lr=0.1,
                     steps=2000, snapshots=[0, 10, 50, 200, 2000], lrs=[0.01, 0.1, 0.5, 1.0],
                     seed=0),
          full=dict(n=30, noise=0.1, widths=[1, 16, 16, 1], activation="tanh", lr=0.1,
                    steps=2000, snapshots=[0, 10, 50, 200, 2000], lrs=[0.01, 0.1, 0.5, 1.0],
                    seed=0))
def _gradient_descent(config, _data):
    """Fit y = sin(x) + noise on [-3, 3] with θ ← θ - lr ∇L, L the mean of ½(f_L(x_i) - y_i)²."""
    import numpy as np

    from . import backprop

    if not isinstance(config["n"], int) or config["n"] < 2:
        raise ConfigError(f"gradient-descent: n must be an integer >= 2, got {config['n']!r}")
    rng = np.random.default_rng(config["seed"])
    X = np.sort(rng.uniform(-3.0, 3.0, size=(config["n"], 1)), axis=0)
    Y = np.sin(X) + config["noise"] * rng.standard_normal(X.shape)
    grid = np.linspace(-3.5, 3.5, 141)[:, None]

    def clean(values):
        return [float(v) if np.isfinite(v) else None for v in values]

    def train(lr, snapshots=()):
        net = backprop.network(config["widths"], config["activation"], "identity",
                               config["seed"])
        return backprop.gradient_descent(net, X, Y, lr, config["steps"], "mse", snapshots, grid)

    main = train(config["lr"], config["snapshots"])
    sweep = []
    for lr in config["lrs"]:
        out = main if lr == config["lr"] else train(lr)
        sweep.append({"lr": lr, "loss": clean(out["loss"]), "diverged": out["diverged"],
                      "steps_run": len(out["loss"]) - 1})
    return {"metrics": {"initial_loss": main["loss"][0], "final_loss": main["loss"][-1],
                        "diverged": main["diverged"],
                        "sweep_final_loss": {str(s["lr"]): s["loss"][-1] for s in sweep}},
            "X": X.ravel().tolist(), "Y": Y.ravel().tolist(), "grid": grid.ravel().tolist(),
            "snapshots": {str(k): v.ravel().tolist() for k, v in main["snapshots"].items()},
            "loss": clean(main["loss"]), "sweep": sweep, "noise_floor": config["noise"] ** 2 / 2,
            "data": {"source": "synthetic", "label": "noisy sin(x) (seeded NumPy generator)",
                     "n_train": config["n"], "n_test": 0, "seed": config["seed"]}}


@register("loss-compare", chapter="Classification and loss", data="mnist",
          description="negative log-likelihood vs the normalised loss -f.y/|f|, same network, "
                      "data and budget (MNIST 784-32-10 and the two rings)",
          quick=dict(hidden=32, n_train=10000, n_test=None, num_epochs=20, batch_size=64,
                     lr=1e-3, optimizer="adam", seeds=[0, 1, 2], seed=0),
          full=dict(hidden=32, n_train=None, n_test=None, num_epochs=20, batch_size=64,
                    lr=1e-3, optimizer="adam", seeds=[0, 1, 2], seed=0))
def _loss_compare(config, ds):
    train = _train_subset(ds, config["n_train"], config["seed"])
    X_test, y_test = _test_part(ds, config["n_test"])
    Xr, yr = datamod.rings(400, 0, 0.15)
    Xr_test, yr_test = datamod.rings(400, 1, 0.15)
    rows = []
    for loss in ("nll", "normalised"):
        for s in config["seeds"]:
            set_seed(s)
            model = MLP([784, config["hidden"], 10])
            tc = TrainConfig.from_dict(dict(config, loss=loss, seed=s))
            hist = fit(model, train.X_train, train.y_train, tc, X_test, y_test,
                       desc=f"mnist {loss} seed {s}")
            rows.append({"task": "mnist", "loss": loss, "seed": s,
                         "test_acc": hist[-1]["test_acc"], "history": hist})
            set_seed(s)
            model = MLP([2, 20, 20, 2], "tanh")
            tc = TrainConfig(num_epochs=1000, batch_size=400, lr=0.5, optimizer="sgd",
                             momentum=0.9, loss=loss, seed=s)
            hist = fit(model, Xr, yr, tc, desc=f"rings {loss} seed {s}")
            rows.append({"task": "rings", "loss": loss, "seed": s,
                         "test_acc": evaluate(model, Xr_test, yr_test)["accuracy"],
                         "train_acc": evaluate(model, Xr, yr)["accuracy"],
                         "history": hist[-1:]})
    summary = {}
    for task in ("mnist", "rings"):
        for loss in ("nll", "normalised"):
            accs = torch.tensor([r["test_acc"] for r in rows
                                 if r["task"] == task and r["loss"] == loss])
            summary[f"{task}-{loss}"] = {"mean": accs.mean().item(), "std": accs.std().item(),
                                         "n_seeds": len(accs)}
    return {"metrics": summary, "rows": rows, "n_train": train.n_train, "n_test": len(y_test),
            "rings_data": {"label": "two rings (synthetic, nnbook.data.rings)",
                           "n_train": len(yr), "n_test": len(yr_test), "seeds": [0, 1]}}


# The lecture's recipe (pytorch/examples): Adadelta lr 1.0, StepLR gamma 0.7 per epoch,
# batch 64, 14 epochs on all the data. The quick profile keeps the recipe but trains
# 2 epochs on 4,000 images (all of the offline MNIST subset) and tests on 1,000, so
# that the three CNN runs of the chapters (MNIST, its extra-pooling variant and
# Fashion-MNIST), with 17 shifted evaluations each, stay within about two minutes
# on a 2-core CPU.
_CNN_QUICK = dict(extra_pool=False, n_train=4000, n_test=1000, num_epochs=2, batch_size=64,
                  lr=1.0, optimizer="adadelta", gamma=0.7, loss="nll", seed=0)
_CNN_FULL = dict(_CNN_QUICK, n_train=None, n_test=None, num_epochs=14)


@register("mnist-cnn", chapter="CNNs on MNIST", data="mnist",
          description="the lecture's CNN (pytorch/examples MNIST net) on MNIST, Adadelta, "
                      "StepLR 0.7; accuracy and shifted test sets",
          build_model=lambda c: CNN(extra_pool=c["extra_pool"]),
          quick=_CNN_QUICK, full=_CNN_FULL)
def _mnist_cnn(config, ds):
    return _classifier(config, ds, CNN(extra_pool=config["extra_pool"]))


@register("fashion-cnn", chapter="Fashion-MNIST", data="fashion-mnist",
          description="the same CNN on Fashion-MNIST; accuracy, shifted test sets, "
                      "confusion matrix",
          build_model=lambda c: CNN(extra_pool=c["extra_pool"]),
          quick=_CNN_QUICK, full=_CNN_FULL)
def _fashion_cnn(config, ds):
    return _classifier(config, ds, CNN(extra_pool=config["extra_pool"]))


def describe(name: str) -> dict:
    """Name, description, chapter and both configs of a registered experiment."""
    exp = get(name)
    return {"name": exp.name, "description": exp.description, "chapter": exp.chapter,
            "data": exp.data or "synthetic", "quick": exp.quick, "full": exp.full}
