"""Progress of a long build (``nnbook.progress``): a line per trained run with the time
left, estimated from the plan; the plan is the build's real list of runs."""

import io
import json
import os

import pytest

from nnbook import experiments, progress
from nnbook.errors import ConfigError

PROFILE = os.environ.get("NNBOOK_PROFILE") or "quick"


def _result(name, seed, seconds, cached=False, **changed):
    config = dict(experiments.get(name).config("quick"), seed=seed, **changed)
    return {"experiment": name, "profile": "quick", "seed": seed, "config": config,
            "seconds": seconds, "cached": cached}


def test_a_run_is_named_by_experiment_seed_and_changed_settings():
    assert progress.run_id(_result("mnist-mlp", 3, 1.0)) == "mnist-mlp seed 3"
    assert progress.run_id(_result("mnist-cnn", 1, 1.0, arch="extra-pool")) == \
        'mnist-cnn seed 1 arch="extra-pool"'


def test_each_trained_run_prints_a_line_and_the_time_left_scales_with_this_machine():
    """Plan: three runs of 10, 20 and 30 min. The first takes 20 min here (twice the plan),
    so the 50 planned minutes left become about 100 (the speed starts from a prior of
    progress.PRIOR seconds at the plan's speed); a cached run counts as done, not trained."""
    plan = {"quick": {progress.mode(): {"machine": "ref", "runs": {
        "rings seed 0": 600.0, "rings seed 1": 1200.0, "rings seed 2": 1800.0}}}}
    out = io.StringIO()
    t = progress.Tracker("quick", plan=plan, out=out)
    assert t.left() == 3600.0
    t(_result("rings", 0, 1200.0))
    speed = (1200 + progress.PRIOR) / (600 + progress.PRIOR)
    assert t.left() == pytest.approx(3000 * speed) and 1.9 < speed < 2
    assert out.getvalue().splitlines() == [
        f"nnbook reproduce: trained rings seed 0 in 20.0 min (run 1); about "
        f"{3000 * speed / 60:.1f} min left (2 planned runs to go)"]
    t(_result("rings", 1, 0.0, cached=True))
    assert t.left() == pytest.approx(1800 * speed) and len(out.getvalue().splitlines()) == 1
    t(_result("rings", 0, 20.0))  # asked for again (another view): counted once
    t(dict(_result("rings", 2, 5.0), profile="full"))  # another profile's run: not this build
    assert len(t.runs) == 2 and len(out.getvalue().splitlines()) == 1
    assert t.left() == pytest.approx(1800 * speed)


def test_without_a_plan_the_start_says_once_that_the_time_left_is_unknown():
    out = io.StringIO()
    t = progress.Tracker("quick", plan={}, out=out)
    t.start()
    t(_result("rings", 0, 2.0))
    t(_result("rings", 1, 2.0))
    first, *runs = out.getvalue().splitlines()
    assert "time left unknown" in first and "--write-plan" in first
    assert runs == ["nnbook reproduce: trained rings seed 0 in 2 s (run 1)",
                    "nnbook reproduce: trained rings seed 1 in 2 s (run 2)"]


def test_start_counts_the_planned_runs_already_in_the_cache():
    experiments.run("rings", "quick", 0)
    plan = {"quick": {progress.mode(): {"runs": {"rings seed 0": 5.0, "rings seed 1": 7.0,
                                                 "rings seed 0 bogus=1": 1.0}}}}
    out = io.StringIO()
    t = progress.Tracker("quick", plan=plan, out=out)
    experiments.ON_RESULT.append(t)
    try:
        t.start()
    finally:
        experiments.ON_RESULT.remove(t)
    assert "1 of 3 planned runs in the cache" in out.getvalue()
    assert t.runs == {"rings seed 0": None}


def test_the_plan_is_written_only_from_a_build_from_nothing(tmp_path):
    t = progress.Tracker("quick", plan={}, out=io.StringIO())
    t(_result("rings", 0, 2.0))
    t(_result("rings", 1, 3.0))
    path = tmp_path / "plan.json"
    t.write_plan(path)
    entry = json.loads(path.read_text())["quick"][progress.mode()]
    assert entry["runs"] == {"rings seed 0": 2.0, "rings seed 1": 3.0}
    assert entry["total_seconds"] == 5.0
    t(_result("rings", 2, 0.0, cached=True))
    with pytest.raises(ConfigError, match="build from nothing"):
        t.write_plan(path)


@pytest.mark.book
def test_the_plan_lists_exactly_the_runs_the_build_asked_for():
    """The time-left estimate is only as good as the plan: the runs `reproduce` asked for
    in this build (recorded beside the cache) are the plan's runs for this profile and
    precision."""
    from nnbook.cache import Cache

    record = Cache().root / f"reproduce-{PROFILE}.json"
    assert record.is_file(), f"{record}: no record of the build's runs (run `make book`)"
    runs = set(json.loads(record.read_text())["runs"])
    plan = progress.load_plan().get(PROFILE, {})
    assert plan, (f"no plan for the {PROFILE} profile: NNBOOK_CACHE=<empty folder> "
                  "python -m nnbook reproduce --write-plan")
    for mode, entry in plan.items():
        planned = set(entry["runs"])
        assert planned == runs, (
            f"the {PROFILE} plan ({mode}) is stale: not planned {sorted(runs - planned)[:5]}, "
            f"no longer run {sorted(planned - runs)[:5]}; record it again from an empty "
            "cache: python -m nnbook reproduce --write-plan")


def test_a_run_id_parses_back_into_experiment_seed_and_settings():
    result = _result("mnist-cnn", 2, 1.0, arch="extra-pool", num_epochs=3)
    assert progress.parse_run_id(progress.run_id(result)) == (
        "mnist-cnn", 2, {"arch": "extra-pool", "num_epochs": 3})
    for bad in ("mnist-cnn", "mnist-cnn seed x", "mnist-cnn seed 1 arch"):
        with pytest.raises(ValueError):
            progress.parse_run_id(bad)


def test_the_budget_table_sums_each_group_of_runs_over_its_seeds():
    """Each group (experiment and changed settings) shows its seeds and minutes per
    precision; a precision without a plan says so, and the last row adds everything up."""
    from nnbook.present.reproduction import budget_table

    plan = {"full": {"bf16": {"machine": "CPU X", "date": "2026-12-04T00:00:00", "runs": {
        "mnist-cnn seed 0": 120.0, "mnist-cnn seed 1": 180.0,
        'mnist-cnn seed 0 arch="gap" num_epochs=3': 60.0}}}}
    groups, measured = progress.by_group(plan, "full")
    assert measured == {"bf16": ("CPU X", "2026-12-04")}
    assert groups["mnist-cnn"] == ("mnist-cnn", {}, {"bf16": (2, 300.0)})
    assert groups['mnist-cnn arch="gap" num_epochs=3'][1] == {"arch": "gap", "num_epochs": 3}
    table = budget_table("full", plan)
    rows = {r[0]: r for r in table.rows}
    assert rows["`mnist-cnn`"][1:] == ["all images, 14 epochs", 2, "5.0", "–"]
    assert rows['`mnist-cnn arch="gap" num_epochs=3`'][1:] == ["all images, 3 epochs", 1,
                                                                "1.0", "–"]
    assert rows["all runs"][2:] == [3, "6", "not measured"]
    assert "CPU X, 2026-12-04" in table.note


@pytest.mark.book
def test_the_chapters_train_nothing_that_reproduce_did_not():
    """`make book` runs `reproduce` first, which trains every run of every view, so the
    chapters only read the cache. A chapter cell that asks for anything else trains it
    while its page executes (in the full profile a 14-epoch network, outside the time-left
    estimate): no result of this profile in the build's cache may be newer than the record
    of the runs `reproduce` asked for."""
    from datetime import UTC, datetime, timedelta

    from nnbook.cache import Cache

    root = Cache().root
    record = root / f"reproduce-{PROFILE}.json"
    assert record.is_file(), f"{record}: no record of the build's runs (run `make book`)"
    written = datetime.fromtimestamp(record.stat().st_mtime, UTC) + timedelta(seconds=1)
    later = []
    for path in root.rglob("result.json"):
        try:
            result = json.loads(path.read_text())
            created = datetime.fromisoformat(result["created"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a result this test can read: the cache's own checks judge it
        if result.get("profile") == PROFILE and created > written:
            later.append(progress.run_id(result))
    assert not later, (f"trained after `reproduce` (by a chapter, in the {PROFILE} profile): "
                       f"{sorted(later)[:5]}; let the chapter read its view's results")
