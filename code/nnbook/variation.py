"""How much the book's numbers move between runs: seeds, precisions, threads and CPUs.

The tests hold every number the prose glues in to a band (``nnbook/bands.json``, read
by :mod:`nnbook.bands`).
A band is not a guess around one build: this module *measures* each number
under every variation a reader's build can see, and widens the observed range
by half of itself on each side (never beyond the quantity's own range: no
accuracy above 100 %). The variations:

- **seeds**: every view is built from its usual seeds and from seeds moved by
  10 and by 20 (so three disjoint sets of seeds);
- **precision**: ``NNBOOK_PRECISION=fp32`` and, on a CPU with native bf16,
  ``auto`` (the CNNs then train in bf16);
- **CPU**: the native instruction set and, on an x86 CPU with AVX-512, an
  AVX2-only CPU emulated with ``ONEDNN_MAX_CPU_ISA=AVX2``,
  ``ATEN_CPU_CAPABILITY=avx2`` and ``MKL_ENABLE_INSTRUCTIONS=AVX2`` (what most
  laptops and CI runners have);
- **threads**: ``NNBOOK_THREADS=1`` and ``2``.

It also records, for every finding, whether it held in every variation: the
prose states only findings that did (``tests/test_findings.py`` checks it).

Usage::

    python -m nnbook variation run [--profile quick] [--out DIR]   # measure (long)
    python -m nnbook variation run --view NAME --out DIR            # one view only
    python -m nnbook variation bands DIR [--profile quick]          # write the bands

A run interrupted (a stop, a kill) resumes where it stopped when started again with
the same ``--out``. ``bands`` on the measurements of some views replaces only those
views' bands, findings and claims and keeps every other view's.

``run`` measures each environment in a subprocess (results are cached per
precision, CPU and thread setting, so a later book build reuses them) and
``bands`` merges the measurements into ``nnbook/bands.json``, recording
what was measured next to every band. Explained in the chapter "How this book
is built".
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from . import bands as bands_file
from .progress import cpu_name

SEED_OFFSETS = (0, 10, 20)
AVX2 = {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2",
        "MKL_ENABLE_INSTRUCTIONS": "AVX2"}
#: Half the observed range is added on each side; at least this much (per kind).
FLOOR = {"percent": 0.5, "points": 0.5, "signed": 0.0}
RANGE = {"percent": (0.0, 100.0), "points": (-100.0, 100.0)}
BANDS_FILE = bands_file.FILE


def environments() -> list[dict]:
    """The environments to measure on this machine: ``{"label", "env", "offsets"}``."""
    import torch

    from .train import bf16_supported

    envs = []
    bf16 = bf16_supported(torch.device("cpu"))
    for threads in ("2", "1"):
        offsets = SEED_OFFSETS if threads == "2" else SEED_OFFSETS[:1]
        envs.append({"label": f"native fp32, {threads} threads", "offsets": offsets,
                     "env": {"NNBOOK_PRECISION": "fp32", "NNBOOK_THREADS": threads}})
        if bf16:
            envs.append({"label": f"native auto (bf16 CNNs), {threads} threads",
                         "offsets": offsets,
                         "env": {"NNBOOK_PRECISION": "auto", "NNBOOK_THREADS": threads}})
    if platform.machine() in ("x86_64", "AMD64") and torch.backends.cpu.get_cpu_capability() \
            .startswith("AVX512"):
        envs.append({"label": "emulated AVX2 CPU (auto = fp32), 2 threads",
                     "offsets": SEED_OFFSETS,
                     "env": {"NNBOOK_PRECISION": "auto", "NNBOOK_THREADS": "2", **AVX2}})
    return envs


def measure(profile: str, offsets, out: Path, views=None) -> None:
    """Build every view for each seed offset in this process; append JSON lines to ``out``."""
    import torch

    from . import present

    names = sorted(present.views()) if views is None else views
    env = {k: os.environ.get(k) for k in ("NNBOOK_PRECISION", "NNBOOK_THREADS",
                                          *AVX2) if os.environ.get(k)}
    done, kept = set(), []
    if out.is_file():  # resume: what an interrupted measurement recorded stays
        for line in out.read_text().splitlines():
            try:
                r = json.loads(line)
                done.add((r["view"], r["seed_offset"], r["profile"]))
                kept.append(line + "\n")
            except (ValueError, KeyError, TypeError):
                continue  # a line cut off by the interruption: dropped, measured again
        out.write_text("".join(kept))
    for offset in offsets:
        for name in names:
            if (name, offset, profile) in done:
                print(f"nnbook variation: {name} offset {offset} {env} already measured in "
                      f"{out} (delete it to start over)", file=sys.stderr, flush=True)
                continue
            t0 = time.perf_counter()
            v = present.view(name, profile, seed_offset=offset)
            record = {"view": name, "glue": v.name, "profile": profile, "seed_offset": offset,
                      "env": env, "cpu": torch.backends.cpu.get_cpu_capability(),
                      "numbers": {k: {"value": n.value, "kind": n.kind, "bound": n.bound}
                                  for k, n in v.numbers.items()},
                      "findings": {k: f.holds for k, f in v.findings.items()},
                      "claims": {k: _verdict(j) for k, (j, _) in v.claims.items()},
                      "data": _data_signature(v),
                      "seconds": round(time.perf_counter() - t0, 1)}
            with open(out, "a") as f:
                f.write(json.dumps(record) + "\n")
            print(f"nnbook variation: {name} offset {offset} {env} "
                  f"({record['seconds']:.0f} s)", file=sys.stderr, flush=True)


def _verdict(judgement) -> str:
    """The report's verdict of a claim: a value claim's own, or a finding's."""
    if hasattr(judgement, "verdict") and not hasattr(judgement, "holds"):
        return judgement.verdict
    return "reproduced" if judgement.holds else "differs"


def _data_signature(v) -> dict:
    sig = {}
    for results in v.results.values():
        for r in results:
            d = r.get("data", {})
            if d.get("dataset"):
                sig[d["dataset"]] = d.get("sha256")
    return sig


def run(profile: str, out_dir: Path, views: list[str] | None = None) -> int:
    """Measure every environment of :func:`environments`, each in a subprocess; the views
    ``views`` (default: all). What an interrupted run recorded under ``out_dir`` is kept
    and not measured again."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if views:
        from . import present

        unknown = sorted(set(views) - set(present.views()))
        if unknown:
            from .errors import ConfigError

            raise ConfigError(f"variation run --view: no view {', '.join(unknown)} (choose "
                              f"from {', '.join(sorted(present.views()))})")
    for spec in environments():
        out = out_dir / (spec["label"].replace(" ", "_").replace(",", "").replace("(", "")
                         .replace(")", "").replace("=", "") + ".jsonl")
        env = dict(os.environ, **spec["env"], NNBOOK_PROGRESS="0")
        for key in AVX2:
            if key not in spec["env"]:
                env.pop(key, None)
        print(f"nnbook variation: measuring {spec['label']} ...", file=sys.stderr, flush=True)
        cmd = [sys.executable, "-m", "nnbook", "variation", "measure", "--profile", profile,
               "--out", str(out), "--offsets", ",".join(map(str, spec["offsets"]))]
        if views:
            cmd += ["--views", ",".join(views)]
        rc = subprocess.call(cmd, env=env)
        if rc:
            return rc
    return 0


def band(kind: str, values: list, bound=None):
    """The band of one number from its measured values (the rules above)."""
    if kind in ("text",):
        return None
    if kind in ("count", "config"):
        distinct = sorted({json.dumps(v) for v in values})
        return [values[0], values[0]] if len(distinct) == 1 else {"differs": distinct}
    if kind == "machine":
        return [0, None]
    if kind == "roundoff":
        return [0, bound]
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not finite:
        return None
    lo, hi = min(finite), max(finite)
    if kind == "positive":
        if lo <= 0:
            return [0, hi * 2]
        f = max(math.sqrt(hi / lo), 1.1)
        return [lo / f, hi * f]
    w = max((hi - lo) / 2, FLOOR.get(kind, 0.0))
    a, b = RANGE.get(kind, (-math.inf, math.inf))
    return [round(max(lo - w, a), 6), round(min(hi + w, b), 6)]


def _refuse_stale(records: list[dict], in_dir: Path) -> None:
    """A ConfigError for records measured before a view's glue prefix became its name."""
    from .errors import ConfigError

    stale = sorted({f"{r['view']} (glued as {r['glue']})" for r in records
                    if r["glue"] != r["view"]})
    if stale:
        raise ConfigError(f"{in_dir} holds measurements whose glue prefix is not the view's "
                          f"name: {', '.join(stale)}; measure those views again")


def bands(in_dir: Path, profile: str, target: Path = BANDS_FILE) -> dict:
    """Merge the measurements under ``in_dir`` into ``target`` (for ``profile``)."""
    from .errors import ConfigError

    if not in_dir.is_dir():
        raise ConfigError(f"variation bands {in_dir}: no such folder (measure first: python "
                          "-m nnbook variation run --out FOLDER)")
    records = [json.loads(line) for f in sorted(in_dir.glob("*.jsonl"))
               for line in f.read_text().splitlines() if line.strip()]
    records = [r for r in records if r["profile"] == profile]
    if not records:
        raise ConfigError(f"no {profile}-profile measurements under {in_dir}")
    _refuse_stale(records, in_dir)
    values: dict[str, list] = {}
    offsets: dict[str, list] = {}
    kinds: dict[str, tuple] = {}
    held: dict[str, list] = {}
    verdicts: dict[str, dict] = {}
    data: dict[str, str] = {}
    view_data: dict[str, dict] = {}
    for r in records:
        for key, n in r["numbers"].items():
            gk = f"{r['glue']}.{key}"
            values.setdefault(gk, []).append(n["value"])
            offsets.setdefault(gk, []).append(r["seed_offset"])
            kinds[gk] = (n["kind"], n.get("bound"))
        for key, ok in r["findings"].items():
            held.setdefault(f"{r['glue']}.{key}", []).append(ok)
        for key, verdict in r.get("claims", {}).items():
            counts = verdicts.setdefault(key, {})
            counts[verdict] = counts.get(verdict, 0) + 1
        data.update(r["data"])
        view_data.setdefault(r["view"], {}).update(r["data"])
    out = {}
    for gk, vals in sorted(values.items()):
        entry = _band_entry(*kinds[gk], vals, offsets[gk])
        if entry is not None:
            out[gk] = entry
    envs = sorted({json.dumps(r["env"], sort_keys=True) + " cpu=" + r["cpu"] for r in records})
    doc = json.loads(target.read_text()) if target.is_file() else {}
    doc = {k: v for k, v in doc.items() if k in ("quick", "full")}  # nothing older survives
    doc["rules"] = ("count and config: exactly equal in every measured build of the book's "
                    "own seeds (other seed sets' values recorded as other_seeds); percent, "
                    "points, signed: the measured range widened by half of itself on each "
                    "side (at least 0.5 points for percentages), clipped to the quantity's "
                    "range; positive: the range widened by the square root of its ratio (at "
                    "least 1.1x) on a log scale; "
                    "roundoff: between 0 and the bound the prose states; machine: any "
                    "positive value; text: not held")
    measured = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": cpu_name(), "environments": envs,
                "seed_offsets": sorted({r["seed_offset"] for r in records}),
                "builds": len({(json.dumps(r["env"], sort_keys=True), r["seed_offset"])
                               for r in records}),
                "data": data,
                # a view that reads no data set itself (the reproduction report, built from
                # the other views) is held to the data of its whole measurement
                "view_data": {v: d or dict(data) for v, d in sorted(view_data.items())}}
    new = {"measured": measured, "bands": out,
           "findings": {k: {"held": sum(v), "of": len(v)} for k, v in sorted(held.items())},
           "claims": dict(sorted(verdicts.items()))}
    glues = sorted({r["glue"] for r in records})
    old = doc.get(profile)
    if old and {k.split(".")[0] for k in old["bands"]} - set(glues):
        new = _merge_views(old, new, glues, sorted({r["view"] for r in records}))
    doc[profile] = new
    target.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    return doc[profile]


def _band_entry(kind: str, bound, vals: list, offsets: list) -> dict | None:
    """One glued number's band over its measured values, with what was measured (None for
    a number no band holds)."""
    other_seeds = None
    if kind in ("count", "config"):
        # exact across machines for the seeds the book runs; other seed sets may
        # give other counts (a seed shown, a verdict decided by noise): recorded
        base = [v for v, off in zip(vals, offsets, strict=True) if off == 0] or vals
        others = sorted({json.dumps(v) for v, off in zip(vals, offsets, strict=True)
                         if off != 0} - {json.dumps(v) for v in base})
        vals, other_seeds = base, others or None
    b = band(kind, vals, bound)
    if b is None and kind != "text":
        return None
    numeric = [float(v) for v in vals if isinstance(v, (int, float)) and v is not None
               and math.isfinite(float(v))]
    entry = {"kind": kind, "band": b, "measured": {
        "n": len(vals), "min": min(numeric) if numeric else None,
        "max": max(numeric) if numeric else None,
        "mean": statistics.fmean(numeric) if numeric else None,
        "sd": statistics.stdev(numeric) if len(numeric) > 1 else 0.0}}
    if other_seeds:
        entry["measured"]["other_seeds"] = other_seeds
    return entry


def _merge_views(old: dict, new: dict, glues: list, views: list) -> dict:
    """Some views re-measured: their bands, findings and claims replace the old ones (a
    view's entries are those under its glue prefix); every other view keeps what was
    measured before; the re-measure is recorded beside the original measurement."""
    def mine(key):
        return key.split(".")[0] in glues

    merged = {"measured": dict(old["measured"])}
    for part in ("bands", "findings"):
        merged[part] = dict(sorted({**{k: v for k, v in old[part].items() if not mine(k)},
                                    **new[part]}.items()))
    merged["claims"] = dict(sorted({**old["claims"], **new["claims"]}.items()))
    merged["measured"]["view_data"] = dict(sorted({
        **old["measured"].get("view_data", {}), **new["measured"]["view_data"]}.items()))
    merged["measured"]["remeasured"] = [
        r for r in old["measured"].get("remeasured", []) if set(r["views"]) - set(views)
    ] + [dict(new["measured"], views=views)]
    return merged


def data_of_views(measured: dict, views) -> dict:
    """The data (``{dataset: sha256}``) each view's bands were measured on: its latest
    measurement's, or the whole first measurement's for a view measured before bands
    recorded the data per view."""
    own = measured.get("view_data", {})
    return {v: own.get(v, measured["data"]) for v in views}


def widen(in_dir: Path, profile: str, target: Path = BANDS_FILE) -> dict:
    """Widen the ``profile`` bands in ``target`` by the measurements under ``in_dir``
    (builds on another kind of CPU, say), keeping everything measured before: each
    measured number's band follows the rules above from its recorded range joined
    with the new values (the rules depend on nothing else); counts and configs must
    still agree exactly; the findings' and claims' tallies add up; numbers not
    measured again keep their bands."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        new = bands(in_dir, profile, Path(tmp) / "bands.json")
    doc = json.loads(target.read_text())
    old = doc[profile]
    was = data_of_views(old["measured"], new["measured"]["view_data"])
    other = sorted(v for v, d in new["measured"]["view_data"].items() if was[v] != d)
    if other:
        from .errors import ConfigError

        raise ConfigError(f"variation widen: {', '.join(other)} measured on other data than "
                          "their bands; measure every build again (variation run, bands)")
    for gk, entry in new["bands"].items():
        before = old["bands"].get(gk)
        if before is None or before["kind"] in ("text", "machine", "roundoff"):
            old["bands"].setdefault(gk, entry)
            continue
        a, b = before["measured"], entry["measured"]
        if before["kind"] in ("count", "config"):
            if before["band"] != entry["band"]:
                before["band"] = {"differs": sorted({json.dumps(before["band"]),
                                                     json.dumps(entry["band"])})}
        elif a["min"] is not None and b["min"] is not None:
            before["band"] = band(before["kind"], [a["min"], a["max"], b["min"], b["max"]])
        if a["min"] is None or b["min"] is None:
            continue
        n = a["n"] + b["n"]
        mean = (a["n"] * a["mean"] + b["n"] * b["mean"]) / n
        squares = sum((m["n"] - 1) * m["sd"] ** 2 + m["n"] * m["mean"] ** 2 for m in (a, b))
        before["measured"] = dict(a, n=n, min=min(a["min"], b["min"]),
                                  max=max(a["max"], b["max"]), mean=mean,
                                  sd=math.sqrt(max(squares - n * mean ** 2, 0) / (n - 1)))
    for key, tally in new["findings"].items():
        t = old["findings"].setdefault(key, {"held": 0, "of": 0})
        t["held"], t["of"] = t["held"] + tally["held"], t["of"] + tally["of"]
    for key, counts in new["claims"].items():
        mine = old["claims"].setdefault(key, {})
        for verdict, count in counts.items():
            mine[verdict] = mine.get(verdict, 0) + count
    m, nm = old["measured"], new["measured"]
    m["widened"] = m.get("widened", []) + [{
        "date": nm["date"], "machine": nm["machine"], "environments": nm["environments"],
        "builds": nm["builds"], "views": sorted({k.split(".")[0] for k in new["bands"]})}]
    m["builds"] += nm["builds"]
    target.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    return old





def parser():
    """The options of ``python -m nnbook variation`` (usage errors are one line)."""
    from .errors import OneLineParser

    p = OneLineParser(prog="nnbook variation", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=OneLineParser)
    r = sub.add_parser("run", help="measure every environment (long: builds every view "
                                   "several times)")
    r.add_argument("--profile", default=None)
    r.add_argument("--out", default="_build/variation", help="folder for the measurements "
                   "(an interrupted run resumes from what it holds; delete it to start over)")
    r.add_argument("--view", action="append", default=None, metavar="NAME",
                   help="measure only this view (repeatable); `bands` then replaces only its "
                        "bands, findings and claims")
    m = sub.add_parser("measure", help="measure in this process's environment")
    m.add_argument("--profile", default=None)
    m.add_argument("--out", required=True)
    m.add_argument("--offsets", default="0,10,20")
    m.add_argument("--views", default=None, help="comma-separated view names (default: all)")
    b = sub.add_parser("bands", help="write the bands (nnbook/bands.json) from measurements")
    b.add_argument("folder")
    b.add_argument("--profile", default=None)
    b.add_argument("--widen", action="store_true",
                   help="widen the existing bands by these measurements instead of replacing "
                        "the profile's (another CPU, one view re-measured)")
    return p


def main(argv: list[str] | None = None) -> int:
    from .experiments import current_profile

    p = parser()
    args = p.parse_args(argv)
    profile = current_profile(args.profile)
    if args.cmd == "run":
        return run(profile, Path(args.out), args.view)
    if args.cmd == "measure":
        offsets = [int(x) for x in args.offsets.split(",") if x.strip()]
        measure(profile, offsets, Path(args.out),
                args.views.split(",") if args.views else None)
        return 0
    result = (widen if args.widen else bands)(Path(args.folder), profile)
    bad = {k: v["band"] for k, v in result["bands"].items() if isinstance(v["band"], dict)}
    weak = [k for k, v in result["findings"].items() if v["held"] != v["of"]]
    print(f"{len(result['bands'])} bands for the {profile} profile from "
          f"{result['measured']['builds']} builds written to {BANDS_FILE}")
    for k, v in bad.items():
        print(f"  count/config {k} differs between builds: {v}")
    for k, v in result["bands"].items():
        b, m = v["band"], v["measured"]
        if isinstance(b, list) and m["min"] is not None and (
                (b[0] is not None and m["min"] < b[0]) or (b[1] is not None and m["max"] > b[1])):
            bad[k] = b
            print(f"  {k}: measured {m['min']:g}-{m['max']:g} outside its own band {b}: "
                  f"is {v['kind']!r} the right kind?")
    for k in weak:
        print(f"  finding {k} held in {result['findings'][k]['held']} of "
              f"{result['findings'][k]['of']} builds: do not state it")
    return 1 if bad else 0
