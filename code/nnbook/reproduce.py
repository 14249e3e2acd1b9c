"""``python -m nnbook reproduce``: the lecture's claims against this build, as one table.

The rows, their rules and verdicts come from :mod:`nnbook.present.reproduction`
(re-exported here: ``reproduce.collect()`` gives the rows, from the result cache).
``python -m nnbook reproduce [--profile full]`` builds every view a claim needs,
training whatever is not in the cache (every seed), and prints the table; ``make
book`` runs it first, so the chapter "Reproducing the lecture" only reads the cache.
Explained in that chapter.
"""

from __future__ import annotations

import sys

from . import present
from .errors import out
from .experiments import current_profile
from .present.reproduction import (  # noqa: F401  (the report's public names)
    CLAIM_VIEWS,
    HEADER,
    QUALITATIVE_HEADER,
    VALUE_HEADER,
    VERDICTS,
    collect,
    qualitative_rows,
    reproduction_view,
    table_rows,
    value_rows,
    views,
)
from .report import markdown_table


def parser():
    """The options of ``python -m nnbook reproduce`` (usage errors are one line)."""
    from .errors import OneLineParser

    p = OneLineParser(prog="nnbook reproduce",
                      description="train what the reproduction report needs (every seed) "
                                  "and print its table")
    p.add_argument("--profile", default=None, help="quick or full (default: $NNBOOK_PROFILE)")
    return p


def main(argv: list[str] | None = None) -> int:
    """``python -m nnbook reproduce``; errors and Ctrl-C end in one line (``nnbook.__main__``)."""
    args = parser().parse_args(argv)
    profile = current_profile(args.profile)  # a bad profile fails before anything trains
    rows = collect(profile, progress=True)
    for name in ("shift-study", "shift-cure"):  # the other chapters' runs, so that the book
        print(f"nnbook reproduce: {name} ...", file=sys.stderr, flush=True)  # build trains
        present.view(name, profile)  # nothing itself
    out(markdown_table(HEADER, table_rows(rows)))  # escaped for the terminal
    return 0
