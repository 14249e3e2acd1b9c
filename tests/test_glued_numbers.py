"""Every number glued into the book's prose lies inside its measured band.

Bands come from ``python -m nnbook variation`` (several seeds, fp32 and bf16, 1 and 2
threads, a native and an emulated AVX2 CPU); integers and configuration values
must be equal. A number with no band fails: measure it (see tests/glue_bands.py).
"""

import pytest
from glue_bands import PROFILE, ROOT, bands, glued, parse

pytestmark = pytest.mark.book

GLUED = glued(ROOT / "_build")
BANDS = bands()


def test_the_build_glued_numbers():
    assert sum(len(v) for v in GLUED.values()) >= 50, "run `make book` first"


def test_bands_were_measured_on_this_data():
    """Bands measured on other data (say the full MNIST instead of the offline subset)
    say nothing about this build: re-measure them. Each view is judged by the data its
    own latest measurement read (views are re-measured one at a time)."""
    from nnbook.data import sources
    from nnbook.variation import data_of_views

    assert BANDS, f"no bands for the {PROFILE} profile: python -m nnbook variation run"
    here = {r["dataset"]: r.get("sha256") for r in sources() if r["ok"]}
    views = {key.split(".")[0] for key in BANDS["bands"]}
    differ = sorted(f"{view} ({name})"
                    for view, data in data_of_views(BANDS["measured"], views).items()
                    for name, sha in data.items() if here.get(name) != sha)
    assert not differ, (f"the bands of {', '.join(differ)} were measured on other data than "
                        "this machine has: run `python -m nnbook variation run --view VIEW` "
                        "and `python -m nnbook variation bands _build/variation`")


@pytest.mark.parametrize("chapter", sorted(GLUED))
def test_glued_numbers_inside_their_bands(chapter):
    problems = []
    for key, text in sorted(GLUED[chapter].items()):
        if key.startswith("finding:"):
            continue  # tests/test_findings.py
        spec = BANDS.get("bands", {}).get(key)
        value = parse(text)
        if spec is None:
            if isinstance(value, str):
                continue  # words (a label, a class name) are not held to bands
            problems.append(f"{key}={value}: no band for the {PROFILE} profile "
                            "(python -m nnbook variation)")
            continue
        if spec["band"] is None:
            continue  # text (words, or a count read from this file itself): not held
        lo, hi = spec["band"]
        if isinstance(value, str):
            problems.append(f"{key}={value!r} is not a number ({spec['kind']})")
        elif (lo is not None and value < lo) or (hi is not None and value > hi):
            m = spec["measured"]
            problems.append(f"{key}={value} outside [{lo}, {hi}] ({spec['kind']}; measured "
                            f"{m['min']}–{m['max']} over {m['n']} builds)")
    assert not problems, f"chapter {chapter} ({PROFILE} profile): " + "; ".join(problems)
