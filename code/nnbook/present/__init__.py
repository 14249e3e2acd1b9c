"""What the chapters show about each experiment: one place per experiment.

A *view* turns the results of one experiment (every seed the profile runs, and
the results it is compared with) into everything a chapter shows about it:

- **numbers** the prose glues in (:class:`Number`, each with a *kind* that says
  how the tests hold it: an exact count, a percentage inside a band measured
  over seeds, precisions and threads, a machine-dependent time, ...);
- **tables** (:class:`Table`, with the provenance of every result they show);
- **findings** (:class:`nnbook.findings.Finding`): every statement the prose
  makes about the measurements, each with its rule and verdict;
- **figures**, drawn by :mod:`nnbook.plots` from the view's data.

A chapter builds a view, glues all its numbers with one call, shows its tables
and figures, and *states* the findings its prose relies on::

    v = present.view("mnist-cnn")
    present.glue_all(v)              # {glue:text}`mnist-cnn.acc:.1f` in the prose
    v.table("lecture")               # a Markdown table with provenance
    present.check(v, "shift-robust") # the checked statement, and its verdict

The reproduction report (:mod:`.reproduction`) reads the same views, so a
claim has one value, one rule and one verdict everywhere. After a build, the
tests hold every glued number to its kind (``nnbook/bands.json``, measured
by ``python -m nnbook variation``) and require every stated finding to hold.

One module per part of the book: :mod:`.networks` (neural networks,
backpropagation, ResNet), :mod:`.classification` (softmax and NLL, two rings,
MNIST with MLPs), :mod:`.convolution` (image convolution, CNN architecture)
and :mod:`.cnn` (CNNs on MNIST and Fashion-MNIST, curing shift sensitivity,
the shift study). Explained in the chapter "How this book is built".
"""

from __future__ import annotations

import functools
import importlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import ConfigError
from ..findings import Finding, Sample

#: How the tests hold a glued number (see :mod:`nnbook.bands` and ``tests/test_glued_numbers.py``).
KINDS = {
    "count": "an integer fixed by the data and config: exactly equal",
    "config": "a configuration value: exactly equal",
    "percent": "a percentage in [0, 100]: inside the band measured over seeds, precisions, "
               "threads and CPUs, clipped to [0, 100]",
    "points": "a difference of percentages, in [-100, 100]: inside its measured band",
    "positive": "a positive quantity (a loss, a ratio of norms): inside its measured band, "
                "on a log scale",
    "signed": "a real number: inside its measured band",
    "roundoff": "a rounding error: between 0 and the bound the prose states",
    "machine": "a time or a speed of this machine: any positive value",
    "text": "words made from the data (a label, a class name): not held to a band",
}


@dataclass(frozen=True)
class Number:
    """A number (or short text) the prose glues in, with how the tests hold it."""

    value: object
    kind: str
    bound: float | None = None   # for kind "roundoff": the largest value the prose allows

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ConfigError(f"unknown number kind {self.kind!r}: one of {', '.join(KINDS)}")


@dataclass
class Table:
    """A table for a chapter: header, rows, a note, and the results it shows (whose
    provenance lines go under it)."""

    header: list
    rows: list
    note: str | None = None
    results: list = field(default_factory=list)

    def markdown(self) -> str:
        from .report import markdown_table

        return markdown_table(self.header, self.rows)

    def _ipython_display_(self):
        from IPython.display import display

        from .report import table

        display(table(self.header, self.rows, self.note, results=self.results))


class View:
    """Numbers, tables, findings and figures of one experiment (see the module docstring).

    Everything a chapter uses is declared in one of the dictionaries below; the class
    takes no other attributes (``__slots__``), so nothing is bolted on from outside.

    ``name``, the view's registered name, prefixes the glue keys: number ``acc`` of view
    ``mnist-cnn`` is glued as ``mnist-cnn.acc``.
    """

    __slots__ = ("name", "profile", "numbers", "samples", "tables", "figures", "findings",
                 "claims", "results", "sites")

    def __init__(self, name: str, profile: str):
        self.name, self.profile = name, profile
        self.numbers: dict[str, Number] = {}
        #: per-seed quantities (:meth:`sample`): each glued as its mean (and spread)
        self.samples: dict[str, Sample] = {}
        self.tables: dict[str, Callable[[], Table]] = {}
        #: figure name -> a function drawing it (some take arguments: a layer's name)
        self.figures: dict[str, Callable] = {}
        self.findings: dict[str, Finding] = {}
        #: lecture claim key (nnbook.lecture.CLAIMS) -> (ValueClaim or Finding, results):
        #: what the reproduction report shows for that claim
        self.claims: dict[str, tuple] = {}
        self.results: dict[str, list] = {}
        #: number key, or "finding:<name>" -> the "present/<module>.py:<line>" declaring it
        self.sites: dict[str, str] = {}

    # -- building a view
    def num(self, key: str, value, kind: str, bound: float | None = None):
        """Add a number; percentages are given as fractions and stored as percent."""
        return self._put(key, value, kind, bound, _site())

    def _put(self, key: str, value, kind: str, bound, site: str):
        if hasattr(value, "item") and not isinstance(value, str):  # numpy / torch scalars
            value = value.item()
        if kind in ("percent", "points") and value is not None:
            value = 100 * value
        self.numbers[key] = Number(value, kind, bound)
        self.sites[key] = site
        return value

    def sample(self, key: str, label: str, values, kind: str = "percent",
               sd: bool = False) -> Sample:
        """Declare a quantity measured once per seed, once: number ``key`` is its mean over
        the seeds (of ``kind``; percentages given as fractions), ``key_sd`` its standard
        deviation when ``sd``. The :class:`~nnbook.findings.Sample` returned is the operand
        of findings, and :func:`.common.cell` makes it a table cell."""
        share = kind in ("percent", "points")
        s = Sample(label, tuple(values), percent=share, unit="points" if kind == "points" else "")
        self.samples[key] = s
        site = _site()
        self._put(key, s.mean, kind, None, site)
        if sd:
            self._put(f"{key}_sd", s.sd, "points" if share else kind, None, site)
        return s

    def claim(self, key: str, judgement, results: list) -> None:
        """Record this view's verdict on lecture claim ``key`` and the results behind it."""
        self.claims[key] = (judgement, results)

    def add(self, finding: Finding) -> Finding:
        if finding.name in self.findings:
            raise ConfigError(f"view {self.name}: two findings named {finding.name!r}")
        self.findings[finding.name] = finding
        self.sites[f"finding:{finding.name}"] = _site()
        return finding

    # -- using it
    def glue_key(self, key: str) -> str:
        return f"{self.name}.{key}"

    def table(self, name: str) -> Table:
        if name not in self.tables:
            raise ConfigError(f"view {self.name} has no table {name!r}: "
                              f"{', '.join(self.tables)}")
        return self.tables[name]()

    def figure(self, name: str, *args):
        """Draw figure ``name`` (a matplotlib figure; ``args`` for those that take some)."""
        if name not in self.figures:
            raise ConfigError(f"view {self.name} has no figure {name!r}: "
                              f"{', '.join(self.figures)}")
        return self.figures[name](*args)

    def finding(self, name: str) -> Finding:
        if name not in self.findings:
            raise ConfigError(f"view {self.name} has no finding {name!r}: "
                              f"{', '.join(self.findings)}")
        return self.findings[name]


def _site() -> str:
    """Where in this package the caller of the caller stands: ``present/cnn.py:142``."""
    import sys

    frame = sys._getframe(2)
    return f"{_in_package(frame.f_code.co_filename)}:{frame.f_lineno}"


@functools.cache
def _in_package(filename: str) -> str:
    """``filename`` relative to the package folder (resolved once per file, not once per
    declared number)."""
    from pathlib import Path

    here = Path(__file__).resolve().parents[1]  # code/nnbook
    path = Path(filename).resolve()
    return str(path.relative_to(here) if path.is_relative_to(here) else path)


# ----------------------------------------------------------------------------- the registry

#: view name -> "module:function" building it; the function takes ``profile`` and
#: ``seed_offset`` (added to every seed, so the variation tool can run other seeds).
#: Each module of this package registers its views when imported (:func:`views`).
VIEWS: dict[str, str] = {}
#: view name -> the chapter that shows it (``book/<chapter>.md``). With :data:`VIEWS` this
#: is the one table of names: a view's name is its glue prefix, its module and function
#: are in :data:`VIEWS`, and the experiments it runs are listed by ``python -m nnbook view``.
CHAPTERS: dict[str, str] = {}


def register(name: str, target: str, chapter: str) -> None:
    VIEWS[name] = target
    CHAPTERS[name] = chapter


def views() -> dict[str, str]:
    """Every registered view (importing each module of this package registers its own)."""
    import pkgutil

    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f".{info.name}", __package__)
    return VIEWS


def view(name: str, profile: str | None = None, seed_offset: int = 0, **options) -> View:
    """Build view ``name`` (training whatever is not in the cache)."""
    if name not in views():
        raise ConfigError(f"unknown view {name!r}: one of {', '.join(sorted(VIEWS))}")
    module, func = VIEWS[name].split(":")
    build = getattr(importlib.import_module(f".{module}", __package__), func)
    v = build(profile=profile, seed_offset=seed_offset, **options)
    if v.name != name:  # one name per view: what the chapters glue is what they build
        raise ConfigError(f"view {name!r} glues its numbers under {v.name!r}: a view's glue "
                          f"prefix must be its registered name")
    return v


# ----------------------------------------------------------------------------- in a chapter

def glue_all(*views: View) -> None:
    """Glue every number of ``views`` into the page (``{glue:text}`<view>.<key>```).

    The book build pastes each number into the prose. Opened as a notebook (Binder, a
    download), the prose keeps its placeholders, so the cell also shows a note that says
    what they are and lists every number under its key (the book hides this cell)."""
    from IPython.display import HTML, display
    from myst_nb import glue

    rows = []
    for v in views:
        for key, number in v.numbers.items():
            value = number.value
            if isinstance(value, float) and not math.isfinite(value):
                value = "–"
            glue(v.glue_key(key), value, display=False)
            rows.append((v.glue_key(key), value))
    display(HTML(glue_note(rows)))


def glue_note(rows: list[tuple[str, object]]) -> str:
    """The note a notebook reader sees under a chapter's first cell: what a placeholder such
    as ``{glue:text}`rings.n``` in the text is, and the value of every key."""
    from html import escape

    def show(value) -> str:
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value)

    example = rows[0][0] if rows else "rings.n"
    cells = "".join(f"<tr><td><code>{escape(k)}</code></td><td>{escape(show(v))}</td></tr>"
                    for k, v in rows)
    return (f"<details class='nnbook-glue-note'><summary><b>Reading this chapter as a "
            f"notebook:</b> the text's placeholders such as <code>{{glue:text}}`"
            f"{escape(example)}`</code> are numbers this cell computed ({len(rows)} of "
            f"them; click to list them).</summary><p>In the book, the build pastes each "
            f"number into the sentence (a format such as <code>:.1f</code> after the key "
            f"sets its digits); in a notebook the text keeps the placeholder and the "
            f"values are listed here, under the same keys. Cross-references such as "
            f"<code>{{numref}}`fig-...`</code> name the figures and tables below, and "
            f"<code>{{literalinclude}}</code> shows a file of the <code>nnbook</code> "
            f"package (<code>code/nnbook/</code>).</p><table><tr><th>key</th><th>value"
            f"</th></tr>{cells}</table></details>")


class Checked:
    """The checked statements of a section, as a page shows them: a collapsed HTML box in
    the HTML book and in JupyterLab, a Markdown list where HTML cannot be shown (the PDF:
    without it the LaTeX build printed "<IPython.core.display.HTML object>")."""

    def __init__(self, summary: str, items: list[tuple[bool, str, str, str, str]]):
        self.summary, self.items = summary, items  # (holds, statement, evidence, rule, key)

    def _repr_html_(self) -> str:
        from html import escape

        lis = []
        for holds, statement, evidence, rule, key in self.items:
            mark = ("<span class='nnbook-holds'>✓ holds</span>" if holds else
                    "<span class='nnbook-fails'>✗ does not hold in this build</span>")
            lis.append(f"<li>{mark}: {escape(statement)}<br><small>{escape(evidence)}. "
                       f"Rule: {escape(rule)}. Finding <code>{key}</code>.</small></li>")
        return (f"<details class='nnbook-findings'><summary>{escape(self.summary)}</summary>"
                f"<ul>{''.join(lis)}</ul></details>")

    def _repr_markdown_(self) -> str:
        def md(text: str) -> str:  # literal text: no emphasis, math, roles or HTML
            return re.sub(r"([\\`*_{}\[\]<>()#+!|$~])", r"\\\1", text)

        lines = [f"**{md(self.summary)}**", ""]
        for holds, statement, evidence, rule, key in self.items:
            mark = "holds" if holds else "DOES NOT HOLD in this build"
            lines.append(f"- *{mark}*: {md(statement)} ({md(evidence)}. Rule: {md(rule)}. "
                         f"Finding `{key}`.)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Checked: {self.summary}>"


def check(v: View, *names: str) -> Checked:
    """State findings of ``v`` in the page: each is glued (``finding:<view>.<name>``, which
    the tests require to hold) and shown as a checked statement with its numbers and rule
    (a collapsed box under the paragraph that makes the statement)."""
    from myst_nb import glue

    items = []
    for name in names:
        f = v.finding(name)
        glue(f"finding:{v.glue_key(name)}", f.verdict, display=False)
        items.append((f.holds, f.statement, f.evidence, f.rule, v.glue_key(name)))
    verdict = "all hold" if all(v.finding(n).holds for n in names) else "NOT ALL HOLD"
    return Checked(f"Checked in this build: {len(names)} statement{'s' if len(names) != 1 else ''}"
                   f" of this section ({verdict})", items)

