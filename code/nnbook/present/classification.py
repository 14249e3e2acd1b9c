"""Views of the classification part: "Classification: softmax and the negative
log-likelihood", "The two-ring toy problem" and "MNIST with two-layer networks".

Every view runs (or reads from the cache) every seed its profile runs; numbers are
means over the seeds, tables show mean ± standard deviation, and figures the
seeds' range. See :mod:`nnbook.present` for what a view is.
"""

from __future__ import annotations

import numpy as np
import torch

from .. import findings as F
from .. import lecture, losses
from ..data import load
from ..experiments import current_profile
from ..plots import classification as cplots
from ..plots import cnn as cnnplots
from . import Table, View, register
from .common import (
    at_shift,
    by_direction,
    cell,
    initial_model,
    mean,
    not_comparable,
    prov,
    prov_cells,
    runs,
    shift_matrix,
    test_acc,
    train_acc,
)
from .report import fmt_pct

Sample = F.Sample
Finding = F.Finding
RULE_EVERY_SEED = "every seed"


def _words(items) -> str:
    """``"a, b and c"``."""
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _sd(values) -> float:
    return Sample("", tuple(values)).sd


# ----------------------------------------------------------------------------- softmax

#: The bounds the chapter states for rounding errors.
IDENTITY_BOUND = 1e-12   # both sides of the identity, float64
TORCH_BOUND = 1e-10      # from-scratch functions against PyTorch, float64
STABLE_BOUND = 1e-6      # stable NLL against torch's cross_entropy, float32, relative
OVERFLOW_SCALES = (1, 10, 40, 100, 1000)


def softmax(profile=None, seed_offset: int = 0) -> View:
    """One-hot labels, softmax and NLL from scratch: the identity, the check against
    PyTorch, and what goes wrong when the softmax is computed literally."""
    profile = current_profile(profile)
    v = View("softmax", profile)
    seed = seed_offset
    f, y = losses.example_logits(n=8, k=10, scale=3.0, seed=seed)
    left, right = losses.identity_sides(f, y)
    diff = float(np.max(np.abs(left - right)))
    v.num("identity_diff", diff, "roundoff", bound=IDENTITY_BOUND)
    v.add(F.Finding("identity", "both sides of the identity agree to within 1e-12 on every "
                    "sample (float64)", diff <= IDENTITY_BOUND,
                    f"largest difference {diff:.1e} over 8 samples (seed {seed})",
                    "largest absolute difference at most the bound"))
    rows = losses.compare_with_torch(f, y)
    worst = max(r["max_abs_diff"] for r in rows)
    v.num("torch_worst", worst, "roundoff", bound=TORCH_BOUND)
    v.add(F.Finding("matches-torch", "every from-scratch quantity agrees with PyTorch's to "
                    "within 1e-10 (float64)", worst <= TORCH_BOUND,
                    f"largest difference {worst:.1e} over {len(rows)} quantities",
                    "largest absolute difference at most the bound"))
    v.num("exp32", losses.exp_limit("float32"), "config")
    v.num("exp64", losses.exp_limit("float64"), "config")

    ovf = losses.overflow_rows(scales=OVERFLOW_SCALES, dtype="float32")
    by_scale = {r["scale"]: r for r in ovf}
    rel = max(abs(r["stable_nll"] - r["torch_nll"]) / abs(r["torch_nll"]) for r in ovf)
    v.num("stable_vs_torch", rel, "roundoff", bound=STABLE_BOUND)
    naive_ok = (all(np.isfinite(by_scale[s]["naive_nll"]) for s in (1, 10))
                and by_scale[40]["naive_nll"] == np.inf
                and all(np.isnan(by_scale[s]["naive_nll"]) for s in (100, 1000)))
    v.add(F.Finding("naive-fails", "computed literally in float32, the loss is finite for the "
                    "logits scaled by 1 and 10, infinite at 40 (the true class's probability "
                    "underflows to 0) and not a number at 100 and 1000 (e^f overflows)",
                    bool(naive_ok), "naive −log p: " + ", ".join(
                        f"×{r['scale']}: {r['naive_nll']:.6g}" for r in ovf),
                    "the float32 arithmetic of every row"))
    stable_ok = all(np.isfinite(r["stable_nll"]) for r in ovf) and rel <= STABLE_BOUND
    v.add(F.Finding("stable-matches-torch", "the stable form is finite in every row and "
                    "agrees with PyTorch's cross_entropy to within a relative 1e-6",
                    bool(stable_ok), f"largest relative difference {rel:.1e}",
                    "every row of the table"))

    v.tables["identity"] = lambda: Table(
        ["sample", "class", "left: −yᵀ log p", "right: −yᵀ f + log Σ e^f"],
        [[i, int(c), f"{a:.15f}", f"{b:.15f}"] for i, (c, a, b) in enumerate(
            zip(y, left, right, strict=True))],
        f"8 samples, 10 classes, normal logits (standard deviation 3), seed {seed}, float64")
    v.tables["torch"] = lambda: Table(
        ["quantity", "nnbook.losses", "PyTorch", "max |difference|"],
        [[r["quantity"], f"`{r['ours']}`", f"`{r['torch']}`", f"{r['max_abs_diff']:.1e}"]
         for r in rows],
        f"the same 8 samples, 10 classes, seed {seed}, float64")
    v.tables["overflow"] = lambda: Table(
        ["logits f", "naive softmax", "naive −log p(3)", "stable −log p(3)",
         "torch cross_entropy"],
        [[np.array2string(r["logits"], precision=0),
          np.array2string(r["naive_softmax"], precision=3), f"{r['naive_nll']:.6g}",
          f"{r['stable_nll']:.6g}", f"{r['torch_nll']:.6g}"] for r in ovf],
        "float32; logits c·[2, 1, −1] for c = " + ", ".join(map(str, OVERFLOW_SCALES)) +
        "; the true class is the third (smallest logit)")
    v.figures["softmax"] = lambda: cplots.softmax_figure()
    return v


register("softmax", "classification:softmax", chapter="classification")


# ----------------------------------------------------------------------------- loss-compare

LOSS_LABELS = {"nll": "negative log-likelihood", "normalised": "normalised loss"}
TASKS = {"mnist": "MNIST", "rings": "two rings"}
RINGS_THRESHOLD = 0.97
#: "Equally well": test accuracies within this (0.005 = half a percentage point).
EQUAL_MARGIN = 0.005


def _compare(name: str, task: str, a: Sample, b: Sample) -> tuple[Finding, str]:
    """The finding on ``task`` the data supports, and its words for the prose: one loss's
    network more accurate on every seed, or neither (see :mod:`nnbook.findings`)."""
    where = f"on {TASKS[task]}"
    ab = F.exceeds(name, f"{where} the network trained with the {a.label} is more accurate "
                   f"than the one trained with the {b.label}, on every seed", a, b)
    ba = F.exceeds(name, f"{where} the network trained with the {b.label} is more accurate "
                   f"than the one trained with the {a.label}, on every seed", b, a)
    for f, hi in ((ab, a), (ba, b)):
        if f.holds:
            return f, (f"the network trained with the {hi.label} is the more accurate one "
                       "on every seed")
    enough = a.n >= F.MIN_SEEDS and b.n >= F.MIN_SEEDS
    neither = F.Finding(name, f"{where} neither loss gives the more accurate network on "
                        "every seed: the seeds' accuracies overlap", enough, ab.evidence,
                        "neither side's every seed above every seed of the other "
                        f"(at least {F.MIN_SEEDS} seeds each)", ab.numbers)
    return neither, "neither loss gives the more accurate network on every seed"


def loss_compare(profile=None, seed_offset: int = 0) -> View:
    """The negative log-likelihood against the lecture's normalised loss: same network,
    data, initial weights and batch order, on MNIST and on the two rings."""
    profile = current_profile(profile)
    v = View("loss-compare", profile)
    res = runs("loss-compare", profile, seed_offset)
    v.results = {"runs": res}
    acc = {f"{t}-{lo}": [r["metrics"][f"{t}-{lo}"] for r in res]
           for t in TASKS for lo in LOSS_LABELS}
    first = res[0]
    cfg = first["config"]
    v.num("profile", profile, "text")
    v.num("n_seeds", len(res), "count")
    v.num("n_train", first["n_train"], "count")
    v.num("n_test", first["n_test"], "count")
    for key in ("num_epochs", "lr", "batch_size", "hidden"):
        v.num(key, cfg[key], "config")
    rings_rows = [row for row in first["rows"] if row["task"] == "rings"]
    v.num("rings_steps", rings_rows[0]["history"][-1]["steps"], "count")
    v.num("rings_n_train", first["rings_data"]["n_train"], "count")
    v.num("rings_n_test", first["rings_data"]["n_test"], "count")
    for t in TASKS:
        for lo, short in (("nll", "nll"), ("normalised", "norm")):
            v.num(f"{t}_{short}", mean(acc[f"{t}-{lo}"]), "percent")
            v.num(f"{t}_{short}_sd", _sd(acc[f"{t}-{lo}"]), "points")
    diffs = [a - b for a, b in zip(acc["mnist-nll"], acc["mnist-normalised"], strict=True)]
    v.num("mnist_diff", mean(diffs), "points")
    v.num("mnist_diff_sd", _sd(diffs), "points")
    v.num("err_ratio", (1 - mean(acc["mnist-normalised"])) / (1 - mean(acc["mnist-nll"])),
          "positive")

    samples = {k: Sample(LOSS_LABELS[k.split("-")[1]], tuple(vals)) for k, vals in acc.items()}
    mnist, words = _compare("mnist-compare", "mnist", samples["mnist-nll"],
                            samples["mnist-normalised"])
    v.add(mnist)
    v.num("mnist_sentence", words, "text")
    rings_parts = [F.at_least(f"rings-{lo}", f"on the two rings the {LOSS_LABELS[lo]} trains "
                              f"the network to at least {100 * RINGS_THRESHOLD:g} % test "
                              "accuracy", samples[f"rings-{lo}"], RINGS_THRESHOLD)
                   for lo in LOSS_LABELS]
    v.add(F.all_of("rings-both", "on the two rings both losses train the network to at "
                   f"least {100 * RINGS_THRESHOLD:g} % test accuracy, on every seed",
                   rings_parts))
    v.add(F.at_least("norm-learns", "on MNIST the normalised loss still trains a classifier "
                     "that gets at least 80 % of the test digits right, on every seed",
                     samples["mnist-normalised"], 0.80))

    # the lecture's claim "works equally well": equal within a margin, shown on paired seeds
    v.num("margin", 100 * EQUAL_MARGIN, "config")
    equal = {t: F.equivalent(f"{t}-equal", f"on {TASKS[t]} the two losses give networks equally "
                             f"accurate within ± {100 * EQUAL_MARGIN:g} points",
                             samples[f"{t}-nll"], samples[f"{t}-normalised"], EQUAL_MARGIN)
             for t in TASKS}
    for t in TASKS:
        lo, hi = equal[t].numbers["interval"]
        v.num(f"{t}_ci_lo", lo, "points")
        v.num(f"{t}_ci_hi", hi, "points")
    claim = F.all_of("normalised-loss", "the normalised loss works as well as the negative "
                     f"log-likelihood: on both tasks (MNIST, two rings) the networks are equally "
                     f"accurate within ± {100 * EQUAL_MARGIN:g} points", list(equal.values()))
    v.claim("normalised-loss", claim, res)

    def said(t):
        f, (lo, hi) = equal[t], equal[t].numbers["interval"]
        span = f"{100 * lo:z.1f} to {100 * hi:z.1f} points"
        if f.holds:
            return f"on {TASKS[t]} the difference lies within the margin ({span})"
        if lo > EQUAL_MARGIN or hi < -EQUAL_MARGIN:
            better = "negative log-likelihood" if lo > 0 else "normalised loss"
            return f"on {TASKS[t]} the {better} gives the more accurate network, by {span}"
        return f"on {TASKS[t]} the interval ({span}) straddles the margin: not shown equal"
    v.num("claim_sentence", ("holds" if claim.holds else "does not hold") + " in this build: "
          + "; ".join(said(t) for t in TASKS), "text")
    verdicts = {t: "equal" if equal[t].holds else "not shown equal" for t in TASKS}

    def rows_table():
        rows = []
        for t in TASKS:
            for lo in LOSS_LABELS:
                if t == "mnist":
                    data = prov_cells(res)[1:3]
                else:
                    rd = first["rings_data"]
                    data = [rd["label"], f"{rd['n_train']:,} train / {rd['n_test']:,} test"]
                rows.append([TASKS[t], LOSS_LABELS[lo], cell(acc[f"{t}-{lo}"]), profile,
                             *data, ", ".join(str(r["seed"]) for r in res)])
        return Table(["task", "loss", "test accuracy (mean ± sd over seeds)", "profile",
                      "data", "samples", "seeds"], rows,
                     "same network, initial weights, batch order, optimizer and number of "
                     "steps for both losses", res)

    def lecture_table():
        c = v.claims["normalised-loss"][0]
        ci = {t: "{:z.1f} to {:z.1f}".format(*(100 * x for x in equal[t].numbers["interval"]))
              for t in TASKS}
        return Table(["claim", "lecture", "MNIST: NLL / normalised (difference, 90 % interval)",
                      "two rings: NLL / normalised (difference, 90 % interval)", "verdict",
                      "profile", "data", "samples", "seeds"],
                     [[lecture.CLAIMS["normalised-loss"]["what"], "works equally well",
                       f"{cell(acc['mnist-nll'])} / {cell(acc['mnist-normalised'])} "
                       f"({ci['mnist']} points: {verdicts['mnist']})",
                       f"{cell(acc['rings-nll'])} / {cell(acc['rings-normalised'])} "
                       f"({ci['rings']} points: {verdicts['rings']})",
                       "reproduced" if c.holds else "differs", *prov_cells(res)]],
                     f"test accuracy, mean ± sd over the seeds. Rule: {c.rule} (the chapter "
                     "*Reproducing the lecture*). The rings numbers use the synthetic two-ring "
                     "data of the same experiment.", res)

    v.tables["accuracy"] = rows_table
    v.tables["lecture"] = lecture_table

    def figure():
        rows = [[row for row in r["rows"] if row["task"] == "mnist"] for r in res]
        epochs = [h["epoch"] for h in rows[0][0]["history"]]
        curves = [(LOSS_LABELS[lo], [[h["test_acc"] for h in next(
            row for row in rs if row["loss"] == lo)["history"]] for rs in rows])
            for lo in LOSS_LABELS]
        finals = [(TASKS[t], [(LOSS_LABELS[lo], acc[f"{t}-{lo}"]) for lo in LOSS_LABELS])
                  for t in TASKS]
        return cplots.loss_compare(epochs, curves, finals, [prov(res)])

    v.figures["losses"] = figure
    return v


register("loss-compare", "classification:loss_compare", chapter="classification")


# ----------------------------------------------------------------------------- two rings

def _enclosed(prob) -> tuple[bool, float, float]:
    """Whether the class-0 region around the centre is enclosed by class 1: the centre of
    the grid has p(class 1) < 0.5 and every point of the grid's edge > 0.5. Returns
    (enclosed, p at the centre, smallest p on the edge)."""
    P = np.asarray(prob)
    n = P.shape[0]
    centre = float(P[n // 2, n // 2])
    edge = float(np.concatenate([P[0], P[-1], P[:, 0], P[:, -1]]).min())
    return centre < 0.5 and edge > 0.5, centre, edge


LAST_AT_LEAST = 0.99


def rings(profile=None, seed_offset: int = 0) -> View:
    """The 2-20-20-2 tanh network on the two rings: its decision regions during full-batch
    gradient descent, on every seed."""
    profile = current_profile(profile)
    v = View("rings", profile)
    res = runs("rings", profile, seed_offset)
    v.results = {"runs": res}
    cfg = res[0]["config"]
    steps = [s["step"] for s in res[0]["snapshots"]]
    first, last = steps[0], steps[-1]
    v.num("profile", profile, "text")
    for key in ("n", "noise", "hidden", "lr", "grid"):
        v.num(key, cfg[key], "config")
    v.num("first", first, "config")
    v.num("last", last, "config")
    v.num("snapshots", _words(f"{s:,}" for s in steps), "text")
    v.num("n_test", res[0]["data"]["n_test"], "count")
    v.num("n_seeds", len(res), "count")
    snap = {s: [r["snapshots"][i] for r in res] for i, s in enumerate(steps)}
    mid = 500 if 500 in steps else steps[len(steps) // 2]
    v.num("mid", mid, "config")
    for tag, s in (("first", first), ("mid", mid), ("last", last)):
        for key in ("train", "test"):
            values = [x[f"{key}_acc"] for x in snap[s]]
            v.num(f"{key}_{tag}", mean(values), "percent")
            v.num(f"{key}_{tag}_sd", _sd(values), "points")
    v.num("loss_start", mean(r["losses"][0] for r in res), "positive")
    v.num("loss_end", mean(r["losses"][-1] for r in res), "positive")
    v.num("ln2", float(np.log(2)), "config")
    v.add(F.at_most("starts-at-ln2", "before the first step the loss is within 0.1 of "
                    "ln 2 ≈ 0.693, the loss of a network that gives both classes probability "
                    "1/2, on every seed",
                    Sample("|initial loss − ln 2|", tuple(abs(r["losses"][0] - np.log(2))
                                                         for r in res), percent=False), 0.1))

    def train_at(s):
        return Sample(f"training accuracy after {s:,} iterations",
                      tuple(x["train_acc"] for x in snap[s]))

    def test_at(s):
        return Sample(f"test accuracy after {s:,} iterations",
                      tuple(x["test_acc"] for x in snap[s]))

    shape = {s: [_enclosed(x["prob"]) for x in snap[s]] for s in steps}

    def edge_text(s):
        return "; ".join(f"seed {r['seed']}: p(class 1) {c:.2f} at the centre, smallest on "
                         f"the edge {e:.2f}" for r, (_, c, e) in zip(res, shape[s], strict=True))

    v.add(Finding("open-first", f"after {first} iterations the boundary is not yet closed: on "
                  "every seed part of the plot's edge is still class 0",
                  all(e < 0.5 for _, _, e in shape[first]), edge_text(first),
                  RULE_EVERY_SEED))
    for s, name in ((mid, "closed-mid"), (last, "closed-last")):
        v.add(Finding(name, f"after {s:,} iterations the decision boundary is a closed curve "
                      "around the inner ring: on every seed the centre is class 0 and the "
                      "whole edge of the plot class 1", all(ok for ok, _, _ in shape[s]),
                      edge_text(s), RULE_EVERY_SEED))
    v.add(F.exceeds("improves", f"after {mid:,} iterations the network classifies more "
                    f"training points correctly than after {first}",
                    train_at(mid), train_at(first)))
    v.add(F.all_of("separates-last", f"after {last:,} iterations at least "
                   f"{100 * LAST_AT_LEAST:g} % of the training and of the test points are "
                   "classified correctly, on every seed",
                   [F.at_least("train-last", "", train_at(last), LAST_AT_LEAST),
                    F.at_least("test-last", "", test_at(last), LAST_AT_LEAST)]))

    X, y = res[0]["X"], res[0]["y"]
    v.figures["data_figure"] = lambda: cplots.rings_data(X, y, [prov(res[:1])])
    v.figures["regions"] = lambda: cplots.decision_regions(
        [(s["step"], s["prob"], s["train_acc"]) for s in res[0]["snapshots"]], X, y,
        res[0]["extent"], [prov(res[:1])])
    v.figures["progress"] = lambda: cplots.rings_progress(
        [r["losses"] for r in res], steps,
        [[x["train_acc"] for x in r["snapshots"]] for r in res],
        [[x["test_acc"] for x in r["snapshots"]] for r in res], [prov(res)])
    v.tables["snapshots"] = lambda: Table(
        ["iterations", "training accuracy", "test accuracy", "boundary closed (seeds)",
         "profile", "data", "samples", "seeds"],
        [[f"{s:,}", cell([x["train_acc"] for x in snap[s]]),
          cell([x["test_acc"] for x in snap[s]]),
          f"{sum(ok for ok, _, _ in shape[s])} of {len(res)}", *prov_cells(res)]
         for s in steps],
        "mean ± standard deviation over the seeds (each seed draws its own rings); boundary "
        "closed: the centre is class 0 and the whole edge of the plot class 1", res)
    return v


register("rings", "classification:rings", chapter="rings")


# ----------------------------------------------------------------------------- MNIST MLPs

MLP_SHIFTS = (1, 2)          # the lecture's shifted MLP numbers
LEVEL_TOLERANCE = 0.02       # "levelled off": second half of training moves at most this
DROP_1, DROP_2 = 0.05, 0.20  # what a shift of one and of two pixels costs at least


def active_fraction(model, X) -> np.ndarray:
    """For each hidden node of a 784-h-10 ReLU network, the fraction of the images ``X`` on
    which it is active (positive pre-activation); 0 marks a *dead* node."""
    with torch.no_grad():
        pre = model.net[0](torch.as_tensor(X).flatten(1))
    return (pre > 0).float().mean(0).numpy()


def blank_pixels(X) -> np.ndarray:
    """Pixels with the same value in every image of ``X`` (no digit has ink there)."""
    flat = torch.as_tensor(X).flatten(1)
    return (flat.std(0) == 0).numpy()


def blank_move_spread(result, blank) -> float:
    """For the 784-h-10 network of ``result``: the largest, over hidden nodes, standard
    deviation of the change W − W₀ of the first-layer weights over the ``blank`` pixels
    (0: every blank pixel of a node moved by the same amount)."""
    start = initial_model(result).net[0].weight.detach()
    moved = result.model.net[0].weight.detach().cpu() - start
    return float(moved[:, torch.as_tensor(blank)].std(1).max())


def _curve(results):
    epochs = [p["epoch"] for p in results[0]["curve"]]
    return (epochs, [[p["train_acc"] for p in r["curve"]] for r in results],
            [[p["test_acc"] for p in r["curve"]] for r in results])


def _second_half(result) -> float:
    """|test accuracy at the end − halfway| on the monitor images."""
    c = result["curve"]
    return abs(c[-1]["test_acc"] - c[(len(c) - 1) // 2]["test_acc"])


def _falls(result) -> bool:
    """The mean accuracy over directions falls with every pixel of shift."""
    m = [p["mean"] for p in result["metrics"]["shift_acc"]]
    return all(a > b for a, b in zip(m[:-1], m[1:], strict=True))


BLANK_BOUND = 1e-6
BLANK_EDGE = 4


def mnist_mlp(profile=None, seed_offset: int = 0) -> View:
    """The 784-10-10 and 784-32-10 networks on MNIST: accuracy, learning curves, shifted
    test digits, and what the hidden nodes look at."""
    profile = current_profile(profile)
    v = View("mnist-mlp", profile)
    nets = {h: runs("mnist-mlp", profile, seed_offset, hidden=h, return_model=True)
            for h in (10, 32)}
    r10, r32 = nets[10], nets[32]
    v.results = {"mlp10": r10, "mlp32": r32}
    first = r10[0]
    d = first["data"]
    cfg = first["config"]
    v.num("profile", profile, "text")
    v.num("data_sentence", f"On the machine that built this page the images come from "
          f"{d['label']} ({d['source']}): {first['n_train']:,} training and "
          f"{first['n_test']:,} test images" +
          (", not the lecture's 60,000 and 10,000." if first["n_train"] < 60000 else "."),
          "text")
    v.num("n_train", first["n_train"], "count")
    v.num("n_test", first["n_test"], "count")
    v.num("n_seeds", len(r10), "count")
    v.num("monitor", first["monitor"]["test"], "count")
    for key in ("num_epochs", "batch_size", "lr"):
        v.num(key, cfg[key], "config")
    for h, rs in nets.items():
        v.num(f"acc{h}", mean(test_acc(rs)), "percent")
        v.num(f"acc{h}_sd", _sd(test_acc(rs)), "points")
        v.num(f"train{h}", mean(train_acc(rs)), "percent")
        v.num(f"lect{h}", lecture.claim(f"mnist-mlp-{h}"), "percent")
        v.num(f"params{h}", rs[0]["metrics"]["parameters"], "count")
        for p in (1, 2, 3, 4):
            v.num(f"s{p}_{h}", mean(at_shift(rs, p)), "percent")
        for p in (1, 2):
            v.num(f"drop{p}_{h}", mean(a - b for a, b in zip(
                test_acc(rs), at_shift(rs, p), strict=True)), "points")
    for p in MLP_SHIFTS:
        v.num(f"lect_s{p}", lecture.claim(f"mnist-mlp-shift-{p}"), "percent")

    for h, rs in nets.items():
        v.add(F.exceeds(f"train-above-test-{h}", f"the 784-{h}-10 network classifies its "
                        "training images better than the test images",
                        Sample("training accuracy", tuple(train_acc(rs))),
                        Sample("test accuracy", tuple(test_acc(rs)))))
    v.add(F.at_most("levelled", "over the second half of training the test accuracy of "
                    f"either network moves by at most {100 * LEVEL_TOLERANCE:g} points",
                    Sample("|change of test accuracy over the second half|",
                           tuple(_second_half(r) for rs in nets.values() for r in rs),
                           unit="points"), LEVEL_TOLERANCE))
    ok = [F.learned(f"the 784-{h}-10 network", test_acc(rs), "mnist")
          for h, rs in nets.items()]
    v.add(F.given(Finding("shift-falls", "for both networks, on every seed, each further pixel of "
                  "shift lowers the accuracy (mean over the four directions)",
                  all(_falls(r) for rs in nets.values() for r in rs),
                  "; ".join(f"784-{h}-10 seed {r['seed']}: " + ", ".join(
                      f"{100 * p['mean']:.1f}" for p in r["metrics"]["shift_acc"])
                      for h, rs in nets.items() for r in rs), RULE_EVERY_SEED), *ok))
    drops = []
    for h, rs in nets.items():
        for p, least in ((1, DROP_1), (2, DROP_2)):
            drops.append(F.at_least(f"drop-{p}-{h}", "", Sample(
                f"784-{h}-10 loses at {p} px", tuple(a - b for a, b in zip(
                    test_acc(rs), at_shift(rs, p), strict=True)), unit="points"), least))
    v.add(F.given(F.all_of("shift-costs", f"a one-pixel shift costs both networks at least "
                           f"{100 * DROP_1:g} percentage points and a two-pixel shift at least "
                           f"{100 * DROP_2:g}, on every seed", drops), *ok))

    # what the hidden nodes look at, and which are dead
    X_train = load("mnist").X_train
    blank = blank_pixels(X_train)
    v.num("n_blank", int(blank.sum()), "count")
    dead = {h: [int((active_fraction(r.model, X_train) == 0).sum()) for r in rs]
            for h, rs in nets.items()}
    for h, rs in nets.items():
        v.num(f"dead{h}", _words(f"{n} (seed {r['seed']})" for n, r in zip(dead[h], rs,
                                                                           strict=True)),
              "text")

    def dead_at_start(r):
        return int((active_fraction(initial_model(r), X_train) == 0).sum())

    start_dead = [dead_at_start(r) for rs in nets.values() for r in rs]
    v.add(Finding("alive-at-start", "before training every hidden node of both networks is "
                  "active on some training image, on every seed", not any(start_dead),
                  f"dead nodes at initialisation: {start_dead}; after training: "
                  f"{dead[10]} (10 hidden), {dead[32]} (32 hidden)", RULE_EVERY_SEED))
    rows, cols = np.nonzero(blank.reshape(28, 28))
    from_edge = int(np.minimum.reduce([rows, cols, 27 - rows, 27 - cols]).max()) \
        if len(rows) else 0
    v.add(Finding("blank-at-border", f"every pixel that is blank in all training images lies "
                  f"within {BLANK_EDGE} pixels of the edge of the frame", 0 < len(rows)
                  and from_edge < BLANK_EDGE, f"{len(rows)} such pixels, the farthest "
                  f"{from_edge} pixels in from the edge", "every blank pixel"))
    spread = max(blank_move_spread(r, blank) for rs in nets.values() for r in rs)
    v.num("blank_spread", spread, "roundoff", bound=BLANK_BOUND)
    v.add(Finding("blank-move-together", "training moves the weights of all always-blank "
                  "pixels of a hidden node by the same amount (to within 1e-6), for every "
                  "node of both networks on every seed", spread <= BLANK_BOUND,
                  f"{int(blank.sum())} always-blank pixels; largest standard deviation of "
                  f"the change over them {spread:.1e}", RULE_EVERY_SEED))

    # the lecture's numbers: test accuracy over seeds, shifts over seeds × directions
    why = not_comparable(first)
    for h, rs in nets.items():
        key = f"mnist-mlp-{h}"
        v.claim(key, F.lecture_value(key, lecture.claim(key),
                                     Sample("this build", tuple(test_acc(rs))),
                                     not_comparable=why), rs)
    for p in MLP_SHIFTS:
        key = f"mnist-mlp-shift-{p}"
        v.claim(key, F.lecture_value(key, lecture.claim(key),
                                     Sample("this build", tuple(at_shift(r32, p))),
                                     Sample("seeds × directions", tuple(by_direction(r32, p))),
                                     why), r32)

    def lecture_table():
        rows = []
        for key, net, label in [("mnist-mlp-10", "784-10-10", "test accuracy"),
                                ("mnist-mlp-32", "784-32-10", "test accuracy")] + [
                (f"mnist-mlp-shift-{p}", "784-32-10", f"{p}-pixel shift") for p in MLP_SHIFTS]:
            c, rs = v.claims[key]
            rows.append([net, label, fmt_pct(c.lecture, 0), cell(c.shown.values),
                         f"{100 * c.sample.min:.1f}–{100 * c.sample.max:.1f} %", c.verdict,
                         *prov_cells(rs)])
        return Table(["network", "what", "lecture", "this build (mean ± sd over seeds)",
                      "range (seeds; shifts: × 4 directions)", "verdict", "profile", "data",
                      "samples", "seeds"], rows,
                     "Verdict: the rule of the chapter *Reproducing the lecture* (the lecture's "
                     "value within this build's range, ± 1 point; quick-profile and subset "
                     "numbers are not comparable). The lecture does not say which network its "
                     "shifted numbers belong to; they are compared with the 32-hidden network. "
                     "Shifts: mean over right, left, down, up.", r10 + r32)

    v.tables["lecture"] = lecture_table
    labels = {10: "784-10-10", 32: "784-32-10"}
    v.tables["shift"] = lambda: Table(
        ["network"] + [f"shift {s}" for s in range(5)] + ["profile", "data", "samples",
                                                          "seeds"],
        [[labels[h]] + [cell(at_shift(rs, s)) for s in range(5)] + prov_cells(rs)
         for h, rs in nets.items()],
        "test accuracy, mean over the four shift directions; mean ± standard deviation over "
        "the seeds", r10 + r32)
    v.figures["curves"] = lambda: cnnplots.learning_curves(
        [(labels[h], *_curve(rs)) for h, rs in nets.items()],
        "MNIST: accuracy during training (monitor images, evaluation mode)",
        [f"{labels[h]}: {prov(rs)}" for h, rs in nets.items()])
    v.figures["shift_chart"] = lambda: cnnplots.shift_curves(
        [(labels[h], list(range(5)), shift_matrix(rs)) for h, rs in nets.items()],
        [("lecture: 2-layer net (size not stated)",
          {p: lecture.claim(f"mnist-mlp-shift-{p}") for p in MLP_SHIFTS}, None)],
        "MNIST: two-layer networks against shifted test digits",
        [f"{labels[h]}: {prov(rs)}" for h, rs in nets.items()])

    def hidden():
        r = r10[0]
        active = active_fraction(r.model, X_train)
        titles = [f"node {i}: " + ("dead" if a == 0 else f"active {100 * a:.0f} %")
                  for i, a in enumerate(active)]
        return cplots.hidden_weights(r.model.net[0].weight.detach().cpu().numpy(), titles,
                                     [prov([r])])

    v.figures["hidden"] = hidden
    return v


register("mnist-mlp", "classification:mnist_mlp", chapter="mnist-mlp")


# ----------------------------------------------------------------------------- less data

def mnist_overfit(profile=None, seed_offset: int = 0) -> View:
    """The 784-32-10 network trained on fewer and fewer images: training against test
    accuracy per epoch, and the lecture's claim that less data overfits more."""
    profile = current_profile(profile)
    v = View("mnist-overfit", profile)
    res = runs("mnist-overfit", profile, seed_offset)
    v.results = {"runs": res}
    first = res[0]
    cfg = first["config"]
    sizes = sorted((r["n_train"] for r in first["runs"]), reverse=True)
    by_size = {n: [next(x for x in r["runs"] if x["n_train"] == n) for r in res] for n in sizes}
    stand_in = [n for n in sizes if not by_size[n][0]["lecture_size"]]
    skipped = first["skipped_sizes"]
    v.num("profile", profile, "text")
    v.num("n_seeds", len(res), "count")
    v.num("epochs", cfg["num_epochs"], "config")
    v.num("hidden", cfg["hidden"], "config")
    v.num("n_test", first["n_test"], "count")
    v.num("available", first["data"]["n_train"], "count")
    v.num("lecture_sizes", _words(f"{n:,}" for n in cfg["sizes"]), "text")
    v.num("sizes", _words(f"{n:,}" for n in sizes), "text")
    if skipped:
        sentence = (f"The training set of this build, {first['data']['label']}, has "
                    f"{first['data']['n_train']:,} images, so the lecture's "
                    f"{_words(f'{n:,}' for n in skipped)} cannot be drawn from it and are not "
                    "shown" + (f"; the run on all {stand_in[0]:,} images stands in for them "
                               "(not one of the lecture's sizes)." if stand_in else "."))
    else:
        sentence = "Every one of the lecture's sizes fits into the training set of this build."
    v.num("skipped_sentence", sentence, "text")

    def gaps(n):
        return [x["train_acc"] - x["test_acc"] for x in by_size[n]]

    small, large = sizes[-1], sizes[0]
    for tag, n in (("small", small), ("large", large)):
        v.num(f"n_{tag}", n, "count")
        v.num(f"train_{tag}", mean(x["train_acc"] for x in by_size[n]), "percent")
        v.num(f"test_{tag}", mean(x["test_acc"] for x in by_size[n]), "percent")
        v.num(f"gap_{tag}", mean(gaps(n)), "points")

    pairs = list(zip(sizes[1:], sizes[:-1], strict=True))  # (smaller, larger)
    gap_parts = [F.exceeds(f"gap-{a}-{b}", "", Sample(f"gap with {a:,} images", tuple(gaps(a)),
                                                      unit="points"),
                           Sample(f"gap with {b:,} images", tuple(gaps(b)), unit="points"))
                 for a, b in pairs]
    overfits = v.add(F.all_of("less-data-overfits", "the fewer the training images, the wider "
                              "the gap between training and test accuracy, for every pair of "
                              "neighbouring sizes", gap_parts))
    v.claim("less-data-overfits", overfits, res)
    test_parts = [F.exceeds(f"test-{b}-{a}", "", Sample(f"test accuracy with {b:,} images",
                                                        tuple(x["test_acc"] for x in by_size[b])),
                            Sample(f"test accuracy with {a:,} images",
                                   tuple(x["test_acc"] for x in by_size[a])))
                  for a, b in pairs]
    v.add(F.all_of("more-data-generalises", "the more training images, the higher the test "
                   "accuracy, for every pair of neighbouring sizes", test_parts))
    v.add(F.at_least("small-memorises", f"with {small:,} training images the network "
                     "classifies at least 99 % of them correctly, on every seed",
                     Sample(f"training accuracy with {small:,} images",
                            tuple(x["train_acc"] for x in by_size[small])), 0.99))

    def title(n):
        return f"{n:,} training images" + ("\n(all available; not a lecture size)"
                                           if n in stand_in else "")

    def figure():
        panels = []
        for n in sizes:
            epochs = [h["epoch"] for h in by_size[n][0]["history"]]
            panels.append((title(n), epochs,
                           [[h["train_acc"] for h in x["history"]] for x in by_size[n]],
                           [[h["test_acc"] for h in x["history"]] for x in by_size[n]]))
        return cplots.overfit_panels(panels, [prov(res)])

    v.figures["curves"] = figure

    def table():
        rows = [[f"{n:,}" + (" (all available; not a lecture size)" if n in stand_in else ""),
                 cell([x["train_acc"] for x in by_size[n]]),
                 cell([x["test_acc"] for x in by_size[n]]),
                 cell(gaps(n)).replace(" %", " points"), profile, prov_cells(res)[1],
                 f"{n:,} train / {first['n_test']:,} test",
                 ", ".join(str(r["seed"]) for r in res)] for n in sizes]
        note = ("784-32-10 network, accuracies after the last epoch (training accuracy on "
                "the whole training set, evaluation mode); gap: training minus test accuracy; "
                "mean ± standard deviation over the seeds (each seed draws its own subset)")
        if skipped:
            note += (f". Not run: the lecture's {_words(f'{n:,}' for n in skipped)} (more "
                     "than the training set holds)")
        return Table(["training images", "training accuracy", "test accuracy", "gap",
                      "profile", "data", "samples", "seeds"], rows, note, res)

    def lecture_table():
        c = v.claims["less-data-overfits"][0]
        gap_cells = "; ".join(f"{n:,}: {cell(gaps(n)).replace(' %', '')}" for n in sizes)
        return Table(["claim", "lecture", "train − test gap (points) by training images",
                      "verdict", "profile", "data", "seeds"],
                     [[lecture.CLAIMS["less-data-overfits"]["what"], "qualitative", gap_cells,
                       "reproduced" if c.holds else "differs", profile, prov_cells(res)[1],
                       ", ".join(str(r["seed"]) for r in res)]],
                     f"mean ± sd over the seeds; {first['n_test']:,} test images. Rule: for "
                     "every pair of neighbouring sizes, every seed's gap with fewer images "
                     "above every seed's gap with more (at least 3 seeds each; the chapter "
                     "*Reproducing the lecture*).", res)

    v.tables["sizes"] = table
    v.tables["lecture"] = lecture_table
    return v


register("mnist-overfit", "classification:mnist_overfit", chapter="mnist-mlp")
