"""Training and evaluation: the whole data set in memory as tensors.

``fit`` shuffles with a seeded ``torch.Generator`` and slices batches out of the
tensors (no per-sample PIL / DataLoader path), so an epoch costs little more
than its arithmetic; ``evaluate`` runs large batches under ``inference_mode``.
The same seed on the same machine gives identical numbers. The device (cuda if
present, else cpu) is picked automatically; progress bars appear only on a
terminal (or with ``NNBOOK_PROGRESS=1``).

Explained in the chapter "Neural networks" (gradient descent) and used by
every experiment of the book.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import platform
import random
import sys
import time
from dataclasses import dataclass, fields

import numpy as np
import torch
from torch.nn import functional as F

from . import configspec, cores, speedups
from .configspec import LOSSES, OPTIMIZERS
from .errors import ConfigError, DivergedError

PRECISIONS = ("auto", "fp32", "bf16")


def set_seed(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def pick_device(name: str | None = None) -> torch.device:
    """``cuda`` when available (or asked for), else ``cpu``; ``NNBOOK_DEVICE`` overrides."""
    default = "cuda" if torch.cuda.is_available() else "cpu"
    name = name or os.environ.get("NNBOOK_DEVICE") or default
    if name not in ("cpu", "cuda"):
        raise ConfigError(f"unknown device {name!r}: choose cpu or cuda")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device cuda asked for, but no CUDA GPU is available: use cpu")
    return torch.device(name)


def use_all_cores() -> int:
    """Let torch use every core this process may run on (or ``$NNBOOK_THREADS``).

    The cores are the affinity mask's, capped by the container's CPU quota (cgroup
    ``cpu.max`` or ``cpu.cfs_quota_us``; :mod:`nnbook.cores`): on Binder the node's 16
    cores are listed but one or two may be used. Returns the number of threads. On a
    loaded machine small models can run faster on one thread: set ``NNBOOK_THREADS=1``.
    """
    n = configspec.threads()  # parsed and checked; warns when above the cores
    if n is None:
        n = cores.available_cores()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def set_threads(model: torch.nn.Module) -> int:
    """Threads for training ``model``: all cores for convolutional networks, one otherwise.

    The fully connected networks of the book are so small that a second thread
    buys nothing on a quiet machine (measured: 0.27 s vs 0.30 s for 500 steps of
    the rings network) and, on a busy one, costs ten times more in waiting
    threads (2.4 s vs 34 s). ``NNBOOK_THREADS`` overrides both.
    """
    if configspec.threads() is not None:
        return use_all_cores()
    if any(isinstance(m, torch.nn.Conv2d) for m in model.modules()):
        return use_all_cores()
    torch.set_num_threads(1)
    return 1


_MALLOC_TUNED: list[bool] = []


def keep_freed_memory() -> bool:
    """Let glibc's malloc reuse freed blocks of up to 16 MB instead of returning them
    to the kernel after every training step (Linux with glibc only; returns whether
    it applied).

    By default each large tensor of a step (a CNN's activations and gradients,
    several MB each) is a fresh ``mmap`` whose pages fault in on first touch:
    1,500-3,600 page faults and 2.5-7.5 ms of kernel time per step of the
    lecture's CNN here, 10-17 % of the step (``benchmarks/README.md``). With
    ``M_MMAP_THRESHOLD`` 16 MB and ``M_TRIM_THRESHOLD`` 64 MB the process keeps up
    to 64 MB of freed memory for reuse (peak memory unchanged). Applied once per
    process, by :func:`fit` and :func:`predict`; ``NNBOOK_MALLOC=default`` leaves
    malloc alone.
    """
    if _MALLOC_TUNED:
        return _MALLOC_TUNED[0]
    ok = False
    if (sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
            and configspec.env("NNBOOK_MALLOC", "tuned") != "default"):
        try:
            libc = ctypes.CDLL("libc.so.6")
            m_trim_threshold, m_mmap_threshold = -1, -3  # from <malloc.h>
            ok = bool(libc.mallopt(m_mmap_threshold, 16 << 20)
                      and libc.mallopt(m_trim_threshold, 64 << 20))
        except (OSError, AttributeError):
            ok = False
    _MALLOC_TUNED.append(ok)
    return ok


def show_progress() -> bool:
    """Progress bars on a terminal; ``NNBOOK_PROGRESS=0/1`` (or off/on) forces them off/on."""
    forced = configspec.env("NNBOOK_PROGRESS")
    return sys.stderr.isatty() if forced is None else forced


#: A training run shows its progress bar once it has run this long (seconds). The book's
#: small networks train in a fraction of a second, many runs per cell: a bar for each
#: would be hundreds of widgets in a notebook (on Binder: "IOPub message rate exceeded",
#: measured with the rings chapter's first cell) and flicker on a terminal.
PROGRESS_DELAY = 1.0


def _progress_bar(total: int, desc: str, initial: int):
    from tqdm.auto import tqdm  # a widget in a notebook kernel with ipywidgets, else text

    return tqdm(total=total, initial=initial, desc=desc, leave=False, file=sys.stderr,
                mininterval=0.5)


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run (the book's fixed vocabulary)."""

    num_epochs: int = 1
    batch_size: int = 64
    lr: float = 1.0
    optimizer: str = "adadelta"
    gamma: float = 1.0          # StepLR factor per epoch (1.0: constant lr)
    momentum: float = 0.0       # sgd only
    loss: str = "nll"           # "nll" (cross-entropy) or "normalised" (-f.y/|f|)
    seed: int = 0
    max_steps: int | None = None  # stop after this many optimizer steps (benchmarks)
    eval_train: bool = False    # evaluate the full training set after each epoch
    precision: str = "auto"     # "auto": bf16 mixed precision for CNNs on CPUs that support it

    def __post_init__(self):
        positive_int = {"num_epochs": self.num_epochs, "batch_size": self.batch_size}
        for name, value in positive_int.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"lr must be a positive number, got {self.lr!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer {self.optimizer!r}: choose one of "
                              f"{', '.join(OPTIMIZERS)}")
        if self.loss not in LOSSES:
            raise ConfigError(f"unknown loss {self.loss!r}: choose one of {', '.join(LOSSES)}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"unknown precision {self.precision!r}: choose one of "
                              f"{', '.join(PRECISIONS)}")
        if not 0 < self.gamma <= 1:
            raise ConfigError(f"gamma must be in (0, 1], got {self.gamma!r}")
        steps = self.max_steps
        if steps is not None and (not isinstance(steps, int) or steps < 1):
            raise ConfigError(f"max_steps must be a positive integer, got {self.max_steps!r}")

    @classmethod
    def from_dict(cls, config: dict) -> TrainConfig:
        """The training fields of an experiment config (other keys are ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in config.items() if k in names})


def loss_fn(logits: torch.Tensor, y: torch.Tensor, kind: str = "nll") -> torch.Tensor:
    """Mean loss over the batch.

    ``nll``: -y^T log softmax(f) = -f_y + log Σ_j e^{f_j} (``cross_entropy``);
    ``normalised``: -f^T y / ‖f‖, the lecture's alternative.
    """
    if kind == "nll":
        return F.cross_entropy(logits, y)
    if kind == "normalised":
        picked = logits.gather(1, y[:, None]).squeeze(1)
        return -(picked / logits.norm(dim=1).clamp_min(1e-12)).mean()
    raise ConfigError(f"unknown loss {kind!r}: choose one of {', '.join(LOSSES)}")


def bf16_supported(device: torch.device) -> bool:
    """True where bf16 matrix arithmetic runs natively (CPUs with AVX512-BF16 or AMX)."""
    if device.type != "cpu":
        return False
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def precision_setting(precision: str = "auto") -> str:
    """``$NNBOOK_PRECISION`` (auto, fp32 or bf16) when set, else ``precision``.

    The variable overrides every config, so a machine with native bf16 can build
    exactly what a machine without it builds (``NNBOOK_PRECISION=fp32``).
    """
    env = os.environ.get("NNBOOK_PRECISION", "").strip()
    if not env:
        return precision
    if env not in PRECISIONS:
        raise ConfigError(f"NNBOOK_PRECISION must be one of {', '.join(PRECISIONS)}, "
                          f"got {env!r}")
    return env


def precision_key(device: torch.device | None = None) -> str:
    """What the precision setting means on this machine, for cache keys: ``fp32``,
    ``bf16``, or ``auto-bf16`` / ``auto-fp32`` (auto on a CPU with / without native bf16)."""
    setting = precision_setting()
    if setting != "auto":
        return setting
    return "auto-bf16" if bf16_supported(device or pick_device()) else "auto-fp32"


def resolve_precision(precision: str, model: torch.nn.Module, device: torch.device) -> str:
    """The arithmetic a run uses: ``auto`` is bf16 mixed precision (weights, gradients,
    optimizer and loss stay float32; convolutions and matrix products run in bf16) for
    convolutional networks on CPUs that support it, which trains the lecture's CNN about
    1.5x faster here (``python -m nnbook bench``), and float32 otherwise.
    ``$NNBOOK_PRECISION`` overrides ``precision`` (:func:`precision_setting`)."""
    precision = precision_setting(precision)
    if precision != "auto":
        if precision == "bf16" and device.type == "cpu" and not bf16_supported(device):
            raise ConfigError("precision bf16 asked for, but this CPU has no native bf16: "
                              "use fp32 or auto")
        return precision
    has_conv = any(isinstance(m, torch.nn.Conv2d) for m in model.modules())
    return "bf16" if has_conv and bf16_supported(device) else "fp32"


def make_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    params = model.parameters()
    if config.optimizer == "adadelta":
        return torch.optim.Adadelta(params, lr=config.lr)
    if config.optimizer == "adam":  # the fused kernel: ~13 % faster per step for the MLPs
        return torch.optim.Adam(params, lr=config.lr, fused=True)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum)


def prepare(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """Move ``model`` to ``device``; convolutional models use the channels-last layout,
    which oneDNN's CPU convolutions run markedly faster (see ``python -m nnbook bench``)."""
    model.to(device)
    if any(isinstance(m, torch.nn.Conv2d) for m in model.modules()):
        model.to(memory_format=torch.channels_last)
    return model


def eval_batch_size(model: torch.nn.Module, device: torch.device) -> int:
    """Batch size for evaluating ``model``: 64 for convolutional networks on a CPU,
    whose activations then stay in the caches (2.5x the images per second of batches
    of 2,000 here, ``benchmarks/README.md``), 2,000 otherwise."""
    has_conv = any(isinstance(m, torch.nn.Conv2d) for m in model.modules())
    return 64 if has_conv and device.type == "cpu" else 2000


@contextlib.contextmanager
def _inference(model: torch.nn.Module, batch_size: int | None):
    """Set ``model`` up for inference and yield ``(device, batch_size)``: moved and
    converted (:func:`prepare`) *before* inference mode starts, since parameters
    converted inside it would become inference tensors, which a later training step of
    the same model cannot use (a learning curve measured before the first step does
    exactly that); in eval mode until the block ends, then as it was."""
    device = next(model.parameters()).device
    keep_freed_memory()
    set_threads(model)
    prepare(model, device)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            yield device, batch_size or eval_batch_size(model, device)
    finally:
        model.train(was_training)


def predict(model: torch.nn.Module, X: torch.Tensor, batch_size: int | None = None
            ) -> torch.Tensor:
    """Logits of ``model`` on ``X``, computed in eval mode in batches of ``batch_size``
    (default: :func:`eval_batch_size`)."""
    with _inference(model, batch_size) as (device, batch_size):
        out = [model(X[i:i + batch_size].to(device)).float().cpu()
               for i in range(0, len(X), batch_size)]
    return torch.cat(out) if out else torch.empty(0)


def evaluate(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor,
             batch_size: int | None = None, loss: str = "nll") -> dict:
    """Accuracy (fraction in [0, 1]) and mean loss of ``model`` on ``(X, y)``."""
    if len(X) == 0:
        raise ConfigError("evaluate: empty data set")
    logits = predict(model, X, batch_size)
    return {"accuracy": (logits.argmax(1) == y).float().mean().item(),
            "loss": loss_fn(logits, y, loss).item()}


def evaluate_many(model: torch.nn.Module, Xs: list[torch.Tensor], y: torch.Tensor,
                  batch_size: int | None = None) -> list[float]:
    """Accuracy of ``model`` on each data set of ``Xs`` (all labelled ``y``, e.g. shifted
    copies of one test set): ``[evaluate(model, X, y)["accuracy"] for X in Xs]``, the
    same numbers, in one pass that keeps no logits and sets the model up once."""
    if not len(Xs):
        return []
    n = len(y)
    if n == 0 or any(len(X) != n for X in Xs):
        raise ConfigError(f"evaluate_many: every set needs the {n} images that y labels "
                          f"(got {sorted({len(X) for X in Xs})})" if n else
                          "evaluate_many: empty data set")
    with _inference(model, batch_size) as (device, batch_size):
        y = y.to(device)
        correct = torch.zeros(len(Xs), dtype=torch.long, device=device)
        for k, X in enumerate(Xs):
            for i in range(0, n, batch_size):
                logits = model(X[i:i + batch_size].to(device))
                correct[k] += (logits.argmax(1) == y[i:i + batch_size]).sum()
    return (correct.float() / n).tolist()  # float32, as evaluate computes it


def fit(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, config: TrainConfig,
        X_test: torch.Tensor | None = None, y_test: torch.Tensor | None = None,
        callback=None, device: torch.device | None = None, desc: str = "training") -> list[dict]:
    """Train ``model`` on ``(X, y)``; return one history record per epoch.

    Each record holds ``epoch``, ``loss`` (mean training loss), ``train_acc``
    (running accuracy over the epoch, or the full training set in eval mode
    when ``config.eval_train``), ``test_acc``/``test_loss`` (when a test set is
    given), ``steps`` and ``seconds``. ``callback(step, model)``, if given, is
    called after every optimizer step. While it trains, the model's ``nn.Dropout``
    layers are swapped for faster twins that compute the same function
    (:mod:`nnbook.speedups`); afterwards the original layers are back.
    """
    with speedups.swapped_in(model):
        return _fit(model, X, y, config, X_test, y_test, callback, device, desc)


def _fit(model, X, y, config, X_test, y_test, callback, device, desc) -> list[dict]:
    if len(X) != len(y) or len(X) == 0:
        raise ConfigError(f"fit: X and y must be non-empty and of equal length "
                          f"({len(X)} vs {len(y)})")
    keep_freed_memory()
    set_threads(model)
    device = device or pick_device()
    prepare(model, device)
    torch.manual_seed(config.seed)  # dropout masks
    gen = torch.Generator().manual_seed(config.seed)
    opt = make_optimizer(model, config)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=config.gamma)
    n, bs = len(X), config.batch_size
    steps_per_epoch = math.ceil(n / bs)
    X_dev, y_dev = X.to(device), y.to(device)
    precision = resolve_precision(config.precision, model, device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")
    history, step = [], 0
    total = config.num_epochs * steps_per_epoch
    total = min(total, config.max_steps or total)
    progress, bar, started = show_progress(), None, time.perf_counter()
    try:
        for epoch in range(1, config.num_epochs + 1):
            model.train()
            t0 = time.perf_counter()
            perm = torch.randperm(n, generator=gen).to(device)
            if config.max_steps:  # gather only the images the remaining steps will use
                perm = perm[:(config.max_steps - step) * bs]
            # one gather per epoch, then batches are views: cheaper than a gather per batch
            X_epoch, y_epoch = X_dev[perm], y_dev[perm]
            loss_sum = torch.zeros((), device=device)
            correct = torch.zeros((), device=device, dtype=torch.long)
            seen = 0
            for i in range(0, len(perm), bs):
                xb, yb = X_epoch[i:i + bs], y_epoch[i:i + bs]
                with autocast:
                    logits = model(xb).float()
                loss = loss_fn(logits, yb, config.loss)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                step += 1
                seen += len(yb)
                loss_sum += loss.detach() * len(yb)
                correct += (logits.detach().argmax(1) == yb).sum()
                if bar is not None:
                    bar.update(1)
                elif progress and time.perf_counter() - started > PROGRESS_DELAY:
                    bar = _progress_bar(total, desc, initial=step)
                if callback is not None:
                    callback(step, model)
                if config.max_steps and step >= config.max_steps:
                    break
            sched.step()
            record = {"epoch": epoch, "steps": step, "loss": (loss_sum / seen).item(),
                      "train_acc": (correct.float() / seen).item(), "precision": precision}
            if not math.isfinite(record["loss"]):
                raise DivergedError(f"training diverged (loss {record['loss']}) in epoch {epoch}: "
                                  f"lower lr (now {config.lr})")
            record["seconds"] = time.perf_counter() - t0
            if config.eval_train:
                record["train_acc"] = evaluate(model, X, y)["accuracy"]
            if X_test is not None:
                ev = evaluate(model, X_test, y_test)
                record["test_acc"], record["test_loss"] = ev["accuracy"], ev["loss"]
            history.append(record)
            if bar is not None:  # shown at the bar's next refresh (at most 2 a second): a
                # full-batch run has one step per epoch, and a refresh per epoch flooded Binder
                bar.set_postfix(loss=f"{record['loss']:.3f}",
                                test=f"{record.get('test_acc', float('nan')):.3f}", refresh=False)
            if config.max_steps and step >= config.max_steps:
                break
    finally:
        if bar is not None:
            bar.close()
    return history
