"""The schematic figures (nnbook.plots.schematics): each one draws, and the numbers
they write are the ones PyTorch computes. The texts are read back from the Axes by
their ``gid``, so a figure that drew a wrong number would fail here.

Tolerances: the drawn integers must equal ``conv2d`` / ``max_pool2d`` exactly;
average-pooled values are written with two decimals, so within 0.005.
"""

import re

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nnbook import plots
from nnbook.errors import ConfigError
from nnbook.plots import schematics as S

FIGURES = ["convolution_window", "padding_and_stride", "multichannel_convolution",
           "residual_block"]


@pytest.fixture(autouse=True)
def _style():
    with matplotlib.rc_context():
        plots.use_style()
        yield
    plt.close("all")


def _texts(fig, gid):
    return [t for ax in fig.axes for t in ax.texts if t.get_gid() == gid]


def _value(text: str) -> float:
    return float(text.replace("−", "-"))


def _matrix(fig, gid) -> np.ndarray:
    """The numbers written with ``gid``, back in their rows and columns (by position)."""
    texts = _texts(fig, gid)
    ys = sorted({round(t.get_position()[1], 6) for t in texts}, reverse=True)
    xs = sorted({round(t.get_position()[0], 6) for t in texts})
    M = np.full((len(ys), len(xs)), np.nan)
    for t in texts:
        x, y = (round(v, 6) for v in t.get_position())
        M[ys.index(y), xs.index(x)] = _value(t.get_text())
    assert not np.isnan(M).any()
    return M


@pytest.mark.parametrize("name", FIGURES)
def test_every_schematic_is_a_figure_that_closes(name):
    fig = getattr(S, name)()
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes) >= 1
    fig.canvas.draw()  # lays out every text: a bad mathtext string fails here
    plt.close(fig)
    assert not plt.fignum_exists(fig.number)


def _conv2d(image, W) -> np.ndarray:
    return F.conv2d(torch.tensor(np.ascontiguousarray(image))[None, None],
                    torch.tensor(np.ascontiguousarray(W))[None, None])[0, 0].numpy()


@pytest.mark.parametrize("kwargs", [{}, {"weights": "emboss", "at": (2, 0), "seed": 7},
                                    {"image": np.arange(30).reshape(5, 6) % 7 - 3,
                                     "weights": [[1, 2, 0], [0, -1, 0], [3, 0, -2]],
                                     "at": (1, 3)}])
def test_convolution_window_writes_what_conv2d_computes(kwargs):
    fig = S.convolution_window(**kwargs)
    image, W, out = _matrix(fig, "input"), _matrix(fig, "kernel"), _matrix(fig, "output")
    np.testing.assert_array_equal(out, _conv2d(image, W))  # unflipped, as the book's formula
    assert not np.array_equal(out, _conv2d(image, W[::-1, ::-1]))  # a flip would show
    # the written-out sum: the kernel's weights times the window's pixels, and its total
    r, c = kwargs.get("at", (0, 1))
    (text,) = [t.get_text() for t in _texts(fig, "sum")]
    pairs = re.findall(r"\(?(−?\d+)\)?·\(?(−?\d+)\)?", text)
    weights, pixels = (np.array([_value(p[i]) for p in pairs]).reshape(3, 3) for i in (0, 1))
    np.testing.assert_array_equal(weights, W)
    np.testing.assert_array_equal(pixels, image[r:r + 3, c:c + 3])
    assert _value(text.rsplit("=", 1)[1].strip()) == out[r, c] == (weights * pixels).sum()


@pytest.mark.parametrize("n, k, settings", [(5, 3, ((0, 1), (1, 1), (1, 2))),
                                            (6, 3, ((0, 2), (2, 3))), (7, 5, ((1, 1),))])
def test_padding_and_stride_sizes_are_conv2d_shapes(n, k, settings):
    fig = S.padding_and_stride(n, k, settings)
    texts = [t.get_text() for t in _texts(fig, "size")]
    assert len(texts) == len(settings)
    for text, (p, s) in zip(texts, settings, strict=True):
        m = re.fullmatch(r"⌊\((\d+) \+ 2·(\d+) − (\d+)\)/(\d+)⌋ \+ 1 = (\d+)", text)
        assert m, text
        n_, p_, k_, s_, size = map(int, m.groups())
        assert (n_, p_, k_, s_) == (n, p, k, s)
        shape = nn.Conv2d(1, 1, k, stride=s, padding=p)(torch.zeros(1, 1, n, n)).shape
        assert tuple(shape[-2:]) == (size, size)


def test_multichannel_shape_is_conv2d_weight_shape():
    for c_out in (2, 4):
        fig = S.multichannel_convolution(c_out=c_out)
        (text,) = [t.get_text() for t in _texts(fig, "shape")]
        drawn = tuple(int(v) for v in re.search(r"= \((\d+), (\d+), (\d+), (\d+)\)",
                                                 text).groups())
        layer = nn.Conv2d(3, c_out, 3)
        assert drawn == tuple(layer.weight.shape)
        assert f"= ({c_out},)" in text and (c_out,) == tuple(layer.bias.shape)
        plt.close(fig)


def test_residual_block_is_the_books_block_in_forward_order():
    from nnbook.models import PlainBlock, ResidualBlock

    fig = S.residual_block()
    parts = [name for name, _ in S.residual_path(ResidualBlock(4))]
    assert parts == ["inner", "act", "outer"]  # forward's order, not registration order
    drawn = [t.get_text() for t in _texts(fig, "code")]
    assert drawn == [f"self.{name}" for name in parts]
    assert [t.get_text() for t in _texts(fig, "part")] == [S.RESIDUAL_PARTS[n] for n in parts]
    with pytest.raises(ConfigError, match="not f \\+"):  # no skip connection
        S.residual_path(PlainBlock(4))
