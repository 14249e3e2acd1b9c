"""Image convolution, pooling and the convolutional figures (nnbook.kernels,
nnbook.plots.convolution), checked against PyTorch: the lecture's formula against
``conv2d``, the NumPy layers against ``nn.Conv2d`` and ``F.max_pool2d``.

Tolerances: everything is computed in float64 on both sides, so the formula
and ``conv2d`` / ``max_pool2d`` / ``avg_pool2d`` must agree to 1e-10 (they only
differ in the order of the additions); translation equivariance must hold to
1e-12 away from the borders.
"""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nnbook import anatomy
from nnbook import kernels as K
from nnbook.errors import ConfigError
from nnbook.models import CNN
from nnbook.plots import convolution as cp

TOL = 1e-10

# The lecture's kernels, typed here from the lecture to check the package's copy.
LECTURE_KERNELS = {
    "sobel-vertical": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel-horizontal": [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],
    "laplacian": [[0, -1, 0], [-1, 4, -1], [0, -1, 0]],
    "outline": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
}


def torch_conv(image, weights, padding=0, mode="constant"):
    x = torch.as_tensor(np.asarray(image, dtype=np.float64))[None, None]
    w = torch.as_tensor(np.asarray(weights, dtype=np.float64))[None, None]
    if padding and mode == "replicate":
        x = F.pad(x, (padding,) * 4, mode="replicate")
        padding = 0
    return F.conv2d(x, w, padding=padding)[0, 0].numpy()


# ----------------------------------------------------------------------------- kernels

def test_the_six_kernels_are_the_lectures():
    assert list(K.KERNELS) == list(LECTURE_KERNELS)
    for name, values in LECTURE_KERNELS.items():
        np.testing.assert_array_equal(K.kernel(name), np.array(values, dtype=float))
    k = K.kernel("sobel-vertical")
    k[0, 0] = 99  # a copy: the registry cannot be changed through it
    assert K.kernel("sobel-vertical")[0, 0] == -1


def test_unknown_kernel_name_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown kernel 'blur'"):
        K.kernel("blur")
    with pytest.raises(ConfigError):
        K.convolve(np.zeros((5, 5)), "Sobel")


# ----------------------------------------------------------------------------- convolution

@pytest.mark.parametrize("shape,side", [((5, 5), 3), ((7, 9), 3), ((16, 11), 5), ((28, 28), 3),
                                        ((9, 8), 1), ((12, 10), 7)])
@pytest.mark.parametrize("border", ["valid", "zero", "edge"])
def test_formula_equals_torch_conv2d(shape, side, border):
    """The lecture's formula is conv2d (a cross-correlation) to TOL, for every border rule."""
    rng = np.random.default_rng(side * 100 + shape[0])
    image, weights = rng.standard_normal(shape), rng.standard_normal((side, side))
    N = side // 2
    ours = K.convolve(image, weights, border=border)
    if border == "valid":
        ref = torch_conv(image, weights)
    elif border == "zero":
        ref = torch_conv(image, weights, padding=N)
    else:
        ref = torch_conv(image, weights, padding=N, mode="replicate")
    assert ours.shape == ref.shape
    assert np.abs(ours - ref).max() < TOL
    if border == "valid":
        assert ours.shape == (shape[0] - 2 * N, shape[1] - 2 * N)
    else:
        assert ours.shape == shape


def test_formula_is_cross_correlation_not_flipped_convolution():
    """A non-symmetric kernel: torch agrees with the unflipped sum, not the flipped one."""
    rng = np.random.default_rng(1)
    image, W = rng.standard_normal((10, 10)), K.kernel("emboss")
    ref = torch_conv(image, W)
    assert np.abs(K.convolve(image, W) - ref).max() < TOL
    assert np.abs(K.convolve(image, W[::-1, ::-1]) - ref).max() > 1.0


@pytest.mark.parametrize("c_in,c_out,side", [(1, 4, 3), (3, 2, 3), (2, 5, 5), (4, 1, 1)])
def test_conv_layer_equals_nn_conv2d(c_in, c_out, side):
    """The NumPy layer (the formula, summed over input channels, plus a bias) is
    nn.Conv2d with the same weights: in float64 to TOL."""
    torch.manual_seed(c_in * 10 + c_out)
    conv = torch.nn.Conv2d(c_in, c_out, side).double()
    X = torch.randn(3, c_in, 11, 9, dtype=torch.float64)
    ours = K.conv_layer(X.numpy(), conv.weight.detach().numpy(), conv.bias.detach().numpy())
    with torch.no_grad():
        ref = conv(X).numpy()
    assert ours.shape == ref.shape == (3, c_out, 11 - side + 1, 9 - side + 1)
    assert np.abs(ours - ref).max() < TOL


def test_conv_layer_on_the_lecture_cnn_in_float32():
    """Both convolution layers of the lecture's CNN, float32 PyTorch against float64 NumPy."""
    torch.manual_seed(0)
    model, X = CNN(), torch.randn(2, 1, 28, 28)
    w = {n: p.detach().numpy() for n, p in model.named_parameters()}
    a1 = K.conv_layer(X.numpy(), w["conv1.weight"], w["conv1.bias"])
    a2 = K.conv_layer(np.maximum(a1, 0), w["conv2.weight"], w["conv2.bias"])
    with torch.no_grad():
        ref = model.conv2(F.relu(model.conv1(X))).numpy()
    assert a2.shape == (2, 64, 24, 24)
    assert np.abs(a2 - ref).max() < 1e-4


def test_max_pool_layer_equals_torch():
    x = torch.randn(3, 5, 13, 12, dtype=torch.float64)
    for size in (2, 3):
        ref = F.max_pool2d(x, size).numpy()
        ours = K.max_pool_layer(x.numpy(), size)
        assert ours.shape == ref.shape
        np.testing.assert_array_equal(ours, ref)


def test_one_output_pixel_by_hand():
    """(W∗I)(i, j) written out for one pixel, indices as in the lecture (from 1)."""
    rng = np.random.default_rng(2)
    I, W = rng.standard_normal((6, 6)), rng.standard_normal((3, 3))  # noqa: E741
    N, i, j = 1, 3, 2  # an interior pixel, 0-based
    by_hand = sum(W[N + 1 + p - 1, N + 1 + q - 1] * I[i + p, j + q]
                  for p in range(-N, N + 1) for q in range(-N, N + 1))
    assert abs(K.convolve(I, W)[i - N, j - N] - by_hand) < TOL
    assert abs(K.convolve(I, W, border="zero")[i, j] - by_hand) < TOL


def test_named_kernels_on_the_photograph_match_conv2d():
    image = K.photograph(scale=4)
    for name in K.KERNELS:
        ref = torch_conv(image, K.kernel(name), padding=1, mode="replicate")
        assert np.abs(K.convolve(image, name, border="edge") - ref).max() < TOL


def test_translation_equivariance():
    rng = np.random.default_rng(3)
    image = rng.standard_normal((40, 32))
    for name in ("sobel-vertical", "emboss", "sharpen"):
        for dy, dx in ((0, 1), (3, -2), (-5, 7)):
            assert K.equivariance_error(image, name, dy, dx) < 1e-12
    # ... and the statement is not empty: the shifted output is not the unshifted one.
    a = K.convolve(K.shift(image, 3, -2), "emboss", border="zero")
    assert np.abs(a - K.convolve(image, "emboss", border="zero")).max() > 1.0


def test_locality_and_impulse_response():
    """A one-pixel change moves only a 3x3 patch; the patch is W turned by 180 degrees."""
    for name in K.KERNELS:
        W = K.kernel(name)
        r = K.impulse_response(W, 9)
        assert np.count_nonzero(r[:3]) == 0 and np.count_nonzero(r[6:]) == 0
        assert np.count_nonzero(r[:, :3]) == 0 and np.count_nonzero(r[:, 6:]) == 0
        np.testing.assert_array_equal(r[3:6, 3:6], W[::-1, ::-1])


def test_shift_moves_and_fills():
    x = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(K.shift(x, 1, 0), [[0, 0, 0, 0], [0, 1, 2, 3], [4, 5, 6, 7]])
    np.testing.assert_array_equal(K.shift(x, 0, -1, fill=-1)[:, -1], [-1, -1, -1])
    np.testing.assert_array_equal(K.shift(x, 0, 0), x)


@pytest.mark.parametrize("call", [
    lambda: K.convolve(np.zeros((5, 5)), np.ones((2, 2))),          # even side
    lambda: K.convolve(np.zeros((5, 5)), np.ones((3, 5))),          # not square
    lambda: K.convolve(np.zeros((2, 5, 5)), "laplacian"),           # not 2-D
    lambda: K.convolve(np.full((5, 5), np.nan), "laplacian"),       # NaN
    lambda: K.convolve(np.zeros((5, 5)), "laplacian", border="wrap"),
    lambda: K.convolve(np.zeros((2, 2)), "laplacian"),              # smaller than the kernel
    lambda: K.max_pool(np.zeros((4, 4)), 0),
    lambda: K.avg_pool(np.zeros((4, 4)), 2, stride=1.5),
    lambda: K.max_pool(np.zeros((3, 3)), 4),
    lambda: K.pool(np.zeros((4, 4)), "median"),
    lambda: K.shift(np.zeros((4, 4)), 4, 0),
    lambda: K.shift(np.zeros((4, 4)), 0.5, 0),
    lambda: K.photograph(scale=0),
    lambda: K.impulse_response("sharpen", 2),
    lambda: K.pooled_shift_change([]),
    lambda: K.conv_layer(np.zeros((2, 3, 5, 5)), np.zeros((4, 2, 3, 3)), np.zeros(4)),  # C_in
    lambda: K.conv_layer(np.zeros((2, 1, 5, 5)), np.zeros((4, 1, 3, 3)), np.zeros(3)),  # bias
    lambda: K.conv_layer(np.zeros((1, 5, 5)), np.zeros((4, 1, 3, 3)), np.zeros(4)),     # 3-D
    lambda: K.max_pool_layer(np.full((1, 1, 4, 4), np.inf)),
])
def test_bad_arguments_are_config_errors(call):
    with pytest.raises(ConfigError):
        call()


# ----------------------------------------------------------------------------- pooling

@pytest.mark.parametrize("shape,size,stride", [((4, 4), 2, None), ((7, 9), 2, None),
                                               ((9, 9), 3, None), ((10, 8), 3, 1),
                                               ((11, 13), 2, 3), ((28, 28), 7, None)])
def test_pooling_equals_torch(shape, size, stride):
    rng = np.random.default_rng(size * 10 + shape[1])
    x = rng.standard_normal(shape)
    t = torch.as_tensor(x)[None, None]
    s = size if stride is None else stride
    ref_max = F.max_pool2d(t, size, s)[0, 0].numpy()
    ref_avg = F.avg_pool2d(t, size, s)[0, 0].numpy()
    assert K.max_pool(x, size, stride).shape == ref_max.shape
    assert np.abs(K.max_pool(x, size, stride) - ref_max).max() < TOL
    assert np.abs(K.avg_pool(x, size, stride) - ref_avg).max() < TOL


def test_pooling_small_example_by_hand():
    x = np.array([[1, 2, 0, 0], [3, 4, 0, 8], [5, 5, 1, 1], [5, 5, 1, 9]], dtype=float)
    np.testing.assert_array_equal(K.max_pool(x), [[4, 8], [5, 9]])
    np.testing.assert_array_equal(K.avg_pool(x), [[2.5, 2], [5, 3]])


def test_more_pooling_changes_less_under_shift():
    """On real digits, a 1-pixel shift changes a 7x7-pooled image less than an unpooled one."""
    from nnbook import data

    ds = data.mnist(download=False)
    mean, std = ds.provenance["normalisation"]
    digits = ds.X_test[::len(ds.X_test) // 50].squeeze(1).double().numpy() * std + mean
    assert digits.min() >= -1e-6 and digits.max() <= 1 + 1e-6
    for kind in ("max", "avg"):
        change = {s: K.pooled_shift_change(digits, kind, s, shifts=(0, 1))
                  for s in (1, 2, 4, 7)}
        assert all(change[s][0] == 0 for s in change)
        assert change[1][1] > change[2][1] > change[4][1] > change[7][1] > 0


def test_photograph_is_real_and_grey():
    img = K.photograph()
    assert img.shape == (600, 512)
    assert 0 <= img.min() < 0.05 and 0.95 < img.max() <= 1
    assert img.std() > 0.1
    assert K.photograph(scale=2).shape == (300, 256)


# ----------------------------------------------------------------------------- architecture

def test_diagram_draws_the_stages_of_the_real_network():
    stages = anatomy.merged(anatomy.stages(CNN()))
    fig = cp.cnn_diagram(stages, title="lecture")
    try:
        texts = {t.get_text() for ax in fig.axes for t in ax.texts}
        assert {"32×26×26", "64×24×24", "64×12×12", "9,216", "10"} <= texts
        assert "1,179,776\nweights" in texts
        assert "1,199,882 weights in all" in fig.axes[0].get_title()
    finally:
        plt.close(fig)


# ----------------------------------------------------------------------------- figures

@pytest.mark.parametrize("make", [
    lambda: cp.kernel_gallery(K.photograph(scale=8),
                              [(n, K.kernel(n), K.convolve(K.photograph(scale=8), n))
                               for n in ("sobel-vertical", "sharpen")]),
    lambda: cp.locality_figure("sharpen", K.kernel("sharpen"), np.eye(5),
                               K.impulse_response("sharpen", 5)),
    lambda: cp.translation_figure({k: np.eye(20) for k in ("image", "moved", "out",
                                                           "out_moved", "diff")},
                                  "laplacian", 5, 7, 0.0),
    lambda: cp.cnn_diagram(anatomy.merged(anatomy.stages(CNN(extra_pool=True))), note="n"),
    lambda: cp.pooling_example(np.arange(16.0).reshape(4, 4), np.ones((2, 2)), np.ones((2, 2))),
    lambda: cp.pooling_on_image(np.eye(16), {"max": [(2, np.eye(8)), (4, np.eye(4))]}),
    lambda: cp.pooling_invariance({"max": [(1, [[0.5, 0.9], [0.6, 1.0]]), (2, [[0.4, 0.7]])],
                                   "avg": [(1, [[0.5, 0.9]])]}, (1, 2), ["provenance"]),
])
def test_figures_draw(make):
    fig = make()
    try:
        assert isinstance(fig, plt.Figure) and fig.axes
        fig.canvas.draw()
    finally:
        plt.close(fig)
