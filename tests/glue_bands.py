"""What a finished build glued into its chapters, and the bands the tests hold it to.

The bands live in ``code/nnbook/bands.json`` (read by ``nnbook.bands``); they are
*measured*, not guessed:
``python -m nnbook variation run`` builds every view under several seeds,
precisions, thread counts and CPUs, and ``python -m nnbook variation bands DIR``
writes the bands with what was measured next to each (see ``nnbook.variation``
for the rules). ``tests/test_glued_numbers.py`` holds every glued number of a
build inside its band and ``tests/test_findings.py`` requires every finding a
chapter states to hold.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROFILE = os.environ.get("NNBOOK_PROFILE") or "quick"


def glued(build: Path) -> dict[str, dict[str, str]]:
    """``{chapter: {key: text}}``: every glued value of a build, as plain text."""
    out: dict[str, dict[str, str]] = {}
    for f in sorted((build / "jupyter_execute" / "book").glob("*.glue.json")):
        chapter = f.name.removesuffix(".glue.json")
        for key, output in json.loads(f.read_text()).items():
            out.setdefault(chapter, {})[key] = output.get("data", {}).get("text/plain", "")
    return out


def parse(text: str):
    """A glued value: an int, a float, or the text itself (quotes removed)."""
    text = text.strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    try:
        value = float(text)
    except ValueError:
        return text.strip("'\"")
    return value if math.isfinite(value) else text


def bands(profile: str = PROFILE) -> dict:
    from nnbook import bands as stored

    return stored.profile(profile)
