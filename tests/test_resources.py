"""Resource bounds of the build's experiments: quick within 4 GB, full within 8 GB of memory."""

import json
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.book

LIMIT_MB = {"quick": 4096, "full": 8192}


def results() -> list[dict]:
    root = Path(os.environ.get("NNBOOK_CACHE", Path(__file__).parent.parent / "_build" /
                               "nnbook-cache"))
    return [json.loads(p.read_text()) for p in root.glob("*/*/result.json")]


def test_peak_memory_within_bounds():
    found = results()
    assert found, "no cached results: run `make book` first"
    over = [f"{r['experiment']} ({r['profile']}, seed {r['seed']}): {r['peak_rss_mb']:.0f} MB"
            for r in found if r.get("peak_rss_mb") and r["peak_rss_mb"] > LIMIT_MB[r["profile"]]]
    assert not over, "peak memory over the profile's bound: " + "; ".join(over)
    assert all(r.get("peak_rss_mb") for r in found), "a result without its peak memory"
