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
in the HTML theme's dark mode, and each result figure names the profile, data,
sample counts, seeds and precision it was drawn from (the views pass that line in).
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
