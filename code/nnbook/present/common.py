"""Small pieces the views share: running every seed, reading accuracies out of classifier
results, comparability with the lecture, and table cells with their spread."""

from __future__ import annotations

from ..experiments import current_profile, get, run_seeds
from ..findings import Sample
from .report import provenance_cells, provenance_seeds

SHIFTS = (0, 1, 2, 3, 4)


def seeds(name: str, profile: str, seed_offset: int = 0) -> list[int]:
    """The seeds the book runs for ``name`` in ``profile``, moved by ``seed_offset``."""
    return [s + seed_offset for s in get(name).seed_list(profile)]


def runs(name: str, profile: str | None = None, seed_offset: int = 0, seed_list=None,
         **overrides) -> list[dict]:
    """Every seed's result of ``name`` (from the cache, else trained)."""
    profile = current_profile(profile)
    chosen = seeds(name, profile, seed_offset) if seed_list is None else seed_list
    return run_seeds(name, profile, chosen, **overrides)


def initial_model(result: dict):
    """The network ``result``'s training started from. :func:`nnbook.experiments.run` seeds
    the generators with the result's seed and the experiment builds its model first, so
    seeding again and building the model again (the experiment's ``build_model``) gives
    the same initial weights: the one place the views rebuild them."""
    from ..train import set_seed

    set_seed(result["seed"])
    return get(result["experiment"]).build_model(result["config"])


def test_acc(results) -> list[float]:
    return [r["metrics"]["test_acc"] for r in results]


def train_acc(results) -> list[float]:
    return [r["metrics"]["train_acc"] for r in results]


def at_shift(results, p: int) -> list[float]:
    """Per seed: mean accuracy over the four directions at a shift of ``p`` pixels."""
    return [r["metrics"]["shift_acc"][p]["mean"] for r in results]


def by_direction(results, p: int) -> list[float]:
    """Every seed's accuracy in every direction at a shift of ``p`` pixels."""
    return [a for r in results for a in r["metrics"]["shift_acc"][p]["directions"].values()]


def drop(results, p: int) -> list[float]:
    """Per seed: unshifted accuracy minus the mean accuracy at ``p`` pixels."""
    return [r["metrics"]["test_acc"] - r["metrics"]["shift_acc"][p]["mean"] for r in results]


def shift_matrix(results, shifts=SHIFTS) -> list[list[float]]:
    """One row per seed: the mean accuracy over directions at each shift."""
    return [[r["metrics"]["shift_acc"][p]["mean"] for p in shifts] for r in results]


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


def cell(values, digits: int = 1, unit: bool = True) -> str:
    """``"95.5 ± 0.4 %"`` over seeds (``"95.5 %"`` for one); without the unit for the
    narrow columns of tables whose header says "(%)". ``values``: a sample or the values."""
    values = values.values if isinstance(values, Sample) else tuple(values)
    text = Sample("", values).text(digits).replace(f" (n = {len(values)})", "")
    return text if unit else text.removesuffix(" %")


def not_comparable(result: dict) -> str | None:
    """Why a result is not the lecture's setting, or None when it is."""
    if result["profile"] != "full":
        return "quick profile"
    if result.get("data", {}).get("subset"):
        return f"offline MNIST subset ({result['data']['n_train']:,} training images)"
    return None


def prov_cells(results) -> list[str]:
    """``[profile, data, samples]`` cells for a table row, plus the seeds."""
    return provenance_cells(results[0]) + [", ".join(str(r["seed"]) for r in results)]


def prov(results, command: bool = False) -> str:
    return provenance_seeds(results, command)
