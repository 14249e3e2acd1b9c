"""Figures of trained CNNs: learning curves, accuracy against shift, filters, channels,
confusion and the shift study. Accuracies are drawn in percent.

Each function draws what :mod:`nnbook.present.cnn` hands it (series of per-seed
values, weights, activations); where several seeds were run, a line is their
mean and the shaded band their range. Call :func:`nnbook.plots.use_style` first.

Explained in the chapters "CNNs on MNIST", "Fashion-MNIST", "Curing shift
sensitivity" and "Reproducing the lecture".
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from . import PALETTE, image_grid

MARKERS = ["o", "s", "^", "D", "v", "P"]


def notes(fig, lines, y: float = -0.02) -> None:
    """Provenance lines under ``fig`` (small grey text)."""
    lines = [line for line in lines if line]
    if lines:
        fig.text(0.5, y, "\n".join(lines), ha="center", va="top", fontsize=6.5,
                 color="#444444")


def band(ax, x, per_seed, colour, label, marker="o", ls="-", alpha=0.15):
    """Mean over seeds as a line, their range as a shaded band. ``per_seed``: one row
    of values per seed (fractions; drawn in percent)."""
    values = 100 * np.asarray(per_seed, dtype=float)
    mean = values.mean(0)
    ax.plot(x, mean, ls, marker=marker, ms=4, color=colour, label=label)
    if len(values) > 1:
        ax.fill_between(x, values.min(0), values.max(0), color=colour, alpha=alpha, lw=0)


def learning_curves(series: list[tuple], title: str, provenance: list[str] = ()):
    """Test (solid) and training (dashed) accuracy on the monitor images against epoch;
    ``series``: ``(label, epochs, train_per_seed, test_per_seed)``."""
    fig, ax = plt.subplots(figsize=(6.6, 3.8))
    for i, (label, epochs, train, test) in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        band(ax, epochs, test, colour, f"{label}: test", marker="o")
        band(ax, epochs, train, colour, f"{label}: training", marker="", ls="--", alpha=0.08)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7.5, loc="lower right")
    fig.tight_layout()
    notes(fig, provenance)
    return fig


def shift_curves(series: list[tuple], lecture: list[tuple] = (), title: str = "",
                 provenance: list[str] = (), xlabel: str | None = None):
    """Accuracy against shift: ``series`` is ``(label, shifts, per_seed)`` with, per seed,
    the mean over the four directions at each shift; ``lecture`` is ``(label, {shift:
    accuracy}, index of the series whose colour it takes, or None for grey)``."""
    fig, ax = plt.subplots(figsize=(6.8, 4.0))
    shown = set()
    for i, (label, shifts, per_seed) in enumerate(series):
        band(ax, shifts, per_seed, PALETTE[i % len(PALETTE)], label, MARKERS[i % 6])
        shown.update(shifts)
    for j, (label, points, which) in enumerate(lecture):
        xs = sorted(points)
        colour = "#777777" if which is None else PALETTE[which % len(PALETTE)]
        ax.plot(xs, [100 * points[s] for s in xs], ["s", "D", "^", "v"][j % 4] + "--",
                mfc="white", ms=7, mew=1.5, color=colour, lw=0.9, label=label)
    ax.set_xlabel(xlabel or "shift of the test images (pixels; mean of right, left, down, up)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_xticks(sorted(shown))
    ax.set_ylim(top=100)
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7.5, loc="lower left")
    fig.tight_layout()
    notes(fig, provenance)
    return fig


def filters(before, after, provenance: list[str] = ()):
    """The 3×3 kernels of the first convolution layer at initialisation (top) and after
    training (bottom), on one shared colour scale (red > 0, blue < 0)."""
    before, after = np.asarray(before), np.asarray(after)
    n = len(after)
    ncols = min(16, n)
    rows = int(np.ceil(n / ncols))
    m = float(max(np.abs(before).max(), np.abs(after).max())) or 1.0
    fig, axes = plt.subplots(2 * rows, ncols, figsize=(0.62 * ncols, 0.72 * rows * 2 + 0.7),
                             squeeze=False)
    for block, (weights, label) in enumerate(((before, "at initialisation"),
                                              (after, "after training"))):
        for k, ax in enumerate(axes[block * rows:(block + 1) * rows].flat):
            ax.axis("off")
            if k < n:
                ax.imshow(weights[k], cmap="RdBu_r", vmin=-m, vmax=m)
        axes[block * rows, 0].set_title(label, fontsize=8, loc="left", x=0)
    fig.suptitle("first-layer kernels, one colour scale (red > 0, blue < 0)", fontsize=9)
    fig.tight_layout()
    notes(fig, provenance)
    return fig


def channel_maps(maps, title: str, provenance: list[str] = (), ncols: int = 8):
    """The channels of one layer for one image (after the ReLU; white = large)."""
    fig = image_grid(maps, titles=[str(i) for i in range(len(maps))], ncols=ncols, cmap="gray",
                     size=0.85, suptitle=title)
    notes(fig, provenance)
    return fig


def confusion(percent, classes, provenance: list[str] = ()):
    """A confusion matrix given in percent of each true class (rows)."""
    P = np.asarray(percent, dtype=float)
    fig, ax = plt.subplots(figsize=(7.2, 6.2))
    ax.imshow(P, cmap="Blues", vmin=0, vmax=100)
    ax.grid(False)
    for (i, j), v in np.ndenumerate(P):
        if v >= 0.5:
            ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=7.5,
                    color="white" if v > 60 else "black")
    ax.set_xticks(range(len(classes)))
    ax.set_xticklabels(classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(classes)))
    ax.set_yticklabels(classes, fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title("confusion matrix (% of each true class, all seeds pooled)", fontsize=10)
    notes(fig, provenance)
    return fig


def class_samples(images, labels, classes, per_class: int = 6, seed: int = 0):
    """``per_class`` images of every class, one column per class, named."""
    g = np.random.default_rng(seed)
    labels = np.asarray(labels)
    fig, axes = plt.subplots(per_class, len(classes),
                             figsize=(1.0 * len(classes), 1.0 * per_class + 0.4))
    for c, name in enumerate(classes):
        idx = g.choice(np.nonzero(labels == c)[0], per_class, replace=False)
        for r, i in enumerate(idx):
            ax = axes[r, c]
            ax.imshow(np.asarray(images[i]).reshape(28, 28), cmap="gray")
            ax.axis("off")
            if r == 0:
                ax.set_title(f"{c}: {name}", fontsize=7.5)
    fig.tight_layout(pad=0.3)
    return fig


def shift_study(panels: list[tuple], provenance: list[str] = ()):
    """One panel per data set: accuracy against shift for each reading of "n pixels"
    (axis directions solid, diagonals dashed; wrap-around in a lighter shade) and the
    lecture's numbers as black squares. ``panels``: ``(title, shifts, {reading:
    per_seed}, {shift: lecture value})``."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.4 * len(panels), 4.2), sharey=True,
                             squeeze=False)
    for ax, (title, shifts, readings, lecture) in zip(axes[0], panels, strict=True):
        for i, (name, per_seed) in enumerate(readings.items()):
            direction = name.split(",")[0]
            wrap = "wrap" in name
            colour = PALETTE[i % 8] if not wrap else PALETTE[(i - 8) % 8]
            ls = "--" if "-" in direction else "-"
            values = 100 * np.asarray(per_seed, dtype=float)
            ax.plot(shifts, values.mean(0), ls, color=colour, alpha=0.45 if wrap else 0.95,
                    lw=1.0 if wrap else 1.4, label=name)
        xs = sorted(lecture)
        ax.plot(xs, [100 * lecture[s] for s in xs], "s", color="black", ms=8, mfc="white",
                mew=2, label="lecture", zorder=5)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("shift (pixels)")
        ax.set_xticks(shifts)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0][0].set_ylabel("test accuracy (%), mean over seeds")
    axes[0][-1].legend(fontsize=6.5, ncol=2, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    notes(fig, provenance)
    return fig
