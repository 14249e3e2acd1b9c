"""Figures of the chapters "Image convolution" and "CNN architecture and pooling":
kernels, locality, translation, CNN diagrams and pooling. (Trained CNNs:
:mod:`nnbook.plots.cnn`.)

Each function draws what :mod:`nnbook.present.convolution` hands it (kernels and
their outputs, the stages of a real network from :mod:`nnbook.anatomy`, measured
changes per seed) and returns a matplotlib figure; :func:`shifted_convolution` and
:func:`pooled_photo` compute their panels from an image with :mod:`nnbook.kernels`.
Call :func:`nnbook.plots.use_style` first.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, Rectangle

from .. import kernels
from . import PALETTE
from .cnn import notes

# ----------------------------------------------------------------------------- small pieces


def _matrix(ax, M, fmt="{:g}", cmap="RdBu_r", title=None, fontsize=9):
    """Draw a small matrix with its values written in the cells."""
    M = np.asarray(M, dtype=float)
    m = float(np.abs(M).max()) or 1.0
    ax.imshow(M, cmap=cmap, vmin=-m, vmax=m)
    for (i, j), v in np.ndenumerate(M):
        ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=fontsize,
                color="white" if abs(v) > 0.6 * m else "black")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title, fontsize=9)


def _grey(ax, img, title=None, signed=False):
    """Show an image in grey. ``signed``: mid-grey is 0 and the scale is symmetric
    (cut at the 98th percentile of |value|); else values are clipped to [0, 1]."""
    img = np.asarray(img, dtype=float)
    if signed:
        m = float(np.percentile(np.abs(img), 98)) or 1.0
        ax.imshow(img, cmap="gray", vmin=-m, vmax=m)
    else:
        ax.imshow(np.clip(img, 0, 1), cmap="gray", vmin=0, vmax=1)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)


def is_edge_kernel(weights) -> bool:
    """True when the kernel's weights sum to 0 (its output is signed, centred on 0)."""
    return abs(float(np.sum(weights))) < 1e-9


# ----------------------------------------------------------------------------- convolution

def kernel_gallery(image, panels):
    """Each kernel as a matrix next to its effect on ``image`` (the original first);
    ``panels``: ``(name, kernel, output)``.

    Outputs of kernels whose weights sum to 0 (edge detectors) are signed and
    shown with mid-grey = 0; the others (weights summing to 1) are shown
    clipped to [0, 1], like the photograph.
    """
    rows = int(np.ceil(len(panels) / 2))
    aspect = image.shape[0] / image.shape[1]
    fig = plt.figure(figsize=(11, 2.9 * rows * aspect))
    gs = fig.add_gridspec(rows, 5, width_ratios=[1.6, 0.75, 1.6, 0.75, 1.6], wspace=0.08,
                          hspace=0.2)
    _grey(fig.add_subplot(gs[rows // 2, 0]), image, "original (grey)")
    for k, (name, W, out) in enumerate(panels):
        r, c = divmod(k, 2)
        _matrix(fig.add_subplot(gs[r, 1 + 2 * c]), W, title=name)
        edge = is_edge_kernel(W)
        _grey(fig.add_subplot(gs[r, 2 + 2 * c]), out,
              f"{name}" + (" (0 = mid-grey)" if edge else ""), signed=edge)
    return fig


def locality_figure(name: str, W, image, response):
    """A kernel, a one-pixel input and the output: locality, and the 180° turn."""
    fig, axes = plt.subplots(1, 3, figsize=(8.5, 3.0),
                             gridspec_kw={"width_ratios": [len(W), len(image), len(response)]})
    _matrix(axes[0], W, title=f"kernel W ({name})")
    _matrix(axes[1], image, title="input I: a single 1")
    _matrix(axes[2], response, title="output W∗I (border 'zero')")
    fig.tight_layout()
    return fig


def translation_figure(panels: dict, name: str, dy: int, dx: int, error: float):
    """Shift the input, the output shifts. ``panels``: the arrays ``image``, ``moved``,
    ``out`` (W∗I), ``out_moved`` (W∗shifted I) and ``diff`` (their difference after
    shifting ``out``); ``error``: the largest difference away from the border."""
    image = panels["image"]
    fig, axes = plt.subplots(1, 5, figsize=(12, 3.4))
    _grey(axes[0], image, "I")
    _grey(axes[1], panels["moved"], f"I shifted ({dy} down, {dx} right)")
    _grey(axes[2], panels["out"], f"W∗I ({name})", signed=True)
    _grey(axes[3], panels["out_moved"], "W∗(shifted I)", signed=True)
    diff = panels["diff"]
    axes[4].imshow(diff, cmap="magma", vmin=0, vmax=max(float(diff.max()), 1e-12))
    axes[4].axis("off")
    axes[4].set_title("|W∗(shifted I) − shifted (W∗I)|", fontsize=9)
    # A marker at the same feature before and after the shift.
    y0, x0 = image.shape[0] // 3, image.shape[1] // 2
    for ax, (y, x) in zip(axes[:4], [(y0, x0), (y0 + dy, x0 + dx)] * 2, strict=True):
        ax.plot(x, y, "+", color=PALETTE[1], ms=14, mew=2)
    fig.suptitle(f"largest difference away from the border: {error:.1e}", fontsize=10, y=0.02)
    fig.tight_layout()
    return fig


def shifted_convolution(image, name: str, dy: int, dx: int, error: float):
    """:func:`translation_figure` for kernel ``name`` (border 'zero') and ``image`` shifted
    ``dy`` down and ``dx`` right; ``error``: the largest difference away from the border."""
    W = kernels.kernel(name)
    out = kernels.convolve(image, W, border="zero")
    moved = kernels.shift(image, dy, dx)
    out_moved = kernels.convolve(moved, W, border="zero")
    panels = {"image": image, "moved": moved, "out": out, "out_moved": out_moved,
              "diff": np.abs(out_moved - kernels.shift(out, dy, dx))}
    return translation_figure(panels, name, dy, dx, error)


# ----------------------------------------------------------------------------- architecture

def cnn_diagram(stages: list[dict], title: str | None = None, note: str = ""):
    """A CNN drawn as its tensors (channel stacks, bars) with their shapes, the weights
    of each operation and the operation between each pair. ``stages``: the list of
    :func:`nnbook.anatomy.merged` (``{"op", "shape", "params"}``, the input first)."""
    top, gap, off = stages[0]["shape"][-1], 1.45, 0.08
    boxes, x = [], 0.0
    for st in stages:  # lay out: width of each drawing, then a gap for the arrow
        shape = st["shape"]
        if len(shape) == 3:
            side = 0.35 + 1.1 * shape[1] / top
            n = min(shape[0], 6)
            boxes.append(("maps", x, side, n))
            x += side + off * (n - 1)
        else:
            height = 0.3 + 0.3 * np.log10(shape[0])
            boxes.append(("bar", x, height, 1))
            x += 0.22
        x += gap
    fig, ax = plt.subplots(figsize=(0.62 * x + 0.3, 2.5))
    ax.set_xlim(-0.1, x - gap + 0.1)
    ax.set_ylim(-1.75, 1.3)
    ax.set_aspect("equal")
    ax.axis("off")
    prev_right = None
    for k, (st, (kind, x0, size, n)) in enumerate(zip(stages, boxes, strict=True)):
        shape = st["shape"]
        colour = "#bbbbbb" if k == 0 else PALETTE[0]
        if kind == "maps":
            for s in range(n - 1, -1, -1):
                ax.add_patch(Rectangle((x0 + off * s, -size / 2 + off * s), size, size,
                                       fc=colour, ec="white", lw=1))
            right = x0 + size + off * (n - 1)
            text = f"{shape[0]}×{shape[1]}×{shape[2]}"
        else:
            colour = PALETTE[1] if k == len(stages) - 1 else PALETTE[2]
            ax.add_patch(Rectangle((x0, -size / 2), 0.22, size, fc=colour, ec="white"))
            right = x0 + 0.22
            text = f"{shape[0]:,}"
        mid = (x0 + right) / 2
        ax.text(mid, -0.95, text, ha="center", va="top", fontsize=10, weight="bold")
        extra = "input" if k == 0 else (f"{st['params']:,}\nweights" if st["params"] else "")
        ax.text(mid, -1.25, extra, ha="center", va="top", fontsize=8.5, color="#555555")
        if prev_right is not None:
            op = st["op"].replace(", ", "\n").replace(" ", "\n", 1)
            ax.add_patch(FancyArrowPatch((prev_right + 0.08, 0), (x0 - 0.08, 0),
                                         arrowstyle="-|>", mutation_scale=10, color="#333333",
                                         zorder=3))
            ax.text((prev_right + x0) / 2, 0.1, op, ha="center", va="bottom", fontsize=9,
                    linespacing=1.1)
        prev_right = right
    total = sum(st["params"] for st in stages)
    ax.set_title((title + " · " if title else "") + f"{total:,} weights in all", fontsize=11)
    if note:
        notes(fig, [note], y=0.06)
    return fig


# ----------------------------------------------------------------------------- pooling

def pooling_example(x, maxed, averaged, size: int = 2):
    """A small matrix ``x`` and its max and average pooling, windows coloured alike; in
    bold, the value of each window that max pooling keeps."""
    x = np.asarray(x, dtype=float)
    fig, axes = plt.subplots(1, 3, figsize=(8, 3.0),
                             gridspec_kw={"width_ratios": [x.shape[1], maxed.shape[1],
                                                           maxed.shape[1]]})
    colours = ["#cfe2f3", "#fde2c8", "#d5ecd4", "#ecd5e6", "#fff2b3", "#d9d9d9"]

    def draw(ax, M, block, title, fmt, bold=None):
        for (i, j), v in np.ndenumerate(M):
            bi, bj = i // block, j // block
            colour = colours[(bi * 7 + bj) % len(colours)]
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fc=colour, ec="#666666"))
            heavy = bold is not None and bold[i, j]
            ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=11,
                    weight="bold" if heavy else "normal")
        ax.set_xlim(-0.5, M.shape[1] - 0.5)
        ax.set_ylim(M.shape[0] - 0.5, -0.5)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(title, fontsize=9)

    h, w = maxed.shape[0] * size, maxed.shape[1] * size
    winner = np.zeros_like(x, dtype=bool)
    for i in range(maxed.shape[0]):
        for j in range(maxed.shape[1]):
            win = x[i * size:(i + 1) * size, j * size:(j + 1) * size]
            a, b = np.unravel_index(np.argmax(win), win.shape)
            winner[i * size + a, j * size + b] = True
    draw(axes[0], x[:h, :w], size, f"input {x.shape[0]}×{x.shape[1]}", "{:g}", winner)
    draw(axes[1], maxed, 1, f"max-pool {size}×{size}", "{:g}")
    draw(axes[2], averaged, 1, f"average-pool {size}×{size}", "{:.2f}")
    fig.tight_layout()
    return fig


def pooling_on_image(image, pooled: dict):
    """``image`` and its pooled versions: ``pooled`` maps "max" / "avg" to a list of
    ``(window size, pooled image)``, one row per kind."""
    ncols = 1 + max(len(v) for v in pooled.values())
    fig, axes = plt.subplots(len(pooled), ncols, figsize=(2.3 * ncols, 2.7 * len(pooled)),
                             squeeze=False)
    for r, (kind, outs) in enumerate(pooled.items()):
        _grey(axes[r, 0], image, f"original {image.shape[0]}×{image.shape[1]}")
        for c, (size, out) in enumerate(outs, start=1):
            _grey(axes[r, c], out, f"{kind}-pool {size}×{size}: {out.shape[0]}×{out.shape[1]}")
    fig.tight_layout()
    return fig


def pooled_photo(image, sizes=(2, 4, 8)):
    """:func:`pooling_on_image` with max and average pooling in windows of ``sizes``."""
    return pooling_on_image(image, {kind: [(s, kernels.pool(image, kind, s)) for s in sizes]
                                    for kind in ("max", "avg")})


def pooling_invariance(curves: dict, shifts, provenance: list[str] = ()):
    """Relative change of the pooled image when the input moves. ``curves`` maps "max" /
    "avg" to a list of ``(window size, per_seed)`` with one row per seed (a draw of
    digits) of the change at each shift: the line is the mean, the band the range."""
    fig, axes = plt.subplots(1, len(curves), figsize=(9, 3.4), sharey=True, squeeze=False)
    for ax, (kind, series) in zip(axes[0], curves.items(), strict=True):
        for i, (size, per_seed) in enumerate(series):
            values = np.asarray(per_seed, dtype=float)
            colour = PALETTE[i % len(PALETTE)]
            label = "no pooling" if size == 1 else f"{size}×{size} windows"
            ax.plot(list(shifts), values.mean(0), "o-", ms=4, color=colour, label=label)
            if len(values) > 1:
                ax.fill_between(list(shifts), values.min(0), values.max(0), color=colour,
                                alpha=0.2, lw=0)
        ax.set_title(f"{'max' if kind == 'max' else 'average'} pooling", fontsize=10)
        ax.set_xlabel("shift of the input to the right (pixels)")
        ax.set_xticks(list(shifts))
        ax.set_ylim(bottom=0)
    axes[0, 0].set_ylabel("‖P(shifted x) − P(x)‖ / ‖P(x)‖")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    notes(fig, provenance)
    return fig
