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

import functools

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

#: Rounding bounds the prose states. float64 sums in another order differ by ~1e-15;
#: float32 rounds each input and product to 7 digits, on sums of up to 49 terms of size ~1.
BOUND_FLOAT64 = 1e-10
BOUND_FLOAT32 = 1e-4
BOUND_EQUIVARIANCE = 1e-12
#: Seeds of the draws of test digits (and of initial weights); moved by ``seed_offset``.
DRAWS = (0, 1, 2)
#: The rule of the findings about the kernels themselves.
AS_GIVEN = "the kernels as the lecture gives them"


def _sample(label, values):
    return F.Sample(label, tuple(values), percent=False)


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


def _formula(v: View, seed: int) -> None:
    """The lecture's formula against conv2d, in float64 and in float32."""
    rows = K.compare_with_conv2d(seed=seed)
    v.num("n_cases", len(rows), "count")
    for bits, bound, statement in (
            (64, BOUND_FLOAT64, "the formula and conv2d agree to 1e-10 in float64 "
                                "(they add the same products in another order)"),
            (32, BOUND_FLOAT32, "in float32 they agree to 1e-4, the size of float32 "
                                "rounding on these sums")):
        worst = v.num(f"worst{bits}", max(r[f"diff_float{bits}"] for r in rows), "roundoff",
                      bound)
        v.add(F.at_most(f"agree-float{bits}", statement,
                        _sample(f"largest float{bits} difference", [worst]), bound))
    v.tables["conv2d"] = lambda: Table(
        ["image", "kernel", "border", "output", "max diff (float64)", "max diff (float32)"],
        [[f"{r['image'][0]}×{r['image'][1]}", f"{r['kernel']}×{r['kernel']}", r["border"],
          f"{r['output'][0]}×{r['output'][1]}", f"{r['diff_float64']:.1e}",
          f"{r['diff_float32']:.1e}"] for r in rows],
        f"data: random standard-normal images and kernels drawn with NumPy seed {seed}, one "
        f"of each size, {len(rows)} comparisons; no training, the same in every profile "
        f"(this page: {v.profile}). `kernels.convolve` computes in float64; float32 "
        "differences come from rounding the inputs to float32.")


def _kernels(v: View) -> None:
    """The six kernels on the photograph, and what their weights are."""
    photo = K.photograph()
    v.num("photo_h", photo.shape[0], "count")
    v.num("photo_w", photo.shape[1], "count")
    W = {name: K.kernel(name) for name in K.KERNELS}
    panels = [(name, w, K.convolve(photo, name, border="edge")) for name, w in W.items()]
    v.figures["gallery"] = lambda: cplots.kernel_gallery(photo, panels)
    sums = {name: float(w.sum()) for name, w in W.items()}
    sobel = ("sobel-vertical", "sobel-horizontal")
    v.add(F.Finding("kernel-sums", "the two Sobel kernels, the Laplacian and the outline "
                    "kernel sum to 0; emboss and sharpen sum to 1",
                    all(sums[n] == 0 for n in (*sobel, "laplacian", "outline"))
                    and sums["emboss"] == sums["sharpen"] == 1,
                    ", ".join(f"{n} {s:g}" for n, s in sums.items()), AS_GIVEN))
    discrete = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]])
    v.add(F.Finding("laplacian-negative", "the lecture's Laplacian kernel is the negative of "
                    "the discrete Laplacian: W∗I = −∇²I",
                    bool(np.array_equal(W["laplacian"], -discrete)),
                    f"lecture's kernel {W['laplacian'].astype(int).tolist()}, discrete "
                    f"Laplacian {discrete.tolist()}", AS_GIVEN))
    identity = np.pad([[1.0]], 1)   # 3×3, a 1 in the centre
    v.add(F.Finding("sharpen-identity", "sharpen is the identity plus the lecture's "
                    "Laplacian kernel: I − ∇²I",
                    bool(np.array_equal(W["sharpen"], identity + W["laplacian"])),
                    f"sharpen {W['sharpen'].astype(int).tolist()}", AS_GIVEN))
    turned = {name: w[::-1, ::-1] for name, w in W.items()}
    flipped = K.convolve(photo, turned["sobel-vertical"], border="edge")
    v.add(F.Finding("sobel-flip", "a half turn leaves the Laplacian, outline and sharpen "
                    "kernels unchanged and negates the two Sobel kernels, so flipping (what a "
                    "signal-processing convolution does) changes the sign of a Sobel output",
                    all(np.array_equal(turned[n], W[n]) for n in ("laplacian", "outline",
                                                                   "sharpen"))
                    and all(np.array_equal(turned[n], -W[n]) for n in sobel)
                    and bool(np.array_equal(flipped, -panels[0][2])),
                    "largest |flipped + unflipped| Sobel-vertical output on the photograph: "
                    f"{np.abs(flipped + panels[0][2]).max():.1e}",
                    "exact equality of the kernels and of the outputs on the photograph"))


def _locality(v: View) -> None:
    """Locality (the response to a single 1) and translation equivariance."""
    delta, response = np.pad([[1.0]], 3), K.impulse_response("emboss", 7)   # a 1 in 7×7 zeros
    v.figures["locality"] = functools.partial(cplots.locality_figure, "emboss",
                                              K.kernel("emboss"), delta, response)
    v.add(F.Finding("impulse-turned", "the response to a single 1 is a 3×3 patch: the kernel "
                    "turned by 180°",
                    bool(np.count_nonzero(response) <= 9 and np.array_equal(
                        response[2:5, 2:5], K.kernel("emboss")[::-1, ::-1])),
                    f"{np.count_nonzero(response)} non-zero output pixels",
                    "exact equality"))
    small = K.photograph(scale=2)
    dy, dx = v.num("dy", 30, "config"), v.num("dx", 60, "config")
    error = v.num("equiv_error", K.equivariance_error(small, K.kernel("sobel-vertical"), dy, dx),
                  "roundoff", BOUND_EQUIVARIANCE)
    v.add(F.at_most("equivariant", "away from the borders, convolving the shifted photograph "
                    "gives the shifted output, to 1e-12",
                    _sample("largest difference away from the border", [error]),
                    BOUND_EQUIVARIANCE))
    v.figures["translation"] = functools.partial(cplots.shifted_convolution, small,
                                                 "sobel-vertical", dy, dx, error)


def convolution(profile=None, seed_offset: int = 0) -> View:
    """The lecture's formula against conv2d, the six kernels, locality, equivariance,
    weight counts and a convolution layer against nn.Conv2d."""
    v = View("convolution", current_profile(profile))
    _formula(v, seed_offset)
    _kernels(v)
    _locality(v)
    # weights: a dense map of a 28×28 image to its 26×26 output, against a kernel
    v.num("dense_weights", (28 * 28) * (26 * 26), "count")
    v.num("conv_weights", K.kernel("laplacian").size, "count")
    # a convolution layer against nn.Conv2d (the chapter's code cell, seed 0)
    v.results = {"digits": [{"data": dict(load("mnist").provenance)}]}  # the data signature
    n = v.num("layer_n", 8, "count")
    diff = v.num("layer_diff", layer_difference(seed_offset, n), "roundoff", BOUND_FLOAT32)
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


def _anatomy(v: View) -> None:
    """The lecture's CNN and a typical CNN, walked through with :mod:`nnbook.anatomy`."""
    model = CNN()
    stages = anatomy.stages(model)
    pooled = next(st["shape"] for st in stages if st["op"].startswith("max-pool"))
    conv = sum(st["params"] for st in stages if st["op"].startswith("conv"))
    fc1 = next(st["params"] for st in stages if st["op"].startswith("dense"))
    flat = v.num("flat", anatomy.features_before_dense(model), "count")
    total = v.num("n_params", count_parameters(model), "count")
    v.num("conv_params", conv, "count")
    v.num("fc1_params", fc1, "count")
    v.num("fc1_share", fc1 / total, "percent")
    v.num("conv_share", conv / total, "percent")
    v.num("drop1", round(100 * model.dropout1.p), "config")
    v.num("drop2", round(100 * model.dropout2.p), "config")
    v.add(F.Finding("fc1-most", "the first fully connected layer holds more than 95 % of the "
                    "weights; the two convolution layers less than 2 %",
                    fc1 / total > 0.95 and conv / total < 0.02,
                    f"fc1 {fc1:,}, convolutions {conv:,} of {total:,}",
                    "the network as defined in nnbook.models.CNN"))
    v.add(F.Finding("flat-9216", "64 channels of 12×12 reach the first fully connected "
                    "layer: 9,216 features",
                    pooled == (64, 12, 12) and flat == 9216 == model.fc1.in_features,
                    f"shape after the pooling {pooled}, {flat:,} features traced, fc1 declares "
                    f"{model.fc1.in_features:,}",
                    "the network as defined in nnbook.models.CNN"))
    typical = typical_cnn()
    v.num("typical_flat", anatomy.features_before_dense(typical), "count")
    note = "shapes and weights traced from the network itself (nnbook.anatomy)"
    v.figures["typical_diagram"] = functools.partial(
        cplots.cnn_diagram, anatomy.merged(anatomy.stages(typical)),
        "a typical CNN on a 28×28 image", note)
    v.figures["lecture_diagram"] = functools.partial(
        cplots.cnn_diagram, anatomy.merged(stages), "the lecture's CNN (nnbook.models.CNN)",
        note + "; its two dropout layers change no shape and are left out")
    v.tables["layers"] = lambda: _layer_table(stages, total)


def _shift_change(ds, seeds, n_digits: int, shifts, sizes) -> dict:
    """(kind, window size) -> one row per draw of ``n_digits`` test digits of ``ds`` (one
    seed each), one value per shift: :func:`nnbook.kernels.pooled_shift_change`."""
    change = {}
    for seed in seeds:
        g = torch.Generator().manual_seed(seed)
        X = ds.X_test[torch.randperm(ds.n_test, generator=g)[:n_digits]]
        mean_px, std_px = ds.provenance["normalisation"]
        digits = X.squeeze(1).double().numpy() * std_px + mean_px   # raw pixels, 0 to 1
        for kind in ("max", "avg"):
            for size in sizes:
                ch = K.pooled_shift_change(digits, kind, size, shifts)
                change.setdefault((kind, size), []).append([ch[s] for s in shifts])
    return change


def _label(kind: str, size: int) -> str:
    return "no pooling" if size == 1 else f"{kind} pooling {size}×{size}"


def _invariance(v: View, change: dict, shifts, sizes) -> None:
    """The glued changes and the findings on them: pooling, and a larger window, change
    less after a one-pixel shift; a larger shift changes more."""
    at = {key: [row[0] for row in rows] for key, rows in change.items()}   # at 1 pixel
    last = {key: [row[-1] for row in rows] for key, rows in change.items()}
    tag = {size: "none" if size == 1 else f"{size}x{size}" for size in sizes}
    for kind, size in (("max", 1), ("max", 2), ("max", 7), ("avg", 7)):   # the ones cited
        v.sample(f"{kind}_{size}", _label(kind, size), at[(kind, size)], "positive")
    v.sample(f"max_7_at_{max(shifts)}", f"max 7×7 at {max(shifts)} px", last[("max", 7)],
             "positive")

    def smaller(kind, a, b):   # "pooling b changes less than a" at one pixel
        return F.exceeds(f"{kind}-{tag[b]}-below-{tag[a]}", "after a one-pixel shift, "
                         f"{_label(kind, b)} changes less than {_label(kind, a)}",
                         _sample(_label(kind, a), at[(kind, a)]),
                         _sample(_label(kind, b), at[(kind, b)]))

    v.add(smaller("max", 1, 2))
    v.add(smaller("max", 2, 7))
    for kind in ("max", "avg"):
        v.add(F.all_of(f"{kind}-ordered", f"with {kind} pooling, the larger the window, the "
                       "smaller the change after a one-pixel shift (none, 2×2, 4×4, 7×7)",
                       [smaller(kind, a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]))
    v.add(F.all_of("grows-with-shift", f"for every window, a {max(shifts)}-pixel shift changes "
                   "the pooled digit more than a one-pixel shift",
                   [F.exceeds(f"{kind}-{tag[size]}-grows", f"{_label(kind, size)} changes more "
                              f"at {max(shifts)} pixels than at 1",
                              _sample(f"{max(shifts)} px", last[(kind, size)]),
                              _sample("1 px", at[(kind, size)]))
                    for kind in ("max", "avg") for size in sizes]))
    v.add(F.at_least("not-invariant", "even 7×7 max pooling is not invariant: a one-pixel "
                     "shift changes the pooled digit by more than a tenth",
                     _sample("max 7×7 at 1 px", at[("max", 7)]), 0.10))


def _spread(values) -> str:
    """``mean ± standard deviation`` of the values over the draws, three decimals."""
    sample = _sample("", values)
    return f"{sample.mean:.3f} ± {sample.sd:.3f}"


def architecture(profile=None, seed_offset: int = 0, n_digits: int = 200,
                 shifts=(1, 2, 3, 4), sizes=(1, 2, 4, 7)) -> View:
    """The anatomy of the lecture's CNN and of a typical CNN, and how much pooling
    reduces the change that a shift makes, measured on MNIST test digits."""
    v = View("cnn-architecture", current_profile(profile))
    _anatomy(v)
    # pooling: a small example and the photograph
    x = np.random.default_rng(3 + seed_offset).integers(0, 10, size=(4, 4)).astype(float)
    v.figures["pooling_example"] = lambda: cplots.pooling_example(x, K.max_pool(x), K.avg_pool(x))
    v.figures["pooling_photo"] = functools.partial(cplots.pooled_photo, K.photograph(scale=2))
    # how much a shift changes a pooled digit
    ds, seeds = load("mnist"), [s + seed_offset for s in DRAWS]
    change = _shift_change(ds, seeds, n_digits, shifts, sizes)
    v.results = {"digits": [{"data": dict(ds.provenance)}]}  # the data signature
    v.num("n_digits", n_digits, "count")
    v.num("n_draws", len(seeds), "count")
    v.num("max_shift", max(shifts), "config")
    _invariance(v, change, shifts, sizes)
    prov = (f"{len(seeds)} draws of {n_digits} test digits (seeds "
            f"{', '.join(map(str, seeds))}) from {ds.describe()}; no training, the same in "
            "every profile; line: mean over the draws, band: their range")
    v.figures["invariance"] = functools.partial(cplots.pooling_invariance, {
        kind: [(size, change[(kind, size)]) for size in sizes] for kind in ("max", "avg")},
        shifts, [prov])
    v.tables["invariance"] = lambda: Table(
        ["pooling"] + [f"shift {s} px" for s in shifts],
        [[_label(kind, size)] + [_spread(col) for col in np.transpose(change[(kind, size)])]
         for kind in ("max", "avg") for size in sizes if kind == "max" or size > 1],
        "‖P(shifted x) − P(x)‖ / ‖P(x)‖, mean over the digits; mean ± standard deviation "
        f"over the draws. Data: {prov}.")
    return v


register("cnn-architecture", "convolution:architecture", chapter="cnn-architecture")
