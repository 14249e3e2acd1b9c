"""Depth with and without skip connections: the experiment of the chapter "ResNet"."""

from __future__ import annotations

import torch

from ..configspec import DEPTH_VARIANTS
from ..errors import ConfigError, DivergedError
from ..models import DeepMLP
from ..registry import register
from ..train import TrainConfig, evaluate, fit, set_seed
from .common import test_part, train_subset


def fresh_network(variant: str, depth: int, width: int, seed: int) -> DeepMLP:
    """The network the experiment starts from for ``variant`` at ``depth``: ``plain`` and
    ``residual`` with PyTorch's default initialisation, ``plain-he`` He-initialised
    (normal, std sqrt(2 / fan-in), zero biases), all from ``seed``."""
    set_seed(seed)
    model = DeepMLP(784, width, depth, 10, residual=variant == "residual")
    if variant == "plain-he":
        for lin in [model.inp[0]] + [blk.linear for blk in model.blocks]:
            torch.nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
            torch.nn.init.zeros_(lin.bias)
    return model


@register("depth", chapter="ResNet", data="mnist",
          description="plain (PyTorch's default init, and He init) vs residual MLPs of width 64 "
                      "and increasing depth, same data, seed and budget (SGD): final training "
                      "loss/accuracy and per-layer gradient norms at init; diverged runs recorded",
          quick=dict(depths=[2, 5, 10, 20, 30], variants=list(DEPTH_VARIANTS), width=64,
                     n_train=4000, n_test=None, num_epochs=5, batch_size=64, lr=0.01,
                     optimizer="sgd", momentum=0.9, loss="nll", grad_batch=256, seed=0),
          # full: one epoch on all the training images, three times the quick profile's
          # steps (the lecture gives no recipe for this study; 15 networks a seed)
          full=dict(depths=[2, 5, 10, 20, 30], variants=list(DEPTH_VARIANTS), width=64,
                    n_train=None, n_test=None, num_epochs=1, batch_size=64, lr=0.01,
                    optimizer="sgd", momentum=0.9, loss="nll", grad_batch=256, seed=0))
def _depth(config, ds):
    """Each variant at each depth, trained from one seed with the same budget.

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
    seed = config["seed"]
    train = train_subset(ds, config["n_train"], seed)
    X_test, y_test = test_part(ds, config["n_test"])
    Xg, yg = train.X_train[:config["grad_batch"]], train.y_train[:config["grad_batch"]]
    rows, grads = [], {}
    for variant in config["variants"]:
        for depth in depths:
            model = fresh_network(variant, depth, config["width"], seed)
            if depth == max(depths):
                grads[variant] = layer_gradient_norms(model, Xg, yg)
            row = {"variant": variant, "depth": depth, "seed": seed, "diverged": False}
            try:
                history = fit(model, train.X_train, train.y_train,
                              TrainConfig.from_dict(config), X_test, y_test,
                              desc=f"{variant} depth {depth} seed {seed}")
            except DivergedError as err:
                row.update(diverged=True, error=str(err), train_loss=None, train_acc=None,
                           test_acc=None, history=[])
            else:
                final = evaluate(model, train.X_train, train.y_train)
                row.update(train_loss=final["loss"], train_acc=final["accuracy"],
                           test_acc=history[-1]["test_acc"], history=history)
            rows.append(row)
    metrics = {f"{r['variant']}-{r['depth']}": {k: r[k] for k in
                                                ("train_loss", "train_acc", "test_acc",
                                                 "diverged")} for r in rows}
    return {"metrics": metrics, "rows": rows, "grad_norms": grads, "grad_depth": max(depths),
            "n_train": train.n_train, "n_test": len(y_test)}


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
