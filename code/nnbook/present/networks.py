"""Views of the part "Neural networks": the live gradient-descent example ("Neural
networks"), backpropagation against autograd and finite differences
("Backpropagation") and the depth experiment ("ResNet").

Every view runs (or reads from the cache) every seed its profile runs; numbers are
means over the seeds, tables show mean ± standard deviation, figures the seeds'
range. Computations that are not experiments (random networks for the gradient
checks, freshly initialised networks for the forward signal) draw their random
numbers from the view's seeds, moved by ``seed_offset`` like the experiments'.
See :mod:`nnbook.present` for what a view is.
"""

from __future__ import annotations

import math
import statistics

import numpy as np
import torch

from .. import backprop, lecture
from .. import findings as F
from ..configspec import DEPTH_VARIANTS
from ..data import load
from ..experiments import current_profile, get
from ..plots import networks as nplots
from ..studies.common import train_subset
from ..studies.depth import fresh_network
from . import Table, View, register
from .common import mean, prov, runs

#: The network of the lecture's Figure 1: 6 inputs, hidden widths 2, 6, 4 (output 3: ours).
FIGURE_1 = [6, 2, 6, 4, 3]


def _sd(values) -> float:
    values = list(values)
    return statistics.stdev(values) if len(values) > 1 else 0.0


def _positive(label: str, values, unit: str = "") -> F.Sample:
    return F.Sample(label, tuple(values), percent=False, unit=unit)


# ----------------------------------------------------------------------------- gradient descent

def _max_rise(losses) -> float:
    """The largest factor by which the loss grows from one step to the next, over the
    steps at which it is finite."""
    finite = [x for x in losses if x is not None and math.isfinite(x)]
    return max((b / a for a, b in zip(finite[:-1], finite[1:], strict=True)), default=0.0)


def gradient_descent(profile=None, seed_offset: int = 0, **overrides) -> View:
    """The live example of "Neural networks": a 1-16-16-1 tanh network fitted to noisy
    samples of sin x by full-batch gradient descent with NumPy backpropagation, on every
    seed (each seed draws its own data and initial weights), and a learning-rate sweep."""
    profile = current_profile(profile)
    v = View("gradient-descent", profile)
    results = runs("gradient-descent", profile, seed_offset, **overrides)
    v.results = {"runs": results}
    first, cfg = results[0], results[0]["config"]
    lrs = [s["lr"] for s in first["sweep"]]
    small, top = min(lrs), max(lrs)
    middle = [lr for lr in lrs if cfg["lr"] < lr < top]

    v.num("profile", profile, "text")
    v.num("n_seeds", len(results), "count")
    v.num("fig1_params", sum(r["parameters"] for r in backprop.layer_shapes(FIGURE_1)),
          "count")
    for key in ("n", "noise", "lr", "steps"):
        v.num(key, cfg[key], "config")
    v.num("n_lrs", len(lrs), "count")
    v.num("lr_small", small, "config")
    v.num("lr_top", top, "config")
    v.num("lr_middle", middle[0] if middle else top, "config")
    v.num("floor", first["noise_floor"], "config")

    initial = [r["metrics"]["initial_loss"] for r in results]
    final = [r["metrics"]["final_loss"] for r in results]
    sin_loss = [float(np.mean(0.5 * (np.sin(np.asarray(r["X"])) - np.asarray(r["Y"])) ** 2))
                for r in results]
    ratio = [f / s for f, s in zip(final, sin_loss, strict=True)]
    fell = [f / i for f, i in zip(final, initial, strict=True)]
    v.num("initial", mean(initial), "positive")
    v.num("final", mean(final), "positive")
    v.num("final_sd", _sd(final), "positive")
    v.num("sin_loss", mean(sin_loss), "positive")
    v.num("vs_sin", mean(ratio), "positive")
    v.num("vs_sin_sd", _sd(ratio), "positive")

    def sweep(lr):
        return [next(s for s in r["sweep"] if s["lr"] == lr) for r in results]

    small_final = [s["loss"][-1] for s in sweep(small)]
    main_final = [s["loss"][-1] for s in sweep(cfg["lr"])]
    v.num("small_final", mean(small_final), "positive")
    blown = sum(s["diverged"] for s in sweep(top))
    v.num("top_outcome", "on every seed" if blown == len(results) else
          f"on {blown} of the {len(results)} seeds" if blown else "on none of the seeds",
          "text")

    v.add(F.at_most("loss-falls", "gradient descent lowers the mean loss more than "
                    "tenfold", _positive("final / initial loss", fell), 0.1))
    v.add(F.all_of("near-noise", "the final loss is within a factor of two of the loss "
                   "that sin x itself has on the same points", [
                       F.at_least("near-noise-low", "not below half of it",
                                  _positive("final loss / loss of sin x", ratio), 0.5),
                       F.at_most("near-noise-high", "not above twice it",
                                 _positive("final loss / loss of sin x", ratio), 2.0)]))
    steady = [_max_rise(s["loss"]) for lr in lrs if lr <= cfg["lr"] for s in sweep(lr)]
    v.add(F.at_most("steady", f"with η ≤ {cfg['lr']} the loss falls at every step",
                    _positive("largest rise from one step to the next (factor)", steady), 1.0))
    v.add(F.exceeds("small-slow", f"with η = {small} the loss is still higher than with "
                    f"η = {cfg['lr']} when the budget runs out",
                    _positive(f"η = {small}", small_final),
                    _positive(f"η = {cfg['lr']}", main_final)))
    still = [s["loss"][-101] - s["loss"][-1] for s in sweep(small)]
    v.add(F.at_least("small-descending", f"with η = {small} the loss is still falling at "
                     "the end (lower at the last step than 100 steps before)",
                     _positive("decrease over the last 100 steps", still), 1e-12))
    if middle:
        v.add(F.at_least("middle-spikes", f"with η = {middle[0]} the loss does not fall "
                         "smoothly: at some step it rises by at least half",
                         _positive("largest rise in one step (factor)",
                                   [_max_rise(s["loss"]) for s in sweep(middle[0])]), 1.5))
    v.add(F.at_least("top-jumps", f"with η = {top} the loss grows at least fivefold within "
                     "a single step",
                     _positive("largest rise in one step (factor)",
                               [_max_rise(s["loss"]) for s in sweep(top)]), 5.0))

    def table():
        rows = []
        for lr in lrs:
            runs_lr = sweep(lr)
            finals = [s["loss"][-1] for s in runs_lr if not s["diverged"]]
            n_blown = sum(s["diverged"] for s in runs_lr)
            rows.append([lr, f"{len(runs_lr) - n_blown} of {len(runs_lr)}",
                         (f"{mean(finals):.4f} ± {_sd(finals):.4f}" if len(finals) > 1
                          else f"{finals[0]:.4f}" if finals else "–"),
                         ", ".join(str(s["steps_run"]) for s in runs_lr if s["diverged"])
                         or "–"])
        return Table(["learning rate η", "seeds that converged", "final mean loss "
                      "(converged seeds, mean ± sd)", "step at which a run overflowed"],
                     rows, f"{cfg['steps']:,} steps of full-batch gradient descent; each "
                     "seed draws its own data and initial weights; the same in both "
                     f"profiles.<br>{prov(results, command=True)}")

    v.tables["sweep"] = table
    fit = {"grid": first["grid"], "X": first["X"], "Y": first["Y"], "lr": cfg["lr"],
           "snapshots": first["snapshots"], "label": f"seed {first['seed']}"}
    v.figures["descent"] = lambda: nplots.gradient_descent(
        fit, [(lr, [s["loss"] for s in sweep(lr)], [s["diverged"] for s in sweep(lr)])
              for lr in lrs], first["noise_floor"], [prov(results)])
    return v


register("gradient-descent", "networks:gradient_descent", chapter="neural-networks")


# ----------------------------------------------------------------------------- backpropagation

#: The networks of the agreement table: (widths, activation, loss).
AGREEMENT_CASES = [([6, 2, 6, 4, 3], "relu", "nll"), ([6, 2, 6, 4, 3], "sigmoid", "mse"),
                   ([4, 16, 2], "tanh", "mse"), ([3] + [8] * 8 + [2], "tanh", "nll"),
                   ([10, 20, 20, 20, 20, 5], "sigmoid", "nll"),
                   ([784, 64, 64, 10], "relu", "nll")]
#: What the prose allows: backprop against autograd, and against finite differences.
AUTOGRAD_BOUND = 1e-13
FINITE_DIFF_BOUND = 1e-6
FD_MAX_PARAMS = 600
COST_WIDTHS = [2, 4, 8, 16, 32, 48]


def multiply_adds(widths, n: int = 1) -> dict:
    """Multiply-adds of the matrix products for ``n`` samples: the forward pass (one
    ``W_k f_{k-1}`` per layer) and the backward pass (``W_k^T ∂𝓛/∂z_k`` for k ≥ 2 and
    ``∂𝓛/∂z_k f_{k-1}^T`` for every k), the products that dominate the cost."""
    layers = [a * b for a, b in zip(widths[1:], widths[:-1], strict=True)]
    return {"forward": n * sum(layers), "backward": n * (sum(layers[1:]) + sum(layers))}


def backprop_view(profile=None, seed_offset: int = 0) -> View:
    """Theorem 1 in NumPy against PyTorch's autograd and central finite differences, on
    random networks and data (no training: the same in both profiles), and the cost of
    finite differences against backpropagation on this machine."""
    profile = current_profile(profile)
    v = View("backprop", profile)
    seed = seed_offset
    eps = float(np.finfo(float).eps)
    net, X, Y = backprop.random_problem(FIGURE_1, "tanh", n=16, loss="nll", seed=seed)
    auto = backprop.compare_with_autograd(net, X, Y, "nll")
    fd = backprop.gradient_check(net, X, Y, "nll")
    rows = backprop.agreement_table(AGREEMENT_CASES, n=16, seed=seed,
                                    fd_max_params=FD_MAX_PARAMS)
    auto_all = [auto["max"]] + [r["autograd"] for r in rows]
    fd_all = [fd["max"]] + [r["finite_diff"] for r in rows if r["finite_diff"] is not None]

    v.num("seed", seed, "config")
    v.num("eps", eps, "config")
    v.num("fd_eps", 1e-5, "config")
    v.num("auto_bound", AUTOGRAD_BOUND, "config")
    v.num("fd_bound", FINITE_DIFF_BOUND, "config")
    v.num("fd_max_params", FD_MAX_PARAMS, "config")
    v.num("n_cases", len(rows), "count")
    v.num("auto_fig1", auto["max"], "roundoff", bound=AUTOGRAD_BOUND)
    v.num("auto_fig1_eps", auto["max"] / eps, "roundoff", bound=AUTOGRAD_BOUND / eps)
    v.num("fd_fig1", fd["max"], "roundoff", bound=FINITE_DIFF_BOUND)
    v.num("auto_max", max(auto_all), "roundoff", bound=AUTOGRAD_BOUND)
    v.num("fd_max", max(fd_all), "roundoff", bound=FINITE_DIFF_BOUND)
    v.add(F.at_most("autograd-agrees", "backpropagation and autograd agree to a relative "
                    "error below 10⁻¹³ on every network",
                    _positive("largest relative error", auto_all), AUTOGRAD_BOUND))
    v.add(F.at_most("fd-agrees", "backpropagation and central finite differences agree to "
                    "a relative error below 10⁻⁶ on every network checked",
                    _positive("largest relative error", fd_all), FINITE_DIFF_BOUND))

    cost = backprop.cost_comparison(COST_WIDTHS, depth=3, n=32, seed=seed)
    ratios = [c["finite_diff_s"] / c["backprop_s"] for c in cost]
    v.num("cost_params", cost[-1]["parameters"], "count")
    v.num("cost_params_small", cost[0]["parameters"], "count")
    v.num("cost_ratio", ratios[-1], "machine")
    v.num("cost_ratio_small", ratios[0], "machine")
    v.add(F.at_least("fd-far-slower", f"at {cost[-1]['parameters']:,} parameters, finite "
                     "differences take more than 100 times as long as backpropagation",
                     _positive("time ratio", ratios[-1:]), 100.0))
    v.add(F.Finding("gap-grows", "the gap grows with the number of parameters: the time "
                    "ratio is larger for the largest network than for the smallest",
                    ratios[-1] > ratios[0],
                    f"ratio {ratios[0]:.0f} at {cost[0]['parameters']} parameters, "
                    f"{ratios[-1]:.0f} at {cost[-1]['parameters']:,}",
                    "one timing per network on this machine (best of three for backprop)"))
    mnist = multiply_adds([784, 64, 64, 10])
    v.num("mnist_backward_ratio", mnist["backward"] / mnist["forward"], "config")

    note = (f"random networks and samples (seed {seed}), float64; no training, so the "
            "same in both profiles")
    v.figures["errors"] = lambda: nplots.backprop_errors(
        auto, fd, note=f"random {'-'.join(map(str, FIGURE_1))} tanh network, 16 random "
                       f"samples, NLL loss; {note}")
    v.figures["cost"] = lambda: nplots.backprop_cost(
        cost, note=f"random networks (seed {seed}); wall-clock times on the machine that "
                   "built this page (they vary from run to run)")
    v.tables["agreement"] = lambda: Table(
        ["widths", "σ", "loss", "parameters", "vs autograd", "vs finite differences"],
        [["-".join(map(str, r["widths"])), r["activation"], r["loss"], r["parameters"],
          f"{r['autograd']:.1e}",
          "–" if r["finite_diff"] is None else f"{r['finite_diff']:.1e}"] for r in rows],
        "largest relative error over all layers and all of ∂𝓛/∂z_k, ∂𝓛/∂W_k, ∂𝓛/∂b_k; "
        f"16 random samples per network (seeds {seed}–{seed + len(rows) - 1}), float64; "
        f"finite differences only up to {FD_MAX_PARAMS} parameters; no training, so the "
        "same in both profiles")
    return v


register("backprop", "networks:backprop_view", chapter="backprop")


# ----------------------------------------------------------------------------- depth

LABELS = {variant: nplots.VARIANT_STYLE[variant][2] for variant in DEPTH_VARIANTS}


def output_spread(model, X: torch.Tensor) -> float:
    """How much the output depends on the input: the standard deviation of each output over
    the images ``X``, averaged over the outputs."""
    with torch.no_grad():
        return float(model(X).double().std(0).mean())


def _row(result, variant, depth):
    return next(r for r in result["rows"] if r["variant"] == variant and r["depth"] == depth)


#: The training loss a diverged run counts with in findings (higher than any real one).
DIVERGED_LOSS = 1e6


def _loss(result, variant, depth) -> float:
    """Final training loss; a diverged run counts as :data:`DIVERGED_LOSS`."""
    row = _row(result, variant, depth)
    return DIVERGED_LOSS if row["diverged"] else row["train_loss"]


def _acc(result, variant, depth, key="train_acc") -> float:
    """Final accuracy; NaN for a diverged run (findings count it as 0)."""
    row = _row(result, variant, depth)
    return math.nan if row["diverged"] else row[key]


def _counted(values) -> list[float]:
    """Accuracies as findings count them: a diverged run (NaN) as 0."""
    return [0.0 if math.isnan(x) else x for x in values]


def _summary(losses, accs, depth: int) -> str:
    """Words for the final training loss and accuracy of one network over the seeds,
    saying which seeds diverged (the prose's sentence holds whatever happened)."""
    ok = [(x, a) for x, a in zip(losses, accs, strict=True) if x < DIVERGED_LOSS]
    if not ok:
        return f"at depth {depth} the loss overflowed (the run diverged) on every seed"
    text = (f"{mean(x for x, _ in ok):.3f} at depth {depth} "
            f"({100 * mean(a for _, a in ok):.1f} % training accuracy")
    if len(ok) == len(losses):
        return text + ")"
    return (text + f", means over the {len(ok)} seeds whose run did not diverge; on the "
            f"other {len(losses) - len(ok)} the loss overflowed)")


def _loss_cell(values) -> str:
    finite = [x for x in values if x < DIVERGED_LOSS]
    if len(finite) < len(values):
        return f"diverged on {len(values) - len(finite)} of {len(values)} seeds"
    return f"{mean(finite):.3f} ± {_sd(finite):.3f}"


def _pct_cell(values) -> str:
    finite = [x for x in values if math.isfinite(x)]
    if not finite:
        return "–"
    return f"{100 * mean(finite):.1f} ± {100 * _sd(finite):.1f} %"


def depth(profile=None, seed_offset: int = 0, **overrides) -> View:
    """Plain (default and He initialisation) against residual networks of increasing depth
    (experiment ``depth``, every seed of the profile): final training loss and accuracy,
    gradient norms at initialisation, and how much the output of a freshly initialised
    network still depends on its input."""
    profile = current_profile(profile)
    v = View("depth", profile)
    results = runs("depth", profile, seed_offset, **overrides)
    v.results = {"runs": results}
    first, cfg = results[0], results[0]["config"]
    depths = list(cfg["depths"])
    d_min, d_max = min(depths), max(depths)
    variants = [x for x in DEPTH_VARIANTS if x in cfg["variants"]]
    full = get("depth").full

    v.num("profile", profile, "text")
    d = first["data"]
    v.num("data", d.get("label", "?"), "text")
    v.num("n_seeds", len(results), "count")
    v.num("n_train", first["n_train"], "count")
    v.num("n_test", first["n_test"], "count")
    for key in ("num_epochs", "lr", "momentum", "batch_size", "width", "grad_batch"):
        v.num(key, cfg[key], "config")
    v.num("full_num_epochs", full["num_epochs"], "config")
    v.num("d_min", d_min, "config")
    v.num("d_max", d_max, "config")
    v.num("steps", math.ceil(first["n_train"] / cfg["batch_size"]) * cfg["num_epochs"], "count")
    v.num("chance_loss", math.log(10), "config")

    loss = {(x, dd): [_loss(r, x, dd) for r in results] for x in variants for dd in depths}
    acc = {(x, dd): [_acc(r, x, dd) for r in results] for x in variants for dd in depths}
    test = {(x, dd): [_acc(r, x, dd, "test_acc") for r in results]
            for x in variants for dd in depths}

    def finite_mean(values):
        ok = [x for x in values if math.isfinite(x) and x < DIVERGED_LOSS]
        return mean(ok) if ok else math.nan

    for x in variants:
        key = x.replace("-", "_")
        for which, dd in (("shallow", d_min), ("deep", d_max)):
            # means over the seeds whose run did not diverge; *_summary says which
            v.num(f"{key}_{which}_loss", finite_mean(loss[x, dd]), "positive")
            v.num(f"{key}_{which}_acc", finite_mean(acc[x, dd]), "percent")
            v.num(f"{key}_{which}_test", finite_mean(test[x, dd]), "percent")
            v.num(f"{key}_{which}_summary", _summary(loss[x, dd], acc[x, dd], dd), "text")
    v.num("residual_worst_loss", max(max(loss["residual", dd]) for dd in depths), "positive")

    def sample(label, values, percent=False):
        return F.Sample(label, tuple(values), percent=percent)

    if "plain" in variants:
        v.add(F.at_most("plain-deep-chance", f"with PyTorch's default initialisation the "
                        f"plain network of depth {d_max} ends at chance: a training accuracy "
                        "of at most 11 %",
                        sample(f"plain (default init), depth {d_max}",
                               _counted(acc["plain", d_max]), True), 0.11))
        v.add(F.at_least("plain-shallow-learns", f"with the same initialisation the plain "
                         f"network of depth {d_min} learns: a training accuracy of at least "
                         "80 %", sample(f"plain (default init), depth {d_min}",
                                        _counted(acc["plain", d_min]), True), 0.80))
    if {"plain-he", "residual"} <= set(variants):
        he_worse = v.add(F.exceeds(
            "he-deeper-worse", f"the deepest plain (He init) network (depth {d_max}) ends "
            f"with a higher training loss than the shallowest (depth {d_min})",
            sample(f"plain (He init), depth {d_max}", loss["plain-he", d_max]),
            sample(f"plain (He init), depth {d_min}", loss["plain-he", d_min])))
        # how much the final loss grows from the shallowest to the deepest, seed by seed:
        # "the residual network is not worse" would need a margin and more than three seeds
        # (findings: equivalence); that it degrades less than the plain one is a comparison
        growth = {x: [deep / shallow for deep, shallow in
                      zip(loss[x, d_max], loss[x, d_min], strict=True)]
                  for x in ("plain-he", "residual")}
        v.num("residual_ratio", mean(growth["residual"]), "positive")
        v.num("plain_he_ratio", mean(growth["plain-he"]), "positive")
        res_not = v.add(F.exceeds(
            "plain-degrades-more", f"from depth {d_min} to depth {d_max} the final training "
            "loss of the plain (He init) network grows by a larger factor than the residual "
            "network's",
            sample(f"plain (He init): loss at {d_max} / loss at {d_min}", growth["plain-he"]),
            sample(f"residual: loss at {d_max} / loss at {d_min}", growth["residual"])))
        res_below = v.add(F.exceeds(
            "residual-beats-he-deep", f"at depth {d_max} the residual network ends with a "
            "lower training loss than the plain (He init) network",
            sample(f"plain (He init), depth {d_max}", loss["plain-he", d_max]),
            sample(f"residual (default init), depth {d_max}", loss["residual", d_max])))
        v.add(F.at_most("residual-low", "at every depth the residual network ends with a "
                        "training loss below 0.25",
                        sample("residual, worst depth per seed",
                               [max(loss["residual", dd][i] for dd in depths)
                                for i in range(len(results))]), 0.25))
        v.add(F.exceeds("test-same-rank", f"on the test images, too, the residual network of "
                        f"depth {d_max} is more accurate than the plain (He init) one",
                        sample(f"residual (default init), depth {d_max}",
                               _counted(test["residual", d_max]), True),
                        sample(f"plain (He init), depth {d_max}",
                               _counted(test["plain-he", d_max]), True)))
        deeper_worse = F.all_of(
            "deeper-plain-worse", "deeper plain networks train worse than ResNets: with the "
            "same data, seeds and budget, the deepest plain (He init) network ends with a "
            "higher training loss than the shallowest, its loss grows with depth by a larger "
            "factor than the residual network's, and the deepest residual network ends below "
            "the deepest plain (He init) one",
            [he_worse, res_not, res_below])
        v.claim("deeper-plain-worse", deeper_worse, results)

    # gradients at initialisation, as the experiment measured them
    grads = {x: [r["grad_norms"][x] for r in results] for x in variants}
    n_blocks = len(grads[variants[0]][0])
    # a gradient that vanished to exactly 0 (float32 underflow in a deep, narrow plain
    # network) counts as the smallest positive float32: the ratio stays finite and huge
    tiny = torch.finfo(torch.float32).tiny
    spread = {x: [max(g) / max(min(g), tiny) for g in grads[x]] for x in variants}
    for x in variants:
        v.num(f"{x.replace('-', '_')}_grad_spread", mean(spread[x]), "positive")
    if "plain" in variants and n_blocks > 1:
        factor = [(g[-1] / g[0]) ** (1 / (n_blocks - 1)) for g in grads["plain"]]
        v.num("grad_factor", mean(factor), "positive")
        v.num("grad_factor_sd", _sd(factor), "positive")
        v.num("sqrt6", math.sqrt(6), "config")
        v.add(F.all_of("grad-factor", "in the plain network with PyTorch's default "
                       "initialisation the gradient shrinks by a factor between 2 and 3 per "
                       "block on its way to the input (√6 ≈ 2.45 predicted)", [
                           F.at_least("grad-factor-low", "at least 2",
                                      sample("factor per block", factor), 2.0),
                           F.at_most("grad-factor-high", "at most 3",
                                     sample("factor per block", factor), 3.0)]))
        v.add(F.at_least("grad-vanishes", f"between the last and the first of its {n_blocks} "
                         "blocks it shrinks by a factor of more than a million",
                         sample("largest / smallest gradient norm", spread["plain"]), 1e6))
    kept = [x for x in ("plain-he", "residual") if x in variants]
    if kept:
        v.add(F.all_of("grad-reaches", "with He initialisation, and in the residual network, "
                       "the largest and the smallest gradient norm differ by less than a "
                       "factor of 100", [
                           F.at_most(f"grad-{x}", LABELS[x],
                                     sample(f"{LABELS[x]}: largest / smallest", spread[x]),
                                     100.0) for x in kept]))

    # the forward signal of freshly initialised networks (the runs' seeds and images)
    ds = load("mnist")
    ratio = {x: [] for x in variants}
    for r in results:
        X = train_subset(ds, cfg["n_train"], r["seed"]).X_train[:cfg["grad_batch"]]
        for x in variants:
            s = [output_spread(fresh_network(x, dd, cfg["width"], r["seed"]), X)
                 for dd in depths]
            ratio[x].append([si / s[0] for si in s])
    at_max = {x: [row[-1] for row in ratio[x]] for x in variants}
    for x in variants:
        v.num(f"{x.replace('-', '_')}_signal", mean(at_max[x]), "positive")
    if "plain" in variants:
        v.add(F.at_most("signal-collapses", f"at initialisation the output of the plain "
                        f"network of depth {d_max} with PyTorch's default initialisation "
                        "varies over different images by less than 10⁻⁵ of what it does at "
                        f"depth {d_min}",
                        sample(f"spread at depth {d_max} / spread at depth {d_min}",
                               at_max["plain"]), 1e-5))
    if "plain-he" in variants:
        v.add(F.at_least("signal-he", "with He initialisation it keeps at least 5 % of it",
                         sample(f"spread at depth {d_max} / at depth {d_min}",
                                at_max["plain-he"]), 0.05))
    if "residual" in variants:
        v.add(F.at_least("signal-residual", f"in the residual network it varies more at depth "
                         f"{d_max} than at depth {d_min}",
                         sample(f"spread at depth {d_max} / at depth {d_min}",
                                at_max["residual"]), 1.0))

    # tables and figures
    def results_table(kind: str) -> Table:
        rows = []
        for x in variants:
            cells = [_loss_cell(loss[x, dd]) if kind == "loss" else _pct_cell(acc[x, dd])
                     for dd in depths]
            rows.append([LABELS[x], *cells])
        what = "final training loss (NLL)" if kind == "loss" else "final training accuracy"
        return Table(["network"] + [f"depth {dd}" for dd in depths], rows,
                     f"{what} on all training images, mean ± standard deviation over the "
                     f"seeds; width {cfg['width']}, {cfg['num_epochs']} epochs of SGD "
                     f"(learning rate {cfg['lr']}, momentum {cfg['momentum']}, batches of "
                     f"{cfg['batch_size']}).<br>{prov(results, command=True)}")

    v.tables["loss"] = lambda: results_table("loss")
    v.tables["accuracy"] = lambda: results_table("accuracy")

    def claim_table() -> Table:
        judgement, _ = v.claims["deeper-plain-worse"]

        def per_seed(values):
            return ", ".join("diverged" if x >= DIVERGED_LOSS else f"{x:.3f}" for x in values)

        rows = [[f"{LABELS[x]}, depth {dd}", per_seed(loss[x, dd])]
                for x in ("plain-he", "residual") for dd in (d_min, d_max)]
        return Table(["network", "final training loss, per seed"], rows,
                     f"Lecture: “{lecture.CLAIMS['deeper-plain-worse']['what']}” (no number). "
                     f"Verdict in this build: **{'reproduced' if judgement.holds else 'differs'}"
                     "**, by three comparisons (deepest against shallowest plain (He init); "
                     "deepest against shallowest residual; residual against plain (He init) "
                     "at the greatest depth), each requiring every seed of one above every "
                     f"seed of the other.<br>{prov(results, command=True)}")

    if "deeper-plain-worse" in v.claims:
        v.tables["claim"] = claim_table
    title = (f"same data and budget: {cfg['num_epochs']} epochs of SGD, learning rate "
             f"{cfg['lr']}, momentum {cfg['momentum']}, batches of {cfg['batch_size']}, "
             f"width {cfg['width']}")
    v.figures["chart"] = lambda: nplots.depth_results(
        depths, [(x, [[loss[x, dd][i] if loss[x, dd][i] < DIVERGED_LOSS else math.nan
                       for dd in depths] for i in range(len(results))],
                  [[acc[x, dd][i] for dd in depths] for i in range(len(results))])
                 for x in variants], title, [prov(results)])
    v.figures["grad_chart"] = lambda: nplots.gradient_norms(
        [(x, grads[x]) for x in variants], first["grad_depth"], cfg["grad_batch"],
        [prov(results)])
    v.figures["signal_chart"] = lambda: nplots.signal_spread(
        depths, [(x, ratio[x]) for x in variants],
        [f"freshly initialised networks, seeds {', '.join(str(r['seed']) for r in results)} "
         f"(those of the runs), {cfg['grad_batch']} training images of each run; "
         f"width {cfg['width']}; no training"])
    return v


register("depth", "networks:depth", chapter="resnet")
