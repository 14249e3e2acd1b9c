"""Figures of the chapters "Image convolution" and "CNN architecture and pooling":
kernels, translation, pooling and CNN diagrams. (Trained CNNs: :mod:`nnbook.plots.cnn`.)

The figure functions return a matplotlib figure. Call :func:`nnbook.plots.use_style`
first.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import FancyArrowPatch, Rectangle

from .. import kernels as K
from ..errors import ConfigError
from . import PALETTE

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

def kernel_gallery(image, names=None):
    """Each named kernel as a matrix next to its effect on ``image`` (original first).

    Outputs of kernels whose weights sum to 0 (edge detectors) are signed and
    shown with mid-grey = 0; the others (weights summing to 1) are shown
    clipped to [0, 1], like the photograph. Border rule: ``edge``.
    """
    names = list(K.KERNELS) if names is None else list(names)
    rows = int(np.ceil(len(names) / 2))
    aspect = image.shape[0] / image.shape[1]
    fig = plt.figure(figsize=(11, 2.9 * rows * aspect))
    gs = fig.add_gridspec(rows, 5, width_ratios=[1.6, 0.75, 1.6, 0.75, 1.6], wspace=0.08,
                          hspace=0.2)
    _grey(fig.add_subplot(gs[rows // 2, 0]), image, "original (grey)")
    for k, name in enumerate(names):
        W = K.kernel(name)
        r, c = divmod(k, 2)
        _matrix(fig.add_subplot(gs[r, 1 + 2 * c]), W, title=name)
        edge = is_edge_kernel(W)
        _grey(fig.add_subplot(gs[r, 2 + 2 * c]), K.convolve(image, W, border="edge"),
              f"{name}" + (" (0 = mid-grey)" if edge else ""), signed=edge)
    return fig


def locality_figure(name: str = "emboss", size: int = 7):
    """A kernel, a one-pixel input and the output: locality, and the 180° turn."""
    W = K.kernel(name)
    delta = np.zeros((size, size))
    delta[size // 2, size // 2] = 1
    fig, axes = plt.subplots(1, 3, figsize=(8.5, 3.0),
                             gridspec_kw={"width_ratios": [3, size, size]})
    _matrix(axes[0], W, title=f"kernel W ({name})")
    _matrix(axes[1], delta, title="input I: a single 1")
    _matrix(axes[2], K.impulse_response(W, size), title="output W∗I (border 'zero')")
    fig.tight_layout()
    return fig


def translation_figure(image, name: str = "sobel-vertical", dy: int = 30, dx: int = 60):
    """Shift the input, the output shifts: I, shifted I, their outputs, and the difference."""
    W = K.kernel(name)
    moved = K.shift(image, dy, dx)
    out = K.convolve(image, W, border="zero")
    out_moved = K.convolve(moved, W, border="zero")
    diff = np.abs(out_moved - K.shift(out, dy, dx))
    err = K.equivariance_error(image, W, dy, dx)
    fig, axes = plt.subplots(1, 5, figsize=(12, 3.4))
    _grey(axes[0], image, "I")
    _grey(axes[1], moved, f"I shifted ({dy} down, {dx} right)")
    _grey(axes[2], out, f"W∗I ({name})", signed=True)
    _grey(axes[3], out_moved, "W∗(shifted I)", signed=True)
    axes[4].imshow(diff, cmap="magma", vmin=0, vmax=max(float(diff.max()), 1e-12))
    axes[4].axis("off")
    axes[4].set_title("|W∗(shifted I) − shifted (W∗I)|", fontsize=9)
    # A marker at the same feature before and after the shift.
    y0, x0 = image.shape[0] // 3, image.shape[1] // 2
    for ax, (y, x) in zip(axes[:4], [(y0, x0), (y0 + dy, x0 + dx)] * 2, strict=True):
        ax.plot(x, y, "+", color=PALETTE[1], ms=14, mew=2)
    fig.suptitle(f"largest difference away from the border: {err:.1e}", fontsize=10, y=0.02)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- architecture

TYPICAL_CNN = [("conv", 32, 3), ("pool", 2), ("conv", 64, 3), ("pool", 2), ("flatten",),
               ("dense", 128), ("dense", 10)]
#: The lecture's network (pytorch/examples): two convolutions, then one pooling.
LECTURE_CNN = [("conv", 32, 3), ("conv", 64, 3), ("pool", 2), ("flatten",), ("dense", 128),
               ("dense", 10)]
#: The variant with a second pooling stage (``CNN(extra_pool=True)``).
LECTURE_CNN_EXTRA_POOL = LECTURE_CNN[:3] + [("pool", 2)] + LECTURE_CNN[3:]


def build_layers(spec, in_shape=(1, 28, 28)) -> torch.nn.Sequential:
    """A ``Sequential`` from a layer list like :data:`TYPICAL_CNN` (ReLU after conv / dense
    layers except the last; dropout is left out, it changes no shape)."""
    layers = []
    x = torch.zeros(1, *in_shape)  # tracks the shape that the next layer receives
    last_dense = max((i for i, s in enumerate(spec) if s[0] == "dense"), default=-1)
    for i, s in enumerate(spec):
        if s[0] == "conv":
            new = [torch.nn.Conv2d(x.shape[1], s[1], s[2]), torch.nn.ReLU()]
        elif s[0] == "pool":
            new = [torch.nn.MaxPool2d(s[1])]
        elif s[0] == "flatten":
            new = [torch.nn.Flatten()]
        elif s[0] == "dense":
            if x.dim() != 2:
                raise ConfigError("a dense layer needs a flattened input: put flatten first")
            new = [torch.nn.Linear(x.shape[1], s[1])] + ([torch.nn.ReLU()] if i != last_dense
                                                         else [])
        else:
            raise ConfigError(f"unknown layer {s[0]!r}: use conv, pool, flatten or dense")
        with torch.no_grad():
            for layer in new:
                x = layer(x)
        layers += new
    return torch.nn.Sequential(*layers)


def network_stages(spec, in_shape=(1, 28, 28)) -> list[dict]:
    """The tensor shape after each layer of ``spec``, found by running a zero image through
    it, with each layer's parameter count: ``[{"op", "shape", "params"}, ...]``."""
    net = build_layers(spec, in_shape)
    x = torch.zeros(1, *in_shape)
    stages = [{"op": "input", "shape": tuple(in_shape), "params": 0}]
    with torch.no_grad():
        for layer in net:
            x = layer(x)
            if isinstance(layer, torch.nn.ReLU):
                stages[-1]["op"] += ", ReLU"
                continue
            if isinstance(layer, torch.nn.Conv2d):
                op = f"conv {layer.kernel_size[0]}×{layer.kernel_size[1]}"
            elif isinstance(layer, torch.nn.MaxPool2d):
                op = f"max-pool {layer.kernel_size}×{layer.kernel_size}"
            elif isinstance(layer, torch.nn.Flatten):
                op = "flatten"
            else:
                op = "dense"
            stages.append({"op": op, "shape": tuple(x.shape[1:]),
                           "params": sum(p.numel() for p in layer.parameters())})
    return stages


def cnn_diagram(spec=None, in_shape=(1, 28, 28), title=None):
    """A CNN drawn as its tensors (channel stacks, bars) with their shapes and the
    operation between each pair; shapes come from :func:`network_stages`."""
    stages = network_stages(TYPICAL_CNN if spec is None else spec, in_shape)
    top, gap, off = in_shape[-1], 1.25, 0.08
    boxes, x = [], 0.0
    for st in stages:  # lay out: width of each drawing, then a gap for the arrow
        shape = st["shape"]
        if len(shape) == 3:
            side = 0.35 + 1.3 * shape[1] / top
            n = min(shape[0], 6)
            boxes.append(("maps", x, side, n))
            x += side + off * (n - 1)
        else:
            height = 0.3 + 0.3 * np.log10(shape[0])
            boxes.append(("bar", x, height, 1))
            x += 0.22
        x += gap
    fig, ax = plt.subplots(figsize=(0.8 * x + 0.3, 2.9))
    ax.set_xlim(-0.1, x - gap + 0.1)
    ax.set_ylim(-1.45, 1.25)
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
        ax.text(mid, -1.02, text, ha="center", va="top", fontsize=8.5, weight="bold")
        extra = "input" if k == 0 else (f"{st['params']:,} weights" if st["params"] else "")
        ax.text(mid, -1.27, extra, ha="center", va="top", fontsize=7, color="#555555")
        if prev_right is not None:
            ax.add_patch(FancyArrowPatch((prev_right + 0.08, 0), (x0 - 0.08, 0),
                                         arrowstyle="-|>", mutation_scale=10, color="#333333",
                                         zorder=3))
            ax.text((prev_right + x0) / 2, 0.1, st["op"].replace(", ", "\n"), ha="center",
                    va="bottom", fontsize=7.5)
        prev_right = right
    total = sum(st["params"] for st in stages)
    ax.set_title((title + " · " if title else "") + f"{total:,} weights in all", fontsize=10)
    return fig


# ----------------------------------------------------------------------------- pooling

def pooling_example(x=None, size: int = 2):
    """Max and average pooling of a small matrix, windows coloured alike."""
    if x is None:
        x = np.random.default_rng(3).integers(0, 10, size=(4, 4))
    x = np.asarray(x, dtype=float)
    mx, av = K.max_pool(x, size), K.avg_pool(x, size)
    fig, axes = plt.subplots(1, 3, figsize=(8, 3.0),
                             gridspec_kw={"width_ratios": [x.shape[1], mx.shape[1],
                                                           mx.shape[1]]})
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

    h, w = mx.shape[0] * size, mx.shape[1] * size
    winner = np.zeros_like(x, dtype=bool)
    for i in range(mx.shape[0]):
        for j in range(mx.shape[1]):
            win = x[i * size:(i + 1) * size, j * size:(j + 1) * size]
            a, b = np.unravel_index(np.argmax(win), win.shape)
            winner[i * size + a, j * size + b] = True
    draw(axes[0], x[:h, :w], size, f"input {x.shape[0]}×{x.shape[1]}", "{:g}", winner)
    draw(axes[1], mx, 1, f"max-pool {size}×{size}", "{:g}")
    draw(axes[2], av, 1, f"average-pool {size}×{size}", "{:.2f}")
    fig.tight_layout()
    return fig


def pooling_on_image(image, sizes=(2, 4, 8)):
    """Max and average pooling of ``image`` with growing windows (stride = window)."""
    fig, axes = plt.subplots(2, len(sizes) + 1, figsize=(2.3 * (len(sizes) + 1), 5.4))
    for r, kind in enumerate(("max", "avg")):
        _grey(axes[r, 0], image, f"original {image.shape[0]}×{image.shape[1]}")
        for c, s in enumerate(sizes, start=1):
            out = K.pool(image, kind, s)
            _grey(axes[r, c], out, f"{kind}-pool {s}×{s}: {out.shape[0]}×{out.shape[1]}")
    fig.tight_layout()
    return fig


def pixels(ds, X) -> np.ndarray:
    """Images ``X`` of data set ``ds`` back in raw pixel values (0 = black, 1 = white)."""
    mean, std = ds.provenance["normalisation"]
    return np.asarray(X, dtype=np.float64).squeeze() * std + mean


def pooling_invariance(images, sizes=(1, 2, 4, 7), shifts=(1, 2, 3, 4), note: str = ""):
    """Relative change of the pooled image when the input moves, per pooling window."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
    for ax, kind in zip(axes, ("max", "avg"), strict=True):
        for i, s in enumerate(sizes):
            ch = K.pooled_shift_change(images, kind, s, shifts)
            label = "no pooling" if s == 1 else f"{s}×{s} windows"
            ax.plot(list(ch), list(ch.values()), "o-", color=PALETTE[i % len(PALETTE)],
                    label=label)
        ax.set_title(f"{'max' if kind == 'max' else 'average'} pooling", fontsize=10)
        ax.set_xlabel("shift of the input (pixels)")
        ax.set_xticks(list(shifts))
    axes[0].set_ylabel("‖P(shifted x) − P(x)‖ / ‖P(x)‖")
    axes[0].legend(fontsize=8)
    if note:
        fig.text(0.5, -0.02, note, ha="center", va="top", fontsize=7, color="#444444")
    fig.tight_layout()
    return fig
