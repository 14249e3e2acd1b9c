"""The one entry point that runs the book's experiments, and their result cache.

The experiments are registered in :mod:`nnbook.registry` (by :mod:`nnbook.studies`,
one module per part of the book), each with its ``quick`` and ``full`` configs and
the seeds the book runs. ``NNBOOK_PROFILE`` (``quick`` by default, or ``full`` =
lecture scale) picks a profile. :func:`run` loads a cached result when the key
matches (experiment, profile, resolved config, data fingerprint, package source,
torch version, precision), else seeds, trains and stores it; :func:`run_seeds` does
so for every seed of the profile. The chapters, the command line (``python -m nnbook
run NAME``), the tests and the benchmarks all call :func:`run`, so they all run the
same code. An experiment that runs others (the shift study reads trained CNNs) is
handed :func:`run` as its third argument instead of importing it.
"""

from __future__ import annotations

import platform
import shlex
import sys
import time
from datetime import UTC, datetime

import torch

from . import configspec, schema, studies  # noqa: F401  (studies registers every experiment)
from . import data as datamod
from .cache import Cache, NoFingerprint, make_key, package_fingerprint
from .errors import ConfigError
from .registry import (  # noqa: F401  (re-exported: experiments.REGISTRY, .get, ...)
    _ACTIVE_PROFILE,
    PROFILES,
    REGISTRY,
    Experiment,
    current_profile,
    get,
    register,
)
from .train import TrainConfig, pick_device, precision_key, set_seed


class Result(dict):
    """A result dict; ``.model`` holds the trained model when one was asked for."""

    model = None


def resolve(name: str, profile: str | None = None, seed: int | None = None,
            **overrides) -> tuple[Experiment, str, dict]:
    """The experiment, profile and validated config that :func:`run` would use.

    Every override and then every key of the resolved config is checked against its
    kind in :mod:`nnbook.configspec` (``null`` only where a key allows it, no empty
    lists, nothing out of range); a bad value is a one-line :class:`ConfigError`.
    """
    exp = get(name)
    profile = current_profile(profile)
    config = exp.config(profile)
    for key, value in overrides.items():
        if key not in config:
            raise ConfigError(f"unknown setting {key!r} for experiment {name!r}: known settings "
                              f"are {', '.join(sorted(config))}")
        config[key] = configspec.validate(name, key, value, config[key])
    if seed is not None:
        config["seed"] = configspec.validate(name, "seed", seed, config.get("seed"))
    config = configspec.validate_config(name, config, exp.config(profile))
    TrainConfig.from_dict(config)  # validates epochs, batch size, lr, ...
    return exp, profile, config


#: Functions called with every result :func:`run` returns, trained or from the cache
#: (``python -m nnbook reproduce`` counts and times a build's runs with them:
#: :mod:`nnbook.progress`).
ON_RESULT: list = []


def _announce(result: Result) -> Result:
    for hook in list(ON_RESULT):
        hook(result)
    return result


def run(name: str, profile: str | None = None, seed: int | None = None, use_cache: bool = True,
        return_model: bool = False, cache_only: bool = False, **overrides) -> Result | None:
    """Run experiment ``name`` (or load its cached result) and return the result dict.

    ``overrides`` change single settings of the profile's config (e.g.
    ``hidden=32``); they become part of the cache key. With ``return_model``
    the trained model is attached as ``result.model``. With ``cache_only``
    nothing is trained: the cached result, or None.
    """
    exp, profile, config = resolve(name, profile, seed, **overrides)
    dataset = datamod.load(exp.data) if exp.data else None
    try:
        fingerprint, cache = package_fingerprint(), Cache()
    except NoFingerprint as exc:  # the code cannot key a result: nothing is cached
        fingerprint, cache = None, Cache(disabled=str(exc))
    threads = configspec.env("NNBOOK_THREADS")  # normalised: 1, 01 and " 1" are one key
    key = make_key({"experiment": name, "profile": profile, "config": config,
                    "data": dataset.provenance["sha256"] if dataset else None,
                    "package": fingerprint, "torch": torch.__version__,
                    "precision": precision_key(), "cpu": torch.backends.cpu.get_cpu_capability(),
                    "threads": str(threads) if threads is not None else "default"})
    want_weights = return_model and exp.build_model is not None
    with cache.lock(key):
        hit = cache.load(key, want_weights=want_weights, check=_problem) if use_cache else None
        if hit is not None:
            result = Result(hit[0])
            result["cached"] = True
            if want_weights:
                result.model = exp.build_model(config)
                try:
                    result.model.load_state_dict(hit[1])
                except (RuntimeError, KeyError, ValueError, TypeError) as exc:
                    cache.damaged(key, "weights.pt does not fit the model "
                                       f"({exc.__class__.__name__})")
                    hit = None
                else:
                    result.model.eval()
            if hit is not None:
                return _announce(result)
        if cache_only:
            return None
        set_seed(config["seed"])
        device = pick_device()
        t0 = time.perf_counter()
        token = _ACTIVE_PROFILE.set(profile)
        try:
            out = (exp.func(config, dataset, run) if exp.uses_runner
                   else exp.func(config, dataset))
        finally:
            _ACTIVE_PROFILE.reset(token)
        seconds = time.perf_counter() - t0
        model = out.pop("model", None)
        result = {
            "experiment": name, "profile": profile, "config": config, "seed": config["seed"],
            "data": dataset.provenance if dataset else out.pop("data", {"source": "synthetic"}),
            "device": device.type, "threads": torch.get_num_threads(),
            "precision": precision_key(device),
            "torch": torch.__version__, "machine": platform.machine(),
            "seconds": round(seconds, 2), "peak_rss_mb": peak_rss_mb(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": command(name, profile, config["seed"], overrides),
            **out,
        }
        problem = schema.problems(result)  # checked where it is made, not only when read
        if problem:  # a defect of the package, not of the reader's input: a traceback
            raise RuntimeError(f"experiment {name!r} made a result that does not match "
                               f"nnbook.schema: {problem}")
        state = model.state_dict() if (model is not None and exp.build_model) else None
        result = Result(cache.store(key, result, state))
        result["cached"] = False
        if return_model:
            result.model = model.eval() if model is not None else None
        return _announce(result)


def _problem(result: dict) -> str | None:
    """What is wrong with a result read from the cache (a missing field, a wrong type),
    for :meth:`nnbook.cache.Cache.load`."""
    return schema.problems(result)


def peak_rss_mb() -> float | None:
    """Peak resident memory of this process so far, in MiB (an upper bound for the run)."""
    try:
        import resource
    except ImportError:  # not POSIX
        return None
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20, 1)


def command(name: str, profile: str, seed: int, overrides: dict) -> str:
    """The one command line that regenerates a result, ready to paste into a shell.

    Values are written as the command line's ``--set`` reads them (JSON: ``true``,
    ``null``, ``[100, 50]``; :func:`nnbook.configspec.format_value`) and every word is
    shell-quoted: ``--set 'sizes=[100, 50]'``.
    """
    words = ["python", "-m", "nnbook", "run", name, "--profile", profile, "--seed", str(seed)]
    for key, value in sorted(overrides.items()):
        words += ["--set", f"{key}={configspec.format_value(value)}"]
    return " ".join(shlex.quote(w) for w in words)


def run_seeds(name: str, profile: str | None = None, seeds=None, cache_only: bool = False,
              return_model: bool = False, **overrides) -> list[Result]:
    """:func:`run` for each seed the book runs in the profile (or ``seeds``), in order.

    With ``cache_only`` the seeds without a cached result are left out.
    """
    profile = current_profile(profile)
    seeds = get(name).seed_list(profile) if seeds is None else list(seeds)
    if not seeds:
        raise ConfigError(f"{name}: no seeds to run")
    out = [run(name, profile, s, cache_only=cache_only, return_model=return_model, **overrides)
           for s in seeds]
    return [r for r in out if r is not None]


def describe(name: str) -> dict:
    """Name, description, chapter, both configs and seeds of a registered experiment."""
    exp = get(name)
    return {"name": exp.name, "description": exp.description, "chapter": exp.chapter,
            "data": exp.data or "synthetic", "quick": exp.quick, "full": exp.full,
            "seeds": {"quick": exp.seed_list("quick"), "full": exp.seed_list("full")}}

