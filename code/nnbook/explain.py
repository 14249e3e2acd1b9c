"""Where a chapter's numbers come from, in one command: ``python -m nnbook view NAME``.

For one view (see :mod:`nnbook.present`) it prints every glued number (its glue key,
value, kind, the band the tests hold it to and the line of the package that declared
it), every finding (statement, verdict, rule, numbers, preconditions, and how often it
held in the builds the bands were measured from) and the lecture claims the view
judges. Without a name it prints the table of names: view (= glue prefix), chapter,
module and function. It builds the view as a chapter does, so what is not in the
result cache is trained first.
"""

from __future__ import annotations

import math

from . import bands as stored
from . import present
from .experiments import current_profile


def names() -> str:
    """One line per view: its name (the glue prefix), chapter, module and function."""
    views = present.views()
    rows = [("view (glue prefix)", "chapter", "code")] + [
        (name, f"book/{present.CHAPTERS[name]}.md", "present/{}.py:{}".format(
            *views[name].split(":"))) for name in sorted(views)]
    w0, w1 = (max(len(r[i]) for r in rows) for i in (0, 1))
    lines = [f"{a:<{w0}}  {b:<{w1}}  {c}" for a, b, c in rows]
    return "\n".join(lines)


def _value(number) -> str:
    value = number.value
    if isinstance(value, float):
        return "–" if not math.isfinite(value) else f"{value:.6g}"
    text = str(value)
    return repr(text if len(text) <= 70 else text[:67] + "...") if isinstance(value, str) \
        else text


def _band(entry: dict | None) -> str:
    if entry is None:
        return "NO BAND (measure it: python -m nnbook variation run --view ...)"
    band, kind = entry.get("band"), entry.get("kind")
    if band is None or kind == "text":
        return "not held"
    n = entry.get("measured", {}).get("n")
    builds = f" ({n} builds)" if n else ""
    if isinstance(band, list) and len(band) == 2:
        lo, hi = band
        if lo == hi:
            return (f"exactly {lo:g}" if isinstance(lo, float) else f"exactly {lo}") + builds
        return f"{lo:.6g} to {'any' if hi is None else format(hi, '.6g')}{builds}"
    return str(band) + builds


def findings(v: present.View, held: dict) -> list[str]:
    """Lines for every finding of ``v``: verdict, where declared, how often it held in the
    measured builds (``held``: glue key -> {held, of}), statement, rule, numbers and each
    precondition (a model that had to learn) with its own verdict."""
    out = []
    for name, f in v.findings.items():
        gk = v.glue_key(name)
        record = held.get(gk)
        tally = (f"held in {record['held']} of {record['of']} measured builds" if record
                 else "not measured")
        out += [f"  {gk}: {f.verdict.upper()}  [{v.sites.get('finding:' + name, '?')}; "
                f"{tally}]", f"    statement: {f.statement}", f"    rule: {f.rule}",
                f"    numbers: {f.evidence}"]
        for pname, pre in f.numbers.get("preconditions", {}).items():
            out.append(f"    precondition {pname}: {'holds' if pre['holds'] else 'FAILS'}")
    return out


def describe(name: str, profile: str | None = None) -> str:
    """The whole account of view ``name`` in ``profile`` (see the module docstring)."""
    profile = current_profile(profile)
    v = present.view(name, profile)  # an unknown name: present.view's one-line error
    measured = stored.profile(profile)
    held = measured.get("findings", {})
    band_of = measured.get("bands", {})
    experiments = sorted({r.get("experiment") for rs in v.results.values() for r in rs
                          if isinstance(r, dict) and r.get("experiment")})
    module, func = present.VIEWS[name].split(":")
    out = [f"view {name}: chapter book/{present.CHAPTERS[name]}.md, code "
           f"present/{module}.py:{func}, experiments {', '.join(experiments) or 'none'}",
           f"profile {profile}; bands from nnbook/{stored.FILE.name} (each with the number of "
           "builds it was measured in: python -m nnbook variation)", "",
           f"numbers ({len(v.numbers)}):"]
    for key, number in v.numbers.items():
        gk, sample = v.glue_key(key), v.samples.get(key)
        per_seed = f"mean of {sample.n} per-seed values; " if sample else ""
        out.append(f"  {gk} = {_value(number)}  [{per_seed}{number.kind}; band "
                   f"{_band(band_of.get(gk))}; {v.sites.get(key, '?')}]")
    out += ["", f"findings ({len(v.findings)}):", *findings(v, held)]
    if v.claims:
        out += ["", f"lecture claims judged here ({len(v.claims)}):"]
        for key, (judgement, _) in v.claims.items():
            verdict = getattr(judgement, "verdict", None)
            why = getattr(judgement, "why", None) or getattr(judgement, "evidence", "")
            out.append(f"  {key}: {verdict} ({why})")
    return "\n".join(out)
