"""A content-addressed store for experiment results (JSON) and trained weights.

An entry lives under ``<root>/<key[:2]>/<key>/``: ``weights.pt`` (optional) is
written first, ``result.json`` last, each to a temporary file that is renamed
into place, so a run killed mid-write never leaves an entry that reads as
valid. ``result.json`` records the SHA-256 of the weights and who wrote the entry
(user, uid, host); a damaged entry of any shape (not JSON, an over-long number, the
wrong types, weights that do not load or do not fit the model) is reported, removed
(only if this user owns it) and recomputed. Weights load with ``weights_only=True``
(no arbitrary unpickling). Files and folders are created with the permissions the
umask allows, so a cache shared by a group works for every member.

A shared cache is untrusted input. Everything under the root is reached through
folder descriptors, one name at a time, and never through a symbolic link: folders
are opened with ``O_NOFOLLOW | O_DIRECTORY``, files are ``lstat``-ed and opened with
``O_NOFOLLOW | O_NONBLOCK`` and must be regular files (a FIFO, a device or a socket
planted in the cache is never opened blocking, read or written), temporary files are
created with ``O_EXCL`` under unguessable names, and a lock file must be a regular
file with one link. So nothing outside the cache is ever written, truncated or
removed. Strings read from an entry are escaped where they are shown
(:func:`nnbook.errors.printable`, :func:`nnbook.present.report.markdown_text`), and a result
that another user wrote says so (``result["cache"]["owner"]``; the command line
prints a note).

Nothing trained is lost to the file system: an entry that cannot be read (no
permission) is recomputed and left in place, never called corrupt; a result that
cannot be stored (read-only or full disk, a folder of someone else's, a file or a
symbolic link where a folder should be) is still returned, with one warning line.

A per-key lock file makes a second process that wants the same entry wait for the
first instead of training twice. The holder writes its pid, host, start time and
command into the lock file; a waiting process says once whom it waits for, and does
not wait for a holder that is stopped (``kill -STOP``) or gone. Where ``flock`` fails
(an NFS home without a lock daemon: ``ENOLCK``), one warning line, and the run goes on
unlocked (entries are still written atomically).

The key covers the code that computes a result (:func:`package_fingerprint`): the
source of the modules a result depends on, or, in an install that ships only
``.pyc`` files, every compiled module of the package; where neither can be read (a
zip or frozen install) results are not cached, with one line saying why.

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
import secrets
import shutil
import socket
import stat
import sys
import time
from functools import lru_cache
from pathlib import Path

from . import configspec
from .errors import printable, warn

FORMAT = 1

#: Files larger than these are not read (a planted multi-gigabyte file is "damaged").
MAX_RESULT_BYTES = 512 * 2**20
MAX_WEIGHTS_BYTES = 4 * 2**30
MAX_LOCK_BYTES = 4096

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def default_root() -> Path:
    """``$NNBOOK_CACHE`` (``~`` expanded; must be absolute), else ``~/.cache/nnbook/results``
    (``HOME`` must then be absolute)."""
    return configspec.env("NNBOOK_CACHE") or configspec.home() / ".cache" / "nnbook" / "results"


# ----------------------------------------------------------------------------- the key

class NoFingerprint(Exception):
    """The package's code cannot be read, so a result cannot be keyed by it."""


def _module_file(root: Path, dotted: str) -> Path | None:
    path = root.joinpath(*dotted.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py",
                      path.with_suffix(".pyc"), path / "__init__.pyc"):
        if candidate.is_file():
            return candidate
    return None


def computing_modules(root: Path | None = None, start: str = "experiments") -> list[Path]:
    """The package modules an experiment's result can depend on.

    Starting from ``experiments.py``, follow every relative import (also those
    inside functions) through the package. Modules outside this closure (the
    figures, tables, the command line, the benchmarks) cannot change a result.
    A module found only as a ``.pyc`` file is listed but not followed (see
    :func:`package_fingerprint`).
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
        if path.suffix == ".pyc":
            continue
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


def _all_modules(root: Path) -> list[Path]:
    """Every module file of the package (``.py`` and sourceless ``.pyc``), outside
    ``__pycache__``."""
    return sorted(p for p in root.rglob("*") if p.suffix in (".py", ".pyc")
                  and "__pycache__" not in p.relative_to(root).parts and p.is_file())


@lru_cache(maxsize=1)
def package_fingerprint() -> str:
    """SHA-256 over the code results depend on.

    From source: the modules of :func:`computing_modules` (an edit to any of them
    re-runs every experiment; an edit to a module that only presents results, a figure
    or a table, re-runs none). In a sourceless install (``.pyc`` files in place of the
    ``.py``, as slim images ship) the imports cannot be followed, so every module of the
    package counts. Raises :class:`NoFingerprint` where the code is not in files at all
    (a zip or frozen install): such results are not cached.
    """
    root = Path(__file__).parent
    if not root.is_dir():
        raise NoFingerprint(f"the package is not a folder of files ({root}: a zip or frozen "
                            "install?), so its code cannot key the results")
    files = computing_modules(root)
    if not any(p.stem == "experiments" for p in files):
        raise NoFingerprint(f"neither experiments.py nor experiments.pyc is under {root}, so "
                            "the code that computes a result cannot key it")
    if any(p.suffix == ".pyc" for p in files):  # sourceless: the closure is unknown
        files = _all_modules(root)
    h = hashlib.sha256()
    for path in files:
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def make_key(parts: dict) -> str:
    """A stable hash of a JSON-serialisable description of a computation."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ----------------------------------------------------------------------------- safe file access

class Unsafe(OSError):
    """A name in the cache that is not what nnbook puts there: a symbolic link, a FIFO,
    a device, a socket, a hard link, a file where a folder should be. Never followed,
    never opened blocking, never written through."""

    def __init__(self, path: Path, what: str):
        super().__init__(errno.EPERM, f"{path} is {what}, not followed", str(path))
        self.path, self.what = path, what


def _kind(mode: int, links: int = 1) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    if links != 1:
        return f"a file with {links} hard links"
    return "a file"


def _open_root(root: Path, create: bool) -> int:
    """A descriptor of the cache's root (the one path that is followed: the user chose it)."""
    if create:
        root.mkdir(parents=True, exist_ok=True)
    return os.open(root, os.O_RDONLY | _DIRECTORY | _CLOEXEC)


def _open_dir(parent: int, name: str, path: Path, create: bool) -> int:
    """A descriptor of folder ``name`` in folder ``parent``, never through a symbolic link
    (:class:`Unsafe` when ``name`` is anything but a folder)."""
    if create:
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o777, dir_fd=parent)  # the umask (and a setgid parent) apply
    try:
        return os.open(name, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _NONBLOCK | _CLOEXEC,
                       dir_fd=parent)
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise
        st = os.stat(name, dir_fd=parent, follow_symlinks=False)
        raise Unsafe(path, _kind(st.st_mode)) from None


def _read_file(folder: int, name: str, path: Path, limit: int) -> tuple[bytes, os.stat_result]:
    """The bytes of regular file ``name`` in ``folder`` and its status; FileNotFoundError
    when absent, :class:`Unsafe` when it is anything but a regular file, ValueError when
    larger than ``limit``."""
    st = os.stat(name, dir_fd=folder, follow_symlinks=False)
    if not stat.S_ISREG(st.st_mode):
        raise Unsafe(path, _kind(st.st_mode))
    fd = os.open(name, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC, dir_fd=folder)
    try:
        st = os.fstat(fd)  # what was opened, not what was there a moment ago
        if not stat.S_ISREG(st.st_mode):
            raise Unsafe(path, _kind(st.st_mode))
        if st.st_size > limit:
            raise ValueError(f"{name} has {st.st_size:,} bytes, more than the {limit:,} "
                             "nnbook ever writes")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise ValueError(f"{name} grew beyond {limit:,} bytes while read")
        return b"".join(chunks), st
    finally:
        os.close(fd)


def _write_atomic(folder: int, name: str, data: bytes) -> None:
    """Write ``data`` to a new temporary file in ``folder`` (``O_EXCL``, never through a
    link), then rename it over ``name``. The file gets the permissions a plain
    ``open(path, "w")`` would (0666 less the umask), so other members of a group can
    read it; a rename replaces a planted link or file, it never writes through it."""
    for _ in range(16):
        tmp = f".{name}.{secrets.token_hex(8)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC,
                         0o666, dir_fd=folder)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(errno.EEXIST, "no free temporary name", name)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=folder)
        raise


def _why(exc: OSError, root: Path) -> str:
    """A file-system error in words, with what to do about it."""
    code = exc.errno
    if isinstance(exc, Unsafe):
        return f"{exc.path} is {exc.what} (not followed; remove it, or use a cache of your own)"
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


def _user(uid: int | None) -> str:
    if uid is None:
        return "?"
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return str(uid)


def _euid() -> int | None:
    return os.geteuid() if hasattr(os, "geteuid") else None


def writer() -> dict:
    """Who writes an entry: user, uid and host of this process."""
    uid = _euid()
    return {"user": _user(uid), "uid": uid, "host": socket.gethostname()}


def _valid_key(key: str) -> str:
    if not (isinstance(key, str) and 4 <= len(key) <= 128
            and all(c in "0123456789abcdef" for c in key)):
        raise ValueError(f"a cache key is a lower-case hex digest, got {key!r:.80}")
    return key


# ----------------------------------------------------------------------------- the cache

class Cache:
    """Results and weights keyed by a hash (see the module docstring).

    ``disabled`` (a reason) makes a cache that stores and finds nothing: every result is
    recomputed and returned with ``cache.stored`` false, after one warning line.
    """

    def __init__(self, root: str | Path | None = None, disabled: str | None = None):
        self.disabled = disabled
        if disabled:
            self.root = Path(root) if root is not None else Path("/nonexistent-nnbook-cache")
        else:
            self.root = Path(root).expanduser() if root is not None else default_root()

    def entry(self, key: str) -> Path:
        _valid_key(key)
        return self.root / key[:2] / key

    # -- folders, reached one name at a time
    @contextlib.contextmanager
    def _folder(self, key: str, create: bool = False, shard_only: bool = False):
        """Descriptors ``(shard, entry)`` of an entry's folders (``entry`` None with
        ``shard_only``); FileNotFoundError when absent, :class:`Unsafe` when a name on
        the way is not a folder."""
        _valid_key(key)
        fds = []
        try:
            fds.append(_open_root(self.root, create))
            fds.append(_open_dir(fds[-1], key[:2], self.root / key[:2], create))
            if shard_only:
                yield fds[1], None
                return
            fds.append(_open_dir(fds[-1], key, self.entry(key), create))
            yield fds[1], fds[2]
        finally:
            for fd in reversed(fds):
                os.close(fd)

    def _corrupt(self, key: str, reason: str) -> None:
        """Report a damaged entry; remove it only when it is this user's own (a folder with
        all it holds, or a planted link or file in its place, never what a link points to)."""
        what = "left in place"
        try:
            with self._folder(key, shard_only=True) as (shard, _):
                st = os.stat(key, dir_fd=shard, follow_symlinks=False)
                me = _euid()
                if me is not None and st.st_uid != me:
                    what = f"left in place (it belongs to user {_user(st.st_uid)})"
                elif stat.S_ISDIR(st.st_mode):
                    failed = []
                    shutil.rmtree(key, dir_fd=shard, onerror=lambda *a: failed.append(a))
                    what = "removed" if not failed else "could not be removed, left in place"
                else:
                    os.unlink(key, dir_fd=shard)
                    what = "removed"
        except FileNotFoundError:
            what = "already gone"
        except OSError as exc:
            what = f"left in place ({_why(exc, self.root)})"
        _note(f"cache entry {key[:12]} is corrupt ({reason}); {what}, recomputing")

    def damaged(self, key: str, reason: str) -> None:
        """Report an entry found damaged by its user (weights that do not fit the model)."""
        self._corrupt(key, reason)

    def _unreadable(self, key: str, exc: OSError) -> None:
        warn(f"cannot read cache entry {key[:12]} ({_why(exc, self.root)}); recomputing it, "
             "the entry is left as it is", once=("unreadable", str(self.root), key))

    def _read(self, folder: int, name: str, key: str, limit: int):
        """``(bytes, stat)``, or ``(None, why)`` with why ``missing``, ``unreadable`` (no
        permission: warned, never called corrupt) or ``corrupt`` (reported)."""
        path = self.entry(key) / name
        try:
            return _read_file(folder, name, path, limit)
        except FileNotFoundError:
            return None, "missing"
        except Unsafe as exc:
            self._corrupt(key, f"{name} is {exc.what}, not followed")
            return None, "corrupt"
        except ValueError as exc:
            self._corrupt(key, str(exc))
            return None, "corrupt"
        except OSError as exc:
            self._unreadable(key, exc)
            return None, "unreadable"

    def load(self, key: str, want_weights: bool = False,
             check=None) -> tuple[dict, dict | None] | None:
        """``(result, state_dict or None)`` for ``key``, or None when absent, unreadable or
        corrupt (corrupt entries are reported; unreadable ones are warned about).

        ``check(result)`` may name what is wrong with a result (its schema): such an entry
        is reported as corrupt. ``result["cache"]`` gains ``owner`` (the user the file
        belongs to) and ``foreign`` (true when that is not this user).
        """
        if self.disabled:
            return None
        try:
            with self._folder(key) as (_, folder):
                return self._load(key, folder, want_weights, check)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except Unsafe as exc:
            if exc.path == self.entry(key):
                self._corrupt(key, f"its folder is {exc.what}, not followed")
            # else: a planted shard folder; the store that follows says why it cannot write
            return None
        except OSError as exc:
            self._unreadable(key, exc)
            return None

    def _load(self, key: str, folder: int, want_weights: bool, check):
        raw, st = self._read(folder, "result.json", key, MAX_RESULT_BYTES)
        if raw is None:
            return None
        try:
            result = json.loads(raw.decode())
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            # ValueError: not JSON, or an integer beyond Python's digit limit
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
        problem = check(result) if check is not None else None
        if problem:
            self._corrupt(key, f"result.json {problem}")
            return None
        me = _euid()
        record["owner"] = {"uid": st.st_uid, "user": _user(st.st_uid)}
        record["foreign"] = me is not None and st.st_uid != me
        state = None
        if want_weights:
            if digest is None:
                return None  # stored without weights: recompute to get a model
            data, status = self._read(folder, "weights.pt", key, MAX_WEIGHTS_BYTES)
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
        or a link where a folder should be) is returned all the same, with
        ``cache.stored`` false and one warning line: nothing trained is lost.
        """
        record = {"key": _valid_key(key), "format": FORMAT, "writer": writer()}
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
            if self.disabled:
                raise NoFingerprint(self.disabled)
            with self._folder(key, create=True) as (_, folder):
                if weights is not None:
                    _write_atomic(folder, "weights.pt", weights)
                _write_atomic(folder, "result.json", text.encode())
        except (OSError, NoFingerprint) as exc:
            why = str(exc) if isinstance(exc, NoFingerprint) else _why(exc, self.root)
            warn(f"result not cached: {why}; it is shown but will be recomputed next time",
                 once=("store", str(self.root), getattr(exc, "errno", None), why))
            text = json.dumps(dict(result, cache=dict(record, stored=False)), indent=1,
                              sort_keys=True, default=_json_default)
        # what was stored, read back: a fresh result has exactly the types of a cached one
        # (plain floats and lists, never numpy scalars or tensors), and the same record
        out = json.loads(text)
        out["cache"].update(owner={"uid": record["writer"]["uid"],
                                   "user": record["writer"]["user"]}, foreign=False)
        return out

    def _lock_path(self, key: str) -> Path:
        return self.root / f".{key[:16]}.lock"

    @contextlib.contextmanager
    def lock(self, key: str, poll: float = 0.2):
        """Hold an exclusive lock on ``key`` while computing it (see the module docstring).

        Where no lock can be taken (no ``fcntl``, a cache that cannot be written, a lock
        file that is a link or not a regular file, ``flock`` unsupported) the computation
        goes on unlocked: entries are still written atomically.
        """
        try:
            import fcntl
        except ImportError:  # not POSIX: no locking, entries are still atomic
            yield
            return
        if self.disabled:
            yield
            return
        path = self._lock_path(_valid_key(key))
        try:
            fd = self._open_lock(path)
        except Unsafe as exc:
            warn(f"the lock file {_why(exc, self.root)}; computing without the lock",
                 once=("unsafe-lock", str(path)))
            yield
            return
        except OSError:
            yield  # the store that follows says why nothing can be written here
            return
        try:
            if self._acquire(fd, fcntl, key, poll):
                _write_holder(fd)
                try:
                    yield
                finally:
                    with contextlib.suppress(OSError):
                        os.ftruncate(fd, 0)
                    with contextlib.suppress(OSError):
                        fcntl.flock(fd, fcntl.LOCK_UN)
            else:
                yield
        finally:
            os.close(fd)

    def _open_lock(self, path: Path) -> int:
        """The lock file, opened without following a link and without blocking; it must be a
        regular file with one link (a planted hard link or FIFO is :class:`Unsafe`)."""
        root = _open_root(self.root, create=True)
        try:
            flags = os.O_CREAT | _NOFOLLOW | _NONBLOCK | _CLOEXEC
            try:
                fd = os.open(path.name, os.O_RDWR | flags, 0o666, dir_fd=root)
            except PermissionError:  # someone else's lock file: a read-only handle still locks
                fd = os.open(path.name, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC,
                             dir_fd=root)
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.EISDIR, errno.ENXIO):
                    raise
                st = os.stat(path.name, dir_fd=root, follow_symlinks=False)
                raise Unsafe(path, _kind(st.st_mode, st.st_nlink)) from None
        finally:
            os.close(root)
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
            os.close(fd)
            raise Unsafe(path, _kind(st.st_mode, st.st_nlink))
        return fd

    def _acquire(self, fd: int, fcntl, key: str, poll: float) -> bool:
        """Take the lock, waiting for a live holder; False when the holder is stopped or
        gone, or when this file system cannot lock (then the caller computes without the
        lock). Says once whom it waits for."""
        def attempt() -> bool:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                return False

        try:
            if attempt():
                return True
            time.sleep(min(poll, 0.05))  # let a holder that has just locked write its name
            holder = _read_holder(fd)
            _note(f"waiting for cache entry {key[:12]}, being computed by "
                  f"{_holder_text(holder)}")
            while True:
                if attempt():
                    return True
                state = _holder_state(holder)
                if state in ("stopped", "gone", "this process"):
                    pid = holder["pid"]
                    advice = {"stopped": f"resume it with `kill -CONT {pid}` or end it",
                              "gone": "the lock stays with a process it started",
                              "this process": "a lock taken twice"}[state]
                    warn(f"the holder of cache entry {key[:12]}, pid {pid}, is {state} "
                         f"({advice}); computing without waiting for it",
                         once=("lock", key, pid, state))
                    return False
                time.sleep(poll)
        except OSError as exc:  # ENOLCK, EOPNOTSUPP: an NFS mount without a lock daemon
            warn(f"cannot lock cache entries under {self.root} (flock: "
                 f"{exc.strerror or exc}; as on NFS without a lock daemon); computing without "
                 "the lock: entries are still written atomically, but two runs may compute "
                 "the same result", once=("flock", str(self.root)))
            return False


def _note(message: str) -> None:
    """One ``nnbook: ...`` line on stderr, escaped for the terminal."""
    try:
        if sys.stderr is not None:
            print(f"nnbook: {printable(message)}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _write_holder(fd: int) -> None:
    """Write who holds a lock into the lock file (pid, host, since when, command)."""
    argv = list(sys.argv) or [""]
    program = Path(argv[0])
    argv[0] = f"python -m {program.parent.name}" if program.name == "__main__.py" else program.name
    info = {"pid": os.getpid(), "host": socket.gethostname(), "user": _user(_euid()),
            "since": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "command": " ".join(argv)[:200]}
    with contextlib.suppress(OSError):  # a read-only handle: the lock holds, unnamed
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)


def _read_holder(fd: int) -> dict | None:
    """Who holds the lock, from the lock file already open (never reopened by name)."""
    try:
        info = json.loads(os.pread(fd, MAX_LOCK_BYTES, 0).decode())
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(info, dict) or type(info.get("pid")) is not int \
            or not 0 < info["pid"] < 2**31:
        return None
    return {k: v if k == "pid" else str(v)[:200] for k, v in info.items()}


def _holder_text(holder: dict | None) -> str:
    if holder is None:
        return "another process (it did not write its name into the lock file)"
    text = f"pid {holder['pid']} on {holder.get('host', '?')} since {holder.get('since', '?')}"
    if holder.get("user"):
        text += f" as {holder['user']}"
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
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        if Path("/proc/self/stat").exists():
            return "gone"
        return "unknown"
    except OSError:
        return "unknown"
    state = stat_line.rsplit(")", 1)[-1].split()[0]  # the field after the command name
    if state in ("T", "t"):
        return "stopped"
    if state in ("Z", "X"):
        return "gone"
    return "running"


def served_from(result: dict) -> str | None:
    """A line saying whose result this is, when another user wrote it (else None)."""
    record = result.get("cache") if isinstance(result, dict) else None
    if not isinstance(record, dict) or not record.get("foreign"):
        return None
    owner = record.get("owner") or {}
    claimed = record.get("writer") if isinstance(record.get("writer"), dict) else {}
    who = str(owner.get("user", "?"))
    text = f"this result was computed by user {who}"
    host = claimed.get("host")
    if host and host != socket.gethostname():
        text += f" on host {host}"
    if claimed.get("user") and str(claimed["user"]) != who:
        text += f" (its record names user {claimed['user']}, but the file belongs to {who})"
    return text + " and read from the shared cache; `--no-cache` computes your own"


def _json_default(obj):
    import torch

    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
