"""Every knob of the book in one table: the config keys of the experiments and the
``NNBOOK_*`` environment variables, each with its kind, its range and what it means.

:func:`nnbook.experiments.resolve` validates every override, and the resolved
config, through :data:`KEYS`; the command line writes and reads ``--set KEY=VALUE``
values through :func:`format_value` / :func:`parse_value` (JSON spelling:
``true``, ``null``, ``[100, 50]``), so a printed regenerate command can be pasted.
To add a config key, add a row to :data:`KEYS` (or, where one experiment gives a
key its own meaning, to :data:`PER_EXPERIMENT`); a key without a row fails the unit
tests (:func:`undeclared`). Environment variables are read lazily, when used, never
at import (:func:`env`).

``python -m nnbook list --settings`` prints both tables. Used by every chapter
through :mod:`nnbook.experiments`; the README's "When something goes wrong" lists
what each bad value does.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from .backprop import ACTIVATIONS as ACTIVATION_FUNCTIONS
from .cores import available_cores
from .errors import ConfigError, warn

#: The largest seed: torch seeds take 64 bits; experiments derive seed + i from it.
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class Spec:
    """The kind of one setting.

    ``kind`` is ``int``, ``float``, ``bool``, ``choice`` or ``list`` (of ``item``).
    Numbers lie in ``[lo, hi]`` (``lo_open`` / ``hi_open`` exclude an end).
    ``null``, when set, says what ``null`` (Python's ``None``) means; without it
    ``null`` is refused. ``rule`` is an extra check: value -> error text or None.
    """

    kind: str
    comment: str
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    null: str | None = None
    choices: tuple = ()
    item: Spec | None = None
    min_len: int = 1
    max_len: int = 100
    rule: object = field(default=None, compare=False)

    def describe(self) -> str:
        """What a valid value looks like, in words: 'an integer from 1 to 8192'."""
        if self.kind == "bool":
            text = "true or false"
        elif self.kind == "choice":
            text = "one of " + ", ".join(json.dumps(c) for c in self.choices)
        elif self.kind == "list":
            size = (f"{self.min_len} or more" if self.max_len is None else
                    f"{self.min_len} to {self.max_len}")
            text = f"a list of {size} values, each {self.item.describe()}"
        else:
            noun = "an integer" if self.kind == "int" else "a number"
            text = f"{noun} {_range_text(self)}"
        if self.null:
            text += f", or null ({self.null})"
        return text


def _range_text(s: Spec) -> str:
    def num(v):
        if v == MAX_SEED:
            return "2**63 - 1"
        return f"{int(v):,}" if float(v).is_integer() and abs(v) >= 10000 else f"{v:g}"

    if s.lo is not None and s.hi is not None and not (s.lo_open or s.hi_open):
        return f"from {num(s.lo)} to {num(s.hi)}"
    left = "(" if s.lo_open else "["
    right = ")" if s.hi_open else "]"
    return f"in {left}{num(s.lo)}, {num(s.hi)}{right}"


# ----------------------------------------------------------------------------- constructors

def integer(lo: int, hi: int, comment: str, null: str | None = None) -> Spec:
    return Spec("int", comment, lo, hi, null=null)


def number(lo: float, hi: float, comment: str, lo_open: bool = False,
           hi_open: bool = False) -> Spec:
    return Spec("float", comment, lo, hi, lo_open, hi_open)


def flag(comment: str) -> Spec:
    return Spec("bool", comment)


def one_of(choices, comment: str) -> Spec:
    return Spec("choice", comment, choices=tuple(choices))


def list_of(item: Spec, comment: str, min_len: int = 1, max_len: int = 100,
            rule=None) -> Spec:
    return Spec("list", comment, item=item, min_len=min_len, max_len=max_len, rule=rule)


def _seed(comment: str) -> Spec:
    return integer(0, MAX_SEED, comment)


#: The choices of the settings, defined here once: train, models, the studies and the
#: views import them (the activations are the from-scratch ones of nnbook.backprop).
OPTIMIZERS = ("adadelta", "sgd", "adam")
LOSSES = ("nll", "normalised")
ACTIVATIONS = tuple(ACTIVATION_FUNCTIONS)
DEPTH_VARIANTS = ("plain", "plain-he", "residual")
CNN_ARCHS = ("lecture", "extra-pool", "gap", "wide")


# ----------------------------------------------------------------------------- the table
# Upper bounds keep a typo from asking for gigabytes (hidden=10**9 is a one-line error,
# not an allocator traceback); they sit far above anything the book runs.

KEYS: dict[str, Spec] = {
    # --- data
    "n_train": integer(1, 10**7, "training images, a class-balanced subset", null="all of them"),
    "n_test": integer(1, 10**7, "test images, a class-balanced subset", null="all of them"),
    "n": integer(2, 10**6, "points of the synthetic data set"),
    "noise": number(0, 10, "standard deviation of the noise added to the synthetic data"),
    "sizes": list_of(integer(1, 10**7, "training-set size"),
                     "training-set sizes to compare, one run each"),
    "largest_available": flag("when sizes exceed the data, also train on all of it (flagged)"),
    # --- the network
    "hidden": integer(1, 8192, "hidden units per layer of the fully connected network"),
    "width": integer(1, 1024, "hidden units per layer of the deep networks"),
    "depths": list_of(integer(1, 100, "hidden layers"), "depths to compare, one network each"),
    "variants": list_of(one_of(DEPTH_VARIANTS, "variant"),
                        "network variants to compare: plain (PyTorch init), plain-he "
                        "(He init) or residual", max_len=len(DEPTH_VARIANTS)),
    "arch": one_of(CNN_ARCHS, "CNN architecture: lecture (pytorch/examples), extra-pool (a "
                   "second 2x2 max pooling), gap (global average pooling), wide (deeper and "
                   "wider)"),
    "augment_shift": integer(0, 13, "train on images shifted by a random offset of up to "
                                    "this many pixels per axis (0: no augmentation)"),
    "widths": list_of(integer(1, 1024, "layer width"),
                      "layer widths, input first and output last", min_len=2, max_len=20),
    "activation": one_of(ACTIVATIONS, "activation of the hidden layers"),
    # --- training
    "num_epochs": integer(1, 10000, "passes over the training set"),
    "batch_size": integer(1, 10**6, "images per optimizer step"),
    "lr": number(0, 1e6, "learning rate", lo_open=True),
    "optimizer": one_of(OPTIMIZERS, "optimizer"),
    "momentum": number(0, 1, "momentum of sgd (0: plain gradient descent)", hi_open=True),
    "gamma": number(0, 1, "learning-rate factor per epoch (StepLR; 1: constant)", lo_open=True),
    "loss": one_of(LOSSES, "training loss: nll (cross-entropy) or normalised (-f.y/|f|)"),
    "steps": integer(0, 100000, "full-batch gradient-descent steps"),
    "lrs": list_of(number(0, 1e6, "learning rate", lo_open=True),
                   "learning rates of the sweep, one run each"),
    # --- measurement
    "snapshots": list_of(integer(1, 100000, "step"),
                         "steps after which the decision regions are recorded; "
                         "the largest is the number of steps trained"),
    "grid": integer(2, 1001, "points per axis of the grid the decision regions are drawn on"),
    "grad_batch": integer(1, 100000, "images on which per-layer gradient norms are measured"),
    "monitor": integer(1, 10**6, "training and test images on which the learning curve is "
                                 "measured (fixed, class-balanced)"),
    "evals_per_epoch": integer(1, 100, "points of the learning curve per epoch"),
    "source": one_of(("mnist-cnn", "fashion-cnn", "mnist-mlp-10", "mnist-mlp-32"),
                     "the trained network the shift study evaluates: an experiment's CNN, or "
                     "the 784-10-10 / 784-32-10 network of mnist-mlp"),
    "shifts": list_of(integer(1, 13, "pixels"), "shifts in pixels to evaluate", max_len=13),
    # --- seeds
    "seed": _seed("seed of every random choice (data subset, initialisation, shuffling)"),
}


def _ends_are_one(widths) -> str | None:
    if widths[0] != 1 or widths[-1] != 1:
        return "the network maps a number x to a number: first and last width must be 1"
    return None


#: Keys that one experiment uses with its own meaning: (experiment, key) -> spec.
PER_EXPERIMENT: dict[tuple[str, str], Spec] = {
    ("gradient-descent", "snapshots"): list_of(
        integer(0, 100000, "step"), "steps after which the fitted curve is recorded (0: the "
                                    "initial network)"),
    ("gradient-descent", "widths"): replace(KEYS["widths"], rule=_ends_are_one),
    ("gradient-descent", "lr"): number(0, 1e6, "learning rate of the main run", lo_open=True),
}


def spec(experiment: str, key: str) -> Spec | None:
    """The spec of ``key`` in ``experiment`` (its own meaning first), or None if undeclared."""
    return PER_EXPERIMENT.get((experiment, key)) or KEYS.get(key)


def describe(key: str, experiment: str | None = None) -> str:
    """One line: what ``key`` means and which values it takes."""
    s = spec(experiment or "", key)
    if s is None:
        raise ConfigError(f"no setting {key!r} is declared in nnbook.configspec")
    return f"{key}: {s.comment}; {s.describe()}"


def undeclared(registry) -> list[tuple[str, str]]:
    """``(experiment, key)`` pairs of a registry's configs that have no spec (must be none)."""
    return sorted((name, key) for name, exp in registry.items()
                  for key in set(exp.quick) | set(exp.full) if spec(name, key) is None)


def _shown(value) -> str:
    try:
        return json.dumps(value, allow_nan=True)[:80]
    except (TypeError, ValueError):
        return repr(value)[:80]


def _check(s: Spec, value, where: str):
    """The value, normalised (ints as int, numbers as float); ConfigError when it does not fit."""
    def bad(extra: str = ""):
        hint = ""
        if isinstance(value, str) and value in ("True", "False", "None"):
            hint = " (write true, false and null as in JSON)"
        return ConfigError(f"{where} must be {s.describe()}{extra}, got {_shown(value)}{hint}")

    if value is None:
        if s.null:
            return None
        raise bad()
    if s.kind == "bool":
        if not isinstance(value, bool):
            raise bad()
        return value
    if s.kind == "choice":
        if not isinstance(value, str) or value not in s.choices:
            raise bad()
        return value
    if s.kind == "list":
        if not isinstance(value, (list, tuple)):
            raise bad()
        if not s.min_len <= len(value) <= s.max_len:
            raise bad()
        items = [_check(s.item, v, f"{where}[{i}]") for i, v in enumerate(value)]
        problem = s.rule(items) if s.rule else None
        if problem:
            raise bad(f" ({problem})")
        return items
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise bad()
    if s.kind == "int":
        if not isinstance(value, numbers.Integral):
            raise bad()
        value = int(value)
    else:
        value = float(value)
        if not math.isfinite(value):
            raise bad()
    if (value < s.lo or (s.lo_open and value == s.lo)
            or value > s.hi or (s.hi_open and value == s.hi)):
        raise bad()
    return value


def validate(experiment: str, key: str, value, default=None):
    """``value`` checked against the spec of ``key`` and normalised; ConfigError naming
    the experiment and the key when it does not fit.

    A key with no spec (a unit test forbids them) is only checked to be like ``default``.
    """
    s = spec(experiment, key)
    where = f"{experiment}: setting {key}"
    if s is not None:
        return _check(s, value, where)
    ok = (value is None or default is None or isinstance(value, type(default))
          or (isinstance(default, float) and isinstance(value, int)))
    if not ok or (isinstance(value, bool) and not isinstance(default, bool)):
        raise ConfigError(f"{where} must be like {_shown(default)}, got {_shown(value)}")
    return value


def validate_config(experiment: str, config: dict, defaults: dict | None = None) -> dict:
    """Every key of ``config`` validated (see :func:`validate`); returns a normalised copy."""
    defaults = defaults or {}
    return {k: validate(experiment, k, v, defaults.get(k)) for k, v in config.items()}


# ----------------------------------------------------------------------------- --set values

def format_value(value) -> str:
    """``value`` as the command line's ``--set KEY=VALUE`` writes it: JSON (``true``,
    ``null``, ``[100, 50]``), strings bare where :func:`parse_value` reads them back as
    the same string (``sgd``), else as JSON strings. Shell quoting is the caller's."""
    if isinstance(value, str):
        try:
            if parse_value(value) == value:
                return value
        except ConfigError:
            pass
    return json.dumps(value, default=_plain)


def _plain(obj):
    """NumPy scalars and arrays (a sweep over ``np.arange``) as plain numbers and lists."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"a --set value cannot be a {type(obj).__name__}")


#: How deeply a ``--set`` value may nest (the deepest setting is a list of numbers).
MAX_DEPTH = 8
#: How many digits a number in a ``--set`` value may have (seeds take 19).
MAX_DIGITS = 100


def parse_value(text: str, key: str = "VALUE"):
    """The value of a ``--set KEY=VALUE``: JSON where it parses, else the text itself.

    A value nested more than :data:`MAX_DEPTH` deep or holding a number of more than
    :data:`MAX_DIGITS` digits is a one-line ConfigError (not a RecursionError or the
    int-digits ValueError).
    """
    depth = deepest = 0
    for c in text:
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    if deepest > MAX_DEPTH:
        raise ConfigError(f"--set {key}=...: the value is nested {deepest} levels deep; "
                          f"settings take at most {MAX_DEPTH} (a list of numbers is 1)")
    run = longest = 0
    for c in text:
        run = run + 1 if c.isdigit() else 0
        longest = max(longest, run)
    if longest > MAX_DIGITS:
        raise ConfigError(f"--set {key}=...: a number of {longest:,} digits; settings take "
                          f"at most {MAX_DIGITS} (`python -m nnbook list --settings` gives "
                          "each setting's range)")
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return text
    except ValueError as exc:  # e.g. an integer beyond the int-digits limit
        raise ConfigError(f"--set {key}=...: {exc}") from None


def finite_json(obj):
    """``obj`` with every NaN and infinity replaced by None, so that it dumps as strict
    JSON (a bare ``Infinity`` is not JSON and breaks other readers)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: finite_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_json(v) for v in obj]
    return obj


# ----------------------------------------------------------------------------- environment

@dataclass(frozen=True)
class Var:
    """One environment variable: its kind (``path``, ``int``, ``float``, ``flag``,
    ``choice``), the spec its value must fit (numbers, choices) and what it does."""

    kind: str
    comment: str
    spec: Spec | None = None


def _cores() -> int:
    return available_cores()  # the affinity mask, capped by the container's CPU quota


ENV: dict[str, Var] = {
    "NNBOOK_PROFILE": Var("choice", "quick (default: minutes on a laptop) or full (lecture "
                                    "scale)", one_of(("quick", "full"), "profile")),
    "NNBOOK_CACHE": Var("path", "where results and weights are cached (default "
                                "~/.cache/nnbook/results; the Makefile: _build/nnbook-cache)"),
    "NNBOOK_DATA": Var("path", "a torchvision-style data root (<root>/MNIST/raw/, "
                               "<root>/FashionMNIST/raw/); downloads go there too"),
    "NNBOOK_OFFLINE": Var("flag", "1: never try a download (0 or unset: try one, briefly)"),
    "NNBOOK_DOWNLOAD_TIMEOUT": Var("float", "seconds for the reachability check of a download "
                                            "mirror (default 10)",
                                   number(0, 600, "seconds", lo_open=True)),
    "NNBOOK_DEVICE": Var("choice", "cpu or cuda (default: cuda when present)",
                         one_of(("cpu", "cuda"), "device")),
    "NNBOOK_THREADS": Var("int", "torch threads for training (default: one for fully "
                                 "connected networks, all cores for CNNs)",
                          integer(1, 4096, "threads")),
    "NNBOOK_PRECISION": Var("choice", "auto (bf16 for CNNs on CPUs with native bf16), fp32 or "
                                      "bf16", one_of(("auto", "fp32", "bf16"), "precision")),
    "NNBOOK_PROGRESS": Var("flag", "1: progress bars even off a terminal; 0: never "
                                   "(default: on a terminal)"),
    "NNBOOK_MALLOC": Var("choice", "tuned (default: glibc keeps up to 64 MB of freed memory "
                                   "for reuse, faster CNN steps) or default (leave malloc alone)",
                         one_of(("tuned", "default"), "malloc")),
    "NNBOOK_CHROMIUM": Var("path", "the Chromium binary of the browser test"),
    "NNBOOK_HTML": Var("path", "the built HTML the browser test opens (default _build/html)"),
}

FLAG_WORDS = {"1": True, "true": True, "yes": True, "on": True,
              "0": False, "false": False, "no": False, "off": False}


def home() -> Path:
    """The home folder, for the defaults under ``~`` (``~/.cache/nnbook/...``) and for
    ``~`` in a path variable; ``HOME`` set but empty or relative is a ConfigError (it
    would put the cache in a folder relative to wherever a command runs)."""
    raw = os.environ.get("HOME")
    if raw is None:  # unset: the password database's answer, as expanduser gives it
        path = Path(os.path.expanduser("~"))
        if path.is_absolute():
            return path
        raw = str(path)
    if not raw.strip() or not Path(raw).is_absolute():
        raise ConfigError(f"HOME={raw!r} is {'empty' if not raw.strip() else 'a relative path'}"
                          ": nnbook keeps its cache and data under ~/.cache/nnbook; set HOME "
                          "to an absolute path, or NNBOOK_CACHE and NNBOOK_DATA to absolute "
                          "folders")
    return Path(raw)


def env(name: str, default=None):
    """The parsed value of environment variable ``name`` (``default`` when unset or empty).

    Paths have ``~`` expanded and must then be absolute: a relative path would mean one
    folder for the command line and another for the chapters' kernels (they run in
    ``book/``). Flags take 1/0, true/false, yes/no, on/off. A bad value is a ConfigError
    of one line naming the variable.
    """
    var = ENV[name]
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    where = f"{name}={raw!r}"
    if var.kind == "path":
        path = Path(raw)
        if raw == "~" or raw.startswith("~/"):
            path = home() / raw[2:]
        else:
            path = path.expanduser()  # ~user
        if not path.is_absolute():
            raise ConfigError(f"{where} is a relative path, which would name one folder for "
                              f"the command line and another for the chapters (they run in "
                              f"book/): give an absolute path, e.g. {Path(raw).absolute()}")
        return path
    if var.kind == "flag":
        if raw.lower() not in FLAG_WORDS:
            raise ConfigError(f"{where}: use 1 or 0 (also true/false, yes/no, on/off)")
        return FLAG_WORDS[raw.lower()]
    if var.kind == "choice":
        if raw not in var.spec.choices:
            raise ConfigError(f"{where}: choose one of {', '.join(var.spec.choices)}")
        return raw
    try:
        value = int(raw) if var.kind == "int" and raw.isascii() else float(raw)
        if var.kind == "int" and not isinstance(value, int):
            raise ValueError
        return _check(var.spec, value, name)
    except (ValueError, ConfigError):
        noun = "an integer" if var.kind == "int" else "a number"
        raise ConfigError(f"{where}: must be {noun} {_range_text(var.spec)}") from None


def threads() -> int | None:
    """``$NNBOOK_THREADS`` (None when unset); warns once when it exceeds the cores."""
    n = env("NNBOOK_THREADS")
    cores = _cores()
    if n is not None and n > cores:
        warn(f"NNBOOK_THREADS={n} is more than the {cores} cores this process may use; "
             f"training will be slower, not faster (set it to {cores} or less)",
             once=("threads", n))
    return n
