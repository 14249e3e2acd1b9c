"""The views of "Image convolution" and "CNN architecture and pooling"
(nnbook.present.convolution): their numbers come from the real network and the real
computations, their findings hold, seed_offset changes what is drawn, and their
figures and tables render."""

import matplotlib.pyplot as plt
import pytest
import torch

from nnbook import anatomy, present
from nnbook.models import CNN, count_parameters, typical_cnn
from nnbook.present import convolution as pc


@pytest.fixture(scope="module")
def conv():
    return present.view("convolution")


@pytest.fixture(scope="module")
def arch():
    return present.view("cnn-architecture")


def test_views_are_registered():
    assert present.views()["convolution"] == "convolution:convolution"
    assert present.views()["cnn-architecture"] == "convolution:architecture"


def test_roundoff_numbers_state_their_bounds(conv):
    for key, bound in (("worst64", 1e-10), ("worst32", 1e-4), ("equiv_error", 1e-12),
                       ("layer_diff", 1e-4)):
        number = conv.numbers[key]
        assert number.kind == "roundoff" and number.bound == bound
        assert 0 <= number.value <= bound
    assert conv.numbers["dense_weights"].value == 28 * 28 * 26 * 26
    assert conv.numbers["conv_weights"].value == 9


def test_every_finding_holds(conv, arch):
    for v in (conv, arch):
        failed = [f.line() for f in v.findings.values() if not f.holds]
        assert not failed, failed


def test_anatomy_numbers_come_from_the_model(arch):
    model = CNN()
    assert arch.numbers["flat"].value == model.fc1.in_features == 9216
    assert arch.numbers["n_params"].value == count_parameters(model)
    assert arch.numbers["fc1_params"].value == sum(p.numel() for p in model.fc1.parameters())
    assert arch.numbers["fc1_share"].kind == "percent"
    assert 98 < arch.numbers["fc1_share"].value < 99
    assert (arch.numbers["drop1"].value, arch.numbers["drop2"].value) == (25, 50)


def test_typical_cnn_is_a_real_network():
    net = typical_cnn()
    shapes = [s["shape"] for s in anatomy.merged(anatomy.stages(net))]
    assert shapes == [(1, 28, 28), (32, 26, 26), (32, 13, 13), (64, 11, 11), (64, 5, 5),
                      (1600,), (128,), (10,)]
    assert net(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_seed_offset_draws_other_digits_and_weights(arch, conv):
    other = present.view("cnn-architecture", seed_offset=10)
    assert other.numbers["max_1"].value != arch.numbers["max_1"].value
    assert other.numbers["flat"].value == arch.numbers["flat"].value
    assert all(f.holds for f in other.findings.values())
    assert pc.layer_difference(10) != conv.numbers["layer_diff"].value


def test_tables_and_figures_render(conv, arch):
    assert "float32" in conv.table("conv2d").markdown()
    layers = arch.table("layers").markdown()
    assert "dense 9216→128" in layers and "1,179,776" in layers and "dropout 0.25" in layers
    assert "max pooling 7×7" in arch.table("invariance").markdown()
    assert list(conv.figures) == ["gallery", "locality", "translation"]
    assert list(arch.figures) == ["typical_diagram", "lecture_diagram", "pooling_example",
                                  "pooling_photo", "invariance"]
    for v in (conv, arch):
        for name in v.figures:
            fig = v.figure(name)
            try:
                fig.canvas.draw()
            finally:
                plt.close(fig)
