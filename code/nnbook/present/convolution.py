"""Views of the chapters "Image convolution" and "CNN architecture and pooling".

Nothing here trains: the views compute what these chapters show (the lecture's
formula against ``conv2d``, the named kernels on a photograph, translation
equivariance, the anatomy of the lecture's CNN, pooling on MNIST test digits)
in a few seconds, the same in both profiles. Where random numbers are drawn (test
images and kernels, which digits are measured, initial weights) the seed is moved
by ``seed_offset``, so the variation tool measures other draws. See
:mod:`nnbook.present` for what a view is.
"""

from __future__ import annotations

import numpy as np
import torch

from .. import anatomy
from .. import findings as F
from .. import kernels as K
from ..data import load
from ..experiments import current_profile
from ..models import CNN, count_parameters, typical_cnn
from ..plots import convolution as cplots
from . import Table, View, register
from .common import mean

#: Rounding bounds the prose states. float64 sums in another order differ by ~1e-15;
#: float32 rounds each input and product to 7 digits, on sums of up to 49 terms of size ~1.
BOUND_FLOAT64 = 1e-10
BOUND_FLOAT32 = 1e-4
BOUND_EQUIVARIANCE = 1e-12
#: Seeds of the draws of test digits (and of initial weights); moved by ``seed_offset``.
DRAWS = (0, 1, 2)


def _sample(label, values):
    return F.Sample(label, tuple(values), percent=False)


def _digits(seed: int, n: int):
    """``n`` MNIST test digits drawn at random with ``seed``, as raw pixels (0 = black,
    1 = white; float64, one 28×28 array each), and the data set they come from."""
    ds = load("mnist")
    g = torch.Generator().manual_seed(seed)
    X = ds.X_test[torch.randperm(ds.n_test, generator=g)[:n]]
    mean_px, std_px = ds.provenance["normalisation"]
    return X.squeeze(1).double().numpy() * std_px + mean_px, ds


# ----------------------------------------------------------------------------- convolution

def layer_difference(seed: int, n: int = 8) -> float:
    """Largest |kernels.conv_layer − nn.Conv2d| at the output of the lecture CNN's second
    convolution layer (the first one's output through a ReLU in between), with random
    initial weights and ``n`` random MNIST test digits drawn with ``seed``: float64 NumPy
    against float32 PyTorch. For seed 0 this is the computation of the chapter's code
    cell."""
    torch.manual_seed(seed)
    ds = load("mnist")
    X = ds.X_test[torch.randperm(ds.n_test)[:n]]
    model = CNN()
    w = {name: p.detach().numpy() for name, p in model.named_parameters()}
    a1 = K.conv_layer(X.numpy(), w["conv1.weight"], w["conv1.bias"])
    ours = K.conv_layer(np.maximum(a1, 0), w["conv2.weight"], w["conv2.bias"])
    with torch.no_grad():
        theirs = model.conv2(torch.relu(model.conv1(X))).numpy()
    return float(np.abs(ours - theirs).max())


def convolution(profile=None, seed_offset: int = 0) -> View:
    """The lecture's formula against conv2d, the six kernels, locality, equivariance,
    weight counts and a convolution layer against nn.Conv2d."""
    v = View("convolution", current_profile(profile))
    seed = seed_offset

    # the formula against conv2d
    rows = K.compare_with_conv2d(seed=seed)
    worst64 = max(r["diff_float64"] for r in rows)
    worst32 = max(r["diff_float32"] for r in rows)
    v.num("seed", seed, "config")
    v.num("n_cases", len(rows), "count")
    v.num("worst64", worst64, "roundoff", BOUND_FLOAT64)
    v.num("worst32", worst32, "roundoff", BOUND_FLOAT32)
    v.add(F.at_most("agree-float64", "the formula and conv2d agree to 1e-10 in float64 "
                    "(they add the same products in another order)",
                    _sample("largest float64 difference", [worst64]), BOUND_FLOAT64))
    v.add(F.at_most("agree-float32", "in float32 they agree to 1e-4, the size of float32 "
                    "rounding on these sums",
                    _sample("largest float32 difference", [worst32]), BOUND_FLOAT32))
    v.tables["conv2d"] = lambda: Table(
        ["image", "kernel", "border", "output", "max diff (float64)", "max diff (float32)"],
        [[f"{r['image'][0]}×{r['image'][1]}", f"{r['kernel']}×{r['kernel']}", r["border"],
          f"{r['output'][0]}×{r['output'][1]}", f"{r['diff_float64']:.1e}",
          f"{r['diff_float32']:.1e}"] for r in rows],
        f"data: random standard-normal images and kernels drawn with NumPy seed {seed}, one "
        f"of each size, {len(rows)} comparisons; no training, the same in every profile "
        f"(this page: {v.profile}). `kernels.convolve` computes in float64; float32 "
        "differences come from rounding the inputs to float32.")

    # the six kernels on the photograph
    photo = K.photograph()
    v.num("photo_h", photo.shape[0], "count")
    v.num("photo_w", photo.shape[1], "count")
    panels = [(name, K.kernel(name), K.convolve(photo, name, border="edge"))
              for name in K.KERNELS]
    v.figures["gallery"] = lambda: cplots.kernel_gallery(photo, panels)
    sums = {name: float(K.kernel(name).sum()) for name in K.KERNELS}
    v.add(F.Finding("kernel-sums", "the two Sobel kernels, the Laplacian and the outline "
                    "kernel sum to 0; emboss and sharpen sum to 1",
                    all(sums[n] == 0 for n in ("sobel-vertical", "sobel-horizontal",
                                               "laplacian", "outline"))
                    and sums["emboss"] == 1 and sums["sharpen"] == 1,
                    ", ".join(f"{n} {s:g}" for n, s in sums.items()),
                    "the kernels as the lecture gives them"))
    discrete = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=float)
    v.add(F.Finding("laplacian-negative", "the lecture's Laplacian kernel is the negative of "
                    "the discrete Laplacian: W∗I = −∇²I",
                    bool(np.array_equal(K.kernel("laplacian"), -discrete)),
                    f"lecture's kernel {K.kernel('laplacian').astype(int).tolist()}, discrete "
                    f"Laplacian {discrete.astype(int).tolist()}",
                    "the kernels as the lecture gives them"))
    identity = np.zeros((3, 3))
    identity[1, 1] = 1
    v.add(F.Finding("sharpen-identity", "sharpen is the identity plus the lecture's "
                    "Laplacian kernel: I − ∇²I",
                    bool(np.array_equal(K.kernel("sharpen"), identity + K.kernel("laplacian"))),
                    f"sharpen {K.kernel('sharpen').astype(int).tolist()}",
                    "the kernels as the lecture gives them"))
    turned = {name: K.kernel(name)[::-1, ::-1] for name in K.KERNELS}
    flipped = K.convolve(photo, turned["sobel-vertical"], border="edge")
    v.add(F.Finding("sobel-flip", "a half turn leaves the Laplacian, outline and sharpen "
                    "kernels unchanged and negates the two Sobel kernels, so flipping (what a "
                    "signal-processing convolution does) changes the sign of a Sobel output",
                    all(np.array_equal(turned[n], K.kernel(n))
                        for n in ("laplacian", "outline", "sharpen"))
                    and all(np.array_equal(turned[n], -K.kernel(n))
                            for n in ("sobel-vertical", "sobel-horizontal"))
                    and bool(np.array_equal(flipped, -panels[0][2])),
                    "largest |flipped + unflipped| Sobel-vertical output on the photograph: "
                    f"{np.abs(flipped + panels[0][2]).max():.1e}",
                    "exact equality of the kernels and of the outputs on the photograph"))

    # locality
    delta = np.zeros((7, 7))
    delta[3, 3] = 1
    response = K.impulse_response("emboss", 7)
    v.figures["locality"] = lambda: cplots.locality_figure(
        "emboss", K.kernel("emboss"), delta, response)
    v.add(F.Finding("impulse-turned", "the response to a single 1 is a 3×3 patch: the kernel "
                    "turned by 180°",
                    bool(np.count_nonzero(response) <= 9 and np.array_equal(
                        response[2:5, 2:5], K.kernel("emboss")[::-1, ::-1])),
                    f"{np.count_nonzero(response)} non-zero output pixels",
                    "exact equality"))

    # translation equivariance
    small, dy, dx = K.photograph(scale=2), 30, 60
    W = K.kernel("sobel-vertical")
    out = K.convolve(small, W, border="zero")
    moved = K.shift(small, dy, dx)
    out_moved = K.convolve(moved, W, border="zero")
    error = K.equivariance_error(small, W, dy, dx)
    v.num("dy", dy, "config")
    v.num("dx", dx, "config")
    v.num("equiv_error", error, "roundoff", BOUND_EQUIVARIANCE)
    v.add(F.at_most("equivariant", "away from the borders, convolving the shifted photograph "
                    "gives the shifted output, to 1e-12",
                    _sample("largest difference away from the border", [error]),
                    BOUND_EQUIVARIANCE))
    panels_t = {"image": small, "moved": moved, "out": out, "out_moved": out_moved,
                "diff": np.abs(out_moved - K.shift(out, dy, dx))}
    v.figures["translation"] = lambda: cplots.translation_figure(
        panels_t, "sobel-vertical", dy, dx, error)

    # weights: a dense map against a kernel
    h = w = 28
    v.num("dense_weights", (h * w) * ((h - 2) * (w - 2)), "count")
    v.num("conv_weights", K.kernel("laplacian").size, "count")

    # a convolution layer against nn.Conv2d (the chapter's code cell, seed 0)
    n = 8
    diff = layer_difference(seed, n)
    v.results = {"digits": [{"data": dict(load("mnist").provenance)}]}  # the data signature
    v.num("layer_n", n, "count")
    v.num("layer_diff", diff, "roundoff", BOUND_FLOAT32)
    v.add(F.at_most("layer-agrees", "the NumPy layer and nn.Conv2d agree to 1e-4 on real "
                    "digits, through both convolution layers of the lecture's CNN",
                    _sample("largest difference", [diff]), BOUND_FLOAT32))
    return v


register("convolution", "convolution:convolution", chapter="convolution")


# ----------------------------------------------------------------------------- architecture

def _layer_table(stages: list[dict], total: int) -> Table:
    rows = [[st["op"], "×".join(str(d) for d in st["shape"]),
             f"{st['params']:,}" if st["params"] else "–",
             f"{100 * st['params'] / total:.2f} %" if st["params"] else "–"] for st in stages]
    rows.append(["**all**", "", f"**{total:,}**", "100 %"])
    return Table(["operation", "output shape (one image)", "weights", "share"], rows,
                 "Traced from `nnbook.models.CNN.forward` with torch.fx and a blank 1×28×28 "
                 "image (`nnbook.anatomy.stages`); no data and no training, the same in "
                 "every profile. Weights include biases.")


def architecture(profile=None, seed_offset: int = 0, n_digits: int = 200,
                 shifts=(1, 2, 3, 4), sizes=(1, 2, 4, 7)) -> View:
    """The anatomy of the lecture's CNN and of a typical CNN, and how much pooling
    reduces the change that a shift makes, measured on MNIST test digits."""
    v = View("cnn-architecture", current_profile(profile))

    # the two networks, walked through with anatomy
    model = CNN()
    stages = anatomy.stages(model)
    total = count_parameters(model)
    pooled = next(st["shape"] for st in stages if st["op"].startswith("max-pool"))
    flat = anatomy.features_before_dense(model)
    conv = sum(st["params"] for st in stages if st["op"].startswith("conv"))
    fc1 = next(st for st in stages if st["op"].startswith("dense"))
    v.num("flat", flat, "count")
    v.num("flat_pooled", anatomy.features_before_dense(CNN(extra_pool=True)), "count")
    v.num("n_params", total, "count")
    v.num("conv_params", conv, "count")
    v.num("fc1_params", fc1["params"], "count")
    v.num("fc1_share", fc1["params"] / total, "percent")
    v.num("conv_share", conv / total, "percent")
    v.num("drop1", round(100 * model.dropout1.p), "config")
    v.num("drop2", round(100 * model.dropout2.p), "config")
    v.add(F.Finding("fc1-most", "the first fully connected layer holds more than 95 % of the "
                    "weights; the two convolution layers less than 2 %",
                    fc1["params"] / total > 0.95 and conv / total < 0.02,
                    f"fc1 {fc1['params']:,}, convolutions {conv:,} of {total:,}",
                    "the network as defined in nnbook.models.CNN"))
    v.add(F.Finding("flat-9216", "64 channels of 12×12 reach the first fully connected "
                    "layer: 9,216 features",
                    pooled == (64, 12, 12) and flat == 9216 == model.fc1.in_features,
                    f"shape after the pooling {pooled}, {flat:,} features traced, fc1 declares "
                    f"{model.fc1.in_features:,}",
                    "the network as defined in nnbook.models.CNN"))
    typical = typical_cnn()
    t_stages = anatomy.stages(typical)
    v.num("typical_flat", anatomy.features_before_dense(typical), "count")
    v.num("typical_params", count_parameters(typical), "count")
    note = "shapes and weights traced from the network itself (nnbook.anatomy)"
    v.figures["typical_diagram"] = lambda: cplots.cnn_diagram(anatomy.merged(t_stages),
                                                   "a typical CNN on a 28×28 image", note)
    v.figures["lecture_diagram"] = lambda: cplots.cnn_diagram(
        anatomy.merged(stages), "the lecture's CNN (nnbook.models.CNN)",
        note + "; its two dropout layers change no shape and are left out")
    v.tables["layers"] = lambda: _layer_table(stages, total)

    # pooling: a small example and the photograph
    x = np.random.default_rng(3 + seed_offset).integers(0, 10, size=(4, 4)).astype(float)
    v.figures["pooling_example"] = lambda: cplots.pooling_example(x, K.max_pool(x), K.avg_pool(x))
    photo = K.photograph(scale=2)
    v.figures["pooling_photo"] = lambda: cplots.pooling_on_image(
        photo, {kind: [(s, K.pool(photo, kind, s)) for s in (2, 4, 8)]
                for kind in ("max", "avg")})

    # how much a shift changes a pooled digit
    seeds = [s + seed_offset for s in DRAWS]
    change = {}   # (kind, size) -> one row per draw, one value per shift
    ds = None
    for seed in seeds:
        digits, ds = _digits(seed, n_digits)
        for kind in ("max", "avg"):
            for size in sizes:
                ch = K.pooled_shift_change(digits, kind, size, shifts)
                change.setdefault((kind, size), []).append([ch[s] for s in shifts])
    at = {key: [row[0] for row in rows] for key, rows in change.items()}   # at 1 pixel
    last = {key: [row[-1] for row in rows] for key, rows in change.items()}
    v.results = {"digits": [{"data": dict(ds.provenance)}]}  # the data signature
    v.num("n_digits", n_digits, "count")
    v.num("n_draws", len(seeds), "count")
    v.num("max_shift", max(shifts), "config")
    v.num("data", ds.describe(), "text")
    for kind in ("max", "avg"):
        for size in sizes:
            v.num(f"{kind}_{size}", mean(at[(kind, size)]), "positive")
    for size in sizes:
        v.num(f"max_{size}_at_{max(shifts)}", mean(last[("max", size)]), "positive")

    def label(kind, size):
        return "no pooling" if size == 1 else f"{kind} pooling {size}×{size}"

    def tag(size):
        return "none" if size == 1 else f"{size}x{size}"

    def smaller(kind, a, b):   # "pooling b changes less than a" at one pixel
        return F.exceeds(f"{kind}-{tag(b)}-below-{tag(a)}", "after a one-pixel shift, "
                         f"{label(kind, b)} changes less than {label(kind, a)}",
                         _sample(label(kind, a), at[(kind, a)]),
                         _sample(label(kind, b), at[(kind, b)]))

    v.add(smaller("max", 1, 2))
    v.add(smaller("max", 2, 7))
    for kind in ("max", "avg"):
        v.add(F.all_of(f"{kind}-ordered", f"with {kind} pooling, the larger the window, the "
                       "smaller the change after a one-pixel shift (none, 2×2, 4×4, 7×7)",
                       [smaller(kind, a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]))
    v.add(F.all_of("grows-with-shift", f"for every window, a {max(shifts)}-pixel shift changes "
                   "the pooled digit more than a one-pixel shift",
                   [F.exceeds(f"{kind}-{tag(size)}-grows", f"{label(kind, size)} changes more at "
                              f"{max(shifts)} pixels than at 1",
                              _sample(f"{max(shifts)} px", last[(kind, size)]),
                              _sample("1 px", at[(kind, size)]))
                    for kind in ("max", "avg") for size in sizes]))
    v.add(F.at_least("not-invariant", "even 7×7 max pooling is not invariant: a one-pixel "
                     "shift changes the pooled digit by more than a tenth",
                     _sample("max 7×7 at 1 px", at[("max", 7)]), 0.10))
    prov = (f"{len(seeds)} draws of {n_digits} test digits (seeds "
            f"{', '.join(map(str, seeds))}) from {ds.describe()}; no training, the same in "
            "every profile; line: mean over the draws, band: their range")
    v.figures["invariance"] = lambda: cplots.pooling_invariance(
        {kind: [(size, change[(kind, size)]) for size in sizes] for kind in ("max", "avg")},
        shifts, [prov])
    def cell(values):
        sample = _sample("", values)
        return f"{sample.mean:.3f} ± {sample.sd:.3f}"

    v.tables["invariance"] = lambda: Table(
        ["pooling"] + [f"shift {s} px" for s in shifts],
        [[label(kind, size)] + [cell([row[k] for row in change[(kind, size)]])
                                for k in range(len(shifts))]
         for kind in ("max", "avg") for size in sizes if kind == "max" or size > 1],
        "‖P(shifted x) − P(x)‖ / ‖P(x)‖, mean over the digits; mean ± standard deviation "
        f"over the draws. Data: {prov}.")
    return v


register("cnn-architecture", "convolution:architecture", chapter="cnn-architecture")
