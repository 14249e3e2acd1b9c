"""The view of the chapter "Reproducing the lecture": verdict counts, the claims table and
where each number comes from. The rows themselves come from :func:`nnbook.reproduce.collect`,
which reads the views of the chapters that explain the claims."""

from __future__ import annotations

from ..experiments import current_profile
from . import Table, View, register


def reproduction_view(rows: list[dict]) -> View:
    """Numbers and tables of the reproduction report from its rows."""
    from .. import reproduce

    v = View("reproduction", rows[0]["profile"] if rows else current_profile())
    v.num("profile", v.profile, "text")
    v.num("n", len(rows), "count")
    for verdict in reproduce.VERDICTS:
        v.num(verdict.replace(" ", "_"), sum(r["verdict"] == verdict for r in rows), "count")
    stability = _stability(v.profile)
    for r in rows:
        counts = stability.get(r["key"], {})
        r["stability"] = (", ".join(f"{k} {n}" for k, n in sorted(counts.items()))
                          if counts else "not measured")
    unstable = [r["claim"] for r in rows if len(stability.get(r["key"], {})) > 1]
    v.num("unstable", "; ".join(unstable) if unstable else "none", "text")
    v.num("n_unstable", len(unstable), "text")
    v.tables["values"] = lambda: Table(
        reproduce.VALUE_HEADER, reproduce.value_rows(rows),
        "this build: mean ± standard deviation over the seeds (shifts: of the mean over the "
        "four directions); the verdict compares the lecture's value with the range, widened "
        "by 1 point")
    v.tables["qualitative"] = lambda: Table(
        reproduce.QUALITATIVE_HEADER, reproduce.qualitative_rows(rows),
        "each claim is a finding judged on at least three seeds by the rule above")
    v.tables["provenance"] = lambda: Table(
        ["claim", "profile", "data", "samples", "seeds", "epochs", "regenerate with"],
        [[r["claim"], r["profile"], r["data"], r["samples"], ", ".join(map(str, r["seeds"])),
          r["epochs"] or "–", f"`{r['command']}`"] for r in rows])
    return v


def _stability(profile: str) -> dict:
    """Claim -> {verdict: number of builds} over the builds the tests' bands were measured
    from (:mod:`nnbook.bands`, written by ``python -m nnbook variation``)."""
    from .. import bands

    return bands.profile(profile).get("claims", {})


def reproduction(profile=None, seed_offset: int = 0) -> View:
    """The report's view, building every view a claim needs."""
    from .. import reproduce

    return reproduction_view(reproduce.collect(profile, seed_offset=seed_offset))


register("reproduction", "reproduction:reproduction", chapter="reproduction")
