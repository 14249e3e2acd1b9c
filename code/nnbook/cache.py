"""A content-addressed store for experiment results (JSON) and trained weights.

An entry lives under ``<root>/<key[:2]>/<key>/``: ``weights.pt`` (optional) is
written first, ``result.json`` last, each to a temporary file that is renamed
into place, so a run killed mid-write never leaves an entry that reads as
valid. ``result.json`` records the SHA-256 of the weights; a truncated or
damaged entry is reported, removed (only if this user owns it) and recomputed.
Weights load with ``weights_only=True`` (no arbitrary unpickling). Files and
folders are created with the permissions the umask allows, so a cache shared by a
group works for every member.

Nothing trained is lost to the file system: an entry that cannot be read (no
permission) is recomputed and left in place, never called corrupt; a result that
cannot be stored (read-only or full disk, a folder of someone else's, a file where
a folder should be) is still returned, with one warning line.

A per-key lock file makes a second process that wants the same entry wait for the
first instead of training twice. The holder writes its pid, host, start time and
command into the lock file; a waiting process says once whom it waits for, and does
not wait for a holder that is stopped (``kill -STOP``) or gone.

The root is ``$NNBOOK_CACHE``, else ``~/.cache/nnbook/results``; the Makefile
points it at ``_build/nnbook-cache`` so that ``make clean`` gives a cold build.
Used by :func:`nnbook.experiments.run`.
"""

from __future__ import annotations

import ast
import contextlib
import errno
import hashlib
import io
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from functools import lru_cache
from pathlib import Path

from . import configspec
from .errors import warn

FORMAT = 1


def default_root() -> Path:
    """``$NNBOOK_CACHE`` (``~`` expanded; must be absolute), else ``~/.cache/nnbook/results``."""
    return configspec.env("NNBOOK_CACHE") or Path.home() / ".cache" / "nnbook" / "results"


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


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _umask() -> int:
    """This process's umask (read without changing it where Linux allows)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file next to ``path``, then rename it into place.

    The file gets the permissions a plain ``open(path, "w")`` would (0666 less the
    umask), not ``mkstemp``'s private 0600, so other members of a group can read it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _why(exc: OSError, root: Path) -> str:
    """A file-system error in words, with what to do about it."""
    code = exc.errno
    if code in (errno.EACCES, errno.EPERM):
        return (f"permission denied on {exc.filename or root} (a cache shared by several "
                "users needs group write permission; or set NNBOOK_CACHE to a folder of yours)")
    if code == errno.EROFS:
        return f"{root} is on a read-only file system (set NNBOOK_CACHE to a writable folder)"
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return f"no space left on the device of {root} (free some, or `make clean`)"
    if code in (errno.ENOTDIR, errno.EEXIST):
        return f"{_blocking_file(Path(exc.filename or root))} is a file where a folder should " \
               "be (set NNBOOK_CACHE to a folder)"
    return f"{exc.__class__.__name__}: {exc.strerror or exc} ({exc.filename or root})"


def _blocking_file(path: Path) -> Path:
    """The nearest of ``path`` and its parents that exists as something other than a folder."""
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            return candidate if not candidate.is_dir() else path
    return path


class Cache:
    """Results and weights keyed by a hash (see the module docstring)."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root).expanduser() if root is not None else default_root()

    def entry(self, key: str) -> Path:
        return self.root / key[:2] / key

    def _corrupt(self, key: str, reason: str) -> None:
        """Report a damaged entry; remove it only when it is this user's own."""
        folder = self.entry(key)
        try:
            owner = folder.stat().st_uid
        except OSError:
            owner = None
        mine = owner is not None and (not hasattr(os, "geteuid") or owner == os.geteuid())
        if mine:
            shutil.rmtree(folder, ignore_errors=True)
            what = "removed"
        else:
            what = f"left in place (it belongs to user {owner})"
        print(f"nnbook: cache entry {key[:12]} is corrupt ({reason}); {what}, recomputing",
              file=sys.stderr)

    def _unreadable(self, key: str, exc: OSError) -> None:
        warn(f"cannot read cache entry {key[:12]} ({_why(exc, self.root)}); recomputing it, "
             "the entry is left as it is", once=("unreadable", str(self.root), key))

    def _read(self, path: Path, key: str) -> tuple[bytes | None, str]:
        """``(bytes, "ok")``, or ``(None, why)`` with why ``missing``, ``unreadable`` (no
        permission: warned, never called corrupt) or ``corrupt`` (a folder: reported)."""
        try:
            return path.read_bytes(), "ok"
        except (FileNotFoundError, NotADirectoryError):
            return None, "missing"
        except IsADirectoryError:
            self._corrupt(key, f"{path.name} is a folder")
            return None, "corrupt"
        except OSError as exc:
            self._unreadable(key, exc)
            return None, "unreadable"

    def load(self, key: str, want_weights: bool = False) -> tuple[dict, dict | None] | None:
        """``(result, state_dict or None)`` for ``key``, or None when absent, unreadable or
        corrupt (corrupt entries are reported; unreadable ones are warned about)."""
        folder = self.entry(key)
        raw, _ = self._read(folder / "result.json", key)
        if raw is None:
            return None
        try:
            result = json.loads(raw.decode())
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            self._corrupt(key, f"unreadable result.json: {exc.__class__.__name__}")
            return None
        record = result.get("cache") if isinstance(result, dict) else None
        if not isinstance(record, dict) or record.get("key") != key:
            self._corrupt(key, "result.json does not belong to this key")
            return None
        digest = record.get("weights_sha256")
        if digest is not None and not isinstance(digest, str):
            self._corrupt(key, "result.json records no valid weights checksum")
            return None
        state = None
        if want_weights:
            if digest is None:
                return None  # stored without weights: recompute to get a model
            data, status = self._read(folder / "weights.pt", key)
            if status in ("unreadable", "corrupt"):
                return None
            if data is None or _sha256(data) != digest:
                self._corrupt(key, "weights.pt missing or damaged")
                return None
            try:
                import torch

                state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
            except Exception as exc:  # unpickling errors come in many classes
                self._corrupt(key, f"weights.pt does not load: {exc.__class__.__name__}")
                return None
            if not isinstance(state, dict) or not all(
                    isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
                self._corrupt(key, "weights.pt is not a state dict of tensors")
                return None
        return result, state

    def store(self, key: str, result: dict, state_dict: dict | None = None) -> dict:
        """Store ``result`` (and weights); returns the result with its cache record.

        A result that cannot be written (read-only, full or someone else's cache, a file
        where a folder should be) is returned all the same, with ``cache.stored`` false
        and one warning line: nothing trained is lost.
        """
        folder = self.entry(key)
        record = {"key": key, "format": FORMAT}
        weights = None
        if state_dict is not None:
            import torch

            buffer = io.BytesIO()
            torch.save({k: v.detach().cpu() for k, v in state_dict.items()}, buffer)
            weights = buffer.getvalue()
            record["weights_sha256"] = _sha256(weights)
        text = json.dumps(dict(result, cache=record), indent=1, sort_keys=True,
                          default=_json_default)
        try:
            if weights is not None:
                _atomic_write(folder / "weights.pt", weights)
            _atomic_write(folder / "result.json", text.encode())
        except OSError as exc:
            warn(f"result not cached: {_why(exc, self.root)}; it is shown but will be "
                 "recomputed next time", once=("store", str(self.root), exc.errno))
            text = json.dumps(dict(result, cache=dict(record, stored=False)), indent=1,
                              sort_keys=True, default=_json_default)
        # what was stored, read back: a fresh result has exactly the types of a cached one
        # (plain floats and lists, never numpy scalars or tensors)
        return json.loads(text)

    def _lock_path(self, key: str) -> Path:
        return self.root / f".{key[:16]}.lock"

    @contextlib.contextmanager
    def lock(self, key: str, poll: float = 0.2):
        """Hold an exclusive lock on ``key`` while computing it (see the module docstring).

        Where no lock can be taken (no ``fcntl``, a cache that cannot be written) the
        computation goes on unlocked: entries are still written atomically.
        """
        try:
            import fcntl
        except ImportError:  # not POSIX: no locking, entries are still atomic
            yield
            return
        path = self._lock_path(key)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
            except PermissionError:  # someone else's lock file: a read-only handle still locks
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            yield  # the store that follows says why nothing can be written here
            return
        try:
            if self._acquire(fd, fcntl, key, path, poll):
                _write_holder(fd)
                try:
                    yield
                finally:
                    with contextlib.suppress(OSError):
                        os.ftruncate(fd, 0)
                    fcntl.flock(fd, fcntl.LOCK_UN)
            else:
                yield
        finally:
            os.close(fd)

    def _acquire(self, fd: int, fcntl, key: str, path: Path, poll: float) -> bool:
        """Take the lock, waiting for a live holder; False when the holder is stopped or
        gone (then the caller computes without the lock). Says once whom it waits for."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            pass
        time.sleep(min(poll, 0.05))  # let a holder that has just locked write its name
        holder = _read_holder(path)
        print(f"nnbook: waiting for cache entry {key[:12]}, being computed by "
              f"{_holder_text(holder)}", file=sys.stderr, flush=True)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                pass
            state = _holder_state(holder)
            if state in ("stopped", "gone", "this process"):
                pid = holder["pid"]
                advice = {"stopped": f"resume it with `kill -CONT {pid}` or end it",
                          "gone": "the lock stays with a process it started",
                          "this process": "a lock taken twice"}[state]
                warn(f"the holder of cache entry {key[:12]}, pid {pid}, is {state} ({advice}); "
                     "computing without waiting for it", once=("lock", key, pid, state))
                return False
            time.sleep(poll)


def _write_holder(fd: int) -> None:
    """Write who holds a lock into the lock file (pid, host, since when, command)."""
    argv = list(sys.argv) or [""]
    program = Path(argv[0])
    argv[0] = f"python -m {program.parent.name}" if program.name == "__main__.py" else program.name
    info = {"pid": os.getpid(), "host": socket.gethostname(),
            "since": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "command": " ".join(argv)[:200]}
    with contextlib.suppress(OSError):  # a read-only handle: the lock holds, unnamed
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)


def _read_holder(path: Path) -> dict | None:
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or not isinstance(info.get("pid"), int):
        return None
    return info


def _holder_text(holder: dict | None) -> str:
    if holder is None:
        return "another process (it did not write its name into the lock file)"
    text = f"pid {holder['pid']} on {holder.get('host', '?')} since {holder.get('since', '?')}"
    if holder.get("command"):
        text += f" ({holder['command']})"
    return text


def _holder_state(holder: dict | None) -> str:
    """``running``, ``stopped``, ``gone``, ``this process`` or ``unknown`` (another host,
    no name, no /proc)."""
    if holder is None or holder.get("host") != socket.gethostname():
        return "unknown"
    pid = holder["pid"]
    if pid == os.getpid():
        return "this process"  # a second lock on the same key from this process
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        if Path("/proc/self/stat").exists():
            return "gone"
        return "unknown"
    except OSError:
        return "unknown"
    state = stat.rsplit(")", 1)[-1].split()[0]  # the field after the command name
    if state in ("T", "t"):
        return "stopped"
    if state in ("Z", "X"):
        return "gone"
    return "running"


def _json_default(obj):
    import torch

    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
