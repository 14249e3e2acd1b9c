"""The view of the chapter "Reproducing the lecture": verdict counts, the claims table and
where each number comes from. The rows themselves come from :func:`nnbook.reproduce.collect`,
which reads the views of the chapters that explain the claims."""

from __future__ import annotations

from ..experiments import current_profile
from . import Table, View, register


def reproduction_view(rows: list[dict]) -> View:
    """Numbers and tables of the reproduction report from its rows."""
    from .. import reproduce

    v = View("report", rows[0]["profile"] if rows else current_profile())
    v.num("profile", v.profile, "text")
    v.num("n", len(rows), "count")
    for verdict in reproduce.VERDICTS:
        v.num(verdict.replace(" ", "_"), sum(r["verdict"] == verdict for r in rows), "count")
    body = reproduce.table_rows(rows)
    v.tables["claims"] = lambda: Table(reproduce.HEADER[:5], [r[:5] for r in body],
                                       "this build: mean ± standard deviation over the seeds "
                                       "(shifts: of the mean over the four directions)")
    v.tables["provenance"] = lambda: Table(
        ["claim", "profile", "data", "samples", "seeds", "epochs", "regenerate with"],
        [[r["claim"], r["profile"], r["data"], r["samples"], ", ".join(map(str, r["seeds"])),
          r["epochs"] or "–", f"`{r['command']}`"] for r in rows])
    v.rows = rows
    return v


def reproduction(profile=None, seed_offset: int = 0) -> View:
    """The report's view, building every view a claim needs."""
    from .. import reproduce

    return reproduction_view(reproduce.collect(profile, seed_offset=seed_offset))


register("reproduction", "reproduction:reproduction")
