"""The registry of the book's experiments: what each is, its configs, its seeds.

An experiment is a function of a resolved config (and its data set; with
``uses_runner``, also :func:`nnbook.experiments.run`) that returns a result dict of the
shape :mod:`nnbook.schema` documents; :func:`register` records it
with its ``quick`` and ``full`` configs side by side and the seeds the book runs in
each profile. The experiments register themselves in :mod:`nnbook.studies`; the
runner that trains them and caches their results is :mod:`nnbook.experiments`, which
imports both (so the registry imports neither, and nothing imports in a circle).
"""

from __future__ import annotations

import contextvars
import os
from dataclasses import dataclass

from .errors import ConfigError

PROFILES = ("quick", "full")


#: The profile of the experiment being run, for experiments that run others
#: (the shift study reads the trained CNNs of its own profile).
_ACTIVE_PROFILE: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "nnbook_profile", default=None)


def current_profile(profile: str | None = None) -> str:
    """The profile asked for, else that of the experiment being run, else
    ``$NNBOOK_PROFILE``, else ``quick``."""
    name = profile or _ACTIVE_PROFILE.get() or os.environ.get("NNBOOK_PROFILE") or "quick"
    if name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r}: choose quick or full (NNBOOK_PROFILE)")
    return name


@dataclass(frozen=True)
class Experiment:
    name: str
    func: object
    quick: dict
    full: dict
    description: str
    chapter: str
    build_model: object = None  # config -> nn.Module, to reload cached weights
    data: str | None = None     # "mnist" / "fashion-mnist" / None (synthetic)
    seeds: tuple = ((0, 1, 2), (0, 1, 2))  # the seeds the book runs: (quick, full)
    uses_runner: bool = False   # called as func(config, data, run): it runs other experiments

    def config(self, profile: str) -> dict:
        return dict(self.quick if profile == "quick" else self.full)

    def seed_list(self, profile: str) -> list[int]:
        """The seeds the book (chapters and reproduction report) runs in ``profile``."""
        return list(self.seeds[0] if profile == "quick" else self.seeds[1])


REGISTRY: dict[str, Experiment] = {}


def register(name, *, quick, full, description, chapter, data=None, build_model=None,
             seeds=((0, 1, 2), (0, 1, 2)), uses_runner=False):
    """Decorator: add an experiment to the registry (both profiles side by side;
    ``seeds`` = (quick seeds, full seeds) that the book runs)."""
    if set(quick) != set(full):
        raise ValueError(f"{name}: quick and full configs must have the same keys")

    def wrap(func):
        REGISTRY[name] = Experiment(name, func, dict(quick), dict(full), description, chapter,
                                    build_model, data, (tuple(seeds[0]), tuple(seeds[1])),
                                    uses_runner)
        return func

    return wrap


def get(name: str) -> Experiment:
    if name not in REGISTRY:
        raise ConfigError(f"unknown experiment {name!r}: run `python -m nnbook list` "
                          f"(known: {', '.join(sorted(REGISTRY))})")
    return REGISTRY[name]
