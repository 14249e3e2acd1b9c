"""Backpropagation (Theorem 1) written out in NumPy, with no automatic differentiation.

A network is f_0 = x, z_k = W_k f_{k-1} + b_k, f_k = σ_k(z_k) for k = 1..L.
With D_k = diag(σ_k'(z_k)) the theorem's recursion is

    ∂ℒ/∂z_L     = D_L ∂ℒ/∂f_L
    ∂ℒ/∂z_{k-1} = D_{k-1} W_k^T ∂ℒ/∂z_k
    ∂ℒ/∂W_k     = ∂ℒ/∂z_k f_{k-1}^T,      ∂ℒ/∂b_k = ∂ℒ/∂z_k.

A batch of N samples is handled with the same formulas by stacking the
vectors as columns: ``f[k]`` and ``z[k]`` are ``n_k x N`` matrices, so
``∂ℒ/∂W_k`` becomes ``Δ_k F_{k-1}^T`` (the sum over samples) and ``∂ℒ/∂b_k``
the row sums of ``Δ_k``. Lists are indexed like the maths: ``z[k]``,
``W[k]`` for k = 1..L (index 0 holds the input, or ``None``).

Every random choice takes a seed and uses its own ``numpy.random.Generator``.
:func:`compare_with_autograd` checks the gradients against PyTorch's autograd,
:func:`gradient_check` against central finite differences.

Explained in the chapter "Backpropagation"; :func:`gradient_descent` trains
the live example of the chapter "Neural networks".
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .errors import ConfigError


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + e^{-z}), without overflow


#: name -> (σ, σ'), both elementwise.
ACTIVATIONS = {
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(z.dtype)),
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1.0 - _sigmoid(z))),
    "identity": (lambda z: z, np.ones_like),
}
BACKPROP_LOSSES = ("nll", "mse")  # the losses backward() differentiates


def _activation(name: str):
    if name not in ACTIVATIONS:
        raise ConfigError(f"unknown activation {name!r}: choose one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


@dataclass
class Network:
    """Weights ``W[k]`` (``n_k x n_{k-1}``), biases ``b[k]`` (``n_k``) and activations σ_k.

    Index 0 of each list is ``None`` so that layer k sits at index k.
    """

    W: list
    b: list
    activations: list

    @property
    def depth(self) -> int:
        return len(self.W) - 1

    @property
    def widths(self) -> list[int]:
        return [self.W[1].shape[1]] + [w.shape[0] for w in self.W[1:]]

    def copy(self) -> Network:
        return Network([None] + [w.copy() for w in self.W[1:]],
                       [None] + [v.copy() for v in self.b[1:]], list(self.activations))


def network(widths, activation: str = "relu", output: str = "identity", seed: int = 0) -> Network:
    """A random network with layer widths ``widths`` (input first, output last).

    Hidden layers use ``activation``, the last layer ``output``. Entries are
    uniform in ±1/sqrt(n_{k-1}), the scale of PyTorch's default ``nn.Linear``.
    """
    widths = list(widths)
    if len(widths) < 2 or any(not isinstance(w, (int, np.integer)) or w < 1 for w in widths):
        raise ConfigError(f"widths must be two or more positive integers, got {widths}")
    _activation(activation)
    _activation(output)
    rng = np.random.default_rng(seed)
    W, b, acts = [None], [None], [None]
    for k in range(1, len(widths)):
        bound = 1.0 / np.sqrt(widths[k - 1])
        W.append(rng.uniform(-bound, bound, size=(widths[k], widths[k - 1])))
        b.append(rng.uniform(-bound, bound, size=widths[k]))
        acts.append(output if k == len(widths) - 1 else activation)
    return Network(W, b, acts)


def layer_shapes(widths) -> list[dict]:
    """For each layer k: the shapes of W_k, b_k, f_k and its number of parameters."""
    widths = list(widths)
    if len(widths) < 2 or any(not isinstance(w, (int, np.integer)) or w < 1 for w in widths):
        raise ConfigError(f"widths must be two or more positive integers, got {widths}")
    return [{"k": k, "W": (widths[k], widths[k - 1]), "b": (widths[k],), "f": (widths[k],),
             "parameters": widths[k] * widths[k - 1] + widths[k]}
            for k in range(1, len(widths))]


@dataclass
class Forward:
    """What the forward pass keeps for the backward pass: ``z[k]`` and ``f[k]``."""

    z: list
    f: list


def forward(net: Network, X) -> Forward:
    """Run the network on the rows of ``X`` (``N x n_0``), storing every z_k and f_k."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != net.widths[0]:
        raise ConfigError(f"X must have shape (N, {net.widths[0]}), got {X.shape}")
    z, f = [None], [X.T]
    for k in range(1, net.depth + 1):
        z.append(net.W[k] @ f[k - 1] + net.b[k][:, None])
        f.append(_activation(net.activations[k])[0](z[k]))
    return Forward(z, f)


def _labels(Y, n: int, k: int) -> np.ndarray:
    """``Y`` as ``n`` integer class labels in 0..k-1; ConfigError for anything else (a
    label of -1 does not mean the last class, 0.7 does not mean 0)."""
    y = np.asarray(Y)
    if y.shape not in ((n,), (n, 1)):
        raise ConfigError(f"nll targets must be {n} class labels (shape ({n},)), "
                          f"got shape {y.shape}")
    y = y.ravel()
    if y.dtype == bool or not (np.issubdtype(y.dtype, np.integer)
                               or np.issubdtype(y.dtype, np.floating)):
        raise ConfigError(f"nll targets must be integer class labels, got {y.dtype}")
    if np.issubdtype(y.dtype, np.floating) and not np.all(np.isfinite(y) & (y == np.round(y))):
        bad = y[~(np.isfinite(y) & (y == np.round(y)))][0]
        raise ConfigError(f"nll targets must be integer class labels, got {bad}")
    if n and (y.min() < 0 or y.max() > k - 1):
        raise ConfigError(f"nll targets must be class labels 0..{k - 1}, got {y.min():g}.."
                          f"{y.max():g}")
    return y.astype(int)


def _values(Y, n: int, k: int) -> np.ndarray:
    """``Y`` as the ``k x n`` matrix of mse targets (one row of ``k`` per sample in ``Y``)."""
    y = np.asarray(Y, dtype=float)
    if y.shape != (n, k) and not (k == 1 and y.shape == (n,)):
        hint = " (transposed?)" if y.shape == (k, n) else ""
        raise ConfigError(f"mse targets must have shape ({n}, {k}), one row per sample, "
                          f"got {y.shape}{hint}")
    if not np.all(np.isfinite(y)):
        raise ConfigError("mse targets hold NaN or infinity")
    return y.reshape(n, k).T


def loss_and_grad(fL, Y, loss: str = "nll", reduction: str = "sum") -> tuple[float, np.ndarray]:
    """The loss ℒ = Σ_i ℓ(f_L(x_i), y_i) (or the mean) and ∂ℒ/∂f_L (``n_L x N``).

    ``nll``: ℓ = -log softmax(f)_y, with ``Y`` the N integer labels in 0..n_L-1;
    ``mse``: ℓ = ½‖f - y‖², with ``Y`` of shape ``N x n_L`` (or ``N`` when n_L = 1).
    Targets of any other shape or value are a ConfigError, never silently reshaped.
    """
    fL = np.asarray(fL, dtype=float)
    k, n = fL.shape
    if loss == "nll":
        y = _labels(Y, n, k)
        shifted = fL - fL.max(axis=0, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))
        value = -log_p[y, np.arange(n)].sum()
        grad = np.exp(log_p)
        grad[y, np.arange(n)] -= 1.0
    elif loss == "mse":
        diff = fL - _values(Y, n, k)
        value = 0.5 * (diff ** 2).sum()
        grad = diff
    else:
        raise ConfigError(f"unknown loss {loss!r}: choose one of {', '.join(BACKPROP_LOSSES)}")
    if reduction == "mean":
        return value / n, grad / n
    if reduction != "sum":
        raise ConfigError(f"unknown reduction {reduction!r}: choose sum or mean")
    return float(value), grad


@dataclass
class Gradients:
    """∂ℒ/∂z_k, ∂ℒ/∂W_k and ∂ℒ/∂b_k for k = 1..L (index 0 is ``None``)."""

    dz: list
    dW: list
    db: list


def backward(net: Network, fw: Forward, dL_dfL) -> Gradients:
    """Theorem 1: the recursion from ∂ℒ/∂f_L back to the first layer."""
    L = net.depth
    dz, dW, db = [None] * (L + 1), [None] * (L + 1), [None] * (L + 1)
    dz[L] = _activation(net.activations[L])[1](fw.z[L]) * dL_dfL          # D_L ∂ℒ/∂f_L
    for k in range(L, 0, -1):
        dW[k] = dz[k] @ fw.f[k - 1].T                                      # ∂ℒ/∂z_k f_{k-1}^T
        db[k] = dz[k].sum(axis=1)                                          # ∂ℒ/∂z_k, summed
        if k > 1:
            d_prev = _activation(net.activations[k - 1])[1](fw.z[k - 1])
            dz[k - 1] = d_prev * (net.W[k].T @ dz[k])                      # D_{k-1} W_k^T ∂ℒ/∂z_k
    return Gradients(dz, dW, db)


def gradients(net: Network, X, Y, loss: str = "nll",
              reduction: str = "sum") -> tuple[float, Gradients]:
    """The loss and all its gradients: one forward and one backward pass."""
    fw = forward(net, X)
    value, dL_dfL = loss_and_grad(fw.f[-1], Y, loss, reduction)
    return value, backward(net, fw, dL_dfL)


def loss_value(net: Network, X, Y, loss: str = "nll", reduction: str = "sum") -> float:
    """The loss alone (a forward pass)."""
    return loss_and_grad(forward(net, X).f[-1], Y, loss, reduction)[0]


def numerical_gradients(net: Network, X, Y, loss: str = "nll", eps: float = 1e-5,
                        reduction: str = "sum") -> tuple[list, list]:
    """∂ℒ/∂W_k and ∂ℒ/∂b_k by central differences (ℒ(θ+ε) - ℒ(θ-ε)) / 2ε, one entry at a time.

    Costs two forward passes per parameter: for small networks only.
    """
    net = net.copy()
    dW, db = [None], [None]
    for k in range(1, net.depth + 1):
        for params, out in ((net.W[k], dW), (net.b[k], db)):
            grad = np.zeros_like(params)
            for idx in np.ndindex(params.shape):
                old = params[idx]
                params[idx] = old + eps
                up = loss_value(net, X, Y, loss, reduction)
                params[idx] = old - eps
                down = loss_value(net, X, Y, loss, reduction)
                params[idx] = old
                grad[idx] = (up - down) / (2 * eps)
            out.append(grad)
    return dW, db


def relative_error(a, b) -> float:
    """max|a - b| / max(max|a|, max|b|): 0 for equal arrays, ~1e-16 at float64 round-off."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0))
    return 0.0 if scale == 0 else float(np.abs(a - b).max() / scale)


def gradient_check(net: Network, X, Y, loss: str = "nll", eps: float = 1e-5) -> dict:
    """Relative errors of the backprop gradients against finite differences, per layer.

    Returns ``{"W": [err_1, ..., err_L], "b": [...], "max": overall maximum}``.
    """
    _, grads = gradients(net, X, Y, loss)
    num_W, num_b = numerical_gradients(net, X, Y, loss, eps)
    errs_W = [relative_error(grads.dW[k], num_W[k]) for k in range(1, net.depth + 1)]
    errs_b = [relative_error(grads.db[k], num_b[k]) for k in range(1, net.depth + 1)]
    return {"W": errs_W, "b": errs_b, "max": max(errs_W + errs_b)}


def compare_with_autograd(net: Network, X, Y, loss: str = "nll") -> dict:
    """Relative errors of the backprop gradients against PyTorch autograd (float64), per layer.

    Returns ``{"z": [...], "W": [...], "b": [...], "loss": err, "max": overall maximum}``,
    lists indexed by layer 1..L.
    """
    import torch
    from torch.nn import functional as F

    torch_acts = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
                  "identity": lambda t: t}
    value, grads = gradients(net, X, Y, loss)
    Ws = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in net.W[1:]]
    bs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in net.b[1:]]
    f = torch.tensor(np.asarray(X, dtype=float), dtype=torch.float64)   # rows are samples
    zs = []
    for k, (w, v) in enumerate(zip(Ws, bs, strict=True), start=1):
        z = f @ w.T + v
        z.retain_grad()
        zs.append(z)
        f = torch_acts[net.activations[k]](z)
    if loss == "nll":
        total = F.cross_entropy(f, torch.as_tensor(np.asarray(Y).astype(int).ravel()),
                                reduction="sum")
    else:
        target = torch.tensor(np.asarray(Y, dtype=float).reshape(f.shape), dtype=torch.float64)
        total = 0.5 * ((f - target) ** 2).sum()
    total.backward()
    errs = {
        "z": [relative_error(grads.dz[k], zs[k - 1].grad.numpy().T)
              for k in range(1, net.depth + 1)],
        "W": [relative_error(grads.dW[k], Ws[k - 1].grad.numpy())
              for k in range(1, net.depth + 1)],
        "b": [relative_error(grads.db[k], bs[k - 1].grad.numpy())
              for k in range(1, net.depth + 1)],
        "loss": relative_error(value, total.item()),
    }
    errs["max"] = max(errs["z"] + errs["W"] + errs["b"] + [errs["loss"]])
    return errs


def random_problem(widths, activation: str = "relu", n: int = 16, loss: str = "nll",
                   seed: int = 0) -> tuple[Network, np.ndarray, np.ndarray]:
    """A random network and ``n`` random samples (standard normal inputs) with targets."""
    if not isinstance(n, int) or n < 1:
        raise ConfigError(f"n must be a positive integer, got {n!r}")
    net = network(widths, activation, "identity", seed)
    rng = np.random.default_rng(seed + 1)
    X = rng.standard_normal((n, widths[0]))
    if loss == "nll":
        Y = rng.integers(0, widths[-1], size=n)
    elif loss == "mse":
        Y = rng.standard_normal((n, widths[-1]))
    else:
        raise ConfigError(f"unknown loss {loss!r}: choose one of {', '.join(BACKPROP_LOSSES)}")
    return net, X, Y


def agreement_table(cases, n: int = 16, seed: int = 0, fd_max_params: int = 400) -> list[dict]:
    """For each ``(widths, activation, loss)``: max relative error vs autograd and vs
    finite differences (the latter only for networks with at most ``fd_max_params``)."""
    rows = []
    for i, (widths, activation, loss) in enumerate(cases):
        net, X, Y = random_problem(widths, activation, n, loss, seed + i)
        params = sum(w.size + v.size for w, v in zip(net.W[1:], net.b[1:], strict=True))
        row = {"widths": list(widths), "activation": activation, "loss": loss,
               "parameters": params, "autograd": compare_with_autograd(net, X, Y, loss)["max"],
               "finite_diff": None}
        if params <= fd_max_params:
            row["finite_diff"] = gradient_check(net, X, Y, loss)["max"]
        rows.append(row)
    return rows


def cost_comparison(hidden_widths, depth: int = 3, n: int = 32, seed: int = 0,
                    repeats: int = 3) -> list[dict]:
    """Seconds for all gradients by backprop vs by finite differences, per network size.

    Each network has ``depth`` hidden layers of one width from ``hidden_widths``
    (10 inputs, 3 outputs, tanh); times are the best of ``repeats`` on this machine.
    """
    rows = []
    for width in hidden_widths:
        net, X, Y = random_problem([10] + [width] * depth + [3], "tanh", n, "nll", seed)
        params = sum(w.size + v.size for w, v in zip(net.W[1:], net.b[1:], strict=True))
        t_bp = min(_seconds(gradients, net, X, Y) for _ in range(repeats))
        t_fd = _seconds(numerical_gradients, net, X, Y)
        rows.append({"width": width, "parameters": params, "backprop_s": t_bp,
                     "finite_diff_s": t_fd})
    return rows


def _seconds(func, *args) -> float:
    t0 = time.perf_counter()
    func(*args)
    return time.perf_counter() - t0


def gradient_descent(net: Network, X, Y, lr: float, steps: int, loss: str = "mse",
                     snapshots=(), X_eval=None) -> dict:
    """Full-batch gradient descent θ ← θ - lr ∇L on the mean loss, gradients by :func:`backward`.

    Returns ``{"loss": [L after 0, 1, ..., steps updates], "snapshots": {step: f_L(X_eval)}}``
    (``X_eval`` defaults to ``X``); a non-finite loss stops early (``"diverged": True``).
    Trains ``net`` in place.
    """
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise ConfigError(f"lr must be a positive number, got {lr!r}")
    if not isinstance(steps, int) or steps < 0:
        raise ConfigError(f"steps must be a non-negative integer, got {steps!r}")
    X_eval = X if X_eval is None else X_eval
    wanted = set(snapshots)
    losses, snaps, diverged = [], {}, False
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is reported, not warned
        for step in range(steps + 1):
            if step in wanted:
                snaps[step] = forward(net, X_eval).f[-1].T.copy()
            value, grads = gradients(net, X, Y, loss, reduction="mean")
            losses.append(value)
            if not np.isfinite(value):
                diverged = True
                break
            if step == steps:
                break
            for k in range(1, net.depth + 1):
                net.W[k] -= lr * grads.dW[k]
                net.b[k] -= lr * grads.db[k]
    return {"loss": losses, "snapshots": snaps, "diverged": diverged}
