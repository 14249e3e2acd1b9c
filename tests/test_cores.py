"""nnbook.cores: the cores a process may use, from the affinity mask and the cgroup's CPU
quota, read from fake /proc and /sys trees (cgroup v2 ``cpu.max``, cgroup v1
``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from nnbook import configspec, cores, train

V2_MOUNT = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n"
V1_MOUNTS = ("31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"
             "32 31 0:29 {top} /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
             "33 31 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n")


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def v2_tree(root: Path, cpu_max: str | None, path: str = "/", parent_max: str | None = None):
    write(root, "proc/self/mountinfo", V2_MOUNT)
    write(root, "proc/self/cgroup", f"0::{path}\n")
    folder = "sys/fs/cgroup" + ("" if path == "/" else path)
    (root / folder).mkdir(parents=True, exist_ok=True)
    if cpu_max is not None:
        write(root, f"{folder}/cpu.max", cpu_max + "\n")
    if parent_max is not None:  # on the level above the process's own cgroup
        write(root, str(Path(folder).parent / "cpu.max"), parent_max + "\n")


def v1_tree(root: Path, quota: int, period: int = 100000, path: str = "/", top: str = "/"):
    write(root, "proc/self/mountinfo", V1_MOUNTS.format(top=top))
    write(root, "proc/self/cgroup", f"5:memory:{path}\n4:cpu,cpuacct:{path}\n")
    write(root, "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", f"{quota}\n")
    write(root, "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", f"{period}\n")


@pytest.mark.parametrize("cpu_max, expected", [
    ("200000 100000", 2.0),   # docker --cpus 2
    ("150000 100000", 1.5),
    ("50000 100000", 0.5),
    ("max 100000", None),     # no limit
    ("garbage", None),        # unreadable: no limit, never a crash
])
def test_cgroup_v2_quota(tmp_path, cpu_max, expected):
    v2_tree(tmp_path, cpu_max)
    assert cores.cpu_quota(tmp_path) == expected


def test_cgroup_v2_nested_and_ancestor_limits(tmp_path):
    # the process sits in a child cgroup without a limit; the parent's limit applies
    v2_tree(tmp_path, "max 100000", path="/kubepods/burstable/pod1",
            parent_max="100000 100000")
    assert cores.cpu_quota(tmp_path) == 1.0
    # the smaller of the two levels wins
    v2_tree(tmp_path, "300000 100000", path="/kubepods/burstable/pod1",
            parent_max="400000 100000")
    assert cores.cpu_quota(tmp_path) == 3.0


def test_cgroup_v2_host_path_not_visible(tmp_path):
    # /proc/self/cgroup names a host path the container's mount does not show: the
    # mount's root (the container's own cgroup) holds the limit
    v2_tree(tmp_path, "100000 100000")
    write(tmp_path, "proc/self/cgroup", "0::/system.slice/docker-abc.scope\n")
    assert cores.cpu_quota(tmp_path) == 1.0


@pytest.mark.parametrize("quota, period, expected", [
    (200000, 100000, 2.0),
    (50000, 100000, 0.5),
    (-1, 100000, None),       # no limit
])
def test_cgroup_v1_quota(tmp_path, quota, period, expected):
    v1_tree(tmp_path, quota, period)
    assert cores.cpu_quota(tmp_path) == expected


def test_cgroup_v1_host_path_as_mount_root(tmp_path):
    # docker without a cgroup namespace: the host path in both /proc/self/cgroup and mountinfo
    v1_tree(tmp_path, 100000, path="/docker/abc", top="/docker/abc")
    assert cores.cpu_quota(tmp_path) == 1.0


def test_no_cgroup_files(tmp_path):
    assert cores.cpu_quota(tmp_path) is None


@pytest.mark.parametrize("quota, expected", [(0.5, 1), (1.0, 1), (1.5, 2), (2.0, 2)])
def test_available_cores_capped_by_quota(tmp_path, monkeypatch, quota, expected):
    monkeypatch.setattr(cores, "affinity_cores", lambda: 16)  # a Binder node's mask
    v2_tree(tmp_path, f"{int(quota * 100000)} 100000")
    assert cores.available_cores(tmp_path) == expected


def test_available_cores_never_above_the_mask(tmp_path, monkeypatch):
    monkeypatch.setattr(cores, "affinity_cores", lambda: 2)
    v2_tree(tmp_path, "800000 100000")
    assert cores.available_cores(tmp_path) == 2
    v2_tree(tmp_path, "max 100000")
    assert cores.available_cores(tmp_path) == 2


def test_training_threads_follow_the_quota(tmp_path, monkeypatch):
    """use_all_cores (the CNNs' threads) and the NNBOOK_THREADS check use the capped count."""
    import torch

    monkeypatch.delenv("NNBOOK_THREADS", raising=False)
    monkeypatch.setattr(cores, "affinity_cores", lambda: 16)
    v2_tree(tmp_path, "100000 100000")
    real = cores.available_cores
    monkeypatch.setattr(cores, "available_cores", lambda root=tmp_path: real(root))
    monkeypatch.setattr(configspec, "available_cores", lambda: real(tmp_path))
    before = torch.get_num_threads()
    try:
        assert train.use_all_cores() == 1
        assert torch.get_num_threads() == 1
        assert configspec._cores() == 1
    finally:
        torch.set_num_threads(before)


def test_this_machine():
    """On the real machine: never more than the affinity mask, at least one."""
    n = cores.available_cores()
    assert 1 <= n <= len(os.sched_getaffinity(0))
    quota = cores.cpu_quota()
    if quota is not None:
        assert n == max(1, min(len(os.sched_getaffinity(0)), math.ceil(quota)))
