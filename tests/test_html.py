"""Checks of the built HTML book (run by `make html` after `make book`)."""

from pathlib import Path

import pytest
from booktoc import toc_files

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"


def test_book_was_built():
    assert (HTML / "index.html").is_file(), "run `make book` first"


def test_one_page_per_toc_entry():
    files = toc_files()
    assert len(files) >= 2
    pages = sorted(p.relative_to(HTML).with_suffix("").as_posix()
                   for p in (HTML / "book").rglob("*.html"))
    assert pages == sorted(files), f"pages {pages} differ from _toc.yml entries {files}"


def test_executed_chapters_have_outputs():
    """Every chapter with code cells shows at least one output (cells really ran)."""
    for f in toc_files():
        src = (ROOT / f).with_suffix(".md").read_text()
        if "{code-cell}" in src:
            html = (HTML / f).with_suffix(".html").read_text()
            assert "cell_output" in html, f"{f}: no cell output in the built page"
