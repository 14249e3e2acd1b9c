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
    """Accuracy against shift under every reading of "n pixels": one row per data set,
    one column per fill (zero, wrap-around); in each panel the four axis directions and
    the four diagonals (each a thin line, their range shaded), the nearest reading drawn
    thick and the lecture's numbers as black squares. ``panels``: ``(title, shifts,
    {reading: per_seed}, {shift: lecture value}, nearest reading, why the build is not
    comparable or None)``."""
    from ..shifts import AXES, FILLS, reading_name

    fig, axes = plt.subplots(len(panels), len(FILLS), figsize=(8.2, 3.3 * len(panels)),
                             sharex=True, sharey="row", squeeze=False)
    groups = (("axis directions", AXES, PALETTE[0], "-"),
              ("diagonals", None, PALETTE[1], "--"))
    for row, (title, shifts, readings, lecture, nearest, why) in zip(axes, panels,
                                                                      strict=True):
        for ax, fill in zip(row, FILLS, strict=True):
            mine = {n: 100 * np.asarray(v, dtype=float).mean(0) for n, v in readings.items()
                    if n == reading_name(n.split(",")[0], fill)}
            for label, directions, colour, ls in groups:
                names = [n for n in mine if (n.split(",")[0] in AXES) == (directions is not None)]
                lines = np.array([mine[n] for n in names])
                for k, values in enumerate(lines):
                    ax.plot(shifts, values, ls, color=colour, lw=0.9, alpha=0.8,
                            label=None if k else f"{label} (4)")
                ax.fill_between(shifts, lines.min(0), lines.max(0), color=colour, alpha=0.15,
                                lw=0)
                if fill == "zero" and nearest == f"mean of the 4 {label}":
                    mine[nearest] = lines.mean(0)  # the study's means are over zero fill
            if nearest in mine:
                ax.plot(shifts, mine[nearest], "-", color="black", lw=2.4, alpha=0.6,
                        label=f"nearest: {nearest}")
            xs = sorted(lecture)
            ax.plot(xs, [100 * lecture[s] for s in xs], "s", color="black", ms=7, mfc="white",
                    mew=1.8, label="lecture", zorder=5)
            name = "zero fill" if fill == "zero" else "wrap-around"
            ax.set_title(f"{title}, {name}" + (f"\n(not comparable: {why})" if why else ""),
                         fontsize=9)
            ax.set_xticks(shifts)
            ax.legend(fontsize=6.5, loc="lower left")
        row[0].set_ylabel("test accuracy (%)\nmean over seeds")
    for ax in axes[-1]:
        ax.set_xlabel("shift (pixels)")
    fig.tight_layout()
    notes(fig, provenance)
    return fig


def layer_channels(maps, layer: str, provenance: list[str] = ()):
    """:func:`channel_maps` of layer ``layer``, titled with the channels' number and size."""
    return channel_maps(maps, f"{len(maps)} channels of {layer} ({maps.shape[1]}×{maps.shape[2]} "
                        "each), white = large", provenance)
