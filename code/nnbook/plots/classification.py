"""Figures of the classification part: softmax, the two losses, two rings, MNIST with MLPs.

Each function draws what :mod:`nnbook.present.classification` hands it (logits,
per-seed series, decision grids, weights); where several seeds were run, a line
is their mean and the shaded band their range. Accuracies are drawn in percent.
No tables, sentences or verdicts live here. Call :func:`nnbook.plots.use_style`
first. Learning curves and accuracy against shift are drawn by
:mod:`nnbook.plots.cnn` (``learning_curves``, ``shift_curves``).

Explained in the chapters "Classification: softmax and the negative
log-likelihood", "The two-ring toy problem" and "MNIST with two-layer networks".
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from .. import losses
from ..errors import ConfigError
from . import PALETTE, image_grid
from .cnn import band, learning_curves, notes, shift_curves

RING_COLOURS = (PALETTE[0], PALETTE[1])


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
        a2.bar(k + (i - (len(scales) - 1) / 2) * width, 100 * p, width, color=PALETTE[i % 8],
               label=f"softmax({c:g}·f)")
    a2.set_title("softmax probabilities $p(j)$ of $c \\cdot f$")
    a2.set_xlabel("class $j$")
    a2.set_ylabel("probability (%)")
    a2.set_xticks(k)
    a2.set_ylim(0, 100)
    a2.legend()
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- loss comparison

def loss_compare(epochs, curves: list[tuple], finals: list[tuple], provenance: list[str] = ()):
    """Left: MNIST test accuracy per epoch for each loss (``curves``: ``(label,
    per_seed)``; mean line, seeds' range as a band). Right: final test accuracy per task
    and loss, one dot per seed and a bar at the mean (``finals``: ``(task, [(label,
    values), ...])``, the losses in the order of ``curves``)."""
    if not curves or not finals:
        raise ConfigError("loss_compare needs curves and final accuracies")
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [3, 2]})
    for i, (label, per_seed) in enumerate(curves):
        band(a1, epochs, per_seed, PALETTE[i], label, marker="o")
    a1.set_xlabel("epoch")
    a1.xaxis.set_major_locator(MaxNLocator(integer=True))
    a1.set_ylabel("MNIST test accuracy (%)")
    a1.set_title("MNIST, 784-32-10 network", fontsize=10)
    a1.legend(fontsize=8, loc="lower right")
    for t, (_, by_loss) in enumerate(finals):
        for i, (_, values) in enumerate(by_loss):
            accs = 100 * np.asarray(values, dtype=float)
            x = t + (i - (len(by_loss) - 1) / 2) * 0.3
            a2.scatter(np.full(len(accs), x), accs, color=PALETTE[i], s=25, zorder=3)
            a2.hlines(accs.mean(), x - 0.1, x + 0.1, color=PALETTE[i], lw=2)
    a2.set_xticks(range(len(finals)), [task for task, _ in finals])
    a2.set_xlim(-0.6, len(finals) - 0.4)
    a2.set_ylabel("final test accuracy (%)")
    a2.set_title("each dot one seed, bar the mean", fontsize=10)
    fig.tight_layout()
    notes(fig, provenance)
    return fig


def _per_seed(histories, key: str) -> list[list]:
    """One row per seed: ``key`` of every entry of that seed's history."""
    return [[entry[key] for entry in history] for history in histories]


def _epochs(histories) -> tuple[list, list, list]:
    """Epochs, training and test accuracy per seed, from every seed's history (entries with
    ``epoch``, ``train_acc`` and ``test_acc``)."""
    return ([e["epoch"] for e in histories[0]], _per_seed(histories, "train_acc"),
            _per_seed(histories, "test_acc"))


def loss_histories(histories: dict, finals: list[tuple], provenance: list[str] = ()):
    """:func:`loss_compare` from every seed's MNIST history per loss (``histories``: loss
    label -> one list of ``{"epoch": ..., "test_acc": ...}`` per seed)."""
    epochs = [e["epoch"] for e in next(iter(histories.values()))[0]]
    curves = [(label, _per_seed(hs, "test_acc")) for label, hs in histories.items()]
    return loss_compare(epochs, curves, finals, provenance)


# ----------------------------------------------------------------------------- two rings

def _ring_points(ax, X, y, size=9):
    X, y = np.asarray(X), np.asarray(y)
    for c in (0, 1):
        ax.scatter(X[y == c, 0], X[y == c, 1], s=size, color=RING_COLOURS[c],
                   edgecolor="black", linewidth=0.3, label=f"class {c}", zorder=3)


def rings_data(X, y, provenance: list[str] = ()):
    """The two-ring training points, coloured by class (the lecture's Figure 2)."""
    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    _ring_points(ax, X, y, size=14)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    notes(fig, provenance)
    return fig


def decision_regions(snapshots: list[tuple], X, y, extent, provenance: list[str] = (),
                     ncols: int = 3):
    """The network's class-1 probability over the plane at each snapshot (``(step, prob
    grid, training accuracy)``; the 0.5 contour is the decision boundary), the training
    points on top."""
    if not snapshots:
        raise ConfigError("decision_regions needs at least one snapshot")
    lo, hi = extent
    nrows = int(np.ceil(len(snapshots) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.3 * ncols, 3.3 * nrows), squeeze=False,
                             sharex=True, sharey=True)
    im = None
    for ax, (step, prob, acc) in zip(axes.flat, snapshots, strict=False):
        prob = np.asarray(prob)
        axis = np.linspace(lo, hi, prob.shape[0])
        im = ax.contourf(axis, axis, 100 * prob, levels=np.linspace(0, 100, 11), cmap="RdBu_r",
                         alpha=0.5)
        ax.contour(axis, axis, prob, levels=[0.5], colors="black", linewidths=1.2)
        _ring_points(ax, X, y, size=6)
        ax.set_aspect("equal")
        ax.grid(False)
        ax.set_title(f"after {step:,} iterations\ntraining accuracy {100 * acc:.1f} %",
                     fontsize=9)
    for ax in list(axes.flat)[len(snapshots):]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("$x_1$")
    for ax in axes[:, 0]:
        ax.set_ylabel("$x_2$")
    handles, _ = axes.flat[0].get_legend_handles_labels()
    handles.append(Line2D([], [], color="black", linewidth=1.2,
                          label="decision boundary, p(class 1) = 50 %"))
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.25 / (3.3 * nrows)))
    fig.legend(handles=handles, loc="upper center", ncol=3, fontsize=8, frameon=False,
               markerscale=2,
               bbox_to_anchor=(0.5, 1.0))
    bar = fig.colorbar(im, ax=axes, shrink=0.6, pad=0.02)
    bar.set_label("p(class 1) (%)")
    notes(fig, provenance)
    return fig


def rings_progress(losses_per_seed, steps, train_per_seed, test_per_seed,
                   provenance: list[str] = ()):
    """Left: the training loss after every iteration (mean over seeds, band their range;
    log scales). Right: training and test accuracy at the snapshot ``steps``."""
    L = np.asarray(losses_per_seed, dtype=float)
    it = np.arange(1, L.shape[1] + 1)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6))
    a1.plot(it, L.mean(0), color=PALETTE[0], label="training loss")
    if len(L) > 1:
        a1.fill_between(it, L.min(0), L.max(0), color=PALETTE[0], alpha=0.2, lw=0)
    a1.set_xscale("log")
    a1.set_yscale("log")
    a1.set_xlabel("iteration")
    a1.set_ylabel("loss $\\mathcal{L}$ (mean over the points)")
    for s in steps:
        a1.axvline(s, color="#999999", lw=0.6, ls=":")
    band(a2, steps, test_per_seed, PALETTE[0], "test points", marker="o")
    band(a2, steps, train_per_seed, PALETTE[1], "training points", marker="s", ls="--")
    a2.axhline(50, color="#777777", lw=0.8, ls=":", label="guessing (50 %)")
    a2.set_xscale("log")
    a2.set_xticks(list(steps), [f"{s:,}" for s in steps])
    a2.minorticks_off()
    a2.set_xlabel("iteration")
    a2.set_ylabel("accuracy (%)")
    a2.set_ylim(40, 101)
    a2.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    notes(fig, provenance)
    return fig


def rings_snapshots(losses_per_seed, snapshots_per_seed, provenance: list[str] = ()):
    """:func:`rings_progress` from every seed's snapshots (entries with ``step``,
    ``train_acc`` and ``test_acc``; the same steps on every seed)."""
    steps = [s["step"] for s in snapshots_per_seed[0]]
    return rings_progress(losses_per_seed, steps, _per_seed(snapshots_per_seed, "train_acc"),
                          _per_seed(snapshots_per_seed, "test_acc"), provenance)


# ----------------------------------------------------------------------------- MNIST, MLPs

def mlp_curves(series: list[tuple], provenance: list[str] = ()):
    """:func:`nnbook.plots.cnn.learning_curves` of two-layer networks from every seed's curve
    on the monitor images: ``series`` holds ``(label, curves)``, one curve per seed (entries
    with ``epoch``, ``train_acc`` and ``test_acc``)."""
    return learning_curves([(label, *_epochs(curves)) for label, curves in series],
                           "MNIST: accuracy during training (monitor images, evaluation mode)",
                           provenance)


def mlp_shifts(series: list[tuple], lecture: dict, provenance: list[str] = ()):
    """:func:`nnbook.plots.cnn.shift_curves` of two-layer networks: ``series`` holds ``(label,
    per_seed)``, per seed the mean accuracy over the four directions at shifts 0 to 4;
    ``lecture`` the lecture's accuracy by shift (its network's size is not stated)."""
    return shift_curves([(label, list(range(5)), per_seed) for label, per_seed in series],
                        [("lecture: 2-layer net (size not stated)", lecture, None)],
                        "MNIST: two-layer networks against shifted test digits", provenance)

def hidden_weights(W, titles=None, provenance: list[str] = ()):
    """The first layer's weights of a 784-h-10 network, one 28x28 image per hidden node
    (red positive, blue negative, each on its own symmetric scale)."""
    W = np.asarray(W)
    if W.ndim != 2 or W.shape[1] != 784:
        raise ConfigError(f"expected first-layer weights of shape h x 784, got {W.shape}")
    titles = [f"node {i}" for i in range(len(W))] if titles is None else titles
    fig = image_grid([w.reshape(28, 28) for w in W], titles=titles, ncols=min(len(W), 5),
                     size=1.7, symmetric=True)
    notes(fig, provenance)
    return fig


def hidden_activity(W, active, provenance: list[str] = ()):
    """:func:`hidden_weights`, each node titled with the fraction ``active`` of the images on
    which it is active ("dead": on none)."""
    titles = [f"node {i}: " + ("dead" if a == 0 else f"active {100 * a:.0f} %")
              for i, a in enumerate(active)]
    return hidden_weights(W, titles, provenance)


def overfit_panels(panels: list[tuple], provenance: list[str] = ()):
    """Training (dashed) and test (solid) accuracy against epoch, one panel per training-set
    size: ``panels`` holds ``(title, epochs, train_per_seed, test_per_seed)`` (mean line,
    seeds' range as a band). Only sizes that were trained get a panel."""
    if not panels:
        raise ConfigError("overfit_panels needs at least one panel")
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.4), sharey=True,
                             squeeze=False)
    for ax, (title, epochs, train, test) in zip(axes[0], panels, strict=True):
        band(ax, epochs, test, PALETTE[0], "test", marker="")
        band(ax, epochs, train, PALETTE[1], "training", marker="", ls="--")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0][0].set_ylabel("accuracy (%)")
    axes[0][0].set_ylim(0, 102)
    axes[0][0].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    notes(fig, provenance)
    return fig


def overfit_histories(panels: list[tuple], provenance: list[str] = ()):
    """:func:`overfit_panels` from ``(title, histories)`` per training-set size: every seed's
    history (entries with ``epoch``, ``train_acc`` and ``test_acc``)."""
    return overfit_panels([(title, *_epochs(hs)) for title, hs in panels], provenance)
