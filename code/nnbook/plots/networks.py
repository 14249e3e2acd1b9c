"""Figures of the part "Neural networks": network diagrams, activation functions,
gradient descent, backpropagation checks and the depth (ResNet) experiment.

Every function returns a matplotlib figure and leaves the style to
:func:`nnbook.plots.use_style`. The figures of results draw what the views of
:mod:`nnbook.present.networks` hand them (per-seed series, with a line for the
mean and a band for the seeds' range) and put the provenance lines they are
given under the figure. No tables, sentences or verdicts here.

Explained in the chapters "Neural networks", "Backpropagation" and "ResNet".
"""

from __future__ import annotations

import math
import warnings

import matplotlib.pyplot as plt
import numpy as np

from ..errors import ConfigError
from . import PALETTE

#: Node colours of the network diagram: inputs, hidden units, outputs.
NODE_COLOURS = {"input": PALETTE[0], "hidden": PALETTE[2], "output": PALETTE[1]}
#: Line colour and marker of each variant of the depth experiment.
VARIANT_STYLE = {"plain": (PALETTE[1], "o", "plain (PyTorch default init)"),
                 "plain-he": (PALETTE[4], "s", "plain (He init)"),
                 "residual": (PALETTE[0], "^", "residual (default init)")}


def _shown_nodes(width: int, max_nodes: int) -> tuple[list[float], bool]:
    """Vertical positions of the nodes drawn for a layer, and whether some are elided."""
    if width <= max_nodes:
        return list(np.arange(width) - (width - 1) / 2), False
    half = max_nodes // 2
    top = [i - (max_nodes) / 2 for i in range(half)]
    return top + [-y for y in reversed(top)], True


def network_diagram(widths, max_nodes: int = 10, ax=None, title: str | None = None):
    """Draw a fully connected network with layer widths ``widths`` (input first, output last).

    Inputs, hidden units and outputs get different colours; every node of a
    layer is joined to every node of the next, and each gap is labelled with
    its weights W_k and biases b_k. Layers wider than ``max_nodes`` are drawn
    with ``max_nodes`` nodes and a "⋮"; the label under each column gives the
    true width n_k.
    """
    widths = list(widths)
    if len(widths) < 2 or any(not isinstance(w, (int, np.integer)) or w < 1 for w in widths):
        raise ConfigError(f"widths must be two or more positive integers, got {widths}")
    if max_nodes < 2:
        raise ConfigError(f"max_nodes must be at least 2, got {max_nodes}")
    L = len(widths) - 1
    tallest = max(min(w, max_nodes) for w in widths)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.5 + 1.6 * (L + 1), 1.0 + 0.45 * tallest))
    fig = ax.figure
    cols = [_shown_nodes(w, max_nodes) for w in widths]
    for k in range(L):  # edges first, under the nodes
        for y0 in cols[k][0]:
            for y1 in cols[k + 1][0]:
                ax.plot([k, k + 1], [y0, y1], color="#9a9a9a", lw=0.6, alpha=0.7, zorder=1)
        ax.text(k + 0.5, tallest / 2 + 0.35, f"$W_{{{k + 1}}}, b_{{{k + 1}}}$", ha="center",
                va="bottom", fontsize=9)
    for k, (ys, elided) in enumerate(cols):
        kind = "input" if k == 0 else ("output" if k == L else "hidden")
        ax.scatter([k] * len(ys), ys, s=260, color=NODE_COLOURS[kind], edgecolor="black",
                   linewidth=0.8, zorder=3)
        if elided:
            ax.text(k, 0, "⋮", ha="center", va="center", fontsize=14, zorder=4)
        name = {"input": "input $f_0 = x$", "output": f"output $f_{{{L}}}$"}.get(
            kind, f"hidden $f_{{{k}}}$")
        ax.text(k, -tallest / 2 - 0.45, f"{name}\n$n_{{{k}}} = {widths[k]}$", ha="center",
                va="top", fontsize=9)
    handles = [plt.Line2D([], [], marker="o", ls="", markersize=10, color=c, markeredgecolor="k",
                          label=label) for label, c in NODE_COLOURS.items()]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    ax.set_xlim(-0.5, L + 0.5)
    ax.set_ylim(-tallest / 2 - 1.5, tallest / 2 + 1.0)
    ax.axis("off")
    if title:
        ax.set_title(title)
    return fig


def activation_functions(names=("relu", "tanh", "sigmoid")):
    """σ and its derivative σ' for each activation (the σ' enter backpropagation)."""
    from ..backprop import ACTIVATIONS

    z = np.linspace(-4, 4, 401)
    fig, axes = plt.subplots(1, 2, figsize=(8, 3), sharex=True)
    for i, name in enumerate(names):
        if name not in ACTIVATIONS:
            raise ConfigError(f"unknown activation {name!r}: choose from {', '.join(ACTIVATIONS)}")
        sigma, dsigma = ACTIVATIONS[name]
        axes[0].plot(z, sigma(z), color=PALETTE[i], label=name)
        axes[1].plot(z, dsigma(z), color=PALETTE[i], label=name)
    axes[0].set_title(r"activation $\sigma(z)$")
    axes[1].set_title(r"derivative $\sigma'(z)$")
    for ax in axes:
        ax.set_xlabel("$z$")
        ax.legend()
    fig.tight_layout()
    return fig


def _notes(fig, lines, y: float = -0.02) -> None:
    """Provenance lines under ``fig`` (small grey text)."""
    lines = [line for line in lines if line]
    if lines:
        fig.text(0.5, y, "\n".join(lines), ha="center", va="top", fontsize=6.5,
                 color="#444444", wrap=True)


def gradient_descent(fit: dict, sweep: list[tuple], noise_floor: float, notes=()):
    """The live gradient-descent example.

    Left: one run's fit at several steps; ``fit`` holds ``grid``, ``X``, ``Y``, ``lr``
    and ``snapshots`` (step -> outputs on the grid). Right: mean loss against step for
    each learning rate, one thin line per seed; ``sweep`` holds ``(lr, losses, diverged)``
    with one loss list per seed (``None`` = not finite) and one flag per seed. A run that
    diverged ends with a cross where it leaves the chart on its way to overflowing.
    """
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4.0), gridspec_kw={"wspace": 0.3})
    grid = np.asarray(fit["grid"])
    ax0.plot(grid, np.sin(grid), color="black", lw=1, ls=":", label=r"$\sin(x)$ (target)")
    steps = sorted(fit["snapshots"], key=int)
    cmap = plt.get_cmap("viridis")
    for i, step in enumerate(steps):
        ax0.plot(grid, fit["snapshots"][step], color=cmap(i / max(len(steps) - 1, 1)),
                 label=f"after {int(step):,} steps")
    ax0.scatter(fit["X"], fit["Y"], s=14, color=PALETTE[1], zorder=3,
                label=f"{len(fit['X'])} training points")
    ax0.set_ylim(-2.5, 1.6)
    ax0.set_xlabel("$x$")
    ax0.set_ylabel(r"network output $f_L(x)$")
    ax0.set_title(f"the fit during gradient descent (η = {fit['lr']}, {fit['label']})",
                  fontsize=10)
    ax0.legend(fontsize=7, ncol=2, loc="lower right")
    top = 10 * max(loss[0] for _, losses, _ in sweep for loss in losses)
    for i, (lr, losses, diverged) in enumerate(sweep):
        colour = PALETTE[i % len(PALETTE)]
        for j, (run, blown) in enumerate(zip(losses, diverged, strict=True)):
            loss = np.array([np.inf if v is None else v for v in run], dtype=float)
            steps_axis = np.arange(len(loss)) + 1
            shown = loss < top
            cut = len(loss) if shown.all() else int(np.argmin(shown))
            label = None
            if j == 0:
                n_blown = sum(diverged)
                label = f"η = {lr}" + (f" (diverged: {n_blown} of {len(diverged)} seeds)"
                                       if n_blown else "")
            ax1.plot(steps_axis[:cut], loss[:cut], color=colour, lw=0.9, alpha=0.8,
                     label=label)
            if blown:
                ax1.plot(steps_axis[min(cut, len(loss) - 1)], top, "x", color=colour,
                         markersize=9, mew=2, clip_on=False)
    ax1.axhline(noise_floor, color="#666666", ls="--", lw=1,
                label=r"$\frac{1}{2}\sigma^2$: expected loss of $\sin$ itself")
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    ax1.set_ylim(noise_floor / 3, top)
    ax1.set_xlabel("step + 1")
    ax1.set_ylabel(r"mean loss $\frac{1}{N}\sum_i \frac{1}{2}(f_L(x_i)-y_i)^2$")
    ax1.set_title(f"loss against step, {len(sweep)} learning rates (one line per seed)",
                  fontsize=10)
    ax1.legend(fontsize=7, loc="upper right")
    _notes(fig, notes)
    return fig


def backprop_errors(autograd: dict, finite_diff: dict, title: str | None = None,
                    note: str | None = None):
    """Per-layer relative error of the backprop gradients ∂𝓛/∂W_k, ∂𝓛/∂b_k against
    autograd and against finite differences (log scale; float64 round-off marked).
    ``note`` (what network and data) goes under the figure."""
    L = len(autograd["W"])
    x = np.arange(1, L + 1)
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    bars = [("autograd, $W_k$", autograd["W"], PALETTE[0], -0.3),
            ("autograd, $b_k$", autograd["b"], PALETTE[5], -0.1),
            ("finite differences, $W_k$", finite_diff["W"], PALETTE[1], 0.1),
            ("finite differences, $b_k$", finite_diff["b"], PALETTE[4], 0.3)]
    eps = np.finfo(float).eps
    for label, values, colour, dx in bars:
        ax.bar(x + dx, np.maximum(values, eps / 100), width=0.2, color=colour, label=label)
    ax.axhline(eps, color="black", ls=":", lw=1, label="float64 machine epsilon")
    ax.set_yscale("log")
    ax.set_xticks(x)
    ax.set_xlabel("layer $k$")
    ax.set_ylabel("max relative error")
    ax.set_title(title or "backpropagation against autograd and finite differences")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    _notes(fig, [note])
    return fig


def backprop_cost(rows: list[dict], note: str | None = None):
    """Seconds for all gradients by backpropagation vs by finite differences (log-log)."""
    params = [r["parameters"] for r in rows]
    fig, ax = plt.subplots(figsize=(5.6, 3.4))
    ax.plot(params, [r["backprop_s"] for r in rows], "o-", color=PALETTE[0],
            label="backpropagation (1 forward + 1 backward pass)")
    ax.plot(params, [r["finite_diff_s"] for r in rows], "s-", color=PALETTE[1],
            label="finite differences (2 forward passes per parameter)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("number of parameters")
    ax.set_ylabel("seconds (this machine)")
    ax.set_title("cost of all gradients")
    ax.legend(fontsize=7)
    fig.tight_layout()
    _notes(fig, [note])
    return fig


def _band(ax, x, per_seed, colour, label, marker="o", geometric: bool = False):
    """The mean over seeds (geometric for quantities shown on a log scale) as a line, the
    seeds' range as a shaded band; ``per_seed`` has one row per seed (NaN: no value)."""
    values = np.asarray(per_seed, dtype=float)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # a depth where every run diverged
        centre = (np.exp(np.nanmean(np.log(values), 0)) if geometric
                  else np.nanmean(values, 0))
        low, high = np.nanmin(values, 0), np.nanmax(values, 0)
    ax.plot(x, centre, "-", marker=marker, ms=4, color=colour, label=label)
    if len(values) > 1:
        ax.fill_between(x, low, high, color=colour, alpha=0.18, lw=0)


def depth_results(depths, series: list[tuple], title: str, notes=()):
    """Final training loss (log scale) and training accuracy (percent) against depth.

    ``series``: ``(variant, loss_per_seed, acc_per_seed)``, each one row per seed and one
    column per depth (NaN where a run diverged); lines are means over the seeds, bands
    their range, and a depth at which a run diverged gets a cross on the upper edge.
    """
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 3.8))
    for variant, loss, acc in series:
        colour, marker, label = VARIANT_STYLE[variant]
        _band(ax0, depths, loss, colour, label, marker)
        _band(ax1, depths, 100 * np.asarray(acc, dtype=float), colour, label, marker)
        blown = [d for d, col in zip(depths, np.asarray(loss, dtype=float).T, strict=True)
                 if np.isnan(col).any()]
        if blown:
            ax0.plot(blown, [10.0] * len(blown), "x", color=colour, markersize=9, mew=2,
                     clip_on=False, label=f"{label}: diverged")
    ax0.axhline(math.log(10), color="#666666", ls="--", lw=1,
                label="chance (loss ln 10, accuracy 10 %)")
    ax1.axhline(10, color="#666666", ls="--", lw=1)
    ax0.set_yscale("log")
    ax0.set_ylabel("final training loss (NLL, log scale)")
    ax1.set_ylabel("final training accuracy (%)")
    ax1.set_ylim(0, 100)
    for ax in (ax0, ax1):
        ax.set_xlabel("depth (hidden blocks)")
        ax.set_xticks(list(depths))
    ax1.legend(*ax0.get_legend_handles_labels(), fontsize=8, loc="upper left",
               bbox_to_anchor=(1.02, 1.0))
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _notes(fig, notes)
    return fig


def gradient_norms(series: list[tuple], depth: int, grad_batch: int, notes=()):
    """‖∂𝓛/∂W‖ of each hidden block at initialisation for the deepest networks (log scale).

    ``series``: ``(variant, per_seed)`` with one row of norms per seed (input side
    first); lines are geometric means over the seeds, bands their range.
    """
    fig, ax = plt.subplots(figsize=(6.6, 3.8))
    for variant, per_seed in series:
        colour, marker, label = VARIANT_STYLE[variant]
        blocks = np.arange(1, np.asarray(per_seed).shape[1] + 1)
        _band(ax, blocks, per_seed, colour, label, marker, geometric=True)
    ax.set_yscale("log")
    ax.set_xlabel("hidden block (1 = next to the input)")
    ax.set_ylabel(r"$\|\partial \mathcal{L} / \partial W\|$ at initialisation")
    ax.set_title(f"gradient norm per block, depth {depth}, {grad_batch} training images",
                 fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    _notes(fig, notes)
    return fig


def signal_spread(depths, series: list[tuple], notes=()):
    """How much the output of a freshly initialised network still depends on its input:
    the spread of the output over different images relative to the same network type at
    the smallest depth (log scale). ``series``: ``(variant, per_seed)``, one row per seed
    and one column per depth; lines are geometric means over the seeds, bands their range.
    """
    fig, ax = plt.subplots(figsize=(6.6, 3.8))
    for variant, per_seed in series:
        colour, marker, label = VARIANT_STYLE[variant]
        _band(ax, depths, per_seed, colour, label, marker, geometric=True)
    ax.axhline(1.0, color="#666666", ls=":", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("depth (hidden blocks)")
    ax.set_xticks(list(depths))
    ax.set_ylabel(f"output spread over images,\nrelative to depth {min(depths)}")
    ax.set_title("at initialisation: does the output still depend on the input?",
                 fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    _notes(fig, notes)
    return fig
