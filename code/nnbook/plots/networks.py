"""Figures of the part "Neural networks": network diagrams, activation functions,
gradient descent, backpropagation checks and the depth (ResNet) experiment.

Every function returns a matplotlib figure (or a Markdown table) and leaves the
style to :func:`nnbook.plots.use_style`. Result figures get the provenance line
from :func:`nnbook.plots.caption`.

Explained in the chapters "Neural networks", "Backpropagation" and "ResNet".
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

from ..errors import ConfigError
from . import PALETTE, caption

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


def gradient_descent_fit(result: dict):
    """The live gradient-descent example: the fit at several steps, and loss against step
    for each learning rate of the sweep (a diverged run ends with a cross)."""
    cfg = result["config"]
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4.0), gridspec_kw={"wspace": 0.3})
    grid = np.asarray(result["grid"])
    ax0.plot(grid, np.sin(grid), color="black", lw=1, ls=":", label=r"$\sin(x)$ (target)")
    steps = sorted(result["snapshots"], key=int)
    cmap = plt.get_cmap("viridis")
    for i, step in enumerate(steps):
        ax0.plot(grid, result["snapshots"][step], color=cmap(i / max(len(steps) - 1, 1)),
                 label=f"after {int(step):,} steps")
    ax0.scatter(result["X"], result["Y"], s=14, color=PALETTE[1], zorder=3,
                label=f"{len(result['X'])} training points")
    ax0.set_ylim(-2.5, 1.6)
    ax0.set_xlabel("$x$")
    ax0.set_ylabel("$f_L(x)$")
    ax0.set_title(f"the fit during gradient descent (lr {cfg['lr']})")
    ax0.legend(fontsize=7, ncol=2, loc="lower right")
    top = 10 * max(run["loss"][0] for run in result["sweep"])
    for i, run in enumerate(result["sweep"]):
        loss = np.array([np.inf if v is None else v for v in run["loss"]], dtype=float)
        steps_axis = np.arange(len(loss)) + 1
        label = f"lr {run['lr']}" + (" (diverged)" if run["diverged"] else "")
        shown = loss < top
        cut = len(loss) if shown.all() else int(np.argmin(shown))
        ax1.plot(steps_axis[:cut], loss[:cut], color=PALETTE[i], label=label)
        if run["diverged"]:
            ax1.plot(steps_axis[min(cut, len(loss) - 1)], top, "x", color=PALETTE[i],
                     markersize=10, mew=2, clip_on=False)
    ax1.axhline(result["noise_floor"], color="#666666", ls="--", lw=1,
                label=r"$\frac{1}{2}\sigma_{noise}^2$: expected loss of $\sin$ itself")
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    ax1.set_ylim(result["noise_floor"] / 3, top)
    ax1.set_xlabel("step + 1")
    ax1.set_ylabel(r"mean loss $\frac{1}{N}\sum_i \frac{1}{2}(f_L(x_i)-y_i)^2$")
    ax1.set_title(f"loss against step, {len(result['sweep'])} learning rates")
    ax1.legend(fontsize=7, loc="upper right")
    caption(fig, result)
    return fig


def _note(fig, text: str | None) -> None:
    """A provenance line under a figure that is not an experiment result."""
    if text:
        fig.text(0.5, -0.02, text, ha="center", va="top", fontsize=7, color="#444444", wrap=True)


def backprop_errors(autograd: dict, finite_diff: dict, title: str | None = None,
                    note: str | None = None):
    """Per-layer relative error of the backprop gradients ∂L/∂W_k, ∂L/∂b_k against
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
    _note(fig, note)
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
    _note(fig, note)
    return fig


def _depth_series(result: dict, variant: str, key: str):
    """Per depth: mean, min, max of ``key`` over the seeds that did not diverge, and
    the depths where every run diverged."""
    out = []
    for depth in result["config"]["depths"]:
        vals = [r[key] for r in result["rows"]
                if r["variant"] == variant and r["depth"] == depth and not r["diverged"]]
        out.append((depth, np.mean(vals) if vals else np.nan,
                    min(vals) if vals else np.nan, max(vals) if vals else np.nan))
    return np.array(out, dtype=float)


def depth_results(result: dict):
    """Final training loss and training accuracy against depth, one line per variant.

    With several seeds the line is the mean and the bars span min to max; a
    depth where every run diverged is marked with a cross on the upper edge.
    """
    cfg = result["config"]
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(12, 3.8))
    for variant in cfg["variants"]:
        colour, marker, label = VARIANT_STYLE[variant]
        for ax, key, scale in ((ax0, "train_loss", 1.0), (ax1, "train_acc", 100.0)):
            s = _depth_series(result, variant, key)
            ax.errorbar(s[:, 0], scale * s[:, 1],
                        yerr=[scale * (s[:, 1] - s[:, 2]), scale * (s[:, 3] - s[:, 1])],
                        color=colour, marker=marker, capsize=3, label=label)
            bad = s[np.isnan(s[:, 1]), 0]
            if len(bad):
                top = ax.get_ylim()[1] if key == "train_acc" else 10.0
                ax.plot(bad, [top] * len(bad), "x", color=colour, markersize=9, mew=2,
                        clip_on=False, label=f"{label}: diverged")
    ax0.axhline(math.log(10), color="#666666", ls="--", lw=1,
                label="chance level (loss ln 10, accuracy 10 %)")
    ax1.axhline(10, color="#666666", ls="--", lw=1)
    ax0.set_yscale("log")
    ax0.set_ylabel("final training loss (NLL, log scale)")
    ax1.set_ylabel("final training accuracy (%)")
    for ax in (ax0, ax1):
        ax.set_xlabel("depth (hidden blocks of width "
                      f"{cfg['width']})")
        ax.set_xticks(cfg["depths"])
    ax1.legend(*ax0.get_legend_handles_labels(), fontsize=8, loc="upper left",
               bbox_to_anchor=(1.02, 1.0))
    fig.suptitle(f"same data and budget: {cfg['num_epochs']} epochs of SGD, lr {cfg['lr']}, "
                 f"momentum {cfg['momentum']}, batch {cfg['batch_size']}"
                 + f", seed {result['seed']}",
                 fontsize=10)
    fig.tight_layout()
    caption(fig, result)
    return fig


def gradient_norms(result: dict):
    """‖∂L/∂W‖ of each hidden block at initialisation for the deepest networks (log scale)."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for variant, norms in result["grad_norms"].items():
        colour, marker, label = VARIANT_STYLE[variant]
        ax.plot(np.arange(1, len(norms) + 1), norms, marker=marker, markersize=4, color=colour,
                label=label)
    ax.set_yscale("log")
    ax.set_xlabel("hidden block (1 = next to the input)")
    ax.set_ylabel(r"$\|\partial L / \partial W\|$ at initialisation")
    ax.set_title(f"gradient norm per layer, depth {result['grad_depth']}, "
                 f"{result['config']['grad_batch']} training images")
    ax.legend(fontsize=8)
    fig.tight_layout()
    caption(fig, result)
    return fig


def depth_table(result: dict):
    """Markdown table: final training loss / accuracy per variant and depth, with provenance."""
    from ..report import fmt_pct, provenance_cells, table

    cfg = result["config"]
    header = ["variant"] + [f"depth {d}" for d in cfg["depths"]]
    rows = []
    for variant in cfg["variants"]:
        cells = [VARIANT_STYLE[variant][2]]
        for depth in cfg["depths"]:
            m = result["metrics"][f"{variant}-{depth}"]
            if m["train_loss"] is None:
                cells.append("diverged")
            else:
                cells.append(f"{m['train_loss']:.3f} / {fmt_pct(m['train_acc'])}")
        rows.append(cells)
    profile, data, counts = provenance_cells(result)
    seeds = str(result["seed"])
    note = (f"Final training loss / training accuracy (mean over seeds {seeds}). "
            f"Profile {profile}; {data}; {counts}; {cfg['num_epochs']} epochs, SGD lr {cfg['lr']}"
            f", momentum {cfg['momentum']}.")
    return table(header, rows, note)
