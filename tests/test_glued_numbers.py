"""Every number glued into the book's prose lies inside its stated band (tests/glue_bands.py)."""

import json
import os

import pytest
from glue_bands import BANDS, ROOT, glued_numbers

pytestmark = pytest.mark.book

PROFILE = os.environ.get("NNBOOK_PROFILE") or "quick"
NUMBERS = glued_numbers(ROOT / "_build")
ALL_BANDS = json.loads(BANDS.read_text())


def test_the_build_glued_numbers():
    assert sum(len(v) for v in NUMBERS.values()) >= 50, "run `make book` first"


@pytest.mark.parametrize("chapter", sorted(NUMBERS))
def test_glued_numbers_inside_their_bands(chapter):
    bands = ALL_BANDS.get(chapter, {})
    problems = []
    for key, value in sorted(NUMBERS[chapter].items()):
        band = bands.get(key, {}).get(PROFILE)
        if band is None:
            problems.append(f"{key}={value}: no band for the {PROFILE} profile "
                            "(python tests/glue_bands.py after a reviewed build)")
            continue
        lo, hi = band
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            problems.append(f"{key}={value} outside [{lo}, {hi}]")
    assert not problems, f"chapter {chapter} ({PROFILE} profile): " + "; ".join(problems)
