"""How many cores this process may really use: the affinity mask, capped by a CPU quota.

``os.sched_getaffinity`` lists the cores the scheduler may run this process on. In a
container limited by a CPU *quota* (Binder, Kubernetes, ``docker run --cpus``) that is
still every core of the node, while the kernel throttles the process to the quota's share
of time: a torch running one thread per listed core then oversubscribes (threads wait in
turn at every barrier). The quota is read from the cgroup the process is in:

- cgroup v2: ``cpu.max`` holds ``"<quota> <period>"`` (``"max <period>"``: no limit);
- cgroup v1: ``cpu.cfs_quota_us`` (``-1``: no limit) and ``cpu.cfs_period_us`` in the
  ``cpu`` controller's hierarchy.

A limit set on any ancestor cgroup applies too, so every level from the process's own
cgroup up to the mount's root is read and the smallest quota wins. A quota of 1.5 cores
gives 2 threads (rounded up, as Go and the JVM do). ``root`` lets the tests point every
path at a fake tree. Used by :func:`nnbook.train.use_all_cores` and by the check of
``NNBOOK_THREADS``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

__all__ = ["affinity_cores", "cpu_quota", "available_cores"]


def affinity_cores() -> int:
    """The cores the scheduler may run this process on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def _levels(mount: Path, cgroup_path: str, mount_root: str = "/") -> list[Path]:
    """The cgroup's folder under ``mount`` and every ancestor up to ``mount`` itself.

    ``mount_root`` is the cgroup the mount shows as its top (mountinfo's 4th field): a
    container without a cgroup namespace sees its host path (``/docker/<id>``) in
    /proc/self/cgroup and the same path as the mount's root. Where the folder still does
    not exist, only the mount's root (the container's limit) is read."""
    if mount_root != "/" and (cgroup_path + "/").startswith(mount_root.rstrip("/") + "/"):
        cgroup_path = cgroup_path[len(mount_root.rstrip("/")):]
    rel = Path(cgroup_path.lstrip("/"))
    levels = [mount / p for p in [rel, *rel.parents] if str(p) != "."]
    return [p for p in levels if p.is_dir()] + [mount]


def _v2_quota(folder: Path) -> float | None:
    text = _read(folder / "cpu.max")
    if not text:
        return None
    parts = text.split()
    if len(parts) < 1 or parts[0] == "max":
        return None
    try:
        quota = int(parts[0])
        period = int(parts[1]) if len(parts) > 1 else 100_000
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def _v1_quota(folder: Path) -> float | None:
    quota, period = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
    try:
        quota_us, period_us = int(quota or ""), int(period or "")
    except ValueError:
        return None
    return quota_us / period_us if quota_us > 0 and period_us > 0 else None


def _mounts(root: Path) -> list[tuple[str, Path, set[str], str]]:
    """(type, mount point, options, cgroup shown as the mount's root) of each cgroup file
    system in /proc/self/mountinfo."""
    out = []
    for line in (_read(root / "proc/self/mountinfo") or "").splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
            continue
        out.append((tail[0], root / fields[4].lstrip("/"), set(tail[2].split(",")), fields[3]))
    return out


def cpu_quota(root: Path = Path("/")) -> float | None:
    """The CPU quota of this process's cgroup in cores (e.g. 1.5), or None without one."""
    quotas: list[float] = []
    mounts = _mounts(root)
    for line in (_read(root / "proc/self/cgroup") or "").splitlines():
        hier, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hier == "0" and controllers == "":  # cgroup v2 (unified)
            points = [(m, top) for kind, m, _, top in mounts if kind == "cgroup2"]
            if not mounts:
                points = [(root / "sys/fs/cgroup", "/")]
            for mount, top in points:
                quotas += [q for q in map(_v2_quota, _levels(mount, path, top)) if q]
        elif "cpu" in controllers.split(","):  # cgroup v1, the cpu controller
            points = [(m, top) for kind, m, opts, top in mounts
                      if kind == "cgroup" and "cpu" in opts]
            if not mounts:
                points = [(root / "sys/fs/cgroup" / name, "/")
                          for name in ("cpu", "cpu,cpuacct", "cpuacct,cpu")]
            for mount, top in points:
                quotas += [q for q in map(_v1_quota, _levels(mount, path, top)) if q]
    return min(quotas) if quotas else None


def available_cores(root: Path = Path("/")) -> int:
    """The affinity mask's cores, capped by the cgroup CPU quota (rounded up, at least 1)."""
    n = affinity_cores()
    quota = cpu_quota(root)
    if quota is not None:
        n = max(1, min(n, math.ceil(quota - 1e-9)))
    return n
