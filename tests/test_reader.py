"""What a reader gets, checked without a browser (tests/test_browser.py opens the pages).

The configuration checks run with the unit tests; those marked ``book`` read
the built site (``_build/html``, or ``NNBOOK_HTML``) and run in ``make html``:
no page loads anything from a CDN, MathJax is the book's own copy, every
chapter has its Binder button and its ``.ipynb`` / ``.md`` downloads, and says
in which profile and how long it executed; the bibliography holds every
cited work.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
import yaml
from booktoc import toc_files
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parent.parent
HTML = Path(os.environ.get("NNBOOK_HTML", ROOT / "_build" / "html")).resolve()
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
NOT_PAGES = {"_static", "_sources", "_images", "mathjax", "reports", "_downloads"}
REQUIRED_REFERENCES = ["he2016resnet", "rumelhart1986backprop", "lecun1998gradient",
                       "xiao2017fashion"]
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.I)


def reader_extension():
    spec = importlib.util.spec_from_file_location(
        "nnbook_reader", ROOT / "book" / "_ext" / "nnbook_reader.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def is_notebook(docname: str) -> bool:
    head = (ROOT / docname).with_suffix(".md").read_text()[:2000]
    return head.startswith("---") and "kernelspec:" in head


def bib_keys() -> list[str]:
    return re.findall(r"^@\w+\{([^,\s]+),", (ROOT / "book" / "references.bib").read_text(),
                      re.M)


def cited_keys() -> dict[str, set[str]]:
    cited: dict[str, set[str]] = {}
    for f in toc_files():
        for group in CITE.findall((ROOT / f).with_suffix(".md").read_text()):
            for key in group.split(","):
                cited.setdefault(key.strip(), set()).add(f)
    return cited


# --- configuration (no build needed) ------------------------------------------------------

def test_repository_url_is_one_setting():
    url = CONFIG["repository"]["url"]
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url), url
    assert CONFIG["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert CONFIG["launch_buttons"]["notebook_interface"] == "jupyterlab"
    assert not CONFIG["launch_buttons"].get("thebe"), "thebe would load its code from a CDN"
    assert CONFIG["html"]["use_download_button"] is True
    assert "repository.url" in (ROOT / "README.md").read_text()


def test_binder_setup():
    binder = ROOT / "binder"
    pins = dict(re.findall(r"^(torch|torchvision)==(\S+)$",
                           (ROOT / "requirements.txt").read_text(), re.M))
    req = (binder / "requirements.txt").read_text()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in req
    for name, version in pins.items():  # the CPU builds of exactly the pinned versions
        assert re.search(rf"^{name}=={re.escape(version)}\+cpu$", req, re.M), name
    assert re.search(r"^-r \.\./requirements\.txt$", req, re.M), "binder must install nnbook"
    assert "-e ." in (ROOT / "requirements.txt").read_text()
    # no Debian package the Binder image may lack: the data come through the package
    assert not (binder / "apt.txt").exists()
    assert (binder / "runtime.txt").read_text().strip() == "python-3.11"
    post = binder / "postBuild"
    assert os.access(post, os.X_OK), "binder/postBuild must be executable"
    assert "jupytext-config set-default-viewer markdown" in post.read_text()
    assert "data.fashion_mnist" in post.read_text() and "|| echo \"warning:" in post.read_text()


def test_mathjax_is_pinned_and_installed():
    ext = reader_extension()
    assert CONFIG["sphinx"]["config"]["mathjax_path"] == f"../{ext.MATHJAX_DIR}/tex-mml-chtml.js"
    src = ext.mathjax_source()  # raises if missing or another version
    assert (src / "es5" / "tex-mml-chtml.js").is_file()
    assert (src / "es5" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()


def test_exec_info_sentence():
    ext = reader_extension()
    fresh = ext.exec_info_text({"runtime": 12.34, "mtime": 1_800_000_000}, "quick",
                               started=1_800_000_000 - 5)
    text = "".join(n.astext() for n in fresh)
    assert "quick profile" in text and "12.3 s" in text and "2027-01-15 08:00 UTC" in text
    assert "reused" not in text
    cached = ext.exec_info_text({"runtime": None, "mtime": 1_700_000_000}, "full",
                                started=1_800_000_000)
    text = "".join(n.astext() for n in cached)
    assert "full profile" in text and "unrecorded" in text and "reused" in text
    assert "arithmetic" not in text
    said = "".join(n.astext() for n in ext.exec_info_text(
        {"runtime": 1.0}, "quick", 0, ext.ARITHMETIC["auto-bf16"]))
    assert said.endswith("; arithmetic: float32, the CNNs in bfloat16 mixed precision (this "
                         "CPU has native bf16).")


def test_exec_info_names_this_builds_arithmetic(monkeypatch):
    from nnbook import train

    ext = reader_extension()
    monkeypatch.setenv("NNBOOK_PRECISION", "fp32")
    assert ext.arithmetic() == "float32 (NNBOOK_PRECISION=fp32)"
    monkeypatch.delenv("NNBOOK_PRECISION")
    native = train.bf16_supported(train.pick_device())
    assert ext.arithmetic() == ext.ARITHMETIC["auto-bf16" if native else "auto-fp32"]
    monkeypatch.setenv("NNBOOK_PRECISION", "fp16")
    assert ext.arithmetic().startswith("unknown (NNBOOK_PRECISION must be one of")


def test_every_cited_work_is_in_the_bibliography():
    keys = bib_keys()
    assert len(keys) == len(set(keys)), "duplicate keys in book/references.bib"
    missing = {k: sorted(f) for k, f in cited_keys().items() if k not in keys}
    assert not missing, f"cited but not in book/references.bib: {missing}"
    assert set(REQUIRED_REFERENCES) <= set(keys)


# --- the built site -----------------------------------------------------------------------

def built_pages() -> list[Path]:
    return sorted(p for p in HTML.rglob("*.html")
                  if not NOT_PAGES & set(p.relative_to(HTML).parts[:-1]))


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def local_target(page: Path, ref: str) -> Path:
    """The file a relative reference from ``page`` points to."""
    rel = urlsplit(urljoin(page.relative_to(HTML).as_posix(), ref)).path
    return HTML / unquote(rel)


@pytest.mark.book
def test_no_page_loads_from_a_cdn():
    pages = built_pages()
    assert pages, f"no built book in {HTML}: run `make book` first"
    bad = []
    for page in pages:
        doc = soup(page)
        name = page.relative_to(HTML).as_posix()
        for tag, attr in (("script", "src"), ("link", "href"), ("img", "src"),
                          ("iframe", "src"), ("source", "src"), ("video", "src"),
                          ("audio", "src"), ("embed", "src"), ("object", "data")):
            for el in doc.find_all(tag):
                ref = el.get(attr) or ""
                rel = " ".join(el.get("rel") or [])
                if tag == "link" and rel in ("canonical", "index", "search", "prev", "next"):
                    continue  # navigation, nothing is loaded
                if EXTERNAL.match(ref):
                    bad.append(f"{name}: <{tag} {attr}={ref}>")
                elif ref and not ref.startswith(("data:", "#")) and not \
                        local_target(page, ref).is_file():
                    bad.append(f"{name}: <{tag} {attr}={ref}> is missing from the site")
        for script in doc.find_all("script", src=False):
            for url in re.findall(r"https?://[^\s\"'<>]+", script.string or ""):
                bad.append(f"{name}: inline script names {url}")
    for css in (HTML / "_static").rglob("*.css"):
        for url in re.findall(r"url\(\s*['\"]?((?:https?:)?//[^)'\"]+)", css.read_text()):
            bad.append(f"{css.relative_to(HTML)}: url({url})")
    assert not bad, "\n".join(bad)


@pytest.mark.book
def test_math_pages_load_the_books_own_mathjax():
    ext = reader_extension()
    assert (HTML / ext.MATHJAX_DIR / "tex-mml-chtml.js").is_file()
    assert json.loads((HTML / ext.MATHJAX_DIR / "package.json").read_text())["version"] \
        == ext.MATHJAX_VERSION
    assert (HTML / ext.MATHJAX_DIR / "output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff") \
        .is_file()
    assert not (HTML / "_static" / "mathjax").exists(), "MathJax belongs outside _static/"
    for page in built_pages():
        doc = soup(page)
        scripts = [s["src"] for s in doc.find_all("script", src=True) if "mathjax" in s["src"]]
        if doc.select(".math"):
            assert len(scripts) == 1, f"{page.name}: MathJax scripts {scripts}"
            target = local_target(page, scripts[0]).resolve()
            assert target == (HTML / ext.MATHJAX_DIR / "tex-mml-chtml.js").resolve(), target


@pytest.mark.book
def test_chapters_offer_binder_and_downloads():
    owner_repo = urlsplit(CONFIG["repository"]["url"]).path.strip("/")
    branch = CONFIG["repository"]["branch"]
    notebooks = [f for f in toc_files() if is_notebook(f)]
    assert notebooks
    for f in notebooks:
        page = (HTML / f).with_suffix(".html")
        links = [a["href"] for a in soup(page).find_all("a", href=True)]
        binder = f"https://mybinder.org/v2/gh/{owner_repo}/{branch}?urlpath=lab/tree/{f}.md"
        assert binder in links, f"{f}: no Binder launch link {binder}"
        for suffix in (".ipynb", ".md"):
            href = next((h for h in links if h.endswith(f"_sources/{f}{suffix}")), None)
            assert href, f"{f}: no {suffix} download link"
            assert local_target(page, href).is_file(), f"{f}: {href} is not in the site"
        nb = json.loads((HTML / "_sources" / f"{f}.ipynb").read_text())
        assert nb["nbformat"] == 4 and nb["metadata"].get("kernelspec"), \
            f"{f}: the downloadable .ipynb is not a runnable notebook"
        assert any(c["cell_type"] == "code" for c in nb["cells"]), f"{f}: .ipynb without code"
        assert "copybutton.js" in page.read_text(), f"{f}: no copy buttons"


@pytest.mark.book
def test_chapters_say_profile_and_execution_time():
    for f in toc_files():
        if not is_notebook(f):
            continue
        doc = soup((HTML / f).with_suffix(".html"))
        h1 = doc.select_one("article h1")
        info = h1.find_next_sibling() if h1 else None
        assert info is not None and "nnbook-exec-info" in (info.get("class") or []), \
            f"{f}: the profile / execution-time line is not right under the title"
        text = info.get_text(" ", strip=True)
        assert re.search(r"Computed in the (quick|full) profile: executing this page's code "
                         r"took [\d.]+ s.*; arithmetic: (float32|bfloat16)", text), text


@pytest.mark.book
def test_figures_are_images_not_text():
    """A figure printed as ``<Figure size ...>`` means the kernel had no inline backend."""
    bad = [p.name for p in built_pages() if "&lt;Figure size" in p.read_text()]
    assert not bad, f"figures shown as text (MPLBACKEND?) on: {bad}"


@pytest.mark.book
def test_bibliography_lists_the_required_works():
    text = soup(HTML / "book" / "bibliography.html").get_text(" ", strip=True).lower()
    for title in ("Deep residual learning", "back-propagating errors",
                  "Gradient-based learning applied to document recognition", "Fashion-MNIST"):
        assert title.lower() in text, f"bibliography lacks {title!r}"
    for key, files in cited_keys().items():
        for f in files:
            cites = soup((HTML / f).with_suffix(".html")).select("span.bibtex-citation a[href]")
            assert cites, f"{f}: cites {key} but the page shows no citation link"
