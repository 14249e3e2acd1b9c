import pytest


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own empty result cache."""
    monkeypatch.setenv("NNBOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("NNBOOK_PROFILE", raising=False)
    monkeypatch.setenv("NNBOOK_PROGRESS", "0")
    yield tmp_path / "cache"
