"""Progress of a long build: one line per trained run, and the time left.

``python -m nnbook reproduce`` (which ``make book`` and ``make full`` run first) trains
every run the book needs. A :class:`Tracker` hears of every result the build asks for
(:data:`nnbook.experiments.ON_RESULT`, from the cache or trained) and prints one line per
trained run with an estimate of the time left. The estimate comes from the *plan*
(``plan.json`` beside this file): every run a build of the profile needs, with the
seconds it took when a build from nothing was measured on the reference CPU, in each
precision. The plan's seconds are scaled by how fast this machine has been so far.

A build records the runs it asked for in ``reproduce-<profile>.json`` in the cache folder
(a test compares them with the plan, so the estimate cannot silently go stale);
``python -m nnbook reproduce --write-plan`` stores a build from nothing as the plan.
"""

from __future__ import annotations

import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

PLAN_FILE = Path(__file__).with_name("plan.json")

#: The speed estimate starts as if this many planned seconds had run at the plan's speed,
#: so that the first run (which also loads the data) does not swing it.
PRIOR = 60.0


def run_id(result: dict) -> str:
    """One run of a build: experiment, seed and the settings that differ from the
    profile's config (``mnist-cnn seed 1 arch=extra-pool``)."""
    from .registry import get

    base = get(result["experiment"]).config(result["profile"])
    changed = {k: v for k, v in sorted(result["config"].items())
               if k != "seed" and base.get(k) != v}
    return " ".join([result["experiment"], f"seed {result['seed']}", *_settings(changed)])


def _settings(changed: dict) -> list[str]:
    """``key=value`` words of a run id, values as compact JSON."""
    return [f"{k}={json.dumps(v, separators=(',', ':'))}" for k, v in changed.items()]


def parse_run_id(key: str) -> tuple[str, int, dict]:
    """Experiment, seed and changed settings of a :func:`run_id` (``ValueError`` if it is
    not one)."""
    name, sep, rest = key.partition(" seed ")
    seed, *settings = rest.split(" ")
    if not sep or any("=" not in s for s in settings):
        raise ValueError(f"not a run: {key!r}")
    return name, int(seed), {k: json.loads(v) for k, v in (s.split("=", 1) for s in settings)}


def by_group(plan: dict, profile: str) -> tuple[dict, dict]:
    """The plan's runs of ``profile`` in groups (an experiment with its changed settings,
    every seed together): ``({group: (experiment, settings, {mode: (seeds, seconds)})},
    {mode: (machine, date)})``, each run parsed by :func:`parse_run_id`."""
    groups: dict = {}
    measured: dict = {}
    for which, entry in sorted(plan.get(profile, {}).items()):
        measured[which] = (entry.get("machine", "?"), entry.get("date", "?")[:10])
        for key, seconds in entry.get("runs", {}).items():
            name, _, settings = parse_run_id(key)
            group = " ".join([name, *_settings(settings)])
            per_mode = groups.setdefault(group, (name, settings, {}))[2]
            n, total = per_mode.get(which, (0, 0.0))
            per_mode[which] = (n + 1, total + float(seconds))
    return groups, measured


def mode() -> str:
    """The plan's column for this machine's arithmetic: ``bf16`` where the CNNs train in
    bf16 (auto on a CPU with native bf16, or bf16 forced), else ``fp32``."""
    from .train import precision_key

    return "bf16" if precision_key().endswith("bf16") else "fp32"


def load_plan(path: Path = PLAN_FILE) -> dict:
    """The plan file (``{}`` if there is none or it cannot be read: no estimate, then)."""
    try:
        plan = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return plan if isinstance(plan, dict) else {}


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


class Tracker:
    """Counts the runs a build asks for; prints one line per trained run with the time
    left (``out``: where the lines go)."""

    def __init__(self, profile: str, plan: dict | None = None, out=None):
        self.profile, self.mode, self.out = profile, mode(), out or sys.stderr
        entry = (load_plan() if plan is None else plan).get(profile, {}).get(self.mode, {})
        self.plan = {k: float(v) for k, v in entry.get("runs", {}).items()}
        self.reference = entry.get("machine")
        self.runs: dict[str, float | None] = {}  # run -> seconds trained (None: cached)
        self.planned_done = self.actual_done = 0.0

    def __call__(self, result: dict) -> None:
        if result.get("profile") != self.profile:
            return
        key = run_id(result)
        if key in self.runs:
            return
        trained = not result.get("cached")
        self.runs[key] = float(result["seconds"]) if trained else None
        if not trained:
            return
        if key in self.plan:
            self.planned_done += self.plan[key]
            self.actual_done += float(result["seconds"])
        n = sum(v is not None for v in self.runs.values())
        left = f"; {self.left_text()}" if self.plan else ""  # no plan: said once, at start
        print(f"nnbook reproduce: trained {key} in {minutes(result['seconds'])} "
              f"(run {n}){left}", file=self.out, flush=True)

    def left(self) -> float | None:
        """Seconds left by the plan, scaled by this machine's speed so far; None without
        a plan for this profile and precision."""
        if not self.plan:
            return None
        speed = (self.actual_done + PRIOR) / (self.planned_done + PRIOR)
        return speed * sum(s for k, s in self.plan.items() if k not in self.runs)

    def left_text(self) -> str:
        left = self.left()
        if left is None:
            return (f"time left unknown (no plan for the {self.profile} profile in "
                    f"{self.mode}: python -m nnbook reproduce --write-plan)")
        todo = sum(k not in self.runs for k in self.plan)
        return f"about {minutes(left)} left ({todo} planned runs to go)"

    def start(self) -> None:
        """Mark the planned runs already in the cache as done and print the estimate."""
        from .errors import ConfigError
        from .experiments import run

        for key in self.plan:
            try:
                name, seed, overrides = parse_run_id(key)
                run(name, self.profile, seed, cache_only=True, **overrides)
            except (ConfigError, ValueError, KeyError):
                continue  # a stale plan entry: the test of the plan names it
        if not self.plan:
            print(f"nnbook reproduce: {self.profile} profile, {self.mode}: "
                  f"{self.left_text()}", file=self.out, flush=True)
            return
        cached = sum(k in self.runs for k in self.plan)
        where = f" (plan measured on {self.reference})" if self.reference else ""
        print(f"nnbook reproduce: {self.profile} profile, {self.mode}: {cached} of "
              f"{len(self.plan)} planned runs in the cache; {self.left_text()}{where}",
              file=self.out, flush=True)

    def record(self, folder: Path) -> Path:
        """Write the runs this build asked for to ``reproduce-<profile>.json``."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"reproduce-{self.profile}.json"
        path.write_text(json.dumps({"profile": self.profile, "mode": self.mode,
                                    "runs": dict(sorted(self.runs.items()))}, indent=1))
        return path

    def write_plan(self, path: Path = PLAN_FILE) -> None:
        """Store this build as the plan of its profile and precision; only a build from
        nothing knows every run's time."""
        from .errors import ConfigError

        cached = sorted(k for k, v in self.runs.items() if v is None)
        if cached:
            raise ConfigError(f"--write-plan needs a build from nothing, but {len(cached)} "
                              f"runs came from the cache (first: {cached[0]}); use an empty "
                              "NNBOOK_CACHE")
        plan = load_plan(path)
        plan.setdefault(self.profile, {})[self.mode] = {
            "machine": cpu_name(), "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "total_seconds": round(sum(self.runs.values()), 1),
            "runs": {k: round(v, 1) for k, v in sorted(self.runs.items())}}
        path.write_text(json.dumps(plan, indent=1, sort_keys=True) + "\n")


def cpu_name() -> str:
    """The CPU's model name, for the records of a measurement (plan, bands)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
