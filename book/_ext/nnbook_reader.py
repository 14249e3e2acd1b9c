"""Sphinx extension for the reader's side of the HTML book (loaded from ``_config.yml``).

It does three things:

1. **Math without a network.** MathJax 3.2.2 is copied from the pinned PyPI
   package ``django-static-mathjax`` (a plain copy of MathJax's ``es5`` build)
   into ``<build>/mathjax-extra/mathjax/`` and served through
   ``html_extra_path``, so every page loads ``mathjax/tex-mml-chtml.js`` from the
   book itself (``mathjax_path`` in ``_config.yml`` points there). Files are
   not put in a ``_static/`` folder: Jupyter Book injects every ``.js`` file it
   finds there into every page.
2. **No CDN script on any page.** sphinx-thebe, which Jupyter Book always
   loads, puts a constant naming thebe's CDN copy on every page; with the
   ``thebe`` launch button switched off that script is never needed, so it is
   dropped.
3. **How each chapter was computed.** Under a chapter's title the page says in
   which profile (``NNBOOK_PROFILE``, default ``quick``) its code ran and how
   long the execution took (myst-nb's execution data; on a cache hit, the time
   of the run that filled the cache). The notebook cache is kept per profile, so
   a full-profile build never reuses quick-profile outputs.
4. **Figures on the page.** An inherited ``MPLBACKEND=Agg`` would hide every
   figure (ipykernel keeps it), so the build drops it for the kernels.

The browser and HTML checks live in ``tests/test_browser.py`` and
``tests/test_reader.py``; the README's "Reading offline" section explains the
setup.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import datetime, timezone
from importlib.util import find_spec
from pathlib import Path

from docutils import nodes
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: The MathJax release the book is built and tested with (the browser test checks it).
MATHJAX_VERSION = "3.2.2"
#: Where MathJax lives in the built site, relative to the site root.
MATHJAX_DIR = "mathjax"
#: The parts of MathJax's es5 build a page can load: the combined component, the
#: TeX extensions loaded on demand, the CommonHTML fonts, the menu and accessibility.
MATHJAX_PARTS = ("tex-mml-chtml.js", "input", "output/chtml", "output/chtml.js", "a11y", "ui",
                 "sre", "LICENSE", "package.json")
DEFAULT_PROFILE = "quick"
STATIC = Path(__file__).parent / "static"


def profile() -> str:
    """The profile the chapters are executed in (the package reads the same variable)."""
    return os.environ.get("NNBOOK_PROFILE", "").strip() or DEFAULT_PROFILE


def mathjax_source() -> Path:
    """The root of the installed MathJax release (``.../mathjax/static/mathjax``)."""
    spec = find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise ExtensionError("MathJax is not installed: run `make setup` "
                             "(requirements.txt pins django-static-mathjax)")
    root = Path(list(spec.submodule_search_locations)[0]) / "static" / "mathjax"
    try:
        version = json.loads((root / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError) as err:
        raise ExtensionError(f"no MathJax release found under {root}: {err}") from err
    if version != MATHJAX_VERSION:
        raise ExtensionError(f"MathJax {version} is installed, the book needs {MATHJAX_VERSION}: "
                             "reinstall requirements.txt")
    return root


def stage_mathjax(build_dir: Path) -> Path:
    """Copy the needed part of MathJax to ``build_dir/mathjax-extra``; return that folder."""
    src = mathjax_source()
    extra = build_dir / "mathjax-extra"
    dest = extra / MATHJAX_DIR
    stamp = dest / ".nnbook-stamp"
    want = f"{MATHJAX_VERSION} {src}"
    if stamp.is_file() and stamp.read_text() == want:
        return extra
    if dest.exists():
        shutil.rmtree(dest)
    for part in MATHJAX_PARTS:
        # package.json and LICENSE sit next to es5/, everything else inside it
        origin = src / part if part in ("LICENSE", "package.json") else src / "es5" / part
        target = dest / part
        target.parent.mkdir(parents=True, exist_ok=True)
        if origin.is_dir():
            shutil.copytree(origin, target)
        else:
            shutil.copy2(origin, target)
    stamp.write_text(want)  # dot file: Sphinx does not copy it into the site
    return extra


def inline_figures() -> None:
    """Let the kernels show figures: ipykernel keeps any MPLBACKEND it inherits.

    With ``MPLBACKEND=Agg`` in the build's environment (handy for tests), the
    chapters' kernels draw every figure off-screen and the pages show none.
    """
    backend = os.environ.get("MPLBACKEND", "")
    if backend and "inline" not in backend:
        logger.info(f"nnbook_reader: ignoring MPLBACKEND={backend} so that figures show")
        del os.environ["MPLBACKEND"]


def on_config_inited(app, config) -> None:
    build_dir = Path(app.outdir).parent
    app.nnbook_build_started = time.time()
    inline_figures()
    # 1. MathJax from the book itself
    config.html_extra_path = [*config.html_extra_path, str(stage_mathjax(build_dir))]
    expected = f"../{MATHJAX_DIR}/tex-mml-chtml.js"
    if config.mathjax_path != expected:
        raise ExtensionError(f"mathjax_path is {config.mathjax_path!r}; set it to {expected!r} "
                             "in _config.yml (sphinx.config) to use the book's own MathJax")
    # 3. one notebook cache per profile and per version of the package's source: the
    #    notebook cache keys on a chapter's cells only, so without the source in its name an
    #    edit to a view or a figure would leave the chapters showing the old numbers (the
    #    results themselves come from nnbook's own cache, so re-executing is cheap)
    if not config.nb_execution_cache_path:
        config.nb_execution_cache_path = str(
            build_dir / f".jupyter_cache-{profile()}-{package_source_hash()}")
    config.html_static_path = [*config.html_static_path, str(STATIC)]


def package_source_hash() -> str:
    """12 hex digits of the SHA-256 of every source file of the nnbook package, the
    bands (code/nnbook/bands.json) and the run-time settings that change what a chapter shows."""
    import hashlib

    root = Path(__file__).resolve().parents[2]
    h = hashlib.sha256()
    for f in sorted((root / "code" / "nnbook").rglob("*.py")) + [root / "code" / "nnbook" /
                                                                 "bands.json"]:
        if f.is_file():
            h.update(f.relative_to(root).as_posix().encode())
            h.update(f.read_bytes())
    for var in ("NNBOOK_PRECISION", "NNBOOK_THREADS", "NNBOOK_DATA", "NNBOOK_DEVICE"):
        h.update(f"{var}={os.environ.get(var, '')}".encode())
    return h.hexdigest()[:12]


def thebe_enabled(app) -> bool:
    return bool(app.config.html_theme_options.get("launch_buttons", {}).get("thebe"))


def drop_thebe_scripts(app, pagename, templatename, context, doctree) -> None:
    """Remove sphinx-thebe's scripts (one names a CDN) when the thebe button is off."""
    files = context.get("script_files")
    if thebe_enabled(app) or not isinstance(files, list):
        return

    def is_thebe(js) -> bool:
        name = os.fspath(getattr(js, "filename", "") or "")
        body = getattr(js, "attributes", {}).get("body", "") or ""
        return name.endswith("sphinx-thebe.js") or "THEBE_JS_URL" in body

    files[:] = [js for js in files if not is_thebe(js)]  # in place: Sphinx restores it per page


def exec_data(env, docname: str) -> dict | None:
    return getattr(env, "nb_metadata", {}).get(docname, {}).get("exec_data")


#: What each precision setting of nnbook.train.precision_key means, in words.
ARITHMETIC = {
    "auto-bf16": "float32, the CNNs in bfloat16 mixed precision (this CPU has native bf16)",
    "auto-fp32": "float32 (this CPU has no native bf16)",
    "fp32": "float32 (NNBOOK_PRECISION=fp32)",
    "bf16": "bfloat16 mixed precision (NNBOOK_PRECISION=bf16)",
}


def arithmetic() -> str:
    """The arithmetic this build's networks train in, in words (the package decides)."""
    try:
        from nnbook.train import precision_key

        return ARITHMETIC[precision_key()]
    except Exception as exc:  # noqa: BLE001  (a wrong NNBOOK_PRECISION: the build says so)
        return f"unknown ({exc})"


def exec_info_text(data: dict, prof: str, started: float,
                   arith: str | None = None) -> list[nodes.Node]:
    """The sentence shown under a chapter's title."""
    runtime = data.get("runtime")
    took = f"{runtime:.1f} s" if isinstance(runtime, (int, float)) else "an unrecorded time"
    when = datetime.fromtimestamp(data.get("mtime") or started, tz=timezone.utc)
    reused = (data.get("mtime") or started) < started - 1
    parts: list[nodes.Node] = [
        nodes.Text("Computed in the "), nodes.strong(text=prof),
        nodes.Text(" profile: executing this page's code took "), nodes.strong(text=took),
        nodes.Text(f" (run {when:%Y-%m-%d %H:%M} UTC"),
    ]
    parts.append(nodes.Text(", reused from the execution cache)" if reused else ")"))
    if arith:
        parts += [nodes.Text("; arithmetic: "), nodes.strong(text=arith)]
    parts.append(nodes.Text("."))
    return parts


def add_exec_info(app, doctree, docname: str) -> None:
    """Insert the profile and execution time under the first title of an executed page."""
    if app.builder.format != "html":
        return
    data = exec_data(app.env, docname)
    if not data:
        return
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None or not section.children or not isinstance(section[0], nodes.title):
        return
    if not hasattr(app, "nnbook_arithmetic"):
        app.nnbook_arithmetic = arithmetic()
    para = nodes.paragraph("", "", *exec_info_text(data, profile(), app.nnbook_build_started,
                                                   app.nnbook_arithmetic))
    box = nodes.container("", para, classes=["nnbook-exec-info"])
    section.insert(1, box)


def setup(app):
    app.connect("config-inited", on_config_inited)
    app.connect("html-page-context", drop_thebe_scripts)
    app.connect("doctree-resolved", add_exec_info)
    app.add_css_file("nnbook-reader.css")
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
