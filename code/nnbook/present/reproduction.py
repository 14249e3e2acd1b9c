"""The lecture's claims against this build: the rows of the reproduction report, and the
view of the chapter "Reproducing the lecture" (verdict counts, the claims tables and
where each number comes from).

Every row comes from the view that the chapter explaining the claim shows, so the
value, the rule and the verdict are the ones the chapter states: a value claim is
judged by :func:`nnbook.findings.lecture_value`, a qualitative claim is a
:class:`nnbook.findings.Finding` (``reproduced`` when it holds, ``differs`` when not).
Verdicts: *reproduced*, *differs*, *not comparable* (quick profile, or the offline
MNIST subset: the number is shown, not judged).

``python -m nnbook reproduce [--profile full]`` (:func:`main`) builds every view a claim
needs, training whatever is not in the cache (every seed), and prints the table; ``make
book`` runs it first, so the chapter "Reproducing the lecture" only reads the cache.
"""

from __future__ import annotations

import sys
import time

from .. import experiments, lecture, present, progress
from ..experiments import current_profile
from ..findings import Finding
from . import Table, View, register
from .report import fmt_pct, markdown_table, markdown_text, sample_counts

#: Which view judges each claim of :data:`nnbook.lecture.CLAIMS`.
CLAIM_VIEWS = {
    "mnist-mlp-10": "mnist-mlp", "mnist-mlp-32": "mnist-mlp", "mnist-mlp-shift-1": "mnist-mlp",
    "mnist-mlp-shift-2": "mnist-mlp",
    "mnist-cnn": "mnist-cnn", "mnist-cnn-shift-1": "mnist-cnn", "mnist-cnn-shift-2": "mnist-cnn",
    "mnist-cnn-shift-3": "mnist-cnn", "pooling-invariance": "mnist-cnn",
    "cnn-shift-robust": "mnist-cnn",
    "fashion-cnn": "fashion-cnn", "fashion-cnn-shift-1": "fashion-cnn",
    "fashion-cnn-shift-2": "fashion-cnn", "fashion-cnn-shift-3": "fashion-cnn",
    "larger-network": "fashion-cnn",
    "deeper-plain-worse": "depth", "normalised-loss": "loss-compare",
    "less-data-overfits": "mnist-overfit",
}
VERDICTS = ("reproduced", "differs", "not comparable")
HEADER = ["claim", "lecture", "this build", "verdict", "why", "profile", "data", "samples",
          "seeds", "epochs"]


def views(profile: str | None = None, progress: bool = False, seed_offset: int = 0) -> dict:
    """Every view a claim needs, built in ``profile`` (training what is not cached)."""
    out = {}
    for name in dict.fromkeys(CLAIM_VIEWS.values()):
        if progress:
            print(f"nnbook reproduce: {name} ...", file=sys.stderr, flush=True)
        out[name] = present.view(name, profile, seed_offset=seed_offset)
    return out


def collect(profile: str | None = None, built: dict | None = None,
            progress: bool = False, seed_offset: int = 0) -> list[dict]:
    """One row per lecture claim (see the module docstring)."""
    profile = current_profile(profile)
    built = built or views(profile, progress, seed_offset)
    rows = []
    for key, view_name in CLAIM_VIEWS.items():
        judgement, results = built[view_name].claims[key]
        first = results[0]
        d = first["data"]
        row = {"key": key, "claim": lecture.CLAIMS[key]["what"],
               "lecture": lecture.CLAIMS[key]["value"], "profile": profile,
               "experiment": first["experiment"], "view": view_name,
               "data": markdown_text(f"{d.get('label', '?')} ({d.get('source', '?')})"),
               "samples": "{:,} train / {:,} test".format(*sample_counts(first)),
               "seeds": sorted({r["seed"] for r in results}),
               "epochs": first["config"].get("num_epochs"),
               "seconds": sum(r.get("seconds", 0) for r in results),
               "command": first["command"]}
        if isinstance(judgement, Finding):
            row.update(text=judgement.evidence, value=None, range=None, low=None, high=None,
                       verdict="reproduced" if judgement.holds else "differs",
                       why=f"rule: {judgement.rule}", statement=judgement.statement)
        else:
            row.update(text=judgement.shown.text(2).replace(f" (n = {judgement.shown.n})", ""),
                       value=judgement.shown.mean, verdict=judgement.verdict,
                       range=f"{100 * judgement.sample.min:.1f}–{100 * judgement.sample.max:.1f} %",
                       why=judgement.why, repeat=judgement.repeat_pass,
                       low=judgement.sample.min, high=judgement.sample.max)
        rows.append(row)
    return rows


def table_rows(rows: list[dict]) -> list[list]:
    return [[r["claim"], fmt_pct(r["lecture"], 2) if r["lecture"] else "qualitative",
             r["text"], r["verdict"], r["why"], r["profile"], r["data"], r["samples"],
             ", ".join(map(str, r["seeds"])), r["epochs"] or "–"] for r in rows]


VALUE_HEADER = ["claim", "lecture", "this build (mean ± sd over seeds)",
                "range (seeds; shifts: × 4 directions)", "verdict", "why",
                "a repetition passes", "verdicts in the measured builds"]
QUALITATIVE_HEADER = ["claim", "verdict", "what was checked", "numbers",
                      "verdicts in the measured builds"]


def value_rows(rows: list[dict]) -> list[list]:
    """The rows of the value claims: lecture, this build, the range judged, verdict."""
    return [[r["claim"], fmt_pct(r["lecture"], 2), r["text"], r["range"], r["verdict"],
             r["why"], "–" if r.get("repeat") is None else f"{100 * r['repeat']:.0f} %",
             r.get("stability", "–")] for r in rows if r["lecture"] is not None]


def qualitative_rows(rows: list[dict]) -> list[list]:
    """The rows of the qualitative claims: the finding checked and its numbers."""
    return [[r["claim"], r["verdict"], r["statement"], r["text"], r.get("stability", "–")]
            for r in rows if r["lecture"] is None]



def reproduction_view(rows: list[dict]) -> View:
    """Numbers and tables of the reproduction report from its rows."""
    v = View("reproduction", rows[0]["profile"] if rows else current_profile())
    v.num("profile", v.profile, "text")
    v.num("n", len(rows), "count")
    for verdict in VERDICTS:
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
        VALUE_HEADER, value_rows(rows),
        "this build: mean ± standard deviation over the seeds (shifts: of the mean over the "
        "four directions); the verdict compares the lecture's value with the range, widened "
        "by 1 point")
    v.tables["qualitative"] = lambda: Table(
        QUALITATIVE_HEADER, qualitative_rows(rows),
        "each claim is a finding judged on at least three seeds by the rule above")
    v.tables["budget"] = lambda: budget_table("full")
    v.tables["provenance"] = lambda: Table(
        ["claim", "profile", "data", "samples", "seeds", "epochs", "regenerate with"],
        [[r["claim"], r["profile"], r["data"], r["samples"], ", ".join(map(str, r["seeds"])),
          r["epochs"] or "–", f"`{r['command']}`"] for r in rows])
    return v


def trains(config: dict) -> str:
    """What one run of ``config`` trains on, in words (images x epochs, or steps)."""
    epochs = config.get("num_epochs")
    per = f"{epochs} epoch{'s' if epochs != 1 else ''}"
    if "sizes" in config:
        return f"{' / '.join(f'{n:,}' for n in config['sizes'])} images, {per} each"
    if epochs is not None:
        n = config.get("n_train")
        return f"{'all' if n is None else f'{n:,}'} images, {per}"
    steps = config.get("steps") or max(config.get("snapshots") or [0])
    return f"{steps:,} full-batch steps" if steps else "evaluation only (trained networks)"


def budget_table(profile: str = "full", plan: dict | None = None) -> Table:
    """Every group of runs a build of ``profile`` trains, what it trains on, and its minutes
    in the plan (:mod:`nnbook.progress`; ``plan``: another) in each precision."""
    groups, measured = progress.by_group(progress.load_plan() if plan is None else plan,
                                         profile)
    modes = ("bf16", "fp32")
    rows, totals = [], dict.fromkeys(modes, 0.0)
    for group, (name, changed, per_mode) in sorted(groups.items()):
        config = dict(experiments.get(name).config(profile), **changed)
        seeds = max(n for n, _ in per_mode.values())
        cells = []
        for m in modes:
            if m in per_mode:
                totals[m] += per_mode[m][1]
                cells.append(f"{per_mode[m][1] / 60:.1f}")
            else:
                cells.append("–")
        rows.append([f"`{group}`", trains(config), seeds, *cells])
    rows.append(["all runs", "", sum(r[2] for r in rows),
                 *(f"{totals[m] / 60:.0f}" if m in measured else "not measured"
                   for m in modes)])
    where = "; ".join(f"{m}: {machine}, {date}" for m, (machine, date) in measured.items())
    return Table(["runs (experiment and changed settings)", "each run trains on", "seeds",
                  *(f"minutes ({m})" for m in modes)], rows,
                 f"the {profile} profile's runs, timed in a build from nothing with "
                 f"`python -m nnbook reproduce --write-plan` ({where or 'not measured yet'}); "
                 "bf16: the CNNs train in bfloat16, fp32: everything in float32; the "
                 "two-layer networks train in float32 in both")


def _stability(profile: str) -> dict:
    """Claim -> {verdict: number of builds} over the builds the tests' bands were measured
    from (:mod:`nnbook.bands`, written by ``python -m nnbook variation``)."""
    from .. import bands

    return bands.profile(profile).get("claims", {})


def reproduction(profile=None, seed_offset: int = 0) -> View:
    """The report's view, building every view a claim needs."""
    return reproduction_view(collect(profile, seed_offset=seed_offset))


register("reproduction", "reproduction:reproduction", chapter="reproduction")


# ----------------------------------------------------------------------------- the command

def parser():
    """The options of ``python -m nnbook reproduce`` (usage errors are one line)."""
    from ..errors import OneLineParser

    p = OneLineParser(prog="nnbook reproduce",
                      description="train what the reproduction report needs (every seed) "
                                  "and print its table")
    p.add_argument("--profile", default=None, help="quick or full (default: $NNBOOK_PROFILE)")
    p.add_argument("--write-plan", action="store_true",
                   help="store this build (from an empty cache) as the plan the time-left "
                        "estimate comes from (code/nnbook/plan.json)")
    return p


def main(argv: list[str] | None = None) -> int:
    """``python -m nnbook reproduce``; errors and Ctrl-C end in one line (``nnbook.__main__``)."""
    from ..errors import out

    args = parser().parse_args(argv)
    profile = current_profile(args.profile)  # a bad profile fails before anything trains
    tracker = progress.Tracker(profile)
    experiments.ON_RESULT.append(tracker)
    started = time.perf_counter()
    try:
        tracker.start()
        built = views(profile, progress=True)
        rows = collect(profile, built)
        for name in sorted(set(present.views()) - set(built) - {"reproduction"}):
            print(f"nnbook reproduce: {name} ...", file=sys.stderr, flush=True)  # the other
            present.view(name, profile)  # chapters' runs: the book build trains nothing
    finally:
        experiments.ON_RESULT.remove(tracker)
    trained = sum(s is not None for s in tracker.runs.values())
    print(f"nnbook reproduce: {len(tracker.runs)} runs, {trained} trained, "
          f"{len(tracker.runs) - trained} from the cache, in "
          f"{progress.minutes(time.perf_counter() - started)}", file=sys.stderr, flush=True)
    _record(tracker, args.write_plan)
    out(markdown_table(HEADER, table_rows(rows)))  # escaped for the terminal
    return 0


def _record(tracker, write_plan: bool) -> None:
    """The runs of this build beside the cache (the plan's test reads them); with
    ``write_plan``, this build becomes the plan."""
    from ..cache import Cache
    from ..errors import warn

    try:
        tracker.record(Cache().root)
    except OSError as exc:
        warn(f"cannot record this build's runs in the cache folder ({exc.strerror or exc})")
    if write_plan:
        tracker.write_plan()
        print(f"nnbook reproduce: plan written to {progress.PLAN_FILE}", file=sys.stderr)
