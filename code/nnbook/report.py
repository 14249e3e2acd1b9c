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


def table(header: list[str], rows: list[list], note: str | None = None):
    """Display a Markdown table (and an optional note under it) in a notebook."""
    from IPython.display import Markdown

    text = markdown_table(header, rows)
    if note:
        text += f"\n\n<small>{note}</small>"
    return Markdown(text)


def provenance_cells(result: dict) -> list[str]:
    """``[profile, data source, sample counts]`` for a row of a comparison table."""
    d = result.get("data", {})
    n_train = result.get("n_train", d.get("n_train"))
    n_test = result.get("n_test", d.get("n_test"))
    return [result["profile"], f"{d.get('label', '?')} ({d.get('source', '?')})",
            f"{n_train:,} train / {n_test:,} test"]
