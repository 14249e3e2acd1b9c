"""A content-addressed store for experiment results (JSON) and trained weights.

An entry lives under ``<root>/<key[:2]>/<key>/``: ``weights.pt`` (optional) is
written first, ``result.json`` last, each to a temporary file that is renamed
into place, so a run killed mid-write never leaves an entry that reads as
valid. ``result.json`` records the SHA-256 of the weights; a truncated or
damaged entry is reported, removed and recomputed. Weights load with
``weights_only=True`` (no arbitrary unpickling). A per-key lock file makes a
second process that wants the same entry wait for the first instead of
training twice.

The root is ``$NNBOOK_CACHE``, else ``~/.cache/nnbook/results``; the Makefile
points it at ``_build/nnbook-cache`` so that ``make clean`` gives a cold build.
Used by :func:`nnbook.experiments.run`.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

import torch

FORMAT = 1


def default_root() -> Path:
    return Path(os.environ.get("NNBOOK_CACHE") or Path.home() / ".cache" / "nnbook" / "results")


def _module_file(root: Path, dotted: str) -> Path | None:
    path = root.joinpath(*dotted.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def computing_modules(root: Path | None = None, start: str = "experiments") -> list[Path]:
    """The package modules an experiment's result can depend on.

    Starting from ``experiments.py``, follow every relative import (also those
    inside functions) through the package. Modules outside this closure (the
    figures, tables, the command line, the benchmarks) cannot change a result.
    """
    root = root or Path(__file__).parent
    seen: dict[str, Path] = {}
    todo = [start]
    while todo:
        name = todo.pop()
        path = _module_file(root, name)
        if path is None or name in seen:
            continue
        seen[name] = path
        # the package that relative imports of this module start from
        base = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level >= 1:
                parts = base.split(".") if base else []
                package = ".".join(parts[:len(parts) - (node.level - 1)])  # `..` goes up one
                prefix = f"{package}." if package else ""
                if node.module:
                    todo.append(prefix + node.module)
                else:
                    todo.extend(prefix + alias.name for alias in node.names)
    return sorted(seen.values())


@lru_cache(maxsize=1)
def package_fingerprint() -> str:
    """SHA-256 over the source of the modules results depend on (:func:`computing_modules`).

    An edit to any of them re-runs every experiment; an edit to a module that
    only presents results (a figure, a table) re-runs none.
    """
    h = hashlib.sha256()
    root = Path(__file__).parent
    for path in computing_modules(root):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def make_key(parts: dict) -> str:
    """A stable hash of a JSON-serialisable description of a computation."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _atomic_write(path: Path, write) -> None:
    """Write through ``write(file)`` into a temporary file, then rename into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class Cache:
    """Results and weights keyed by a hash (see the module docstring)."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else default_root()

    def entry(self, key: str) -> Path:
        return self.root / key[:2] / key

    def _corrupt(self, key: str, reason: str) -> None:
        print(f"nnbook: cache entry {key[:12]} is corrupt ({reason}); removed, recomputing",
              file=sys.stderr)
        shutil.rmtree(self.entry(key), ignore_errors=True)

    def load(self, key: str, want_weights: bool = False) -> tuple[dict, dict | None] | None:
        """``(result, state_dict or None)`` for ``key``, or None when absent or corrupt."""
        folder = self.entry(key)
        result_file = folder / "result.json"
        if not result_file.is_file():
            return None
        try:
            result = json.loads(result_file.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            self._corrupt(key, f"unreadable result.json: {exc.__class__.__name__}")
            return None
        if not isinstance(result, dict) or result.get("cache", {}).get("key") != key:
            self._corrupt(key, "result.json does not belong to this key")
            return None
        state = None
        digest = result["cache"].get("weights_sha256")
        if want_weights:
            if digest is None:
                return None  # stored without weights: recompute to get a model
            weights = folder / "weights.pt"
            if not weights.is_file() or _sha256(weights) != digest:
                self._corrupt(key, "weights.pt missing or damaged")
                return None
            try:
                state = torch.load(weights, map_location="cpu", weights_only=True)
            except Exception as exc:  # unpickling errors come in many classes
                self._corrupt(key, f"weights.pt does not load: {exc.__class__.__name__}")
                return None
        return result, state

    def store(self, key: str, result: dict, state_dict: dict | None = None) -> dict:
        """Store ``result`` (and weights); returns the result with its cache record."""
        folder = self.entry(key)
        record = {"key": key, "format": FORMAT}
        if state_dict is not None:
            weights = folder / "weights.pt"
            cpu_state = {k: v.detach().cpu() for k, v in state_dict.items()}
            _atomic_write(weights, lambda f: torch.save(cpu_state, f))
            record["weights_sha256"] = _sha256(weights)
        text = json.dumps(dict(result, cache=record), indent=1, sort_keys=True,
                          default=_json_default)
        _atomic_write(folder / "result.json", lambda f: f.write(text.encode()))
        # what was stored, read back: a fresh result has exactly the types of a cached one
        # (plain floats and lists, never numpy scalars or tensors)
        return json.loads(text)

    @contextlib.contextmanager
    def lock(self, key: str):
        """Hold an exclusive lock on ``key`` (waits while another process holds it)."""
        try:
            import fcntl
        except ImportError:  # not POSIX: no locking, entries are still atomic
            yield
            return
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / f".{key[:16]}.lock", "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def clear(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _json_default(obj):
    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
