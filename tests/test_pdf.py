"""The whole book as one PDF (`make pdf`, checked by `make pdf-check`, part of `make test`).

Reads ``_build/latex/nnbook.pdf`` with poppler-utils
(``make tex`` installs them): pdfinfo for the pages, pdftotext for the text (every
chapter numbered in the contents and present with its title, every glued number pasted,
the bibliography with author-year labels), pdffonts for the math fonts, pdfimages for
the figures (at least one image per figure the LaTeX builder wrote).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.pdf

ROOT = Path(__file__).resolve().parent.parent
LATEX = ROOT / "_build" / "latex"
PDF = LATEX / "nnbook.pdf"


def tool(name: str, *args: str) -> str:
    if shutil.which(name) is None:
        pytest.fail(f"{name} not found: run `make tex` (installs poppler-utils) as root")
    return subprocess.run([name, *args], check=True, capture_output=True, text=True,
                          timeout=120).stdout


@pytest.fixture(scope="module")
def pdf() -> Path:
    if not PDF.is_file():
        pytest.fail(f"no PDF at {PDF}: run `make pdf` first")
    return PDF


@pytest.fixture(scope="module")
def text(pdf) -> str:
    return tool("pdftotext", "-layout", str(pdf), "-")


def titles() -> list[tuple[str, str]]:
    """(chapter file, its title) of every numbered chapter, in the book's order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    names = [c["file"] for part in toc["parts"] if part.get("numbered")
             for c in part["chapters"]]
    out = []
    for name in names:
        md = (ROOT / f"{name}.md").read_text()
        out.append((name, re.search(r"^# (.+)$", md, re.M).group(1).strip()))
    return out


def squash(s: str) -> str:
    return re.sub(r"\s+", " ", s.replace("\u2010", "-").replace("ﬁ", "fi").replace("ﬂ", "fl"))


def test_pages(pdf):
    info = tool("pdfinfo", str(pdf))
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    chapters = len(titles())
    assert pages >= 3 * chapters, f"{pages} pages for {chapters} chapters"


def test_numbered_chapters_in_order(text):
    """The contents list every chapter with its number (1, 2, ...) in the book's order,
    and each chapter's title is in the body."""
    contents = squash(text.split("Bibliography")[0])
    body = squash(text)
    last = -1
    for n, (name, title) in enumerate(titles(), start=1):
        m = re.search(rf"\b{n} {re.escape(squash(title))}", contents)
        assert m, f"chapter {n} ({name}: {title!r}) is not numbered {n} in the contents"
        assert m.start() > last, f"chapter {n} ({title!r}) out of order"
        last = m.start()
        assert body.count(squash(title)) >= 2, f"{title!r}: in the contents only"


def test_glued_numbers_pasted(text):
    assert "glue:" not in text and "{glue" not in text, "a glue placeholder left in the PDF"


def test_math_typeset(pdf, text):
    fonts = tool("pdffonts", str(pdf))
    math = [f for f in ("CMMI", "CMSY", "CMEX", "LMMathItalic", "rsfs", "MSBM")
            if f.lower() in fonts.lower()]
    assert {"CMMI", "CMSY"} <= set(math) or "LMMathItalic" in math, \
        f"no math fonts embedded: {fonts[:2000]}"
    raw = [m for m in ("\\frac", "\\sum", "\\mathbb", "$$", "\\begin{") if m in text]
    assert not raw, f"TeX source left in the text (math not typeset): {raw}"


def test_figures(pdf):
    """Every figure the LaTeX writer placed is in the PDF, and it placed every figure the
    HTML book shows (when the HTML is built: `make test` builds it first)."""
    tex = (LATEX / "nnbook.tex").read_text(encoding="utf-8")
    placed = re.findall(r"\\sphinxincludegraphics(?:\[[^\]]*\])?\{\{([^}]+)\}", tex)
    missing = [n for n in placed if not list(LATEX.glob(f"{n}.*"))]
    assert not missing, f"figures the LaTeX file names but the build did not write: {missing}"
    listed = tool("pdfimages", "-list", str(pdf)).splitlines()[2:]
    images = [ln for ln in listed if ln.split()[2] == "image"]
    assert len(placed) >= 20, f"only {len(placed)} figures placed in the LaTeX file"
    assert len(images) >= len(placed), f"{len(images)} images in the PDF for {len(placed)} figures"
    html = ROOT / "_build" / "html" / "book"
    if html.is_dir():
        shown = sum(len(re.findall(r'<img[^>]+src="[^"]*_images/', p.read_text(encoding="utf-8")))
                    for p in html.glob("*.html"))
        assert len(placed) == shown, f"the HTML shows {shown} figures, the PDF {len(placed)}"


def test_bibliography(text):
    """The list is labelled author-year, as the text cites: "[Zeiler, 2012] Matthew D.
    Zeiler. ADADELTA ...", cited as "[Zeiler, 2012]" in the chapters."""
    body = squash(text)
    for label, first_author in (("Zeiler, 2012", "Matthew D. Zeiler"),
                                ("He et al., 2016", "Kaiming He"),
                                ("Glorot and Bengio, 2010", "Xavier Glorot")):
        assert re.search(rf"\[{re.escape(label)}\] {re.escape(first_author)}", body), \
            f"no bibliography entry labelled [{label}]"
        assert body.count(f"[{label}]") >= 2, f"[{label}] is never cited in the text"
    alpha = re.findall(r"\[[A-Z][A-Za-z+]{1,5}\d\d\]", body)
    assert not alpha, f"alpha labels left: {alpha[:5]}"
