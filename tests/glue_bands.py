"""Tolerance bands for every number the chapters glue into their prose.

``python tests/glue_bands.py [BUILD_DIR]`` proposes bands from a finished
build (its ``_build/jupyter_execute/book/*.glue.json``) for the profile it was
built in, merging them into ``tests/glue_bands.json``; review the diff before
committing. ``tests/test_glued_numbers.py`` then holds every glued number of
every later build inside its band, so a change of code that moves a number the
prose relies on fails the tests and names the chapter.

The rules (stated once, here):
- integers (counts, epochs, widths, parameters): exactly equal;
- numbers below 1e-6 in size (round-off errors): within 1000x of the value,
  never above 1e-6;
- keys naming a time or a speed (``machine-dependent`` below): any positive value,
  since they depend on the machine;
- every other number: within ±15 % of the value (at least ±0.002), which a
  different thread count or BLAS leaves alone and a real change of behaviour
  does not.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BANDS = Path(__file__).with_name("glue_bands.json")
MACHINE_DEPENDENT = re.compile(r"(^|[-_])(s|time|times|sec|secs|seconds|speed|speedup|cost|"
                               r"ms|runtime|rate|per-s|took|slower|faster)([-_]|$)")


def glued_numbers(build: Path) -> dict[str, dict[str, float]]:
    """{chapter: {key: number}} for every numeric glued value of a build."""
    out: dict[str, dict[str, float]] = {}
    for f in sorted((build / "jupyter_execute" / "book").glob("*.glue.json")):
        chapter = f.name.removesuffix(".glue.json")
        for key, output in json.loads(f.read_text()).items():
            value = parse_number(output.get("data", {}).get("text/plain", ""))
            if value is not None:
                out.setdefault(chapter, {})[key] = value
    return out


def parse_number(text: str):
    text = text.strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    try:
        value = float(text)
    except ValueError:
        return None  # strings (names, sentences) are not held to bands
    return value if math.isfinite(value) else None


def propose(key: str, value) -> list:
    if isinstance(value, int):
        return [value, value]
    if MACHINE_DEPENDENT.search(key):
        return [0, None]  # machine-dependent: any non-negative value
    if abs(value) < 1e-6:
        bound = min(max(1000 * abs(value), 1e-12), 1e-6)
        return [-bound, bound]
    half = max(0.15 * abs(value), 0.002)
    return [round(value - half, 6), round(value + half, 6)]


def main(argv: list[str]) -> int:
    build = Path(argv[0]) if argv else ROOT / "_build"
    profile = os.environ.get("NNBOOK_PROFILE") or "quick"
    bands = json.loads(BANDS.read_text()) if BANDS.is_file() else {}
    for chapter, values in glued_numbers(build).items():
        for key, value in values.items():
            bands.setdefault(chapter, {}).setdefault(key, {})[profile] = propose(key, value)
    BANDS.write_text(json.dumps(bands, indent=1, sort_keys=True) + "\n")
    print(f"bands for the {profile} profile written to {BANDS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
