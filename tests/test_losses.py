"""Softmax / NLL from scratch (nnbook.losses) against torch (figures and views of the
classification part: tests/test_present_classification.py)."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from torch.nn import functional as F

from nnbook import losses
from nnbook.errors import ConfigError
from nnbook.train import loss_fn

TOL = 1e-12  # float64 agreement with torch


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def draws():
    """(logits, labels) for several seeds and logit scales, float64."""
    for seed in range(4):
        for scale in (0.1, 3.0, 30.0):
            yield losses.example_logits(n=16, k=7, scale=scale, seed=seed)


# ----------------------------------------------------------------------------- one-hot

def test_one_hot():
    Y = losses.one_hot(np.array([2, 0, 1]), 3)
    assert np.array_equal(Y, [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    assert losses.one_hot(np.array([4])).shape == (1, 5)
    for bad in (np.array([3]), np.array([-1]), np.array([0.5]), np.array([[1]])):
        with pytest.raises(ConfigError):
            losses.one_hot(bad, 3)


# ----------------------------------------------------------------------------- against torch

def test_softmax_and_log_softmax_match_torch():
    for f, _ in draws():
        ft = torch.tensor(f)
        p = losses.softmax(f)
        assert np.allclose(p.sum(1), 1, atol=TOL, rtol=0)
        assert np.max(np.abs(p - torch.softmax(ft, 1).numpy())) < TOL
        assert np.max(np.abs(losses.log_softmax(f) - torch.log_softmax(ft, 1).numpy())) < 1e-10


def test_nll_matches_nll_loss_and_cross_entropy():
    for f, y in draws():
        ft, yt = torch.tensor(f), torch.tensor(y)
        ref_mean = F.cross_entropy(ft, yt).item()
        assert abs(losses.nll(f, y, "mean") - ref_mean) < 1e-10
        assert abs(losses.nll(f, y, "mean") - F.nll_loss(torch.log_softmax(ft, 1), yt).item()) \
            < 1e-10
        assert abs(losses.nll(f, y) - F.cross_entropy(ft, yt, reduction="sum").item()) < 1e-9
        per = losses.nll(f, y, "none")
        ref = F.cross_entropy(ft, yt, reduction="none").numpy()
        assert per.shape == (len(y),) and np.max(np.abs(per - ref)) < 1e-10
        # one-hot targets give the same loss as integer labels
        assert losses.nll(f, losses.one_hot(y, f.shape[1])) == pytest.approx(losses.nll(f, y),
                                                                             abs=1e-12)


def test_gradient_is_p_minus_y_like_autograd():
    for f, y in draws():
        ft = torch.tensor(f, requires_grad=True)
        F.cross_entropy(ft, torch.tensor(y), reduction="sum").backward()
        assert np.max(np.abs(losses.nll_gradient(f, y) - ft.grad.numpy())) < TOL


def test_compare_with_torch_reports_small_differences():
    rows = losses.compare_with_torch(*losses.example_logits(seed=3))
    assert len(rows) == 7
    assert all(r["max_abs_diff"] < 1e-10 for r in rows), rows
    with pytest.raises(ConfigError):
        losses.compare_with_torch(np.zeros(3), np.zeros(3, dtype=int))


# ----------------------------------------------------------------------------- the identity

def test_identity_holds_for_moderate_logits():
    for f, y in draws():
        left, right = losses.identity_sides(f, y)
        assert left.shape == (len(y),)
        assert np.max(np.abs(left - right)) < 1e-10
        assert np.max(np.abs(left - losses.nll(f, y, "none"))) < 1e-10


def test_single_sample_vector_input():
    f = np.array([1.0, 2.0, 0.5])
    assert losses.nll(f, 1) == pytest.approx(-np.log(losses.softmax(f)[1]), abs=TOL)
    left, right = losses.identity_sides(f, 2)
    assert left == pytest.approx(right, abs=TOL)


# ----------------------------------------------------------------------------- overflow

def test_naive_softmax_overflows_stable_does_not():
    f = np.array([[1000.0, 0.0, -5.0]], dtype=np.float32)
    assert np.isnan(losses.softmax_naive(f)).any()
    p = losses.softmax(f)
    assert np.all(np.isfinite(p)) and p[0, 0] == pytest.approx(1.0, abs=1e-6)
    assert np.isfinite(losses.nll(f, [2])) and losses.nll(f, [2]) == pytest.approx(1005, rel=1e-6)
    assert np.isnan(losses.nll_naive(f, [2]))


def test_naive_log_of_softmax_underflows_to_infinity():
    f = np.array([[80.0, 40.0, -40.0]], dtype=np.float32)  # exp(80) is finite in float32
    assert np.all(np.isfinite(losses.softmax_naive(f)))
    assert losses.nll_naive(f, [2]) == np.inf
    assert losses.nll(f, [2]) == pytest.approx(120.0, rel=1e-6)


def test_overflow_rows_stable_matches_torch():
    rows = losses.overflow_rows(scales=(1, 10, 40, 100, 1000))
    for r in rows:
        assert r["stable_nll"] == pytest.approx(r["torch_nll"], rel=1e-6)
    naive = {r["scale"]: r["naive_nll"] for r in rows}
    assert np.isfinite(naive[1]) and naive[40] == np.inf and np.isnan(naive[1000])
    assert losses.exp_limit("float32") == pytest.approx(88.72, abs=0.01)
    assert losses.exp_limit("float64") == pytest.approx(709.78, abs=0.01)
    with pytest.raises(ConfigError):
        losses.overflow_rows(dtype="float16")


# ----------------------------------------------------------------------------- normalised loss

def test_normalised_loss_matches_trainer_and_is_scale_free():
    f, y = losses.example_logits(n=10, k=5, seed=1)
    ours = losses.normalised_loss(f, y, "mean")
    assert ours == pytest.approx(loss_fn(torch.tensor(f), torch.tensor(y), "normalised").item(),
                                 abs=TOL)
    assert losses.normalised_loss(7.5 * f, y) == pytest.approx(losses.normalised_loss(f, y),
                                                               abs=1e-12)
    per = losses.normalised_loss(f, y, "none")
    assert np.all((per >= -1) & (per <= 1))
    # an output pointing exactly at the label gives the minimum, -1
    assert losses.normalised_loss(np.eye(4), np.arange(4), "mean") == pytest.approx(-1.0)


@pytest.mark.parametrize("call", [
    lambda: losses.nll(np.zeros((2, 3)), [0, 1], "max"),
    lambda: losses.nll(np.zeros((2, 3)), [0, 1, 2]),
    lambda: losses.softmax(np.zeros((2, 3, 4))),
    lambda: losses.example_logits(k=1),
])
def test_bad_arguments(call):
    with pytest.raises(ConfigError):
        call()
