"""The book teaches: numbered figures with real alt text, key points and exercises with
solutions in every chapter, bookkeeping out of sight, teaching code in view.

The source checks run with the unit tests; those marked ``book`` read the built HTML.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from booktoc import toc_files
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
#: Chapters that teach (the front page, the build notes and the bibliography do not).
NOT_CHAPTERS = {"book/intro", "book/bibliography", "book/pipeline"}
CHAPTERS = [f for f in toc_files() if f not in NOT_CHAPTERS]
CELL = re.compile(r"```\{code-cell\}[^\n]*\n(.*?)```", re.S)
FILE_NAME = re.compile(r"^[\w./-]+\.(png|jpe?g|svg|gif)$|^[0-9a-f]{32,}", re.I)


def source(chapter: str) -> str:
    return (ROOT / chapter).with_suffix(".md").read_text()


def cells(chapter: str) -> list[tuple[list[str], str]]:
    """``(tags, code)`` of every code cell of a chapter."""
    out = []
    for body in CELL.findall(source(chapter)):
        tags: list[str] = []
        m = re.search(r"^:tags: \[([^\]]*)\]", body, re.M) or \
            re.search(r"^tags: \[([^\]]*)\]", body, re.M)
        if m:
            tags = [t.strip() for t in m.group(1).split(",")]
        code = re.sub(r"^---\n.*?\n---\n", "", body, flags=re.S)
        code = "\n".join(line for line in code.splitlines() if not line.startswith(":tags:"))
        out.append((tags, code.strip()))
    return out


def visible(chapter: str) -> list[str]:
    return [code for tags, code in cells(chapter)
            if not {"remove-cell", "remove-input", "hide-input", "hide-cell"} & set(tags)]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_has_key_points_and_three_exercises_with_solutions(chapter):
    text = source(chapter)
    assert "## Key points" in text, f"{chapter}: no key points"
    exercises = re.findall(r"```\{exercise\}", text)
    solutions = re.findall(r"```\{solution-start\} (\S+)", text)
    assert len(exercises) >= 3, f"{chapter}: {len(exercises)} exercises (at least 3)"
    labels = re.findall(r"```\{exercise\}[^\n]*\n:label: (\S+)", text)
    assert set(labels) <= set(solutions), f"{chapter}: exercises without a solution: " \
        f"{sorted(set(labels) - set(solutions))}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_bookkeeping_is_hidden(chapter):
    """No visible cell glues numbers, builds a table, states findings or draws a view's figure."""
    bookkeeping = re.compile(r"\bglue\(|glue_all|present\.check|\.table\(|report\.table|"
                             r"present\.view|\bprovenance\(|provenance_")
    shown = [code for code in visible(chapter) if bookkeeping.search(code)]
    assert not shown, f"{chapter}: visible bookkeeping cells: {shown}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_math_that_latex_can_set(chapter):
    """An operator such as \\max as a bare sub- or superscript (``\\lambda_\\max``) is fine in
    MathJax but stops the PDF's LaTeX run ("Missing { inserted"): it needs braces."""
    bare = re.findall(r"[_^]\\(?:max|min|log|exp|sup|inf|lim|det|arg|sin|cos)\b",
                      source(chapter))
    assert not bare, f"{chapter}: write {bare[0][0]}{{...}} with braces: {bare}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_glue_only_through_views(chapter):
    """A chapter glues with one call (``present.glue_all``), never number by number."""
    calls = [code for _, code in cells(chapter) if re.search(r"(?<![\w.])glue\(", code)]
    assert not calls, f"{chapter}: glue() called directly: {calls}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_figures_are_numbered_with_alt_text_in_the_source(chapter):
    blocks = re.findall(r"```\{code-cell\}[^\n]*\n(---\n.*?\n---\n)", source(chapter), re.S)
    for meta in blocks:
        if "figure:" in meta:
            assert "name: fig-" in meta and "caption:" in meta and "alt:" in meta, \
                f"{chapter}: a figure without name, caption or alt text: {meta}"


# ----------------------------------------------------------------------------- built HTML

@pytest.mark.book
@pytest.mark.parametrize("chapter", toc_files())
def test_every_image_has_real_alt_text(chapter):
    page = (HTML / chapter).with_suffix(".html")
    soup = BeautifulSoup(page.read_text(), "html.parser")
    bad = []
    for img in soup.select("article img"):
        if "_static/" in (img.get("src") or ""):
            continue  # the theme's icons (the Binder logo), not the book's figures
        alt = (img.get("alt") or "").strip()
        if len(alt.split()) < 3 or FILE_NAME.match(alt):
            bad.append(f"{img.get('src')}: alt={alt!r}")
    assert not bad, f"{chapter}: images without real alt text: {bad}"


@pytest.mark.book
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_figure_is_numbered_and_captioned(chapter):
    soup = BeautifulSoup((HTML / chapter).with_suffix(".html").read_text(), "html.parser")
    images = [i for i in soup.select("article img") if "_static/" not in (i.get("src") or "")]
    if not images:
        return
    for img in images:
        fig = img.find_parent("figure")
        assert fig is not None, f"{chapter}: an image outside a figure: {img.get('src')}"
        caption = fig.find("figcaption")
        assert caption is not None and caption.find(class_="caption-number"), \
            f"{chapter}: a figure without a numbered caption: {img.get('src')}"


@pytest.mark.book
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_visible_code_is_teaching_code(chapter):
    """In the HTML, no code cell shows bookkeeping (glue, views, tables, checks).

    `reproduction.collect()` is public API a reader may call (an exercise does); handing
    it the page's own built views (`built=`) is the hidden cell's bookkeeping.
    """
    soup = BeautifulSoup((HTML / chapter).with_suffix(".html").read_text(), "html.parser")
    shown = [c.get_text() for c in soup.select("div.cell div.cell_input")]
    bad = [c[:80] for c in shown
           if re.search(r"glue|present\.(view|check)|\.table\(|reproduction\.collect\(built", c)]
    assert not bad, f"{chapter}: bookkeeping visible in the HTML: {bad}"


@pytest.mark.book
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_solutions_are_behind_a_toggle(chapter):
    soup = BeautifulSoup((HTML / chapter).with_suffix(".html").read_text(), "html.parser")
    solutions = soup.select(".solution")
    assert len(solutions) >= 3, f"{chapter}: {len(solutions)} solutions in the HTML"
    assert all("dropdown" in s.get("class", []) for s in solutions), \
        f"{chapter}: a solution not behind a toggle"
