"""Figures and comparison tables of the classification part: softmax, two rings, MNIST MLPs.

Every figure function returns a matplotlib figure; result figures take the
experiment's result dict and carry its provenance caption (profile, data,
sample counts, seed). The ``*_rows`` functions return ``(header, rows)`` for
:func:`nnbook.report.table`, with the lecture's value next to this build's.
Call :func:`nnbook.plots.use_style` first.

Explained in the chapters "Classification: softmax and the negative
log-likelihood", "The two-ring toy problem" and "MNIST with two-layer networks".
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from .. import losses
from ..errors import ConfigError
from ..lecture import CLAIMS, claim
from ..report import fmt_pct, provenance_cells
from . import PALETTE, history_curves, image_grid, provenance

RING_COLOURS = (PALETTE[0], PALETTE[1])


def captions(fig, results, y: float = -0.02) -> None:
    """Provenance lines under ``fig``, one per distinct result; ``results`` is a list, or a
    dict mapping a label (shown in front of its line) to a result."""
    if isinstance(results, dict):
        lines = [f"{label}: {provenance(r)}" for label, r in results.items()]
    else:
        lines = list(dict.fromkeys(provenance(r) for r in results))
    fig.text(0.5, y, "\n".join(lines), ha="center", va="top", fontsize=7, color="#444444")


def _need(result: dict, experiment: str) -> None:
    if result.get("experiment") != experiment:
        raise ConfigError(f"expected a result of experiment {experiment!r}, "
                          f"got {result.get('experiment')!r}")


# ----------------------------------------------------------------------------- softmax

def softmax_figure(f=None, scales=(0.5, 1.0, 3.0)):
    """Logits of one sample (left) and the softmax of ``c * f`` for a few scales ``c`` (right).

    Larger logits make the softmax more confident; the largest component
    always gets the largest probability, so the predicted class never changes.
    """
    f = np.array([1.2, -0.4, 0.3, 2.1, -1.5, 0.0, 0.8, -0.7, 1.6, -0.2]) if f is None else f
    f = np.asarray(f, dtype=float)
    if f.ndim != 1 or len(f) < 2:
        raise ConfigError("softmax_figure: f must be a vector of at least two logits")
    k = np.arange(len(f))
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.4))
    a1.bar(k, f, color=[PALETTE[1] if i == f.argmax() else "#999999" for i in k])
    a1.axhline(0, color="black", lw=0.8)
    a1.set_title("network output $f$ (logits)")
    a1.set_xlabel("class $j$")
    a1.set_xticks(k)
    width = 0.8 / len(scales)
    for i, c in enumerate(scales):
        p = losses.softmax(c * f)
        a2.bar(k + (i - (len(scales) - 1) / 2) * width, p, width, color=PALETTE[i % 8],
               label=f"softmax({c:g}·f)")
    a2.set_title("softmax probabilities $p(j)$ of $c \\cdot f$")
    a2.set_xlabel("class $j$")
    a2.set_xticks(k)
    a2.set_ylim(0, 1)
    a2.legend()
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- loss comparison

def loss_compare_figure(result: dict):
    """Test accuracy per epoch on MNIST for both losses (each seed thin, mean thick), and
    the final test accuracies on MNIST and the two rings, one dot per seed."""
    _need(result, "loss-compare")
    labels = {"nll": "negative log-likelihood", "normalised": "normalised $-f^Ty/\\|f\\|$"}
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [3, 2]})
    for i, loss in enumerate(labels):
        rows = [r for r in result["rows"] if r["task"] == "mnist" and r["loss"] == loss]
        curves = np.array([[h["test_acc"] for h in r["history"]] for r in rows])
        epochs = np.arange(1, curves.shape[1] + 1)
        for c in curves:
            a1.plot(epochs, 100 * c, color=PALETTE[i], lw=0.7, alpha=0.5)
        a1.plot(epochs, 100 * curves.mean(0), color=PALETTE[i], lw=2, label=labels[loss])
    a1.set_xlabel("epoch")
    a1.xaxis.set_major_locator(MaxNLocator(integer=True))
    a1.set_ylabel("MNIST test accuracy (%)")
    a1.set_title("MNIST, 784-32-10 network")
    a1.legend()
    for t, task in enumerate(("mnist", "rings")):
        for i, loss in enumerate(labels):
            accs = [100 * r["test_acc"] for r in result["rows"]
                    if r["task"] == task and r["loss"] == loss]
            x = t + (i - 0.5) * 0.3
            a2.scatter(np.full(len(accs), x), accs, color=PALETTE[i], s=25, zorder=3)
            a2.hlines(np.mean(accs), x - 0.1, x + 0.1, color=PALETTE[i], lw=2)
    a2.set_xticks([0, 1], ["MNIST", "two rings"])
    a2.set_xlim(-0.6, 1.6)
    a2.set_ylabel("final test accuracy (%)")
    a2.set_title("each dot one seed, bar the mean")
    fig.tight_layout()
    captions(fig, [result])
    return fig


def loss_compare_rows(result: dict) -> tuple[list[str], list[list]]:
    """Mean (± standard deviation over seeds) test accuracy per task and loss."""
    _need(result, "loss-compare")
    header = ["task", "loss", "test accuracy (mean ± sd)", "seeds", "lecture", "profile",
              "data", "samples"]
    rows = []
    for task in ("mnist", "rings"):
        for loss in ("nll", "normalised"):
            m = result["metrics"][f"{task}-{loss}"]
            if task == "mnist":
                prov = provenance_cells(result)
            else:
                rd = result["rings_data"]
                prov = [result["profile"], rd["label"],
                        f"{rd['n_train']:,} train / {rd['n_test']:,} test points"]
            rows.append(["MNIST" if task == "mnist" else "two rings",
                         "negative log-likelihood" if loss == "nll" else "normalised",
                         f"{100 * m['mean']:.1f} % ± {100 * m['std']:.1f}", m["n_seeds"],
                         "“works equally well”" if loss == "normalised" else "–", *prov])
    return header, rows


# ----------------------------------------------------------------------------- two rings

def _ring_points(ax, result, size=9):
    X, y = np.asarray(result["X"]), np.asarray(result["y"])
    for c in (0, 1):
        ax.scatter(X[y == c, 0], X[y == c, 1], s=size, color=RING_COLOURS[c],
                   edgecolor="black", linewidth=0.3, label=f"class {c}", zorder=3)


def rings_data_figure(result: dict):
    """The two-ring training data (the lecture's Figure 2)."""
    _need(result, "rings")
    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    _ring_points(ax, result, size=14)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    captions(fig, [result])
    return fig


def decision_regions(result: dict, ncols: int = 3):
    """The network's class-1 probability over the plane after each snapshot (one panel per
    snapshot; the 0.5 contour is the decision boundary), the training points on top."""
    _need(result, "rings")
    snaps = result["snapshots"]
    if not snaps:
        raise ConfigError("the rings result holds no snapshots")
    lo, hi = result["extent"]
    nrows = int(np.ceil(len(snaps) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.3 * ncols, 3.3 * nrows), squeeze=False,
                             sharex=True, sharey=True)
    for ax, s in zip(axes.flat, snaps, strict=False):
        prob = np.asarray(s["prob"])
        axis = np.linspace(lo, hi, prob.shape[0])
        im = ax.contourf(axis, axis, prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r",
                         alpha=0.5)
        ax.contour(axis, axis, prob, levels=[0.5], colors="black", linewidths=1.2)
        _ring_points(ax, result, size=6)
        ax.set_aspect("equal")
        ax.grid(False)
        ax.set_title(f"after {s['step']:,} iterations\ntraining accuracy "
                     f"{100 * s['train_acc']:.1f} %", fontsize=9)
    for ax in list(axes.flat)[len(snaps):]:
        ax.axis("off")
    fig.tight_layout()
    bar = fig.colorbar(im, ax=axes, shrink=0.6, pad=0.02)
    bar.set_label("p(class 1)")
    captions(fig, [result])
    return fig


def rings_rows(result: dict) -> tuple[list[str], list[list]]:
    """Training and test accuracy at each snapshot of the rings run."""
    _need(result, "rings")
    header = ["iterations", "training accuracy", "test accuracy"]
    rows = [[f"{s['step']:,}", fmt_pct(s["train_acc"]), fmt_pct(s.get("test_acc"))]
            for s in result["snapshots"]]
    return header, rows


# ----------------------------------------------------------------------------- MNIST, MLPs

def shift_curve(results: dict):
    """Test accuracy against shift (0 to 4 pixels): the mean over the four directions as a
    line, the range over directions shaded; ``results`` maps a label to a mnist-mlp
    result. The lecture's shifted numbers are drawn as crosses (network size not stated)."""
    if not results:
        raise ConfigError("shift_curve needs at least one result")
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for i, (label, r) in enumerate(results.items()):
        sa = r["metrics"]["shift_acc"]
        px = sorted(int(p) for p in sa)
        mean = [sa["0"] if p == 0 else sa[str(p)]["mean"] for p in px]
        lo = [sa["0"] if p == 0 else min(v for k, v in sa[str(p)].items() if k != "mean")
              for p in px]
        hi = [sa["0"] if p == 0 else max(v for k, v in sa[str(p)].items() if k != "mean")
              for p in px]
        ax.plot(px, 100 * np.array(mean), "o-", color=PALETTE[i], label=label)
        ax.fill_between(px, 100 * np.array(lo), 100 * np.array(hi), color=PALETTE[i], alpha=0.15)
    lect = [(p, claim(f"mnist-mlp-shift-{p}")) for p in (1, 2)]
    ax.scatter([p for p, _ in lect], [100 * v for _, v in lect], marker="x", s=70,
               color="black", zorder=4, label="lecture (network size not stated)")
    ax.set_xlabel("shift (pixels), mean over right, left, down, up")
    ax.set_ylabel("test accuracy (%)")
    ax.set_xticks(range(0, 5))
    ax.legend(fontsize=8)
    fig.tight_layout()
    captions(fig, results)
    return fig


def training_curves(results: dict):
    """Test (solid) and running training (dashed) accuracy per epoch; ``results`` maps a
    label to a classifier result (e.g. mnist-mlp)."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    history_curves({label: r["history"] for label, r in results.items()}, ax=ax)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    captions(fig, results)
    return fig


def data_gap_sentence(result: dict) -> str:
    """A sentence on why this build's accuracy may differ from the lecture's, from the
    result's data provenance (empty when the full training set was used)."""
    from ..data import COUNTS

    d = result.get("data", {})
    n = result.get("n_train", d.get("n_train", 0))
    if n >= COUNTS["train"]:
        return ""
    why = ("the offline MNIST subset has no more" if d.get("subset")
           else f"the {result.get('profile', '?')} profile's setting")
    return (f"This build's networks learn from {n:,} training images ({why}) instead of the "
            f"lecture's {COUNTS['train']:,}, and fewer examples give a less general "
            "classifier; the last section of this chapter measures how test accuracy "
            "falls with the number of training images.")


def active_fraction(model, X) -> np.ndarray:
    """For each hidden node of a 784-h-10 ReLU network, the fraction of the images ``X`` on
    which it is active (positive pre-activation); 0 marks a *dead* node."""
    import torch

    with torch.no_grad():
        pre = model.net[0](torch.as_tensor(X).flatten(1))
    return (pre > 0).float().mean(0).numpy()


def hidden_weights(model, result: dict | None = None, X=None):
    """The first layer's weights of a 784-h-10 network, one 28x28 image per hidden node
    (red positive, blue negative, each on its own symmetric scale). With images ``X``,
    each title also says on what fraction of them the node is active."""
    W = model.net[0].weight.detach().cpu().numpy()
    if W.shape[1] != 784:
        raise ConfigError(f"expected a first layer with 784 inputs, got {W.shape[1]}")
    titles = [f"node {i}" for i in range(len(W))]
    if X is not None:
        titles = [f"{t}: {'dead' if a == 0 else f'active {100 * a:.0f} %'}"
                  for t, a in zip(titles, active_fraction(model, X), strict=True)]
    fig = image_grid([w.reshape(28, 28) for w in W], titles=titles, ncols=min(len(W), 5),
                     size=1.7, symmetric=True)
    if result is not None:
        captions(fig, [result])
    return fig


def mlp_rows(r10: dict, r32: dict, overfit: dict | None = None) -> tuple[list[str], list[list]]:
    """The lecture's MNIST MLP numbers next to this build's (shifts: mean over directions);
    with an mnist-overfit result, a last row for the lecture's claim about data size."""
    header = ["network", "test set", "lecture", "this build", "profile", "data", "samples"]
    rows = []
    for name, r in (("784-10-10", r10), ("784-32-10", r32)):
        _need(r, "mnist-mlp")
        rows.append([name, "unshifted", fmt_pct(claim(f"mnist-mlp-{r['config']['hidden']}")),
                     fmt_pct(r["metrics"]["test_acc"]), *provenance_cells(r)])
    for p in (1, 2):
        for name, r in (("784-10-10", r10), ("784-32-10", r32)):
            rows.append([name, f"shifted {p} px (mean of 4 directions)",
                         fmt_pct(claim(f"mnist-mlp-shift-{p}")) + " (size not stated)",
                         fmt_pct(r["metrics"]["shift_acc"][str(p)]["mean"]),
                         *provenance_cells(r)])
    if overfit is not None:
        _need(overfit, "mnist-overfit")
        runs = sorted(overfit["runs"], key=lambda r: r["n_train"])
        gaps = " / ".join(f"{100 * (r['train_acc'] - r['test_acc']):.1f}" for r in runs)
        sizes = " / ".join(f"{r['n_train']:,}" for r in runs)
        prov = provenance_cells(overfit)
        rows.append([f"784-{overfit['config']['hidden']}-10", f"trained on {sizes} images",
                     CLAIMS["less-data-overfits"]["what"],
                     f"train − test gap {gaps} points", prov[0], prov[1],
                     f"{sizes} train / {overfit['n_test']:,} test"])
    return header, rows


def _overfit_panels(result: dict) -> list[tuple]:
    """``(n_train, run or None, lecture_size)`` per panel, largest first."""
    panels = [(n, None, True) for n in result["skipped_sizes"]]
    panels += [(r["n_train"], r, r.get("lecture_size", True)) for r in result["runs"]]
    return sorted(panels, key=lambda t: -t[0])


def overfit_panels(result: dict):
    """Training (dashed) and test (solid) accuracy against epoch, one panel per training-set
    size (the lecture's four panels); a size the data cannot give is an empty panel that
    says so, and a stand-in size that is not the lecture's is marked."""
    _need(result, "mnist-overfit")
    panels = _overfit_panels(result)
    fig, axes = plt.subplots(1, len(panels), figsize=(2.7 * len(panels), 3.2), sharey=True,
                             squeeze=False)
    avail = max((r["n_train"] for r in result["runs"]), default=0)
    for ax, (n, run, lecture_size) in zip(axes[0], panels, strict=True):
        if run is None:
            ax.text(0.5, 0.5, f"{n:,} images:\nnot available\n(the data has\n{avail:,} "
                    "training images)", ha="center", va="center", transform=ax.transAxes,
                    fontsize=9, color="#666666")
            ax.set_title(f"{n:,} training images", fontsize=9, color="#666666")
            ax.set_xticks([])
            ax.grid(False)
            continue
        ep = [h["epoch"] for h in run["history"]]
        ax.plot(ep, [100 * h["train_acc"] for h in run["history"]], "--", color=PALETTE[1],
                label="training")
        ax.plot(ep, [100 * h["test_acc"] for h in run["history"]], "-", color=PALETTE[0],
                label="test")
        title = f"{n:,} training images"
        if not lecture_size:
            title += "\n(all available; not a lecture size)"
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("epoch")
    axes[0][0].set_ylabel("accuracy (%)")
    axes[0][0].set_ylim(0, 102)
    next(ax for ax, (_, run, _) in zip(axes[0], panels, strict=True) if run).legend(fontsize=8)
    fig.tight_layout()
    captions(fig, [result])
    return fig


def overfit_rows(result: dict) -> tuple[list[str], list[list]]:
    """Final training and test accuracy (and their gap) per training-set size."""
    _need(result, "mnist-overfit")
    header = ["training images", "training accuracy", "test accuracy", "gap (points)",
              "profile", "data", "test images"]
    rows = []
    prov = provenance_cells(result)
    for n, run, lecture_size in _overfit_panels(result):
        label = f"{n:,}" + ("" if lecture_size else " (all available)")
        if run is None:
            rows.append([label, "not available", "not available", "–", prov[0], prov[1], "–"])
            continue
        gap = 100 * (run["train_acc"] - run["test_acc"])
        rows.append([label, fmt_pct(run["train_acc"]), fmt_pct(run["test_acc"]), f"{gap:.1f}",
                     prov[0], prov[1], f"{result['n_test']:,}"])
    return header, rows


def loss_compare_summary(result: dict) -> dict:
    """Numbers for the prose (percentages) and a verdict on MNIST: the normalised loss is
    within the seed-to-seed spread of the NLL (difference at most twice the larger standard
    deviation), measurably behind it, or measurably ahead of it."""
    _need(result, "loss-compare")
    m = result["metrics"]
    nll, norm = m["mnist-nll"], m["mnist-normalised"]
    diff = 100 * (nll["mean"] - norm["mean"])
    sd = 100 * max(nll["std"], norm["std"])
    if abs(diff) <= 2 * sd:
        verdict = "within the seed-to-seed spread of"
    else:
        verdict = "measurably behind" if diff > 0 else "measurably ahead of"
    return {"mnist_nll": 100 * nll["mean"], "mnist_norm": 100 * norm["mean"],
            "mnist_diff": abs(diff), "mnist_sd": sd, "verdict": verdict,
            "rings_nll": 100 * m["rings-nll"]["mean"],
            "rings_norm": 100 * m["rings-normalised"]["mean"], "n_seeds": nll["n_seeds"]}
