"""Lets nbval run the book's MyST markdown chapters directly.

nbval only collects ``.ipynb`` files. This hook hands every ``book/*.md`` file
that carries a jupytext header to nbval's notebook collector, reading it in
memory with ``jupytext.read(..., fmt="md:myst")``: no ``.ipynb`` is written
(paired files would make Sphinx see every chapter twice), and the kernel starts
in ``book/``, the same working directory as in the book build.
"""

from __future__ import annotations

import types
from pathlib import Path
from unittest import mock

import pytest


def _is_myst_notebook(path: Path) -> bool:
    if path.suffix != ".md" or "book" not in path.parts:
        return False
    head = path.read_text(encoding="utf-8")[:2000]
    return head.startswith("---") and "jupytext:" in head and "format_name: myst" in head


def pytest_collect_file(file_path: Path, parent):
    opt = parent.config.option
    if not (getattr(opt, "nbval", False) or getattr(opt, "nbval_lax", False)):
        return None
    if not _is_myst_notebook(file_path):
        return None
    import jupytext
    import nbval.plugin

    class MystNotebook(nbval.plugin.IPyNbFile):
        """nbval's notebook collector, fed a notebook read from MyST markdown."""

        def collect(self):
            nb = jupytext.read(self.path, fmt="md:myst")
            shim = types.SimpleNamespace(read=lambda *args, **kwargs: nb)
            with mock.patch.object(nbval.plugin, "nbformat", shim):
                yield from super().collect()

    return MystNotebook.from_parent(parent, path=file_path)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).parent
