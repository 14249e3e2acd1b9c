"""The rules that turn measured variation into the bands the tests hold numbers to."""

import json

import numpy as np
import pytest

from nnbook import findings as F
from nnbook import variation
from nnbook.errors import ConfigError


def _record(env, offset, numbers, findings=None):
    return {"view": "v", "glue": "v", "profile": "quick", "seed_offset": offset, "env": env,
            "cpu": "AVX512", "numbers": numbers, "findings": findings or {}, "claims": {},
            "data": {}}


def _write(folder, records):
    folder.mkdir()
    (folder / "m.jsonl").write_text("".join(json.dumps(r) + "\n"
                                            for r in records))


def test_counts_are_exact_for_the_books_seeds_and_record_other_seeds(tmp_path):
    num = lambda n, acc: {"reproduced": {"value": n, "kind": "count", "bound": None},  # noqa: E731
                          "seed": {"value": n, "kind": "config", "bound": None},
                          "acc": {"value": acc, "kind": "percent", "bound": None}}
    recs = [_record({"P": "fp32"}, 0, num(4, 99.0)), _record({"P": "auto"}, 0, num(4, 99.8)),
            _record({"P": "fp32"}, 10, num(5, 98.9))]
    _write(tmp_path / "in", recs)
    out = variation.bands(tmp_path / "in", "quick", target=tmp_path / "bands.json")
    assert out["bands"]["v.reproduced"]["band"] == [4, 4]
    assert out["bands"]["v.reproduced"]["measured"]["other_seeds"] == ["5"]
    lo, hi = out["bands"]["v.acc"]["band"]
    assert lo < 98.9 and hi == 100.0  # widened by half the range, never above 100 %


def test_a_count_that_differs_between_machines_has_no_band(tmp_path):
    num = lambda n: {"k": {"value": n, "kind": "count", "bound": None}}  # noqa: E731
    _write(tmp_path / "in", [_record({"P": "fp32"}, 0, num(3)), _record({"P": "auto"}, 0, num(4))])
    out = variation.bands(tmp_path / "in", "quick", target=tmp_path / "bands.json")
    assert out["bands"]["v.k"]["band"] == {"differs": ["3", "4"]}


def test_findings_are_counted_and_numpy_verdicts_are_plain_bools(tmp_path):
    f = F.Finding("x", "a statement", np.float64(2.0) > np.float64(1.0), "evidence", "rule")
    assert f.holds is True
    recs = [_record({}, off, {}, {"x": f.holds, "y": off == 0}) for off in (0, 10, 20)]
    _write(tmp_path / "in", recs)
    out = variation.bands(tmp_path / "in", "quick", target=tmp_path / "bands.json")
    assert out["findings"] == {"v.x": {"held": 3, "of": 3}, "v.y": {"held": 1, "of": 3}}


def test_widening_equals_measuring_everything_at_once(tmp_path):
    """Bands widened by a second machine's builds are the bands of all builds together;
    tallies add up; a count that changes is flagged; unmeasured numbers keep theirs."""
    num = lambda acc, loss, n: {  # noqa: E731
        "acc": {"value": acc, "kind": "percent", "bound": None},
        "loss": {"value": loss, "kind": "positive", "bound": None},
        "n": {"value": n, "kind": "count", "bound": None}}
    first = [_record({"P": "fp32"}, 0, num(97.1, 0.30, 4), {"f": True}),
             _record({"P": "auto"}, 10, num(97.6, 0.25, 4), {"f": True})]
    second = [_record({"P": "fp32", "cpu": "avx2"}, 0, num(98.4, 0.21, 4), {"f": False})]
    _write(tmp_path / "a", first)
    _write(tmp_path / "b", second)
    _write(tmp_path / "all", first + second)
    target = tmp_path / "bands.json"
    variation.bands(tmp_path / "a", "quick", target=target)
    doc = json.loads(target.read_text())
    doc["quick"]["bands"]["w.kept"] = {"kind": "percent", "band": [1, 2], "measured": {}}
    target.write_text(json.dumps(doc))
    widened = variation.widen(tmp_path / "b", "quick", target=target)
    together = variation.bands(tmp_path / "all", "quick", target=tmp_path / "together.json")
    for key in ("v.acc", "v.loss"):
        assert widened["bands"][key]["band"] == together["bands"][key]["band"]
        for stat in ("n", "min", "max", "mean", "sd"):
            assert widened["bands"][key]["measured"][stat] == \
                pytest.approx(together["bands"][key]["measured"][stat])
    assert widened["bands"]["v.acc"]["band"][1] > 98.4  # the new machine's value is inside
    assert widened["bands"]["v.n"]["band"] == [4, 4]
    assert widened["bands"]["w.kept"]["band"] == [1, 2]
    assert widened["findings"]["v.f"] == {"held": 2, "of": 3}
    assert widened["measured"]["builds"] == 3
    assert json.loads(target.read_text())["quick"] == widened
    _write(tmp_path / "c", [_record({}, 0, num(97.0, 0.3, 5))])
    assert "differs" in variation.widen(tmp_path / "c", "quick", target=target)[
        "bands"]["v.n"]["band"]


def test_remeasuring_one_view_replaces_only_its_bands_findings_and_claims(tmp_path):
    """`variation run --view` then `bands`: the re-measured view's entries are the new
    measurement's alone (a number that went away goes away), every other view keeps its
    bands, tallies and the original measurement record."""
    def rec(glue, offset, acc, gone=None, holds=True):
        numbers = {"acc": {"value": acc, "kind": "percent", "bound": None}}
        if gone is not None:
            numbers["gone"] = {"value": gone, "kind": "percent", "bound": None}
        return dict(_record({"P": "fp32"}, offset, numbers, {"f": holds}),
                    view=glue, glue=glue, claims={f"claim-{glue}": "reproduced"})

    target = tmp_path / "bands.json"
    _write(tmp_path / "all", [rec(g, off, 90.0 + off / 10, gone=50.0, holds=(g == "a"))
                              for g in ("a", "b") for off in (0, 10)])
    first = variation.bands(tmp_path / "all", "quick", target=target)
    _write(tmp_path / "b", [rec("b", off, 70.0 + off / 10) for off in (0, 10, 20)])
    merged = variation.bands(tmp_path / "b", "quick", target=target)
    assert merged["bands"]["a.acc"] == first["bands"]["a.acc"]
    assert merged["bands"]["a.gone"] == first["bands"]["a.gone"]
    assert "b.gone" not in merged["bands"]
    assert merged["bands"]["b.acc"]["measured"]["min"] == 70.0
    assert merged["findings"] == {"a.f": {"held": 2, "of": 2}, "b.f": {"held": 3, "of": 3}}
    assert merged["claims"]["claim-b"] == {"reproduced": 3}
    assert merged["claims"]["claim-a"] == {"reproduced": 2}
    assert merged["measured"]["date"] == first["measured"]["date"]
    assert [r["views"] for r in merged["measured"]["remeasured"]] == [["b"]]
    assert json.loads(target.read_text())["quick"] == merged


def test_each_view_is_judged_by_the_data_its_own_latest_measurement_read(tmp_path):
    """A view re-measured on new data (the full MNIST) records that data; a view not
    re-measured keeps the data of its own measurement; widening with builds on other data
    than a view's bands is refused."""
    def rec(view, offset, sha):
        acc = {"acc": {"value": 90.0, "kind": "percent", "bound": None}}
        return dict(_record({"P": "fp32"}, offset, acc), view=view, glue=view,
                    data={"mnist": sha} if sha else {})

    target = tmp_path / "bands.json"
    _write(tmp_path / "all", [rec("a", 0, "old"), rec("b", 0, "old"), rec("c", 0, None)])
    variation.bands(tmp_path / "all", "quick", target=target)
    _write(tmp_path / "b", [rec("b", 0, "new")])
    merged = variation.bands(tmp_path / "b", "quick", target=target)
    assert variation.data_of_views(merged["measured"], ["a", "b", "c"]) == {
        "a": {"mnist": "old"}, "b": {"mnist": "new"}, "c": {"mnist": "old"}}
    old_style = {"data": {"mnist": "old"}}  # written before the data was kept per view
    assert variation.data_of_views(old_style, ["c"]) == {"c": {"mnist": "old"}}
    _write(tmp_path / "a2", [rec("a", 10, "new")])
    with pytest.raises(ConfigError, match="a measured on other data"):
        variation.widen(tmp_path / "a2", "quick", target=target)


def test_an_interrupted_measurement_resumes_without_repeating_what_it_recorded(
        tmp_path, monkeypatch):
    built = []

    class FakeView:
        name, numbers, findings, claims, results = "g", {}, {}, {}, {}

    from nnbook import present
    monkeypatch.setattr(present, "view", lambda name, profile, seed_offset: built.append(
        (name, seed_offset)) or FakeView())
    out = tmp_path / "m.jsonl"
    variation.measure("quick", [0], out, ["x", "y"])
    out.write_text(out.read_text() + '{"view": "x", "seed_off')  # cut off mid-line
    variation.measure("quick", [0, 10], out, ["x", "y"])
    assert built == [("x", 0), ("y", 0), ("x", 10), ("y", 10)]
    assert [json.loads(line)["seed_offset"] for line in out.read_text().splitlines()] == \
        [0, 0, 10, 10]


def test_measurements_glued_under_another_name_are_refused(tmp_path):
    """Records written before a view's glue prefix became its name (cure.* for view
    shift-cure) would add stale keys beside the new ones: refused, naming the view."""
    num = {"acc": {"value": 95.0, "kind": "percent", "bound": None}}
    old = dict(_record({"P": "fp32"}, 0, num), view="shift-cure", glue="cure")
    _write(tmp_path / "in", [old, dict(_record({"P": "auto"}, 0, num))])
    with pytest.raises(ConfigError, match=r"shift-cure \(glued as cure\).*measure those"):
        variation.bands(tmp_path / "in", "quick", target=tmp_path / "bands.json")
