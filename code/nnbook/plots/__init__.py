"""Every figure of the book, drawn in one consistent style.

This module holds the shared style and the general-purpose figures; the
figures of each part of the book live in a submodule next to it:
``nnbook.plots.networks`` (networks, backpropagation, ResNet),
``nnbook.plots.classification`` (loss, two rings, MNIST with MLPs),
``nnbook.plots.convolution`` (kernels, pooling, CNNs), ``nnbook.plots.cnn`` (the
CNN experiments) and ``nnbook.plots.schematics`` (diagrams of a convolution window,
padding and stride, a multi-channel layer and the residual block).

Call :func:`use_style` once at the top of a chapter (importing this module
changes nothing). Figures get an opaque white background, so they stay legible
in the HTML theme's dark mode, and each result figure carries a provenance
caption (:func:`provenance`) naming profile, data, sample counts and seed.
"""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

STYLE = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.transparent": False,
    "figure.dpi": 100,
    "savefig.dpi": 110,
    "savefig.bbox": "tight",
    "figure.figsize": (6.4, 4.0),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10,
    "axes.titlesize": 11,
    "legend.frameon": False,
    "image.cmap": "viridis",
}
#: Colour-blind-safe palette (Okabe-Ito), used for classes and series.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442",
           "#000000"]


def use_style() -> None:
    """Apply the book's matplotlib style (white, opaque, light/dark safe)."""
    mpl.rcParams.update(STYLE)
    mpl.rcParams["axes.prop_cycle"] = mpl.cycler(color=PALETTE)


def provenance(result: dict) -> str:
    """One line naming what made a result (see :func:`nnbook.report.provenance`)."""
    from ..report import provenance as line

    return line(result)


def caption(fig, result: dict) -> None:
    """Put the provenance line, and the command that regenerates the figure, under it."""
    from ..report import provenance as line

    text = line(result) + (f"\nregenerate: {result['command']}" if result.get("command") else "")
    fig.text(0.5, -0.02, text, ha="center", va="top", fontsize=7, color="#444444", wrap=True)


def demo_figure(seed: int = 0):
    """A small figure that proves the pipeline: a sine and noisy samples."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 2 * np.pi, 200)
    xs = np.sort(rng.uniform(0, 2 * np.pi, 30))
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(x, np.sin(x), label="sin(x)")
    ax.scatter(xs, np.sin(xs) + 0.1 * rng.standard_normal(len(xs)), s=12, color=PALETTE[1],
               label="noisy samples", zorder=3)
    ax.set_xlabel("x")
    ax.legend()
    return fig


def image_grid(images, titles=None, ncols: int = 8, cmap: str = "gray", size: float = 1.1,
               symmetric: bool = False, suptitle: str | None = None):
    """Show a stack of 2-D arrays as a grid of small images (filters, channels, digits).

    With ``symmetric`` each image's colour scale is centred on zero (for
    signed weights, shown with a diverging map).
    """
    images = [np.asarray(im) for im in images]
    n = len(images)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.3),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        im = images[i]
        if symmetric:
            m = float(np.abs(im).max()) or 1.0
            ax.imshow(im, cmap="RdBu_r", vmin=-m, vmax=m)
        else:
            ax.imshow(im, cmap=cmap)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=7)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig


def history_curves(histories: dict, keys=("train_acc", "test_acc"), ylabel: str = "accuracy",
                   ax=None):
    """Curves of per-epoch records: ``histories`` maps a label to a history list."""
    if ax is None:
        _, ax = plt.subplots()
    styles = {"train_acc": "--", "test_acc": "-", "loss": "-", "test_loss": ":"}
    for i, (label, hist) in enumerate(histories.items()):
        epochs = [h["epoch"] for h in hist]
        for key in keys:
            ax.plot(epochs, [h[key] for h in hist], styles.get(key, "-"),
                    color=PALETTE[i % len(PALETTE)], label=f"{label} ({key.replace('_', ' ')})")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)
    return ax
