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

import functools
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


def _sd(values: list) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def _positive(label: str, values) -> F.Sample:
    return F.Sample(label, tuple(values), percent=False)


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
    v = View("gradient-descent", current_profile(profile))
    results = runs("gradient-descent", v.profile, seed_offset, **overrides)
    v.results = {"runs": results}
    first, cfg = results[0], results[0]["config"]
    lrs = [s["lr"] for s in first["sweep"]]
    # per learning rate, each seed's run of the sweep
    sweep = {lr: [next(s for s in r["sweep"] if s["lr"] == lr) for r in results] for lr in lrs}
    middle = [lr for lr in lrs if cfg["lr"] < lr < max(lrs)]
    v.num("n_seeds", len(results), "count")
    v.num("fig1_params", sum(r["parameters"] for r in backprop.layer_shapes(FIGURE_1)), "count")
    v.num("n_lrs", len(lrs), "count")
    setting = {key: cfg[key] for key in ("n", "noise", "lr", "steps")}
    setting |= {"lr_small": min(lrs), "lr_top": max(lrs), "floor": first["noise_floor"],
                "lr_middle": middle[0] if middle else max(lrs)}
    for key, value in setting.items():
        v.num(key, value, "config")
    _descent_findings(v, results, sweep, middle)
    v.tables["sweep"] = functools.partial(_sweep_table, results, sweep)
    fit = {"grid": first["grid"], "X": first["X"], "Y": first["Y"], "lr": cfg["lr"],
           "snapshots": first["snapshots"], "label": f"seed {first['seed']}"}
    curves = [(lr, [s["loss"] for s in seeds], [s["diverged"] for s in seeds])
              for lr, seeds in sweep.items()]
    v.figures["descent"] = functools.partial(nplots.gradient_descent, fit, curves,
                                             first["noise_floor"], [prov(results)])
    return v


def _descent_findings(v: View, results, sweep: dict, middle: list) -> None:
    """The losses, and what the prose says about them and about the learning rates
    (``middle``: those between the book's and the largest)."""
    lr, small, top = results[0]["config"]["lr"], min(sweep), max(sweep)
    initial = [r["metrics"]["initial_loss"] for r in results]
    final = [r["metrics"]["final_loss"] for r in results]
    sin_loss = [float(np.mean(0.5 * (np.sin(np.asarray(r["X"])) - np.asarray(r["Y"])) ** 2))
                for r in results]
    v.num("initial", mean(initial), "positive")
    v.num("final", mean(final), "positive")
    v.num("sin_loss", mean(sin_loss), "positive")
    ratio = v.sample("vs_sin", "final loss / loss of sin x",
                     [f / s for f, s in zip(final, sin_loss, strict=True)], "positive", sd=True)
    small_final = v.sample("small_final", f"η = {small}", [s["loss"][-1] for s in sweep[small]],
                           "positive")
    blown = sum(s["diverged"] for s in sweep[top])
    v.num("top_outcome", "on every seed" if blown == len(results) else
          f"on {blown} of the {len(results)} seeds" if blown else "on none of the seeds", "text")
    fell = [f / i for f, i in zip(final, initial, strict=True)]
    v.add(F.at_most("loss-falls", "gradient descent lowers the mean loss more than tenfold",
                    _positive("final / initial loss", fell), 0.1))
    v.add(F.all_of("near-noise", "the final loss is within a factor of two of the loss "
                   "that sin x itself has on the same points", [
                       F.at_least("near-noise-low", "not below half of it", ratio, 0.5),
                       F.at_most("near-noise-high", "not above twice it", ratio, 2.0)]))
    steady = [_max_rise(s["loss"]) for rate in sweep if rate <= lr for s in sweep[rate]]
    v.add(F.at_most("steady", f"with η ≤ {lr} the loss falls at every step",
                    _positive("largest rise from one step to the next (factor)", steady), 1.0))
    v.add(F.exceeds("small-slow", f"with η = {small} the loss is still higher than with "
                    f"η = {lr} when the budget runs out", small_final,
                    _positive(f"η = {lr}", [s["loss"][-1] for s in sweep[lr]])))
    still = [s["loss"][-101] - s["loss"][-1] for s in sweep[small]]
    v.add(F.at_least("small-descending", f"with η = {small} the loss is still falling at "
                     "the end (lower at the last step than 100 steps before)",
                     _positive("decrease over the last 100 steps", still), 1e-12))
    rise = {rate: _positive("largest rise in one step (factor)",
                            [_max_rise(s["loss"]) for s in seeds]) for rate, seeds in sweep.items()}
    if middle:
        v.add(F.at_least("middle-spikes", f"with η = {middle[0]} the loss does not fall "
                         "smoothly: at some step it rises by at least half", rise[middle[0]], 1.5))
    v.add(F.at_least("top-jumps", f"with η = {top} the loss grows at least fivefold within "
                     "a single step", rise[top], 5.0))


def _sweep_table(results, sweep: dict) -> Table:
    rows = []
    for lr, seeds in sweep.items():
        finals = [s["loss"][-1] for s in seeds if not s["diverged"]]
        n_blown = sum(s["diverged"] for s in seeds)
        rows.append([lr, f"{len(seeds) - n_blown} of {len(seeds)}",
                     (f"{mean(finals):.4f} ± {_sd(finals):.4f}" if len(finals) > 1
                      else f"{finals[0]:.4f}" if finals else "–"),
                     ", ".join(str(s["steps_run"]) for s in seeds if s["diverged"]) or "–"])
    return Table(["learning rate η", "seeds that converged", "final mean loss "
                  "(converged seeds, mean ± sd)", "step at which a run overflowed"],
                 rows, f"{results[0]['config']['steps']:,} steps of full-batch gradient "
                 "descent; each seed draws its own data and initial weights; the same in both "
                 f"profiles.<br>{prov(results, command=True)}")


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
    v = View("backprop", current_profile(profile))
    seed, eps = seed_offset, float(np.finfo(float).eps)
    net, X, Y = backprop.random_problem(FIGURE_1, "tanh", n=16, loss="nll", seed=seed)
    auto = backprop.compare_with_autograd(net, X, Y, "nll")
    fd = backprop.gradient_check(net, X, Y, "nll")
    rows = backprop.agreement_table(AGREEMENT_CASES, n=16, seed=seed, fd_max_params=FD_MAX_PARAMS)
    auto_all = [auto["max"]] + [r["autograd"] for r in rows]
    fd_all = [fd["max"]] + [r["finite_diff"] for r in rows if r["finite_diff"] is not None]
    v.num("seed", seed, "config")
    v.num("eps", eps, "config")
    v.num("fd_eps", 1e-5, "config")
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
    mnist = multiply_adds([784, 64, 64, 10])
    v.num("mnist_backward_ratio", mnist["backward"] / mnist["forward"], "config")
    _cost(v, seed)
    v.figures["errors"] = functools.partial(
        nplots.backprop_errors, auto, fd, note=f"random {'-'.join(map(str, FIGURE_1))} tanh "
        f"network, 16 random samples, NLL loss; random networks and samples (seed {seed}), "
        "float64; no training, so the same in both profiles")
    v.tables["agreement"] = functools.partial(_agreement_table, rows, seed)
    return v


def _cost(v: View, seed: int) -> None:
    """The time finite differences take against backpropagation on this machine."""
    cost = backprop.cost_comparison(COST_WIDTHS, depth=3, n=32, seed=seed)
    ratios = [c["finite_diff_s"] / c["backprop_s"] for c in cost]
    small, large = cost[0]["parameters"], cost[-1]["parameters"]
    v.num("cost_params", large, "count")
    v.num("cost_params_small", small, "count")
    v.num("cost_ratio", ratios[-1], "machine")
    v.num("cost_ratio_small", ratios[0], "machine")
    v.add(F.at_least("fd-far-slower", f"at {large:,} parameters, finite differences take "
                     "more than 100 times as long as backpropagation",
                     _positive("time ratio", ratios[-1:]), 100.0))
    v.add(F.Finding("gap-grows", "the gap grows with the number of parameters: the time "
                    "ratio is larger for the largest network than for the smallest",
                    ratios[-1] > ratios[0], f"ratio {ratios[0]:.0f} at {small} parameters, "
                    f"{ratios[-1]:.0f} at {large:,}",
                    "one timing per network on this machine (best of three for backprop)"))
    v.figures["cost"] = functools.partial(
        nplots.backprop_cost, cost, note=f"random networks (seed {seed}); wall-clock times "
        "on the machine that built this page (they vary from run to run)")


def _agreement_table(rows, seed: int) -> Table:
    return Table(
        ["widths", "σ", "loss", "parameters", "vs autograd", "vs finite differences"],
        [["-".join(map(str, r["widths"])), r["activation"], r["loss"], r["parameters"],
          f"{r['autograd']:.1e}",
          "–" if r["finite_diff"] is None else f"{r['finite_diff']:.1e}"] for r in rows],
        "largest relative error over all layers and all of ∂𝓛/∂z_k, ∂𝓛/∂W_k, ∂𝓛/∂b_k; "
        f"16 random samples per network (seeds {seed}–{seed + len(rows) - 1}), float64; "
        f"finite differences only up to {FD_MAX_PARAMS} parameters; no training, so the "
        "same in both profiles")


register("backprop", "networks:backprop_view", chapter="backprop")


# ----------------------------------------------------------------------------- depth

LABELS = {variant: nplots.VARIANT_STYLE[variant][2] for variant in DEPTH_VARIANTS}
#: The training loss a diverged run counts with in findings (higher than any real one).
DIVERGED_LOSS = 1e6
#: The final results the chapter glues, as ``<variant>_<shallow|deep>_<loss|acc|test>``.
GLUED = [("plain", "shallow", "acc"), ("plain", "deep", "loss"), ("plain", "deep", "acc"),
         ("plain-he", "shallow", "loss"), ("plain-he", "shallow", "acc"),
         ("residual", "shallow", "loss"), ("residual", "deep", "loss"),
         ("residual", "deep", "acc"), ("residual", "deep", "test")]


def output_spread(model, X: torch.Tensor) -> float:
    """How much the output depends on the input: the standard deviation of each output over
    the images ``X``, averaged over the outputs."""
    with torch.no_grad():
        return float(model(X).double().std(0).mean())


class _Depth:
    """What every section of the depth view reads: the runs (one per seed), their config,
    and per (variant, depth) each seed's final training loss (a diverged run:
    :data:`DIVERGED_LOSS`), training and test accuracy (a diverged run: NaN)."""

    def __init__(self, results: list):
        self.results, self.cfg = results, results[0]["config"]
        self.depths = list(self.cfg["depths"])
        self.d_min, self.d_max = min(self.depths), max(self.depths)
        self.variants = [x for x in DEPTH_VARIANTS if x in self.cfg["variants"]]
        rows = {(x, dd): [next(row for row in r["rows"] if (row["variant"], row["depth"])
                               == (x, dd)) for r in results]
                for x in self.variants for dd in self.depths}

        def final(key: str, diverged: float) -> dict:
            return {k: [diverged if row["diverged"] else row[key] for row in seeds]
                    for k, seeds in rows.items()}

        self.loss = final("train_loss", DIVERGED_LOSS)
        self.acc, self.test = final("train_acc", math.nan), final("test_acc", math.nan)

    def by_seed(self, table: dict, variant: str) -> list[list[float]]:
        """One row per seed, one column per depth, of ``table[variant, depth]``."""
        return [list(row) for row in zip(*(table[variant, dd] for dd in self.depths),
                                         strict=True)]


def _accuracy(label: str, values) -> F.Sample:
    """Accuracies as findings count them: a diverged run (NaN) as 0."""
    return F.Sample(label, tuple(0.0 if math.isnan(x) else x for x in values))


def _finite(values) -> list[float]:
    """The values of the seeds whose run did not diverge."""
    return [x for x in values if math.isfinite(x) and x < DIVERGED_LOSS]


def _cell(values, kind: str) -> str:
    """A table cell: mean ± standard deviation over the seeds of a loss, or of an accuracy
    as a percentage; a loss says on how many seeds the run diverged."""
    finite = _finite(values)
    if kind == "loss" and len(finite) < len(values):
        return f"diverged on {len(values) - len(finite)} of {len(values)} seeds"
    if kind == "loss":
        return f"{mean(finite):.3f} ± {_sd(finite):.3f}"
    return f"{100 * mean(finite):.1f} ± {100 * _sd(finite):.1f} %" if finite else "–"


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


def depth(profile=None, seed_offset: int = 0, **overrides) -> View:
    """Plain (default and He initialisation) against residual networks of increasing depth
    (experiment ``depth``, every seed of the profile): final training loss and accuracy,
    gradient norms at initialisation, and how much the output of a freshly initialised
    network still depends on its input."""
    v = View("depth", current_profile(profile))
    d = _Depth(runs("depth", v.profile, seed_offset, **overrides))
    v.results = {"runs": d.results}
    first, cfg = d.results[0], d.cfg
    v.num("profile", v.profile, "text")
    v.num("data", first["data"].get("label", "?"), "text")
    v.num("n_seeds", len(d.results), "count")
    v.num("n_train", first["n_train"], "count")
    v.num("n_test", first["n_test"], "count")
    v.num("steps", math.ceil(first["n_train"] / cfg["batch_size"]) * cfg["num_epochs"], "count")
    setting = {k: cfg[k] for k in ("num_epochs", "lr", "momentum", "batch_size", "width",
                                   "grad_batch")}
    setting |= {"full_num_epochs": get("depth").full["num_epochs"], "d_min": d.d_min,
                "d_max": d.d_max, "chance_loss": math.log(10)}
    for key, value in setting.items():
        v.num(key, value, "config")
    _depth_results(v, d)
    if {"plain-he", "residual"} <= set(d.variants):
        _depth_claim(v, d)
    grads = _depth_gradients(v, d)
    signal = _depth_signal(v, d)
    v.tables["loss"] = functools.partial(_depth_table, d, "loss")
    v.tables["accuracy"] = functools.partial(_depth_table, d, "accuracy")
    if "deeper-plain-worse" in v.claims:
        v.tables["claim"] = functools.partial(_claim_table, d, v.claims["deeper-plain-worse"][0])
    shown = {k: [x if x < DIVERGED_LOSS else math.nan for x in seeds]  # diverged: no point
             for k, seeds in d.loss.items()}
    v.figures["chart"] = functools.partial(
        nplots.depth_results, d.depths,
        [(x, d.by_seed(shown, x), d.by_seed(d.acc, x)) for x in d.variants],
        f"same data and budget: {cfg['num_epochs']} epochs of SGD, learning rate {cfg['lr']}, "
        f"momentum {cfg['momentum']}, batches of {cfg['batch_size']}, width {cfg['width']}",
        [prov(d.results)])
    v.figures["grad_chart"] = functools.partial(
        nplots.gradient_norms, [(x, grads[x]) for x in d.variants], first["grad_depth"],
        cfg["grad_batch"], [prov(d.results)])
    v.figures["signal_chart"] = functools.partial(
        nplots.signal_spread, d.depths, [(x, signal[x]) for x in d.variants],
        [f"freshly initialised networks, seeds {', '.join(str(r['seed']) for r in d.results)} "
         f"(those of the runs), {cfg['grad_batch']} training images of each run; "
         f"width {cfg['width']}; no training"])
    return v


def _depth_results(v: View, d: _Depth) -> None:
    """The final results the prose glues, and the findings on the plain network alone."""
    final = {"loss": d.loss, "acc": d.acc, "test": d.test}
    for x, which, what in GLUED:
        if x in d.variants:
            # means over the seeds whose run did not diverge; plain_he_deep_summary says which
            ok = _finite(final[what][x, d.d_min if which == "shallow" else d.d_max])
            v.num(f"{x.replace('-', '_')}_{which}_{what}", mean(ok) if ok else math.nan,
                  "positive" if what == "loss" else "percent")
    if "plain-he" in d.variants:
        v.num("plain_he_deep_summary", _summary(d.loss["plain-he", d.d_max],
                                                d.acc["plain-he", d.d_max], d.d_max), "text")
    if "residual" in d.variants:
        v.num("residual_worst_loss", max(max(d.loss["residual", dd]) for dd in d.depths),
              "positive")
    if "plain" in d.variants:
        labels = load("mnist").y_train
        majority = labels.bincount().max().item() / len(labels)  # the most common digit
        v.add(F.at_most("plain-deep-chance", "with PyTorch's default initialisation the plain "
                        f"network of depth {d.d_max} ends at chance: a training accuracy of at "
                        f"most 12 % (always answering the most common digit scores "
                        f"{100 * majority:.1f} % of the full training set)", _accuracy(
                            f"plain (default init), depth {d.d_max}", d.acc["plain", d.d_max]),
                        0.12))
        v.add(F.at_least("plain-shallow-learns", "with the same initialisation the plain "
                         f"network of depth {d.d_min} learns: a training accuracy of at least "
                         "80 %", _accuracy(f"plain (default init), depth {d.d_min}",
                                           d.acc["plain", d.d_min]), 0.80))


def _depth_claim(v: View, d: _Depth) -> None:
    """The lecture's claim that deeper plain networks train worse than ResNets (three
    comparisons of the final training loss), and two findings beside it."""
    d_min, d_max, loss = d.d_min, d.d_max, d.loss
    he_deep = _positive(f"plain (He init), depth {d_max}", loss["plain-he", d_max])
    he_worse = v.add(F.exceeds(
        "he-deeper-worse", f"the deepest plain (He init) network (depth {d_max}) ends with a "
        f"higher training loss than the shallowest (depth {d_min})", he_deep,
        _positive(f"plain (He init), depth {d_min}", loss["plain-he", d_min])))
    # how much the final loss grows from the shallowest to the deepest, seed by seed:
    # "the residual network is not worse" would need a margin and more than three seeds
    # (findings: equivalence); that it degrades less than the plain one is a comparison
    growth = {x: [deep / shallow for deep, shallow in
                  zip(loss[x, d_max], loss[x, d_min], strict=True)]
              for x in ("plain-he", "residual")}
    res_not = v.add(F.exceeds(
        "plain-degrades-more", f"from depth {d_min} to depth {d_max} the final training loss "
        "of the plain (He init) network grows by a larger factor than the residual network's",
        _positive(f"plain (He init): loss at {d_max} / loss at {d_min}", growth["plain-he"]),
        v.sample("residual_ratio", f"residual: loss at {d_max} / loss at {d_min}",
                 growth["residual"], "positive")))
    # the median: a run that overflowed (loss DIVERGED_LOSS) counts as growing without bound,
    # and one such seed must not make the prose's factor a million
    v.num("plain_he_ratio", statistics.median(growth["plain-he"]), "positive")
    res_below = v.add(F.exceeds(
        "residual-beats-he-deep", f"at depth {d_max} the residual network ends with a lower "
        "training loss than the plain (He init) network", he_deep,
        _positive(f"residual (default init), depth {d_max}", loss["residual", d_max])))
    v.claim("deeper-plain-worse", F.all_of(
        "deeper-plain-worse", "deeper plain networks train worse than ResNets: with the "
        "same data, seeds and budget, the deepest plain (He init) network ends with a "
        "higher training loss than the shallowest, its loss grows with depth by a larger "
        "factor than the residual network's, and the deepest residual network ends below "
        "the deepest plain (He init) one", [he_worse, res_not, res_below]), d.results)
    v.add(F.at_most("residual-low", "at every depth the residual network ends with a "
                    "training loss below 0.25", _positive(
                        "residual, worst depth per seed",
                        [max(row) for row in d.by_seed(loss, "residual")]), 0.25))
    v.add(F.exceeds("test-same-rank", "on the test images, too, the residual network of "
                    f"depth {d_max} is more accurate than the plain (He init) one",
                    _accuracy(f"residual (default init), depth {d_max}",
                              d.test["residual", d_max]),
                    _accuracy(f"plain (He init), depth {d_max}", d.test["plain-he", d_max])))


def _depth_gradients(v: View, d: _Depth) -> dict:
    """Gradient norms at initialisation, as the experiment measured them: per variant, one
    row per seed, input side first."""
    grads = {x: [r["grad_norms"][x] for r in d.results] for x in d.variants}
    n_blocks = len(grads[d.variants[0]][0])
    # a gradient that vanished to exactly 0 (float32 underflow in a deep, narrow plain
    # network) counts as the smallest positive float32: the ratio stays finite and huge
    tiny = torch.finfo(torch.float32).tiny
    spread = {}
    for x in d.variants:
        label = ("largest / smallest gradient norm" if x == "plain"
                 else f"{LABELS[x]}: largest / smallest")
        spread[x] = v.sample(f"{x.replace('-', '_')}_grad_spread", label,
                             [max(g) / max(min(g), tiny) for g in grads[x]], "positive")
    if "plain" in d.variants and n_blocks > 1:
        factor = v.sample("grad_factor", "factor per block",
                          [(g[-1] / g[0]) ** (1 / (n_blocks - 1)) for g in grads["plain"]],
                          "positive", sd=True)
        v.num("sqrt6", math.sqrt(6), "config")
        v.add(F.all_of("grad-factor", "in the plain network with PyTorch's default "
                       "initialisation the gradient shrinks by a factor between 2 and 3 per "
                       "block on its way to the input (√6 ≈ 2.45 predicted)", [
                           F.at_least("grad-factor-low", "at least 2", factor, 2.0),
                           F.at_most("grad-factor-high", "at most 3", factor, 3.0)]))
        v.add(F.at_least("grad-vanishes", f"between the last and the first of its {n_blocks} "
                         "blocks it shrinks by a factor of more than a million",
                         spread["plain"], 1e6))
    kept = [x for x in ("plain-he", "residual") if x in d.variants]
    if kept:
        v.add(F.all_of("grad-reaches", "with He initialisation, and in the residual network, "
                       "the largest and the smallest gradient norm differ by less than a "
                       "factor of 100",
                       [F.at_most(f"grad-{x}", LABELS[x], spread[x], 100.0) for x in kept]))
    return grads


def _depth_signal(v: View, d: _Depth) -> dict:
    """The forward signal of freshly initialised networks (the runs' seeds and images): per
    variant, one row per seed of the output's spread at each depth over the smallest's."""
    ds, cfg = load("mnist"), d.cfg
    ratio = {x: [] for x in d.variants}
    for r in d.results:
        X = train_subset(ds, cfg["n_train"], r["seed"]).X_train[:cfg["grad_batch"]]
        for x in d.variants:
            s = [output_spread(fresh_network(x, dd, cfg["width"], r["seed"]), X)
                 for dd in d.depths]
            ratio[x].append([si / s[0] for si in s])
    at_max = {}
    for x in d.variants:
        label = f"spread at depth {d.d_max} / {'spread at' if x == 'plain' else 'at'} depth"
        at_max[x] = v.sample(f"{x.replace('-', '_')}_signal", f"{label} {d.d_min}",
                             [row[-1] for row in ratio[x]], "positive")
    for x, rule, name, statement, threshold in (
            ("plain", F.at_most, "signal-collapses", "at initialisation the output of the "
             f"plain network of depth {d.d_max} with PyTorch's default initialisation varies "
             f"over different images by less than 10⁻⁵ of what it does at depth {d.d_min}",
             1e-5),
            ("plain-he", F.at_least, "signal-he", "with He initialisation it keeps at least "
             "5 % of it", 0.05),
            ("residual", F.at_least, "signal-residual", "in the residual network it varies "
             f"more at depth {d.d_max} than at depth {d.d_min}", 1.0)):
        if x in d.variants:
            v.add(rule(name, statement, at_max[x], threshold))
    return ratio


def _depth_table(d: _Depth, kind: str) -> Table:
    """Final training loss or accuracy against depth, mean ± standard deviation."""
    final, cfg = (d.loss if kind == "loss" else d.acc), d.cfg
    what = "final training loss (NLL)" if kind == "loss" else "final training accuracy"
    return Table(["network"] + [f"depth {dd}" for dd in d.depths],
                 [[LABELS[x], *(_cell(final[x, dd], kind) for dd in d.depths)]
                  for x in d.variants],
                 f"{what} on all training images, mean ± standard deviation over the "
                 f"seeds; width {cfg['width']}, {cfg['num_epochs']} epochs of SGD "
                 f"(learning rate {cfg['lr']}, momentum {cfg['momentum']}, batches of "
                 f"{cfg['batch_size']}).<br>{prov(d.results, command=True)}")


def _claim_table(d: _Depth, judgement: F.Finding) -> Table:
    """The lecture's claim "deeper-plain-worse": each seed's final training loss."""
    rows = [[f"{LABELS[x]}, depth {dd}",
             ", ".join("diverged" if y >= DIVERGED_LOSS else f"{y:.3f}" for y in d.loss[x, dd])]
            for x in ("plain-he", "residual") for dd in (d.d_min, d.d_max)]
    return Table(["network", "final training loss, per seed"], rows,
                 f"Lecture: “{lecture.CLAIMS['deeper-plain-worse']['what']}” (no number). "
                 f"Verdict in this build: **{'reproduced' if judgement.holds else 'differs'}"
                 "**, by three comparisons (deepest against shallowest plain (He init); "
                 "deepest against shallowest residual; residual against plain (He init) "
                 "at the greatest depth), each requiring every seed of one above every "
                 f"seed of the other.<br>{prov(d.results, command=True)}")


register("depth", "networks:depth", chapter="resnet")
