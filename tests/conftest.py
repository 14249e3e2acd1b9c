import sys
from pathlib import Path

import pytest

# The speed benchmark is the book's tooling in benchmarks/, not part of the package:
# tests import it as ``bench`` (as ``python -m nnbook bench`` does).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


@pytest.fixture(autouse=True)
def isolated_cache(request, tmp_path, monkeypatch):
    """Every unit test gets its own empty result cache (tests of the built book read the
    build's cache, so they keep NNBOOK_CACHE as the Makefile set it)."""
    if request.node.get_closest_marker("book"):
        yield None
        return
    monkeypatch.setenv("NNBOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("NNBOOK_PROFILE", raising=False)
    monkeypatch.setenv("NNBOOK_PROGRESS", "0")
    yield tmp_path / "cache"
