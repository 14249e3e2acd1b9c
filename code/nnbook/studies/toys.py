"""The small synthetic experiments: gradient descent on a sine, and the two rings.

Explained in the chapters "Neural networks" and "The two-ring toy problem".
"""

from __future__ import annotations

import torch

from .. import data as datamod
from ..errors import ConfigError
from ..models import MLP
from ..registry import register
from ..train import TrainConfig, evaluate, fit, predict

RING_SNAPSHOTS = [50, 150, 250, 350, 500, 3000]


@register("rings", chapter="The two-ring toy problem",
          description="2-20-20-2 tanh network on two rings; decision regions after "
                      "50/150/250/350/500/3000 full-batch gradient-descent steps",
          quick=dict(n=400, noise=0.15, hidden=20, snapshots=RING_SNAPSHOTS, grid=61,
                     lr=0.05, optimizer="sgd", momentum=0.0, loss="nll", seed=0),
          full=dict(n=400, noise=0.15, hidden=20, snapshots=RING_SNAPSHOTS, grid=61,
                    lr=0.05, optimizer="sgd", momentum=0.0, loss="nll", seed=0),
          seeds=(tuple(range(10)), tuple(range(10))))  # seconds each: ten seeds
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
            "arithmetic": history[-1]["precision"],
            "data": {"source": "synthetic", "label": "two rings (nnbook.data.rings)",
                     "n_train": len(X), "n_test": len(X_test), "seed": config["seed"],
                     "test_seed": config["seed"] + 1}}



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

    from .. import backprop

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
            "arithmetic": "float64 (NumPy)",
            "data": {"source": "synthetic", "label": "noisy sin(x) (seeded NumPy generator)",
                     "n_train": config["n"], "n_test": 0, "seed": config["seed"]}}
