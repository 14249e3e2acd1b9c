"""The lecture's claims against this build: one table, with provenance and verdicts.

:func:`collect` reads the cached results of the experiments behind every
claim of :mod:`nnbook.lecture` (it trains nothing unless ``train=True``) and
returns one row per claim: this build's value (mean ± spread over seeds where
several were run), profile, data source and sample counts, seeds, and a
verdict — *reproduced* (within the stated tolerance), *differs*, *not
comparable* (quick profile or a data subset: the number is shown but is not
the lecture's setting) or *not measured* (no cached result).

``python -m nnbook reproduce [--profile full]`` trains whatever the table
needs (every seed), so that the book's last chapter, "Reproducing the
lecture", can read it from the cache. Explained in that chapter.
"""

from __future__ import annotations

import statistics
import sys
from dataclasses import dataclass, field

from . import lecture
from .experiments import current_profile, run
from .report import fmt_pct, sample_counts

#: Seeds per experiment and profile: the noisy, cheap runs get several seeds in both
#: profiles; the CNNs get several in the full profile (minutes each on a CPU).
SEEDS = {
    "quick": {"mnist-mlp": [0, 1, 2], "mnist-cnn": [0], "fashion-cnn": [0]},
    "full": {"mnist-mlp": [0, 1, 2], "mnist-cnn": [0, 1, 2], "fashion-cnn": [0, 1, 2]},
}
#: Tolerances (absolute, accuracy as a fraction) for "reproduced".
TOL_ACC = 0.01
TOL_SHIFT = 0.03


@dataclass
class Claim:
    key: str                     # key into nnbook.lecture.CLAIMS
    experiment: str
    overrides: dict = field(default_factory=dict)
    metric: tuple = ()           # path into result["metrics"] (value claims)
    tol: float | None = None     # None: a qualitative claim, judged by `judge`
    judge: object = None         # results -> (value text, verdict, why)


def _get(d, path):
    for p in path:
        d = d[p]
    return d


# ----------------------------------------------------------------------------- judges

def _judge_depth(results):
    r = results[0]
    m, depths = r["metrics"], r["config"]["depths"]
    lo, hi = min(depths), max(depths)

    def loss(key):
        v = m[key]["train_loss"]
        return float("inf") if v is None else v

    plain = "plain-he" if f"plain-he-{lo}" in m else "plain"
    text = (f"final training loss, depth {lo} → {hi}: plain {loss(f'{plain}-{lo}'):.3f} → "
            f"{loss(f'{plain}-{hi}'):.3f}; residual {loss(f'residual-{lo}'):.3f} → "
            f"{loss(f'residual-{hi}'):.3f}")
    ok = (loss(f"{plain}-{hi}") > loss(f"{plain}-{lo}")
          and loss(f"residual-{hi}") < loss(f"{plain}-{hi}"))
    why = ("the deepest plain network fits its training data worse than the shallow one and "
           "than the residual network of the same depth" if ok else
           "the deepest plain network does not train worse than the residual one here")
    return text, "reproduced" if ok else "differs", why


def _judge_loss(results):
    m = results[0]["metrics"]
    a, b = m["mnist-nll"], m["mnist-normalised"]
    gap = abs(a["mean"] - b["mean"])
    band = max(TOL_ACC, 2 * max(a["std"], b["std"]))
    text = (f"MNIST test accuracy: NLL {fmt_pct(a['mean'])} ± {100 * a['std']:.1f}, normalised "
            f"{fmt_pct(b['mean'])} ± {100 * b['std']:.1f} ({a['n_seeds']} seeds each)")
    if gap <= band:
        return text, "reproduced", f"the gap ({100 * gap:.1f} points) is within {100 * band:.1f}"
    return text, "differs", f"the gap ({100 * gap:.1f} points) exceeds {100 * band:.1f}"


def _judge_overfit(results):
    r = results[0]
    gaps = {int(n): v["train_acc"] - v["test_acc"] for n, v in r["metrics"].items()}
    sizes = sorted(gaps, reverse=True)
    text = "; ".join(f"{n:,} images: gap {100 * gaps[n]:.1f} pts" for n in sizes)
    if len(sizes) < 2:
        return text, "not measured", "fewer than two training-set sizes fit the data here"
    ok = all(gaps[a] <= gaps[b] for a, b in zip(sizes, sizes[1:], strict=False))
    skipped = r.get("skipped_sizes") or []
    why = "the train-test gap grows as the training set shrinks" if ok else \
        "the train-test gap does not grow monotonically as the training set shrinks"
    if skipped:
        why += f" (sizes {', '.join(f'{s:,}' for s in skipped)} exceed the data available)"
    return text, "reproduced" if ok else "differs", why


def _judge_pooling(results):
    base, extra = results  # results of the two configurations, first seed each
    b, e = base["metrics"]["shift_acc"], extra["metrics"]["shift_acc"]
    text = "; ".join(f"{p} px: {fmt_pct(b[p]['mean'])} → {fmt_pct(e[p]['mean'])}"
                     for p in ("1", "2", "3"))
    ok = all(e[p]["mean"] > b[p]["mean"] for p in ("2", "3"))
    why = ("the variant with an extra pooling stage keeps more accuracy under 2- and 3-pixel "
           "shifts" if ok else "the extra pooling stage does not help under 2- and 3-pixel shifts")
    return text, "reproduced" if ok else "differs", why


def _shift(p):
    return ("shift_acc", str(p), "mean")


CLAIMS = [
    Claim("mnist-mlp-10", "mnist-mlp", {"hidden": 10}, ("test_acc",), TOL_ACC),
    Claim("mnist-mlp-32", "mnist-mlp", {"hidden": 32}, ("test_acc",), TOL_ACC),
    Claim("mnist-mlp-shift-1", "mnist-mlp", {"hidden": 32}, _shift(1), TOL_SHIFT),
    Claim("mnist-mlp-shift-2", "mnist-mlp", {"hidden": 32}, _shift(2), TOL_SHIFT),
    Claim("mnist-cnn", "mnist-cnn", {}, ("test_acc",), TOL_ACC),
    Claim("mnist-cnn-shift-1", "mnist-cnn", {}, _shift(1), TOL_SHIFT),
    Claim("mnist-cnn-shift-2", "mnist-cnn", {}, _shift(2), TOL_SHIFT),
    Claim("mnist-cnn-shift-3", "mnist-cnn", {}, _shift(3), TOL_SHIFT),
    Claim("fashion-cnn", "fashion-cnn", {}, ("test_acc",), TOL_ACC),
    Claim("fashion-cnn-shift-1", "fashion-cnn", {}, _shift(1), TOL_SHIFT),
    Claim("fashion-cnn-shift-2", "fashion-cnn", {}, _shift(2), TOL_SHIFT),
    Claim("fashion-cnn-shift-3", "fashion-cnn", {}, _shift(3), TOL_SHIFT),
    Claim("deeper-plain-worse", "depth", judge=_judge_depth),
    Claim("normalised-loss", "loss-compare", judge=_judge_loss),
    Claim("less-data-overfits", "mnist-overfit", judge=_judge_overfit),
    Claim("pooling-invariance", "mnist-cnn", judge=_judge_pooling),
]


def seeds_for(experiment: str, profile: str) -> list[int]:
    return SEEDS[profile].get(experiment, [0])


def _run(name: str, profile: str, seed: int, train: bool, **overrides):
    """One (cached) result; when training, say what runs and how long it took."""
    if not train:
        return run(name, profile, seed, cache_only=True, **overrides)
    settings = "".join(f" {k}={v}" for k, v in overrides.items())
    print(f"nnbook reproduce: {name}{settings} seed {seed} ({profile}) ...", end=" ",
          file=sys.stderr, flush=True)
    result = run(name, profile, seed, **overrides)
    print("cached" if result["cached"] else f"trained in {result['seconds']:.0f} s",
          file=sys.stderr, flush=True)
    return result


def _results(claim: Claim, profile: str, train: bool) -> list:
    if claim.key == "pooling-invariance":
        runs = [_run(claim.experiment, profile, 0, train, extra_pool=flag)
                for flag in (False, True)]
    else:
        runs = [_run(claim.experiment, profile, s, train, **claim.overrides)
                for s in seeds_for(claim.experiment, profile)]
    if claim.key == "pooling-invariance" and None in runs:
        return []  # needs both configurations
    return [r for r in runs if r is not None]  # the seeds that were run; the table lists them


def _comparable(result: dict) -> str | None:
    """Why a result is not the lecture's setting, or None when it is."""
    if result["profile"] != "full":
        return "quick profile (lecture scale is the full profile)"
    if result.get("data", {}).get("subset"):
        return (f"trained on the {result['data']['n_train']:,}-image offline MNIST subset, "
                "not the 60,000 images of the lecture")
    return None


def collect(profile: str | None = None, train: bool = False) -> list[dict]:
    """One row per lecture claim (see the module docstring)."""
    profile = current_profile(profile)
    rows = []
    for claim in CLAIMS:
        info = lecture.CLAIMS[claim.key]
        row = {"key": claim.key, "claim": info["what"], "lecture": info["value"],
               "profile": profile, "experiment": claim.experiment}
        results = _results(claim, profile, train)
        if not results:
            row.update(value=None, text="–", verdict="not measured",
                       why=f"no cached result: run `python -m nnbook reproduce --profile "
                           f"{profile}`")
            rows.append(row)
            continue
        first = results[0]
        d = first["data"]
        row.update(data=f"{d.get('label', '?')} ({d.get('source', '?')})",
                   samples="{:,} train / {:,} test".format(*sample_counts(first)),
                   seeds=sorted({r["seed"] for r in results}) if claim.tol else
                   first.get("seeds") or first["config"].get("seeds") or [first["seed"]],
                   epochs=first["config"].get("num_epochs"),
                   seconds=sum(r.get("seconds", 0) for r in results),
                   command=first["command"])
        if claim.tol is None:
            row["text"], verdict, why = claim.judge(results)
            row["value"] = None
        else:
            values = [_get(r["metrics"], claim.metric) for r in results]
            mean = statistics.fmean(values)
            spread = statistics.stdev(values) if len(values) > 1 else None
            row.update(value=mean, spread=spread, n_seeds=len(values))
            row["text"] = fmt_pct(mean, 2) + (f" ± {100 * spread:.2f}" if spread else "")
            diff = mean - info["value"]
            if abs(diff) <= claim.tol:
                verdict, why = "reproduced", f"within ±{100 * claim.tol:.0f} points"
            else:
                verdict, why = "differs", f"{100 * diff:+.2f} points"
        reason = _comparable(first)
        if reason and verdict != "not measured" and claim.tol is not None:
            verdict, why = "not comparable", f"{reason}; {why}"
        elif reason:
            why = f"{why}; {reason}"
        row.update(verdict=verdict, why=why)
        rows.append(row)
    return rows


HEADER = ["claim", "lecture", "this build", "verdict", "why", "profile", "data", "samples",
          "seeds", "epochs"]


def table_rows(rows: list[dict]) -> list[list]:
    out = []
    for r in rows:
        out.append([r["claim"], fmt_pct(r["lecture"], 2) if r["lecture"] else "qualitative",
                     r["text"], r["verdict"], r["why"], r["profile"], r.get("data", "–"),
                     r.get("samples", "–"), ", ".join(map(str, r.get("seeds", []))) or "–",
                     r.get("epochs") or "–"])
    return out


def parser():
    """The options of ``python -m nnbook reproduce`` (usage errors are one line)."""
    from .errors import OneLineParser

    p = OneLineParser(prog="nnbook reproduce",
                      description="train what the reproduction report needs (every seed) "
                                  "and print its table")
    p.add_argument("--profile", default=None, help="quick or full (default: $NNBOOK_PROFILE)")
    p.add_argument("--cached", action="store_true", help="train nothing; report the cache")
    return p


def main(argv: list[str] | None = None) -> int:
    """``python -m nnbook reproduce``; errors and Ctrl-C end in one line (``nnbook.__main__``)."""
    args = parser().parse_args(argv)
    current_profile(args.profile)  # a bad profile fails before anything trains
    try:
        rows = collect(args.profile, train=not args.cached)
    except KeyboardInterrupt:
        print(file=sys.stderr)  # end the progress line ("... seed 0 (quick) ...") first
        raise
    from .report import markdown_table

    print(markdown_table(HEADER, table_rows(rows)))
    return 0
