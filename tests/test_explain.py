"""One name per view, and where its numbers come from (``python -m nnbook view``)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from nnbook import bands, explain, present
from nnbook.__main__ import main
from nnbook.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
CODE = ROOT / "code" / "nnbook"


def test_every_view_is_shown_by_the_chapter_the_table_names():
    """The one table of names (present.CHAPTERS) agrees with what the chapters build."""
    views = present.views()
    assert set(views) == set(present.CHAPTERS)
    built = {}
    for md in sorted((ROOT / "book").glob("*.md")):
        for name in re.findall(r'present\.view\("([a-z-]+)"', md.read_text()):
            built[name] = md.stem
    built["reproduction"] = "reproduction"  # built from the report's rows
    assert "reproduction.reproduction_view(" in (ROOT / "book" / "reproduction.md").read_text()
    assert built == present.CHAPTERS


def test_a_view_gluing_under_another_name_is_refused(monkeypatch):
    monkeypatch.setitem(present.VIEWS, "softmax-again", "classification:softmax")
    with pytest.raises(ConfigError, match="glue prefix must be its registered name"):
        present.view("softmax-again")


def test_nothing_is_bolted_onto_a_view():
    v = present.view("softmax")
    with pytest.raises(AttributeError):
        v.chart = lambda: None
    assert list(v.figures) == ["softmax"]
    with pytest.raises(ConfigError, match="has no figure 'chart': softmax"):
        v.figure("chart")


def _declared_where_it_says(name: str) -> None:
    v = present.view(name)
    assert set(v.sites) == set(v.numbers) | {f"finding:{n}" for n in v.findings}
    for key, site in v.sites.items():
        path, line = site.rsplit(":", 1)
        text = (CODE / path).read_text().splitlines()[int(line) - 1]
        assert re.search(r"\bv\.(num|add|sample)\(", text), (name, key, site, text)


def test_every_number_and_finding_names_the_line_that_declared_it():
    _declared_where_it_says("softmax")


@pytest.mark.book
@pytest.mark.parametrize("name", sorted(present.views()))
def test_every_views_numbers_name_their_declaring_line(name):
    """Every view (from the build's cache, which the book filled): each number and finding
    points at a line that declares it (``python -m nnbook view`` prints these)."""
    _declared_where_it_says(name)


def test_the_view_command_prints_numbers_bands_sites_and_findings(capsys):
    assert main(["view", "softmax"]) == 0
    out = capsys.readouterr().out
    v = present.view("softmax")
    measured = bands.profile("quick")
    for key in v.numbers:
        line = next(x for x in out.splitlines() if x.strip().startswith(f"softmax.{key} ="))
        assert v.sites[key] in line and f"[{v.numbers[key].kind}; band " in line
        assert "NO BAND" not in line, line
    for name, f in v.findings.items():
        assert f"softmax.{name}: {f.verdict.upper()}" in out
        assert f"rule: {f.rule}" in out
        tally = measured["findings"][f"softmax.{name}"]
        assert f"held in {tally['held']} of {tally['of']} measured builds" in out
    assert main(["view"]) == 0
    table = capsys.readouterr().out
    assert "mnist-cnn  book/cnn-mnist.md" in re.sub(r" +", "  ", table)


def test_the_view_command_says_what_is_wrong(capsys):
    assert main(["view", "no-such-view"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown view 'no-such-view'" in err and "mnist-cnn" in err


def test_preconditions_are_printed_with_their_verdict():
    """A finding made only about models that learned says whether they did."""
    from nnbook import findings as F

    v = present.View("mnist-cnn", "quick")
    ok = F.learned("the CNN", [0.95, 0.96, 0.97], "mnist")
    flat = F.learned("the GAP network", [0.25, 0.3, 0.27], "mnist")
    v.add(F.given(F.at_most("flat", "it loses at most 5 points", F.Sample("drop", (0.01,) * 3),
                            0.05), ok, flat))
    lines = explain.findings(v, {"mnist-cnn.flat": {"held": 3, "of": 4}})
    assert lines[0].startswith("  mnist-cnn.flat: DOES NOT HOLD  [")
    assert "held in 3 of 4 measured builds" in lines[0]
    assert "    precondition learned: the CNN: holds" in lines
    assert "    precondition learned: the GAP network: FAILS" in lines


def test_missing_or_broken_bands_are_one_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="no bands file at .*variation run"):
        bands.read(tmp_path / "none.json")
    broken = tmp_path / "bands.json"
    broken.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot be read"):
        bands.read(broken)


@pytest.mark.slow
def test_the_bands_travel_with_the_installed_package(tmp_path):
    """Not read from a source checkout: the wheel carries them (package data)."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src)
    shutil.copytree(ROOT / "code", src / "code",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path / "wheel"), str(src)], check=True)
    wheel = next((tmp_path / "wheel").glob("nnbook-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "nnbook/bands.json" in names and "nnbook/bands.py" in names
    assert zipfile.ZipFile(wheel).read("nnbook/bands.json") == bands.FILE.read_bytes()


def test_a_per_seed_quantity_is_declared_once():
    """``v.sample`` gives the glued mean (percent), its spread, the finding operand and the
    table cell from one declaration, and names the line that declared it."""
    from nnbook.present import View
    from nnbook.present.common import cell

    v = View("x", "quick")
    acc = v.sample("acc", "CNN", [0.9, 0.95, 1.0], sd=True)
    line = f"test_explain.py:{sys._getframe().f_lineno - 1}"
    assert v.numbers["acc"].value == pytest.approx(95.0) and v.numbers["acc"].kind == "percent"
    assert v.numbers["acc_sd"].value == pytest.approx(5.0) and v.numbers["acc_sd"].kind == "points"
    assert v.samples["acc"] is acc and acc.label == "CNN" and acc.n == 3
    assert v.sites["acc"].endswith(line) and v.sites["acc_sd"] == v.sites["acc"]
    assert cell(acc) == "95.0 ± 5.0 %"
    drop = v.sample("drop", "loss", [0.02, 0.04], kind="points")
    assert v.numbers["drop"].value == pytest.approx(3.0) and "drop_sd" not in v.numbers
    assert drop.text(1) == "3.0 ± 1.4 points (n = 2)"
    ratio = v.sample("ratio", "r", [2.0, 4.0], kind="positive", sd=True)
    assert v.numbers["ratio"].value == 3.0 and v.numbers["ratio_sd"].kind == "positive"
    assert not ratio.percent
