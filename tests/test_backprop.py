"""Theorem 1 in NumPy (nnbook.backprop), its figures (nnbook.plots.networks) and the
depth / gradient-descent experiments (their views and figures: test_present_networks.py).

Tolerances: float64 throughout. Against autograd the backprop gradients must agree
to a relative error of 1e-12 (observed: ~1e-15, a few units of round-off); against
central finite differences (ε = 1e-5) to 1e-6 (observed: ~1e-8; truncation and
round-off of the difference quotient dominate).
"""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from nnbook import backprop as bp
from nnbook import experiments
from nnbook.errors import ConfigError
from nnbook.models import MLP
from nnbook.plots import networks as pn

AUTOGRAD_TOL = 1e-12
FINITE_DIFF_TOL = 1e-6

CASES = [  # (widths, activation, loss): depths 1 to 6, narrow and wide layers
    ([5, 3], "relu", "nll"),
    ([6, 2, 6, 4, 3], "relu", "nll"),
    ([6, 2, 6, 4, 3], "tanh", "mse"),
    ([6, 2, 6, 4, 3], "sigmoid", "nll"),
    ([4, 16, 2], "tanh", "nll"),
    ([8, 8, 8, 8, 8, 8, 4], "sigmoid", "mse"),
    ([30, 50, 20, 10], "relu", "mse"),
    ([784, 64, 64, 10], "relu", "nll"),
    ([3, 7, 7, 7, 7, 7, 2], "tanh", "nll"),
]


@pytest.mark.parametrize("widths,activation,loss", CASES)
def test_backprop_agrees_with_autograd(widths, activation, loss):
    net, X, Y = bp.random_problem(widths, activation, n=12, loss=loss, seed=3)
    errs = bp.compare_with_autograd(net, X, Y, loss)
    assert len(errs["W"]) == len(errs["b"]) == len(errs["z"]) == len(widths) - 1
    assert errs["max"] < AUTOGRAD_TOL, errs


@pytest.mark.parametrize("widths,activation,loss", [c for c in CASES if max(c[0]) <= 16])
def test_backprop_agrees_with_finite_differences(widths, activation, loss):
    net, X, Y = bp.random_problem(widths, activation, n=8, loss=loss, seed=5)
    check = bp.gradient_check(net, X, Y, loss)
    assert check["max"] < FINITE_DIFF_TOL, check


def test_the_checks_can_fail():
    """A gradient computed without D_{k-1} (the σ' factor) is caught by both checks."""
    net, X, Y = bp.random_problem([6, 5, 4, 3], "tanh", n=8, loss="nll", seed=0)
    fw = bp.forward(net, X)
    _, dL_df = bp.loss_and_grad(fw.f[-1], Y, "nll")
    good = bp.backward(net, fw, dL_df)
    wrong_dz1 = net.W[2].T @ good.dz[2]                      # forgot D_1
    wrong_dW1 = wrong_dz1 @ fw.f[0].T
    num_W, _ = bp.numerical_gradients(net, X, Y, "nll")
    assert bp.relative_error(good.dW[1], num_W[1]) < FINITE_DIFF_TOL
    assert bp.relative_error(wrong_dW1, num_W[1]) > 1e-2
    assert bp.relative_error(np.ones(3), np.ones(3)) == 0.0
    assert bp.relative_error([1.0, 2.0], [1.0, 2.5]) == pytest.approx(0.2)


def test_forward_matches_the_book_mlp():
    """The NumPy forward pass equals nnbook.models.MLP with the same weights."""
    net, X, _ = bp.random_problem([10, 7, 5, 3], "relu", n=6, seed=1)
    model = MLP([10, 7, 5, 3], "relu").double()
    linears = [m for m in model.net if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        for k, lin in enumerate(linears, start=1):
            lin.weight.copy_(torch.from_numpy(net.W[k]))
            lin.bias.copy_(torch.from_numpy(net.b[k]))
        out = model(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(bp.forward(net, X).f[-1].T, out, rtol=1e-12, atol=1e-14)


def test_loss_sum_and_mean():
    fL = np.array([[1.0, 0.0], [0.0, 2.0]])               # two samples as columns
    value, grad = bp.loss_and_grad(fL, [0, 1], "nll")
    expected = math.log(1 + math.exp(-1)) + (-2 + math.log(1 + math.exp(2)))
    assert value == pytest.approx(expected, rel=1e-12)
    assert np.allclose(grad.sum(axis=0), 0)                # softmax - one-hot sums to zero
    mean, gmean = bp.loss_and_grad(fL, [0, 1], "nll", reduction="mean")
    assert mean == pytest.approx(value / 2) and np.allclose(gmean, grad / 2)
    with pytest.raises(ConfigError):
        bp.loss_and_grad(fL, [0, 1], "hinge")


@pytest.mark.parametrize("bad", [dict(widths=[3]), dict(widths=[3, 0, 2]),
                                 dict(widths=[3, 2], activation="swish")])
def test_bad_networks_are_refused(bad):
    with pytest.raises(ConfigError):
        bp.network(**{"widths": [3, 2], **bad})


def test_gradient_descent_lowers_the_loss_and_reports_divergence():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(20, 1))
    Y = np.sin(X)
    out = bp.gradient_descent(bp.network([1, 8, 1], "tanh", seed=0), X, Y, lr=0.1, steps=300,
                              loss="mse", snapshots=[0, 300])
    assert not out["diverged"] and len(out["loss"]) == 301
    assert out["loss"][-1] < 0.2 * out["loss"][0]
    assert set(out["snapshots"]) == {0, 300}
    blown = bp.gradient_descent(bp.network([1, 8, 1], "tanh", seed=0), X, Y, lr=1e3,
                                steps=300, loss="mse")
    assert blown["diverged"] and not np.isfinite(blown["loss"][-1])


def test_layer_shapes_count_parameters():
    rows = bp.layer_shapes([6, 2, 6, 4, 3])
    assert [r["W"] for r in rows] == [(2, 6), (6, 2), (4, 6), (3, 4)]
    assert sum(r["parameters"] for r in rows) == 14 + 18 + 28 + 15


def test_network_diagram_draws_every_layer_in_its_colour():
    fig = pn.network_diagram([6, 2, 6, 4, 3])
    ax = fig.axes[0]
    nodes = ax.collections
    assert [len(c.get_offsets()) for c in nodes] == [6, 2, 6, 4, 3]
    colours = [tuple(c.get_facecolor()[0]) for c in nodes]
    assert colours[0] != colours[1] != colours[-1] and colours[1] == colours[2] == colours[3]
    plt.close(fig)
    wide = pn.network_diagram([784, 16, 10], max_nodes=8)
    assert [len(c.get_offsets()) for c in wide.axes[0].collections] == [8, 8, 8]
    assert "$n_{0} = 784$" in " ".join(t.get_text() for t in wide.axes[0].texts)
    plt.close(wide)
    with pytest.raises(ConfigError):
        pn.network_diagram([5])


def test_backprop_figures_draw():
    net, X, Y = bp.random_problem([4, 3, 2], "tanh", n=4, seed=0)
    fig = pn.backprop_errors(bp.compare_with_autograd(net, X, Y), bp.gradient_check(net, X, Y))
    assert len(fig.axes[0].patches) == 4 * 2
    plt.close(fig)
    rows = bp.cost_comparison([2, 3], depth=1, n=4, repeats=1)
    assert rows[0]["parameters"] < rows[1]["parameters"]
    plt.close(pn.backprop_cost(rows))
    plt.close(pn.activation_functions())


def test_gradient_descent_experiment():
    r = experiments.run("gradient-descent", steps=200, snapshots=[0, 200], lrs=[0.1, 100.0])
    assert r["metrics"]["final_loss"] < r["metrics"]["initial_loss"]
    assert [s["diverged"] for s in r["sweep"]] == [False, True]
    assert r["data"]["source"] == "synthetic" and r["data"]["n_train"] == 30


def test_depth_experiment_records_runs_gradients_and_divergence():
    r = experiments.run("depth", depths=[1, 4], n_train=200, n_test=100, num_epochs=1)
    assert {row["variant"] for row in r["rows"]} == {"plain", "plain-he", "residual"}
    assert len(r["rows"]) == 6 and set(r["grad_norms"]) == {"plain", "plain-he", "residual"}
    assert all(len(v) == 4 for v in r["grad_norms"].values())
    # PyTorch's default init shrinks the gradient towards the input of a plain ReLU stack
    assert r["grad_norms"]["plain"][0] < r["grad_norms"]["plain"][-1]
    for m in r["metrics"].values():
        assert 0 <= m["train_acc"] <= 1 and not m["diverged"]
    blown = experiments.run("depth", depths=[2], n_train=200, n_test=100, num_epochs=1,
                            lr=1e4, variants=["plain-he"])
    assert blown["rows"][0]["diverged"] and blown["metrics"]["plain-he-2"]["train_loss"] is None
    with pytest.raises(ConfigError, match="variants"):
        experiments.run("depth", variants=["wide"], n_train=200)
