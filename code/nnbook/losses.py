"""Softmax, log-softmax and the negative log-likelihood, written from scratch in NumPy.

A network's output ``f`` (one row of ``k`` real numbers per sample, the
*logits*) becomes class probabilities through the softmax
``p(j) = e^{f(j)} / Σ_q e^{f(q)}``; the loss of a sample with one-hot label
``y`` is ``-y^T log p``, which equals ``-y^T f + log Σ_j e^{f(j)}``.
Computed literally, ``e^{f}`` overflows for large logits (float32: above
about 88.7) and ``log p`` becomes ``log 0`` for very unlikely classes; the
stable form subtracts the largest logit first (log-sum-exp), which changes
nothing mathematically. :func:`compare_with_torch` checks every function here
against ``torch.softmax`` / ``log_softmax`` / ``nll_loss`` / ``cross_entropy``
and autograd.

Explained in the chapter "Classification: softmax and the negative log-likelihood".
"""

from __future__ import annotations

import numpy as np

from .errors import ConfigError

REDUCTIONS = ("sum", "mean", "none")


def _logits(f) -> np.ndarray:
    f = np.asarray(f)
    if f.ndim not in (1, 2) or f.shape[-1] < 1:
        raise ConfigError(f"logits must be a vector or an N x k array, got shape {f.shape}")
    if not np.issubdtype(f.dtype, np.floating):
        f = f.astype(np.float64)
    return f


def one_hot(y, k: int | None = None, dtype=np.float64) -> np.ndarray:
    """Labels ``y`` (integers 0..k-1) as one-hot rows: ``one_hot([2], 3) -> [[0, 0, 1]]``."""
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ConfigError(f"labels must be a 1-D array of integers, got {y.dtype} {y.shape}")
    k = int(y.max()) + 1 if k is None else k
    if len(y) and (y.min() < 0 or y.max() >= k):
        raise ConfigError(f"labels must lie in 0..{k - 1}, got {y.min()}..{y.max()}")
    out = np.zeros((len(y), k), dtype=dtype)
    out[np.arange(len(y)), y] = 1
    return out


def _targets(y, f: np.ndarray) -> np.ndarray:
    """One-hot rows for ``y`` (labels or one-hot already), shaped like ``f``."""
    y = np.asarray(y)
    if y.shape == f.shape:  # one-hot rows (or any probability vectors), not labels
        t = y.astype(f.dtype)
        if not (np.all(np.isfinite(t)) and np.all(t >= 0)
                and np.allclose(t.sum(-1), 1.0, atol=1e-6)):
            raise ConfigError(f"targets of shape {y.shape} must be one-hot rows (each "
                              "non-negative, summing to 1); pass integer labels otherwise")
        return t
    if f.ndim == 1 and y.ndim == 0:
        return one_hot(y[None], f.shape[-1], f.dtype)[0]
    if y.ndim == 1 and f.ndim == 2 and len(y) == len(f):
        return one_hot(y, f.shape[-1], f.dtype)
    raise ConfigError(f"labels of shape {y.shape} do not fit logits of shape {f.shape}")


def _reduce(per_sample: np.ndarray, reduction: str):
    if reduction not in REDUCTIONS:
        raise ConfigError(f"unknown reduction {reduction!r}: choose one of {', '.join(REDUCTIONS)}")
    if reduction == "none" or per_sample.ndim == 0:
        return per_sample
    return per_sample.sum() if reduction == "sum" else per_sample.mean()


def softmax_naive(f) -> np.ndarray:
    """``e^{f} / Σ e^{f}`` exactly as written: overflows to ``inf / inf = nan`` for large logits.

    NumPy's overflow warnings are silenced; the ``nan`` in the result is the point.
    """
    f = _logits(f)
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(f)
        return e / e.sum(-1, keepdims=True)


def logsumexp(f) -> np.ndarray:
    """``log Σ_j e^{f(j)}`` per row, computed as ``m + log Σ_j e^{f(j) - m}`` with ``m = max f``."""
    f = _logits(f)
    m = f.max(-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    return (m + np.log(np.exp(f - m).sum(-1, keepdims=True)))[..., 0]


def log_softmax(f) -> np.ndarray:
    """``log p = f - log Σ_j e^{f(j)}``: finite for any finite logits."""
    f = _logits(f)
    return f - logsumexp(f)[..., None]


def softmax(f) -> np.ndarray:
    """The stable softmax, ``exp(log_softmax(f))``: every row sums to 1."""
    return np.exp(log_softmax(f))


def nll(f, y, reduction: str = "sum"):
    """The negative log-likelihood ``L = -Σ_i y_i^T log p_i`` (stable form).

    ``y`` holds integer labels or one-hot rows. ``reduction`` is ``sum`` (the
    lecture's L), ``mean`` (what ``torch`` computes by default) or ``none``.
    """
    f = _logits(f)
    return _reduce(-(_targets(y, f) * log_softmax(f)).sum(-1), reduction)


def nll_naive(f, y, reduction: str = "sum"):
    """``-Σ_i y_i^T log(softmax_naive(f_i))``: ``nan`` or ``inf`` once the naive softmax fails."""
    f = _logits(f)
    with np.errstate(divide="ignore", invalid="ignore"):
        per = -(_targets(y, f) * np.log(softmax_naive(f))).sum(-1)
    return _reduce(per, reduction)


def identity_sides(f, y) -> tuple[np.ndarray, np.ndarray]:
    """Both sides of ``-y^T log p = -y^T f + log Σ_j e^{f(j)}``, each computed as written.

    Left: ``p`` from the definition of the softmax, then its logarithm. Right:
    the logits picked by ``y`` and a literal ``log(sum(exp(f)))``. One value
    per sample; for moderate logits they agree to rounding error.
    """
    f = _logits(f)
    Y = _targets(y, f)
    left = -(Y * np.log(softmax_naive(f))).sum(-1)
    right = -(Y * f).sum(-1) + np.log(np.exp(f).sum(-1))
    return left, right


def nll_gradient(f, y) -> np.ndarray:
    """``∂L/∂f_i = p_i - y_i`` for the summed loss (differentiate the right-hand side)."""
    f = _logits(f)
    return softmax(f) - _targets(y, f)


def normalised_loss(f, y, reduction: str = "sum"):
    """The lecture's alternative ``-Σ_i f_i^T y_i / ‖f_i‖`` (scale-free, between -1 and 1 each)."""
    f = _logits(f)
    norm = np.maximum(np.linalg.norm(f, axis=-1), 1e-12)
    return _reduce(-(_targets(y, f) * f).sum(-1) / norm, reduction)


def example_logits(n: int = 8, k: int = 10, scale: float = 3.0, seed: int = 0):
    """``n`` random logit rows (normal, standard deviation ``scale``) and labels, float64."""
    if n < 1 or k < 2:
        raise ConfigError(f"need n >= 1 samples and k >= 2 classes, got n={n}, k={k}")
    rng = np.random.default_rng(seed)
    return scale * rng.standard_normal((n, k)), rng.integers(0, k, n)


def compare_with_torch(f, y) -> list[dict]:
    """Largest absolute difference between each from-scratch quantity and torch's.

    Computed in float64; returns rows ``{"quantity", "ours", "torch", "max_abs_diff"}``.
    """
    import torch
    from torch.nn import functional as F

    from .train import loss_fn

    f = np.asarray(_logits(f), dtype=np.float64)
    y = np.asarray(y)
    if f.ndim != 2 or y.shape != (len(f),):
        raise ConfigError("compare_with_torch needs N x k logits and N integer labels")
    ft, yt = torch.tensor(f, requires_grad=True), torch.tensor(y, dtype=torch.long)
    ce_sum = F.cross_entropy(ft, yt, reduction="sum")
    (grad,) = torch.autograd.grad(ce_sum, ft)
    pairs = [
        ("softmax", "softmax(f)", "torch.softmax", softmax(f), torch.softmax(ft, 1)),
        ("log-softmax", "log_softmax(f)", "torch.log_softmax", log_softmax(f),
         torch.log_softmax(ft, 1)),
        ("NLL, mean", "nll(f, y, 'mean')", "F.nll_loss(log_softmax)", nll(f, y, "mean"),
         F.nll_loss(torch.log_softmax(ft, 1), yt)),
        ("NLL, mean", "nll(f, y, 'mean')", "F.cross_entropy", nll(f, y, "mean"),
         F.cross_entropy(ft, yt)),
        ("NLL, sum", "nll(f, y)", "F.cross_entropy(sum)", nll(f, y), ce_sum),
        ("gradient ∂L/∂f", "p - y", "autograd", nll_gradient(f, y), grad),
        ("normalised loss, mean", "normalised_loss(f, y, 'mean')", "nnbook.train.loss_fn",
         normalised_loss(f, y, "mean"), loss_fn(ft, yt, "normalised")),
    ]
    return [{"quantity": q, "ours": o, "torch": t,
             "max_abs_diff": float(np.max(np.abs(np.asarray(a) - b.detach().numpy())))}
            for q, o, t, a, b in pairs]


def overflow_rows(scales=(1, 10, 50, 100, 1000), dtype: str = "float32") -> list[dict]:
    """Naive and stable softmax/NLL on the logits ``scale * [2, 1, -1]``, true class the last.

    Each row: ``scale``, the naive softmax, the naive NLL, the stable NLL
    (``nll``) and torch's ``cross_entropy``, all in ``dtype``.
    """
    import torch
    from torch.nn import functional as F

    if dtype not in ("float32", "float64"):
        raise ConfigError(f"dtype must be float32 or float64, got {dtype!r}")
    rows = []
    for s in scales:
        f = (s * np.array([[2.0, 1.0, -1.0]])).astype(dtype)
        y = np.array([2])
        rows.append({"scale": s, "logits": f[0], "naive_softmax": softmax_naive(f)[0],
                     "naive_nll": float(nll_naive(f, y)), "stable_nll": float(nll(f, y)),
                     "torch_nll": float(F.cross_entropy(torch.from_numpy(f),
                                                        torch.from_numpy(y)))})
    return rows


def exp_limit(dtype: str = "float32") -> float:
    """The largest ``x`` whose ``e^x`` is finite in ``dtype`` (float32: about 88.7)."""
    return float(np.log(np.finfo(dtype).max))
