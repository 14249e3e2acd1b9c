"""Schematic figures: how a convolution, padding and stride, a multi-channel layer and a
residual block work, drawn as small teaching diagrams (pooling has its own figure,
:func:`nnbook.plots.convolution.pooling_example`).

Every number a diagram writes is computed when it is drawn: the convolution by
:func:`nnbook.kernels.convolve` (the lecture's formula, which ``conv2d`` computes
too), the output sizes by the formula ⌊(n + 2p − k)/s⌋ + 1, and the residual block is read from
:class:`nnbook.models.ResidualBlock` itself. Each text that holds such a number
carries a ``gid`` ("input", "kernel", "output", "sum", "size") so
that the tests can read it back. Each function returns a matplotlib figure; call
:func:`nnbook.plots.use_style` first (opaque white, legible in dark mode too).

Explained in the chapters "Image convolution", "CNN architecture and pooling" and
"ResNet".
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle

from .. import kernels
from . import PALETTE

HIGHLIGHT, HIGHLIGHT_FILL = PALETTE[1], "#fde2c8"   # the window and its output cell
KERNEL_FILL, CELL_FILL, PAD_FILL = "#cfe2f3", "#eeeeee", "white"
TEXT_GREY = "#555555"


def _number(v: float, fmt: str = "{:g}") -> str:
    """A number as the figures write it: a true minus sign, no ".0"."""
    return fmt.format(v + 0.0).replace("-", "−")


def _canvas(figsize, xlim, ylim):
    """A figure with one axes in data units (1 = one cell), equal aspect, no frame."""
    fig, ax = plt.subplots(figsize=figsize)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def _cells(ax, M, x0, y0, size=1.0, fills=CELL_FILL, gid=None, fmt="{:g}", fontsize=11,
           bold=None, edge="#777777"):
    """Draw the matrix ``M`` with its top-left corner at ``(x0, y0)`` (y grows upwards);
    ``fills``: one colour or an array of colours; ``gid`` None: no numbers written."""
    M = np.asarray(M, dtype=float)
    for (i, j), v in np.ndenumerate(M):
        fill = fills if isinstance(fills, str) else fills[i][j]
        x, y = x0 + j * size, y0 - (i + 1) * size
        ax.add_patch(Rectangle((x, y), size, size, fc=fill, ec=edge, lw=0.8))
        if gid is not None:
            heavy = bold is not None and bold[i][j]
            ax.text(x + size / 2, y + size / 2, _number(v, fmt), ha="center", va="center",
                    fontsize=fontsize, weight="bold" if heavy else "normal", gid=gid)


def _frame(ax, x, y_top, w, h, colour=HIGHLIGHT, lw=2.6, ls="-"):
    """A coloured outline of ``w × h`` cells with its top-left corner at ``(x, y_top)``."""
    ax.add_patch(Rectangle((x, y_top - h), w, h, fill=False, ec=colour, lw=lw, ls=ls,
                           zorder=4))


def _arrow(ax, start, end, colour="#333333", rad=0.0, lw=1.3, ls="-"):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12,
                                 color=colour, lw=lw, ls=ls,
                                 connectionstyle=f"arc3,rad={rad}", zorder=5))


# ----------------------------------------------------------------------------- convolution

def convolution_window(image=None, weights="sobel-vertical", at=(0, 1), seed: int = 4):
    """The kernel ``W``, a 5×5 input ``I`` with one window highlighted, and the valid
    output ``W∗I`` with the corresponding cell highlighted; under them, that cell's
    nine products and their sum.

    ``image`` defaults to small whole numbers drawn with ``seed``; ``weights`` is a
    kernel or the name of one of the lecture's; ``at`` is the (row, column) of the
    output cell, from 0. The output is :func:`nnbook.kernels.convolve`, the lecture's
    formula: the kernel is *not* flipped, as in ``conv2d``.
    """
    I = (np.random.default_rng(seed).integers(0, 5, size=(5, 5)) if image is None  # noqa: E741
         else np.asarray(image))
    W = kernels.kernel(weights) if isinstance(weights, str) else np.asarray(weights, float)
    out = kernels.convolve(I, W)
    k, (h, w) = len(W), I.shape
    r, c = at
    window = I[r:r + k, c:c + k]

    gap = 1.6
    xs = [0.0, k + gap, k + gap + w + gap]  # left edges of W, I and W∗I
    top = max(h, k)
    fig, ax = _canvas((8.6, 4.6), (-0.3, xs[2] + out.shape[1] + 0.3), (-3.4, top + 0.8))
    # kernel
    y_k = top - (top - k) / 2
    _cells(ax, W, xs[0], y_k, fills=KERNEL_FILL, gid="kernel")
    ax.text(xs[0] + k / 2, y_k + 0.3, "kernel W", ha="center", fontsize=10)
    ax.text(xs[0] + k + gap / 2, top / 2, "∗", ha="center", va="center", fontsize=22)
    # input, the window filled and framed
    fills = [[HIGHLIGHT_FILL if r <= i < r + k and c <= j < c + k else CELL_FILL
              for j in range(w)] for i in range(h)]
    _cells(ax, I, xs[1], top, fills=fills, gid="input")
    _frame(ax, xs[1] + c, top - r, k, k)
    ax.text(xs[1] + w / 2, top + 0.3, f"input I ({h}×{w})", ha="center", fontsize=10)
    ax.text(xs[1] + w + gap / 2, top / 2, "=", ha="center", va="center", fontsize=20)
    # output, the cell of that window filled and framed
    y_o = top - (top - out.shape[0]) / 2
    fills = [[HIGHLIGHT_FILL if (i, j) == (r, c) else CELL_FILL for j in range(out.shape[1])]
             for i in range(out.shape[0])]
    _cells(ax, out, xs[2], y_o, fills=fills, gid="output")
    _frame(ax, xs[2] + c, y_o - r, 1, 1)
    ax.text(xs[2] + out.shape[1] / 2, y_o + 0.3, f"W∗I ({out.shape[0]}×{out.shape[1]})",
            ha="center", fontsize=10)
    # the products and their sum, one kernel row per line, laid out like the window
    def factor(v):
        return f"({_number(v)})" if v < 0 else _number(v)

    terms = [[f"{factor(W[a, b])}·{factor(window[a, b])}" for b in range(k)]
             for a in range(k)]
    width = max(len(t) for row in terms for t in row)
    lines = [("  " if a == 0 else "+ ") + " + ".join(t.rjust(width) for t in row)
             for a, row in enumerate(terms)]
    lines[-1] += f"  =  {_number(out[r, c])}"
    ax.text(xs[1] + w / 2, -0.45, "the orange window: each weight times the pixel under it",
            ha="center", va="top", fontsize=9.5, color=TEXT_GREY)
    ax.text(xs[1] + w / 2, -1.05, "\n".join(lines), ha="center", va="top", fontsize=10.5,
            family="monospace", linespacing=1.45, gid="sum")
    return fig


def padding_and_stride(n: int = 5, k: int = 3, settings=((0, 1), (1, 1), (1, 2))):
    """One panel per ``(padding p, stride s)`` in ``settings``: an ``n × n`` input (grey)
    inside its border of ``p`` zeros, the window at its first position (solid) and at
    the next one along the row (dashed, ``s`` cells on), and a dot at the centre of
    every window position. Each panel's title computes ⌊(n + 2p − k)/s⌋ + 1, the
    number of positions (dots) along each axis: the output size."""
    pmax = max(p for p, _ in settings)
    span = n + 2 * pmax
    fig, axes = plt.subplots(1, len(settings), figsize=(3.3 * len(settings), 4.1))
    for ax, (p, s) in zip(np.atleast_1d(axes), settings, strict=True):
        size = (n + 2 * p - k) // s + 1
        N = n + 2 * p
        off = pmax - p  # centre the smaller drawings
        grid = [[PAD_FILL if min(i, j) < p or max(i, j) >= n + p else CELL_FILL
                 for j in range(N)] for i in range(N)]
        _cells(ax, np.zeros((N, N)), off, span - off, fills=grid)
        for i in range(N):  # the zeros of the padding
            for j in range(N):
                if grid[i][j] == PAD_FILL:
                    ax.text(off + j + 0.5, span - off - i - 0.5, "0", ha="center",
                            va="center", fontsize=9, color="#999999")
        if p:
            _frame(ax, off + p, span - off - p, n, n, colour="#333333", lw=1.4)
        _frame(ax, off, span - off, k, k)
        if size > 1:
            _frame(ax, off + s, span - off, k, k, ls="--", lw=1.8)
            ax.annotate("", xy=(off + s + k / 2, span - off + 0.25),
                        xytext=(off + k / 2, span - off + 0.25),
                        arrowprops=dict(arrowstyle="-|>", color=HIGHLIGHT, lw=1.3))
            ax.text(off + (s + k) / 2, span - off + 0.4, f"s = {s}", ha="center",
                    va="bottom", fontsize=9, color=HIGHLIGHT)
        centres = off + k / 2 + s * np.arange(size)
        cx, cy = np.meshgrid(centres, span - centres)
        ax.plot(cx.ravel(), cy.ravel(), "o", ms=5, color=PALETTE[0], zorder=6)
        ax.set_xlim(-0.2, span + 0.2)
        ax.set_ylim(-0.2, span + 1.2)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(f"padding p = {p}, stride s = {s}", fontsize=10.5, pad=4)
        ax.text(span / 2, -0.5, f"⌊({n} + 2·{p} − {k})/{s}⌋ + 1 = {size}", ha="center",
                va="top", fontsize=10.5, gid="size")
    fig.suptitle(f"a {k}×{k} window over a {n}×{n} input: one blue dot per output pixel",
                 fontsize=10.5, y=0.99)
    fig.tight_layout()
    return fig


#: The colour of each of the three input channels of :func:`multichannel_convolution`.
CHANNEL_TINTS = (PALETTE[0], PALETTE[2], PALETTE[3])


def _shaded(M, colour, lo=None, hi=None):
    """Fill colours for the cells of ``M``: ``colour`` blended with white according to the
    value (from ``lo``, palest, to ``hi``; by default the smallest and largest value)."""
    lo = M.min() if lo is None else lo
    hi = M.max() if hi is None else hi
    t = (M - lo) / ((hi - lo) or 1.0)
    rgb = np.array(plt.matplotlib.colors.to_rgb(colour))
    return [[tuple(1 - (0.15 + 0.7 * v) * (1 - rgb)) for v in row] for row in t]


def multichannel_convolution(c_out: int = 4, seed: int = 1):
    """One output channel of a layer with C_in = 3 input channels: each input channel
    ``I_d`` is convolved with its own kernel slice ``W_{c,d}`` and the three results
    are added, with the bias ``b_c``, into ``f_c``. A second row: ``c_out`` such
    kernels give ``c_out`` output channels; the weight tensor is (C_out, C_in, 3, 3).

    The cells are shaded by real values (inputs and kernels drawn with ``seed``, the
    maps computed by :func:`nnbook.kernels.convolve`); no numbers are written."""
    rng = np.random.default_rng(seed)
    c_in, n, k = 3, 5, 3
    X = rng.integers(0, 4, size=(c_in, n, n)).astype(float)
    W = rng.integers(-1, 2, size=(c_in, k, k)).astype(float)
    cell, row_h = 0.42, 2.75
    fig, ax = _canvas((8.6, 7.4), (-1.2, 10.8), (-4.9, 3 * row_h + 0.4))
    _one_output_channel(ax, X, W, cell, row_h)
    # second row: C_out such kernels (each a stack of C_in slices) give C_out channels
    _layer_of_kernels(ax, c_out, c_in, k)
    return fig


def _one_output_channel(ax, X, W, cell: float, row_h: float):
    """The top of :func:`multichannel_convolution`: each input channel ``X[d]`` convolved
    with its kernel slice ``W[d]``, the maps summed with a bias into ``f_c``; ``cell``: the
    side of a cell, ``row_h``: the height of one input channel's row."""
    c_in, n, k = len(X), X.shape[1], W.shape[1]
    maps = np.array([kernels.convolve(X[d], W[d]) for d in range(c_in)])
    f = maps.sum(0) + 0.5  # plus a bias b_c (a constant: the shading does not show it)
    x_in, x_w, x_map, x_sum, x_f = 0.0, 3.0, 5.4, 7.9, 9.0
    y_mid = 1.5 * row_h - 0.2
    for d in range(c_in):
        y_top = (c_in - d) * row_h - 0.2
        yc = y_top - n * cell / 2
        _cells(ax, X[d], x_in, y_top, cell, _shaded(X[d], CHANNEL_TINTS[d]), edge="white")
        ax.text(x_in - 0.25, yc, f"$I_{d + 1}$", ha="right", va="center", fontsize=12)
        ax.text((x_in + n * cell + x_w) / 2, yc, "∗", ha="center", va="center", fontsize=18)
        y_w = yc + k * cell / 2
        _cells(ax, W[d], x_w, y_w, cell, _shaded(W[d], "#444444", -1, 1), edge="white")
        ax.text(x_w + k * cell / 2, y_w + 0.12, f"$W_{{c,{d + 1}}}$", ha="center",
                va="bottom", fontsize=11)
        _arrow(ax, (x_w + k * cell + 0.15, yc), (x_map - 0.15, yc))
        y_m = yc + (n - k + 1) * cell / 2
        _cells(ax, maps[d], x_map, y_m, cell, _shaded(maps[d], CHANNEL_TINTS[d]), edge="white")
        ax.text(x_map + 1.5 * cell, y_m + 0.12, f"$W_{{c,{d + 1}}} * I_{d + 1}$",
                ha="center", va="bottom", fontsize=10)
        _arrow(ax, (x_map + 3 * cell + 0.1, yc), (x_sum - 0.33, y_mid + 0.2 * (1 - d)),
               rad=0.0)
    ax.add_patch(Circle((x_sum, y_mid), 0.3, fc="white", ec="#333333", lw=1.3, zorder=6))
    ax.text(x_sum, y_mid, "Σ", ha="center", va="center", fontsize=14, zorder=7)
    ax.text(x_sum, y_mid - 0.45, "$+\\,b_c$", ha="center", va="top", fontsize=12)
    _arrow(ax, (x_sum + 0.32, y_mid), (x_f - 0.1, y_mid))
    _cells(ax, f, x_f, y_mid + 1.5 * cell, cell, _shaded(f, "#333333"), edge="white")
    ax.text(x_f + 1.5 * cell, y_mid + 1.5 * cell + 0.12, "$f_c$", ha="center", va="bottom",
            fontsize=12)
    ax.text(4.8, 3 * row_h + 0.25,
            r"one output channel:  $f_c = b_c + \sum_{d=1}^{C_\mathrm{in}} W_{c,d} * I_d$,"
            r"  $C_\mathrm{in} = 3$", ha="center", va="bottom", fontsize=11.5)


def _layer_of_kernels(ax, c_out: int, c_in: int, k: int):
    """The second row of :func:`multichannel_convolution`: ``c_out`` kernels, each a stack
    of ``c_in`` slices of ``k × k``, give ``c_out`` output channels; the weight tensor's
    shape and the number of weights."""
    ax.plot([-1.0, 10.6], [-0.55, -0.55], color="#bbbbbb", lw=0.8)
    cin, cout = r"$C_\mathrm{in}$", r"$C_\mathrm{out}$"
    ax.text(4.8, -0.8, f"a layer: {cout} such kernels give {cout} output channels "
            f"(drawn: {cout} = {c_out})", ha="center", va="top", fontsize=10.5)
    step, s, y0 = 2.5, 0.75, -2.35
    for c in range(c_out):
        x0 = 0.3 + step * c
        for d in range(c_in - 1, -1, -1):  # a stack of slices, the first in front
            ax.add_patch(Rectangle((x0 + 0.12 * d, y0 + 0.12 * d), s, s, fc=CHANNEL_TINTS[d],
                                   ec="white", alpha=0.85))
        ax.text(x0 + s / 2 + 0.12, y0 - 0.12, f"$W_{{{c + 1}}}, b_{{{c + 1}}}$",
                ha="center", va="top", fontsize=10)
        _arrow(ax, (x0 + s + 0.35, y0 + s / 2 + 0.12), (x0 + s + 0.8, y0 + s / 2 + 0.12))
        ax.add_patch(Rectangle((x0 + s + 0.9, y0 + 0.12), s * 0.8, s * 0.8, fc="#888888",
                               ec="white"))
        ax.text(x0 + s + 0.9 + 0.4 * s, y0 - 0.12, f"$f_{{{c + 1}}}$", ha="center", va="top",
                fontsize=10)
    ax.text(4.8, -3.5, f"weight tensor ({cout}, {cin}, {k}, {k}) = ({c_out}, {c_in}, {k}, {k}),"
            f"  biases ({cout},) = ({c_out},)", ha="center", va="top", fontsize=10.5,
            gid="shape")
    ax.text(4.8, -4.15, f"{cout}·({k * k}·{cin} + 1) = {c_out}·({k * k}·{c_in} + 1) = "
            f"{c_out * (k * k * c_in + 1)} weights, whatever the image size",
            ha="center", va="top", fontsize=10, color=TEXT_GREY)


# ----------------------------------------------------------------------------- ResNet

#: What each part of :class:`nnbook.models.ResidualBlock` computes, in the chapter's
#: symbols; the figure traces the block's ``forward`` and stops at a part not named here.
RESIDUAL_PARTS = {
    "inner": r"$W_{k,2}\,f_{k-1} + b_k$",
    "act": r"$\sigma$",
    "outer": r"$W_{k,1}$",
}


def residual_path(block) -> list[tuple[str, object]]:
    """The parts of a residual ``block`` in the order its ``forward`` applies them,
    ``(name, module)``, traced with ``torch.fx``; ConfigError unless the result is the
    input plus the last part's output (an identity skip connection)."""
    import operator

    import torch
    from torch import fx

    from ..errors import ConfigError

    graph = fx.symbolic_trace(block).graph
    nodes = list(graph.nodes)
    x = next(n for n in nodes if n.op == "placeholder")
    path = [n for n in nodes if n.op == "call_module"]
    out = next(n for n in nodes if n.op == "output").args[0]
    chained = all(b.args == (a,) for a, b in zip([x, *path], path, strict=False))
    skip = (getattr(out, "target", None) in (operator.add, torch.add)
            and set(out.args) == {x, path[-1]} if path else False)
    if not (chained and skip):
        raise ConfigError("the block is not f + (a chain of parts applied to f): "
                          + "; ".join(f"{n.op} {n.target}" for n in nodes))
    modules = dict(block.named_modules())
    return [(str(n.target), modules[str(n.target)]) for n in path]


def _describe(module) -> str:
    """The PyTorch class of a block's part, and "no bias" where a layer has none."""
    name = f"nn.{type(module).__name__}"
    return name + (", no bias" if getattr(module, "bias", 0) is None else "")


def residual_block(width: int = 8):
    """The residual block the book trains, :class:`nnbook.models.ResidualBlock`, as a
    diagram: its parts in the order its ``forward`` applies them (traced by
    :func:`residual_path`), each with the chapter's symbol, its PyTorch class and its
    attribute name, the sum with the identity skip connection, and the update
    f_k = f_{k-1} + W_{k,1} σ(W_{k,2} f_{k-1} + b_k) as the title. ``width`` only
    builds the block (its size is not drawn)."""
    from ..errors import ConfigError
    from ..models import ResidualBlock

    parts = residual_path(ResidualBlock(width))
    unknown = [name for name, _ in parts if name not in RESIDUAL_PARTS]
    if unknown:
        raise ConfigError(f"ResidualBlock has parts {unknown} that the figure does not "
                          f"know: add them to RESIDUAL_PARTS")

    box_w, box_h, gap = 2.3, 1.0, 0.75
    x_in = 0.0
    xs = [1.05 + i * (box_w + gap) for i in range(len(parts))]
    x_plus = xs[-1] + box_w + gap
    x_out = x_plus + 1.0
    fig, ax = _canvas((9.6, 3.0), (-0.6, x_out + 0.5), (-1.15, 2.0))
    ax.text(x_in, 0, "$f_{k-1}$", ha="center", va="center", fontsize=14)
    prev = x_in + 0.5
    for x0, (name, module) in zip(xs, parts, strict=True):
        colour = PALETTE[2] if name == "act" else PALETTE[0]
        for fc, ec, alpha in ((colour, "none", 0.18), ("none", colour, 1.0)):
            ax.add_patch(FancyBboxPatch((x0, -box_h / 2), box_w, box_h,
                                        boxstyle="round,pad=0.02,rounding_size=0.12",
                                        fc=fc, ec=ec, lw=1.5, alpha=alpha))
        ax.text(x0 + box_w / 2, 0.13, RESIDUAL_PARTS[name], ha="center", va="center",
                fontsize=13, gid="part")
        ax.text(x0 + box_w / 2, -0.27, _describe(module), ha="center", va="center",
                fontsize=8.5, color=TEXT_GREY)
        ax.text(x0 + box_w / 2, -0.7, f"self.{name}", ha="center", va="top", fontsize=9,
                family="monospace", color=TEXT_GREY, gid="code")
        _arrow(ax, (prev, 0), (x0 - 0.05, 0))
        prev = x0 + box_w + 0.05
    ax.add_patch(Circle((x_plus, 0), 0.27, fc="white", ec="#333333", lw=1.5, zorder=6))
    ax.text(x_plus, 0, "+", ha="center", va="center", fontsize=16, zorder=7)
    ax.text(x_plus, -0.7, "f + …", ha="center", va="top", fontsize=9, family="monospace",
            color=TEXT_GREY)
    _arrow(ax, (prev, 0), (x_plus - 0.29, 0))
    _arrow(ax, (x_plus + 0.29, 0), (x_out - 0.35, 0))
    ax.text(x_out, 0, "$f_k$", ha="center", va="center", fontsize=14)
    # the skip connection: from f_{k-1} over the block into the sum, unchanged
    y_skip = 1.0
    ax.plot([x_in, x_in, x_plus], [0.3, y_skip, y_skip], color=HIGHLIGHT, lw=1.8,
            solid_joinstyle="round")
    _arrow(ax, (x_plus, y_skip + 0.01), (x_plus, 0.28), HIGHLIGHT, lw=1.8)
    ax.text((x_in + x_plus) / 2, y_skip + 0.08, "identity (skip connection): $f_{k-1}$",
            ha="center", va="bottom", fontsize=10.5, color=HIGHLIGHT)
    ax.text((x_in + x_out) / 2, 1.65,
            r"$f_k = f_{k-1} + W_{k,1}\,\sigma\left(W_{k,2}\,f_{k-1} + b_k\right)$",
            ha="center", va="bottom", fontsize=13.5)
    return fig
