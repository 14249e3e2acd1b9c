"""May a teacher reuse the book, and how do they cite it?

- LICENSE is the MIT licence that pyproject.toml declares for the code;
  LICENSE-CC-BY-4.0 is the licence of the text and figures, which the book's footer states;
- CITATION.cff is valid Citation File Format 1.2.0 (checked against the format's own
  JSON schema, ``tests/cff-schema-1.2.0.json``, from the cffconvert 2.0.0 wheel; CC BY 4.0
  by the CFF authors) and names the book as _config.yml does;
- the bibliography is labelled as the text cites: author-year
  (``book/_ext/nnbook_bibstyle.py``), never pybtex's alpha labels ("[Zei12]").
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def pyproject(key: str) -> str:
    """A top-level string of pyproject.toml's [project] table (tomllib is Python 3.11+)."""
    table = (ROOT / "pyproject.toml").read_text().split("[project]", 1)[1].split("\n[", 1)[0]
    return re.search(rf'^{key} = "([^"]*)"', table, re.M).group(1)


def test_licence_files_match_pyproject():
    assert pyproject("license") == "MIT"
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert "Permission is hereby granted, free of charge" in text
    cc = (ROOT / "LICENSE-CC-BY-4.0").read_text()
    assert cc.startswith("Creative Commons Attribution 4.0 International Public License")
    assert all(f"Section {n} --" in cc for n in range(1, 9)), "CC BY 4.0 legal code incomplete"


def test_footer_states_the_licences():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    footer = config["html"]["extra_footer"]
    assert "CC BY 4.0" in footer and "creativecommons.org/licenses/by/4.0" in footer
    assert "MIT" in footer and "CITATION.cff" in footer


def citation_problems(data: dict) -> list[str]:
    schema = json.loads((ROOT / "tests" / "cff-schema-1.2.0.json").read_text())
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    return [f"{'/'.join(map(str, e.path)) or '(top)'}: {e.message[:160]}"
            for e in validator.iter_errors(data)]


def test_citation_cff_is_valid():
    data = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert not citation_problems(data)
    assert data["cff-version"] == "1.2.0"
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert data["title"] == config["title"]
    assert data["repository-code"] == config["repository"]["url"]
    assert set(data["license"]) == {"MIT", "CC-BY-4.0"}
    assert data["version"] == pyproject("version")


@pytest.mark.parametrize("change", [
    {"cff-version": "1.2"},               # not a CFF version
    {"license": ["MIT", "CC-BY-4"]},      # not an SPDX identifier
    {"authors": []},                      # at least one author
    {"repository-code": "not a url"},
])
def test_citation_check_catches_mistakes(change):
    data = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    data.update(change)
    assert citation_problems(data), f"{change} passed the CFF 1.2.0 schema"


def bib_labels() -> dict[str, str]:
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    try:
        import nnbook_bibstyle
    finally:
        sys.path.pop(0)
    from pybtex.database import parse_file
    from pybtex.plugin import find_plugin

    db = parse_file(str(ROOT / "book" / "references.bib"))
    style = find_plugin("pybtex.style.formatting", nnbook_bibstyle.STYLE)()
    return {e.key: e.label for e in style.format_entries(db.entries.values())}


def test_bibliography_labels_are_author_year():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]
    assert config["bibtex_reference_style"] == "author_year"
    assert config["bibtex_default_style"] == "nnbook_author_year"
    labels = bib_labels()
    assert labels["zeiler2012adadelta"] == "Zeiler, 2012"
    assert labels["glorot2010understanding"] == "Glorot and Bengio, 2010"
    assert labels["he2016resnet"] == "He et al., 2016"
    shape = re.compile(r"^[A-Z][\w' -]+( and [A-Z][\w' -]+| et al\.)?, \d{4}[a-z]?$")
    bad = {k: v for k, v in labels.items() if not shape.match(v)}
    assert not bad, f"labels that are not author-year: {bad}"
    assert len(set(labels.values())) == len(labels), "two entries with one label"
