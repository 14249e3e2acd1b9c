"""A cache shared by a class, with a real second user: the README's setgid 2775 folder.

A member of the group (the user ``nnbook-peer``, created here with ``useradd`` when the
tests run as root; skipped with the reason otherwise) plants links and FIFOs where this
user's next run opens its lock file, its entry folder and its files, and writes an
entry of its own. This user's runs (real ``python -m nnbook`` processes, umask 002)
must never follow what was planted, never hang, never write, truncate or remove
anything outside the cache, and must say when they serve the other user's result.
The peer only runs ``sh`` (``ln``, ``mkfifo``, ``cp``): it needs no Python.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PEER, GROUP = "nnbook-peer", "nnbook-class"
RINGS = ["run", "rings", "--set", "snapshots=[2]", "--set", "grid=3", "--set", "n=20"]


@pytest.fixture(scope="module")
def peer():
    """A second user in a group shared with the cache (created and removed here)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("needs root to create a second user (useradd); as a plain user the "
                    "second-user cases are simulated in tests/test_faults.py")
    if not shutil.which("useradd") or not shutil.which("groupadd"):
        pytest.skip("no useradd/groupadd on this machine")
    made = []
    try:
        grp.getgrnam(GROUP)
    except KeyError:
        subprocess.run(["groupadd", GROUP], check=True)
        made.append(["groupdel", GROUP])
    try:
        pwd.getpwnam(PEER)
    except KeyError:
        subprocess.run(["useradd", "-M", "-N", "-g", GROUP, "-s", "/bin/sh", PEER], check=True)
        made.insert(0, ["userdel", PEER])
    yield pwd.getpwnam(PEER)
    for command in made:
        subprocess.run(command, check=False)


@pytest.fixture
def shared(peer):
    """A setgid 2775 cache folder of the group, and a victim folder outside it."""
    base = Path(tempfile.mkdtemp(prefix="nnbook-shared-", dir="/tmp"))
    os.chmod(base, 0o755)
    cache = base / "cache"
    cache.mkdir()
    os.chown(cache, 0, grp.getgrnam(GROUP).gr_gid)
    os.chmod(cache, 0o2775)
    victim = base / "home-of-this-user"
    victim.mkdir()
    (victim / "thesis.txt").write_text("three years of work\n")
    yield cache, victim
    shutil.rmtree(base, ignore_errors=True)


def run(cache: Path, *args, timeout=180) -> subprocess.CompletedProcess:
    """This user's `python -m nnbook ...`, umask 002 as a group cache needs."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "code"), NNBOOK_CACHE=str(cache),
               NNBOOK_PROGRESS="0", NNBOOK_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "nnbook", *args], capture_output=True,
                          text=True, timeout=timeout, env=env, umask=0o002)


def as_peer(script: str) -> None:
    out = subprocess.run(["/bin/sh", "-c", script], user=PEER, group=GROUP, umask=0o002,
                         capture_output=True, text=True, timeout=60, cwd="/")
    assert out.returncode == 0, out.stderr


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


def entry(cache: Path) -> Path:
    return next(cache.rglob("result.json")).parent


def test_a_planted_lock_symlink_truncates_nothing(shared):
    cache, victim = shared
    assert run(cache, *RINGS).returncode == 0
    lock = next(cache.glob(".*.lock"))
    as_peer(f"rm -f {lock} && ln -s {victim / 'thesis.txt'} {lock}")
    before = snapshot(victim)
    out = run(cache, *RINGS)  # a cache hit: it used to truncate the thesis to 0 bytes
    assert out.returncode == 0 and "cached" in out.stdout, out.stderr
    assert "is a symbolic link (not followed" in out.stderr and "Traceback" not in out.stderr
    assert snapshot(victim) == before


def test_a_planted_fifo_never_hangs(shared):
    cache, victim = shared
    assert run(cache, *RINGS).returncode == 0
    lock, result = next(cache.glob(".*.lock")), entry(cache) / "result.json"
    as_peer(f"rm -f {lock} {result} && mkfifo {lock} {result}")
    out = run(cache, *RINGS, timeout=120)  # hung forever, silently
    assert out.returncode == 0, out.stderr
    assert "lock file" in out.stderr and "is a FIFO" in out.stderr
    assert "result.json is a FIFO, not followed" in out.stderr
    assert (entry(cache) / "result.json").is_file()  # recomputed and stored again


def test_an_entry_folder_replaced_by_a_symlink_is_not_written_through(shared):
    cache, victim = shared
    assert run(cache, *RINGS).returncode == 0
    folder = entry(cache)
    as_peer(f"mv {folder} {folder}.old && ln -s {victim} {folder}")
    before = snapshot(victim)
    out = run(cache, *RINGS)
    assert out.returncode == 0, out.stderr
    assert f"left in place (it belongs to user {PEER})" in out.stderr  # the link is not ours
    assert "result not cached" in out.stderr and "is a symbolic link" in out.stderr
    assert snapshot(victim) == before and folder.is_symlink()


def test_another_users_result_is_served_with_a_note_and_escaped(shared, tmp_path):
    cache, victim = shared
    assert run(cache, *RINGS).returncode == 0
    folder = entry(cache)
    record = json.loads((folder / "result.json").read_text())
    record["data"]["label"] = "\x1b]0;pwned\x07\x1b[31mred"
    staged = Path(tempfile.mkdtemp(dir="/tmp"))
    os.chmod(staged, 0o755)
    (staged / "result.json").write_text(json.dumps(record))
    os.chmod(staged / "result.json", 0o644)
    as_peer(f"rm -rf {folder} && mkdir {folder} && cp {staged}/result.json {folder}/")
    shutil.rmtree(staged)
    assert (folder / "result.json").stat().st_uid == pwd.getpwnam(PEER).pw_uid
    out = run(cache, *RINGS)
    assert out.returncode == 0 and ", cached)" in out.stdout, out.stderr
    assert f"nnbook: note: this result was computed by user {PEER}" in out.stderr
    assert "\x1b" not in out.stdout and "\\x1b]0;pwned\\x07\\x1b[31mred" in out.stdout


def test_entries_of_both_users_keep_the_group_permissions(shared):
    cache, _ = shared
    assert run(cache, *RINGS).returncode == 0
    folder = entry(cache)
    gid = grp.getgrnam(GROUP).gr_gid
    for path in (folder.parent, folder, folder / "result.json"):
        st = path.stat()
        assert st.st_gid == gid, path  # setgid folders hand the group down
        assert st.st_mode & 0o020, path  # group-writable (umask 002)
