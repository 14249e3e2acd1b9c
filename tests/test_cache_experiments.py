"""The result cache, the experiment registry and the command line."""

import json
import multiprocessing as mp
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import torch

from nnbook import experiments
from nnbook.cache import Cache, make_key
from nnbook.errors import ConfigError


def test_store_and_load_with_weights(tmp_path):
    c = Cache(tmp_path)
    state = {"w": torch.arange(6.0).reshape(2, 3)}
    c.store("ab" * 32, {"x": 1}, state)
    result, loaded = c.load("ab" * 32, want_weights=True)
    assert result["x"] == 1 and torch.equal(loaded["w"], state["w"])
    assert c.load("cd" * 32) is None


def test_truncated_json_is_reported_removed_and_missed(tmp_path, capsys):
    c = Cache(tmp_path)
    key = make_key({"a": 1})
    c.store(key, {"x": 1})
    path = c.entry(key) / "result.json"
    path.write_text(path.read_text()[:10])
    assert c.load(key) is None
    assert "corrupt" in capsys.readouterr().err
    assert not c.entry(key).exists()


def test_damaged_weights_are_detected(tmp_path, capsys):
    c = Cache(tmp_path)
    key = make_key({"a": 2})
    c.store(key, {"x": 1}, {"w": torch.ones(100)})
    w = c.entry(key) / "weights.pt"
    raw = bytearray(w.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    w.write_bytes(bytes(raw))
    assert c.load(key, want_weights=True) is None
    assert "weights.pt" in capsys.readouterr().err


def test_weights_never_unpickle_arbitrary_objects(tmp_path):
    """A weights file holding a pickled object is refused even with a matching hash."""
    c = Cache(tmp_path)
    key = make_key({"a": 3})
    c.store(key, {"x": 1}, {"w": torch.ones(2)})
    w = c.entry(key) / "weights.pt"
    torch.save({"w": torch.ones(2), "evil": Cache}, w)  # a class: needs full unpickling
    record = json.loads((c.entry(key) / "result.json").read_text())
    import hashlib

    record["cache"]["weights_sha256"] = hashlib.sha256(w.read_bytes()).hexdigest()
    (c.entry(key) / "result.json").write_text(json.dumps(record))
    assert c.load(key, want_weights=True) is None


def test_partial_write_leaves_no_valid_entry(tmp_path):
    c = Cache(tmp_path)
    key = make_key({"a": 4})

    class Boom(dict):
        pass

    with pytest.raises(TypeError):
        c.store(key, {"x": object()})  # fails while serialising, before the rename
    assert c.load(key) is None
    assert not list(c.entry(key).glob("result.json"))


def _store_many(root, key, value):
    c = Cache(root)
    for _ in range(20):
        with c.lock(key):
            c.store(key, {"value": value}, {"w": torch.full((1000,), float(value))})


def test_two_processes_sharing_a_cache(tmp_path):
    key = make_key({"shared": True})
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_store_many, args=(tmp_path, key, v)) for v in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    result, state = Cache(tmp_path).load(key, want_weights=True)
    assert result["value"] in (1, 2)
    assert torch.all(state["w"] == result["value"])


def test_run_trains_once_then_hits_the_cache():
    r1 = experiments.run("rings", snapshots=[5, 20], grid=11)
    assert r1["cached"] is False
    assert r1["profile"] == "quick" and r1["seed"] == 0
    assert [s["step"] for s in r1["snapshots"]] == [5, 20]
    r2 = experiments.run("rings", snapshots=[5, 20], grid=11)
    assert r2["cached"] is True and r2["snapshots"] == r1["snapshots"]
    assert "python -m nnbook run rings" in r2["command"]
    assert experiments.run("rings", cache_only=True, snapshots=[5, 20], grid=11)["cached"]
    assert experiments.run("rings", cache_only=True, snapshots=[5], grid=11) is None


def test_run_returns_a_model_from_the_cache():
    r1 = experiments.run("mnist-mlp", return_model=True, num_epochs=1, n_train=500)
    r2 = experiments.run("mnist-mlp", return_model=True, num_epochs=1, n_train=500)
    assert r2["cached"] and r2.model is not None
    x = torch.zeros(1, 1, 28, 28)
    assert torch.allclose(r1.model(x), r2.model(x))
    assert r2["metrics"]["test_acc"] == r1["metrics"]["test_acc"]
    assert [p["shift"] for p in r2["metrics"]["shift_acc"]] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("name,kwargs,match", [
    ("nope", {}, "unknown experiment"),
    ("rings", {"profile": "medium"}, "unknown profile"),
    ("mnist-mlp", {"hidden_nodes": 3}, "unknown setting"),
    ("mnist-mlp", {"num_epochs": 0}, "num_epochs"),
    ("mnist-mlp", {"batch_size": -4}, "batch_size"),
    ("mnist-mlp", {"hidden": "ten"}, "hidden"),
    ("mnist-mlp", {"seed": -1}, "seed"),
])
def test_bad_names_and_values(name, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        experiments.run(name, **kwargs)


def test_every_experiment_declares_both_profiles():
    assert set(experiments.REGISTRY) >= {"rings", "mnist-mlp", "mnist-overfit", "depth",
                                         "loss-compare", "mnist-cnn", "fashion-cnn"}
    for name, exp in experiments.REGISTRY.items():
        assert set(exp.quick) == set(exp.full), name
        experiments.resolve(name, "quick")
        experiments.resolve(name, "full")


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "nnbook", *args], capture_output=True,
                          text=True, timeout=300)


def test_cli_errors_are_one_line_exit_2():
    for args in (["run", "nope"], ["run", "rings", "--set", "n=-3"],
                 ["run", "mnist-mlp", "--set", "num_epochs=0"], ["run", "rings", "--set", "x"]):
        out = cli(*args)
        assert out.returncode == 2, (args, out.stderr)
        assert "Traceback" not in out.stderr
        assert out.stderr.strip().count("\n") == 0 or "usage" in out.stderr


def test_cli_list_and_run_json():
    out = cli("list")
    assert out.returncode == 0 and "mnist-cnn" in out.stdout and "quick:" in out.stdout
    out = cli("run", "rings", "--set", "snapshots=[3]", "--set", "grid=5", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["experiment"] == "rings" and result["snapshots"][0]["step"] == 3


def test_fingerprint_covers_computing_modules_only(tmp_path, monkeypatch):
    """Editing a computing module changes the key; editing a figure module does not."""
    import shutil

    from nnbook import cache

    pkg = tmp_path / "nnbook"
    shutil.copytree(cache.Path(cache.__file__).parent, pkg,
                    ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache, "__file__", str(pkg / "cache.py"))

    def fingerprint():
        cache.package_fingerprint.cache_clear()
        return cache.package_fingerprint()

    try:
        base = fingerprint()
        (pkg / "plots" / "__init__.py").write_text("# restyled\n")
        assert fingerprint() == base
        (pkg / "train.py").write_text((pkg / "train.py").read_text() + "\n# edited\n")
        assert fingerprint() != base
    finally:
        cache.package_fingerprint.cache_clear()


def test_fresh_and_cached_results_have_the_same_types(tmp_path):
    import numpy as np

    c = Cache(tmp_path)
    stored = c.store("ef" * 32, {"a": np.float64(0.5), "b": torch.tensor([1.0, 2.0])})
    assert type(stored["a"]) is float and stored["b"] == [1.0, 2.0]
    assert c.load("ef" * 32)[0] == stored


def test_lock_holder_states():
    """Who holds a lock: running, stopped (SIGSTOP), gone, or unknown (another host)."""
    from nnbook.cache import _holder_state

    host = socket.gethostname()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert _holder_state({"pid": child.pid, "host": host}) == "running"
        child.send_signal(signal.SIGSTOP)
        for _ in range(100):
            if _holder_state({"pid": child.pid, "host": host}) == "stopped":
                break
            time.sleep(0.01)
        assert _holder_state({"pid": child.pid, "host": host}) == "stopped"
    finally:
        child.kill()
        child.wait()
    assert _holder_state({"pid": child.pid, "host": host}) == "gone"
    assert _holder_state({"pid": child.pid, "host": "elsewhere"}) == "unknown"
    assert _holder_state({"pid": os.getpid(), "host": host}) == "this process"
    assert _holder_state(None) == "unknown"


def test_a_result_is_checked_against_its_schema_where_it_is_made(tmp_path, monkeypatch):
    """An experiment that returns a result its schema does not describe fails at once,
    naming the field, and nothing is stored."""
    import dataclasses

    monkeypatch.setenv("NNBOOK_CACHE", str(tmp_path))
    exp = experiments.get("rings")

    def broken(config, data):
        out = exp.func(config, data)
        out.pop("snapshots")
        return out

    monkeypatch.setitem(experiments.REGISTRY, "rings", dataclasses.replace(exp, func=broken))
    with pytest.raises(RuntimeError, match="does not match nnbook.schema.*snapshots"):
        experiments.run("rings", snapshots=[2], grid=3, n=20)
    assert not list(tmp_path.rglob("result.json"))
