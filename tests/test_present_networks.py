"""The views of the part "Neural networks" (nnbook.present.networks) and their figures
(nnbook.plots.networks), on tiny versions of the experiments: every view runs all its
seeds, moves them with ``seed_offset``, glues typed numbers, states findings and draws
its figures; the depth view judges the lecture's claim "deeper-plain-worse"."""

import math

import matplotlib.pyplot as plt
import pytest
import torch

from nnbook import data, present
from nnbook.plots import networks as pn
from nnbook.present import networks as pnet
from nnbook.present.common import seeds
from nnbook.studies.common import train_subset
from nnbook.studies.depth import fresh_network, layer_gradient_norms

TINY_DEPTH = dict(depths=[1, 3], n_train=200, n_test=100, num_epochs=1)
TINY_GD = dict(steps=200, snapshots=[0, 200], lrs=[0.01, 0.1, 0.5, 100.0])


def _kinds_ok(v):
    for key, number in v.numbers.items():
        assert number.kind in present.KINDS, key
        if number.kind == "roundoff":
            assert number.bound is not None and 0 <= number.value <= number.bound, key
        if number.kind == "percent" and not math.isnan(number.value):
            assert 0 <= number.value <= 100, key


def test_views_are_registered():
    assert {"gradient-descent", "backprop", "depth"} <= set(present.views())


def test_gradient_descent_view_runs_every_seed_and_states_its_findings():
    v = present.view("gradient-descent", **TINY_GD)
    assert [r["seed"] for r in v.results["runs"]] == seeds("gradient-descent", "quick")
    _kinds_ok(v)
    assert v.numbers["fig1_params"].value == 75 and v.numbers["n_lrs"].value == 4
    assert v.numbers["lr_top"].value == 100.0 and v.numbers["lr_middle"].value == 0.5
    assert v.numbers["top_outcome"].value == "on every seed"
    for name in ("loss-falls", "steady", "small-slow", "top-jumps"):
        assert v.finding(name).holds, v.finding(name).line()
    assert "overflowed" in v.table("sweep").header[-1]
    plt.close(v.figure("descent"))
    moved = present.view("gradient-descent", seed_offset=10, **TINY_GD)
    assert [r["seed"] for r in moved.results["runs"]] == [10, 11, 12]


def test_max_rise_ignores_the_overflow():
    assert pnet._max_rise([1.0, 0.5, 2.0, None]) == 4.0
    assert pnet._max_rise([1.0, 0.5, 0.25]) == 0.5


def test_backprop_view_holds_roundoff_to_the_stated_bounds():
    v = present.view("backprop")
    _kinds_ok(v)
    assert v.numbers["auto_max"].bound == pnet.AUTOGRAD_BOUND
    assert v.numbers["fd_max"].bound == pnet.FINITE_DIFF_BOUND
    assert v.numbers["cost_ratio"].kind == "machine"
    assert v.finding("autograd-agrees").holds and v.finding("fd-agrees").holds
    assert len(v.table("agreement").rows) == len(pnet.AGREEMENT_CASES)
    plt.close(v.figure("errors"))
    plt.close(v.figure("cost"))
    assert present.view("backprop", seed_offset=10).numbers["seed"].value == 10


def test_multiply_adds_count_two_products_per_layer_but_the_first():
    count = pnet.multiply_adds([784, 64, 64, 10])
    assert count == {"forward": 54_912, "backward": 59_648}
    even = pnet.multiply_adds([50, 50, 50, 50, 50], n=2)
    assert even["backward"] == 2 * even["forward"] - 2 * 50 * 50


def test_fresh_networks_are_the_ones_the_experiment_starts_from():
    """The forward-signal measurement rebuilds the experiment's networks: their gradient
    norms at initialisation equal those the experiment recorded."""
    from nnbook import experiments

    r = experiments.run("depth", seed=1, **TINY_DEPTH)
    ds = data.load("mnist")
    train = train_subset(ds, r["config"]["n_train"], 1)
    X, y = train.X_train[:r["config"]["grad_batch"]], train.y_train[:r["config"]["grad_batch"]]
    for variant in ("plain", "plain-he", "residual"):
        model = fresh_network(variant, 3, r["config"]["width"], 1)
        assert layer_gradient_norms(model, X, y) == pytest.approx(r["grad_norms"][variant],
                                                                  rel=1e-5)
    assert pnet.output_spread(model, X) > 0


def test_depth_view_judges_the_lecture_claim_over_every_seed():
    v = present.view("depth", **TINY_DEPTH)
    results = v.results["runs"]
    assert len(results) >= 3 and [r["seed"] for r in results] == seeds("depth", "quick")
    _kinds_ok(v)
    judgement, judged = v.claims["deeper-plain-worse"]
    assert judged == results
    assert {"he-deeper-worse", "plain-degrades-more", "residual-beats-he-deep"} <= set(
        judgement.numbers)
    assert "plain (He init)" in judgement.evidence
    for name in ("grad-factor", "grad-vanishes", "grad-reaches", "signal-collapses",
                 "signal-he", "signal-residual", "test-same-rank"):
        assert v.finding(name).statement
    for table in ("loss", "accuracy", "claim"):
        t = v.table(table)
        labels = " ".join(str(row[0]) for row in t.rows)
        assert "plain (He init)" in labels and "quick profile" in t.note
        assert "plain," not in labels and not any(row[0] == "plain" for row in t.rows)
    assert "diverged" not in v.numbers["plain_he_deep_summary"].value
    for name in ("chart", "grad_chart", "signal_chart"):
        plt.close(v.figure(name))


def test_a_diverged_run_counts_as_worse_and_is_shown_as_diverged():
    v = present.view("depth", depths=[1, 2], n_train=200, n_test=100, num_epochs=1, lr=1e4,
                     variants=["plain-he", "residual"])
    rows = {row[0]: row[1:] for row in v.table("loss").rows}
    assert any("diverged" in cell for cells in rows.values() for cell in cells)
    blown = [r for r in v.results["runs"] if any(row["diverged"] for row in r["rows"])]
    assert blown and "diverged" in v.numbers["plain_he_deep_summary"].value
    assert pnet.DIVERGED_LOSS in v.finding("he-deeper-worse").numbers["a"] + \
        v.finding("residual-beats-he-deep").numbers["b"]
    plt.close(v.figure("chart"))


def test_plots_draw_only_figures():
    assert not hasattr(pn, "depth_table")
    fig = pn.signal_spread([1, 2], [("plain", [[1.0, 1e-3], [1.0, 2e-3], [1.0, 5e-4]])])
    assert fig.axes[0].get_yscale() == "log"
    plt.close(fig)
    fig = pn.depth_results([1, 2], [("residual", [[0.1, float("nan")]] * 3,
                                     [[0.9, float("nan")]] * 3)], "title")
    assert "(%)" in fig.axes[1].get_ylabel()
    plt.close(fig)


@pytest.fixture(autouse=True)
def _few_threads():
    torch.set_num_threads(1)
    yield
