"""Speed benchmarks: ``nnbook``'s trainer side by side with the reference recipe.

The reference is the way pytorch/examples' MNIST script trains (re-written here
from its description): a torchvision dataset whose samples go through
``ToTensor`` and ``Normalize`` one at a time, a ``DataLoader`` with batch 64,
Adadelta. ``nnbook`` keeps the normalised data set in memory as one tensor and
slices batches out of it. Both train the same network on the same data
(Fashion-MNIST, the full set that this machine has), from the same seed, and
are timed in alternating rounds so that machine noise hits both; the ratios
come from one run. Optionally the whole quick-profile book build is timed,
cold (empty caches) and warm.

Run with ``python -m nnbook bench [--json PATH] [--book]`` (or
``python benchmarks/run.py``). Explained in the README ("Speed").
"""

from __future__ import annotations

import gzip
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.nn import functional as F

from . import data as datamod
from .models import CNN, MLP
from .train import TrainConfig, evaluate, fit, pick_device, set_seed, use_all_cores


def torchvision_root(ds: datamod.Dataset) -> Path:
    """A torchvision-style root holding the raw Fashion-MNIST files (decompressed)."""
    root = Path(tempfile.gettempdir()) / "nnbook-bench-data"
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    src = Path(ds.provenance["detail"])
    for stem in datamod.FILES:
        target = raw / stem
        if not target.is_file():
            found = datamod._find(src, stem)
            if found is None:
                raise datamod.DataError(f"benchmark needs {stem} under {src}")
            payload = found.read_bytes()
            target.write_bytes(gzip.decompress(payload) if payload[:2] == b"\x1f\x8b" else payload)
    return root


def reference_loader(root: Path, train: bool, batch_size: int, seed: int):
    """The reference input pipeline: per-sample ToTensor + Normalize, DataLoader."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    mean, std = datamod.NORMALISATION["fashion-mnist"]
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((mean,), (std,))])
    dataset = datasets.FashionMNIST(str(root), train=train, download=False, transform=tf)
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=train, generator=gen)


def reference_train(model, loader, steps: int, device) -> float:
    """Train ``steps`` batches the reference way; returns seconds."""
    opt = torch.optim.Adadelta(model.parameters(), lr=1.0)
    model.to(device).train()
    t0 = time.perf_counter()
    done = 0
    while done < steps:
        for X, y in loader:
            X, y = X.to(device), y.to(device)
            opt.zero_grad()
            loss = F.cross_entropy(model(X), y)
            loss.backward()
            opt.step()
            done += 1
            if done >= steps:
                break
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def reference_eval(model, loader, device) -> tuple[float, float]:
    """Reference evaluation loop; returns (seconds, accuracy)."""
    model.to(device).eval()
    t0 = time.perf_counter()
    correct = n = 0
    with torch.no_grad():
        for X, y in loader:
            correct += (model(X.to(device)).argmax(1).cpu() == y).sum().item()
            n += len(y)
    return time.perf_counter() - t0, correct / n


def nnbook_train(model, ds, steps: int, seed: int, device) -> float:
    config = TrainConfig(num_epochs=1 + steps * 64 // ds.n_train, batch_size=64, lr=1.0,
                         optimizer="adadelta", seed=seed, max_steps=steps)
    t0 = time.perf_counter()
    fit(model, ds.X_train, ds.y_train, config, device=device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def compare_training(make_model, ds, root, steps: int, rounds: int, device) -> dict:
    """Seconds per batch of both recipes, alternating; ratio of medians."""
    loader = reference_loader(root, True, 64, seed=0)
    ref, ours = [], []
    for r in range(rounds):
        set_seed(r)
        ref.append(reference_train(make_model(), loader, steps, device) / steps)
        set_seed(r)
        ours.append(nnbook_train(make_model(), ds, steps, r, device) / steps)
    ref_m, ours_m = statistics.median(ref), statistics.median(ours)
    per_epoch = len(ds.y_train) / 64
    return {"steps_per_round": steps, "rounds": rounds,
            "reference_s_per_batch": ref_m, "nnbook_s_per_batch": ours_m,
            "reference_s_per_epoch": ref_m * per_epoch, "nnbook_s_per_epoch": ours_m * per_epoch,
            "speedup": ref_m / ours_m, "reference_all": ref, "nnbook_all": ours}


def compare_accuracy(make_model, ds, root, steps: int, device, seed: int = 0) -> dict:
    """Same seed, same number of steps: test accuracy of both recipes."""
    loader = reference_loader(root, True, 64, seed=seed)
    set_seed(seed)
    m_ref = make_model()
    reference_train(m_ref, loader, steps, device)
    set_seed(seed)
    m_ours = make_model()
    nnbook_train(m_ours, ds, steps, seed, device)
    acc_ref = evaluate(m_ref, ds.X_test, ds.y_test)["accuracy"]
    acc_ours = evaluate(m_ours, ds.X_test, ds.y_test)["accuracy"]
    return {"steps": steps, "reference_test_acc": acc_ref, "nnbook_test_acc": acc_ours,
            "difference": acc_ours - acc_ref}


def compare_eval(model, ds, root, device) -> dict:
    loader = reference_loader(root, False, 1000, seed=0)
    t_ref, _ = reference_eval(model, loader, device)
    t0 = time.perf_counter()
    evaluate(model, ds.X_test, ds.y_test)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    for d in datamod.DIRECTIONS:
        evaluate(model, datamod.shifted(ds.X_test, 2, d, ds.background), ds.y_test)
    t_shift = time.perf_counter() - t0
    n = ds.n_test
    return {"reference_images_per_s": n / t_ref, "nnbook_images_per_s": n / t_ours,
            "nnbook_shifted_images_per_s": 4 * n / t_shift, "speedup": t_ref / t_ours}


def time_book(repo: Path) -> dict:
    """Cold and warm quick-profile builds of a clean copy of the book, and nbval after."""
    work = Path(tempfile.mkdtemp(prefix="nnbook-bench-book-"))
    files = subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True, text=True,
                           check=True).stdout.split()
    for f in files:
        (work / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / f, work / f)
    env = dict(os.environ, NNBOOK_CACHE=str(work / "_build" / "nnbook-cache"),
               NNBOOK_PROFILE="quick", NNBOOK_PROGRESS="0", MPLBACKEND="Agg")
    jb = [str(Path(sys.executable).parent / "jupyter-book"), "build", ".", "-W", "-n",
          "--keep-going"]
    out = {}
    try:
        for label in ("cold", "warm"):
            t0 = time.perf_counter()
            r = subprocess.run(jb, cwd=work, env=env, capture_output=True, text=True)
            out[f"book_{label}_s"] = time.perf_counter() - t0
            out[f"book_{label}_ok"] = r.returncode == 0
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env",
                            "-p", "no:cacheprovider", "-q", "book/"], cwd=work, env=env,
                           capture_output=True, text=True)
        out["nbval_after_build_s"] = time.perf_counter() - t0
        out["nbval_ok"] = r.returncode == 0
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def _cpu_seconds() -> tuple[float, float]:
    """(busy CPU seconds of the whole machine, CPU seconds of this process) so far."""
    t = os.times()
    mine = t.user + t.system
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK"), mine
    except (OSError, ValueError, IndexError):  # not Linux
        return mine, mine


def others_cpu_share(fn):
    """Run ``fn()``; return (share of the machine's CPU time that other processes used
    meanwhile, in [0, 1], and ``fn``'s result). Timings taken while others computed
    are slower than the machine can be: the bench prints this share."""
    busy0, mine0 = _cpu_seconds()
    t0 = time.perf_counter()
    out = fn()
    wall = time.perf_counter() - t0
    busy1, mine1 = _cpu_seconds()
    cores = os.cpu_count() or 1
    return max(0.0, min(1.0, ((busy1 - busy0) - (mine1 - mine0)) / (wall * cores))), out


def machine() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cpu": cpu, "cores": use_all_cores(), "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
            "device": pick_device().type}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def parser():
    """The options of ``python -m nnbook bench`` (usage errors are one line)."""
    from .errors import OneLineParser

    p = OneLineParser(prog="nnbook bench", description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=60, help="batches per timed round")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds per comparison")
    p.add_argument("--accuracy-steps", type=int, default=300,
                   help="steps for the same-seed accuracy comparison (0: skip)")
    p.add_argument("--book", action="store_true", help="also time the whole book build")
    p.add_argument("--json", metavar="PATH", help="write the results as JSON")
    return p


def _json_target(text: str) -> Path:
    """The ``--json`` path, checked before any benchmark runs (not after a minute of it)."""
    from .errors import ConfigError

    path = Path(text).expanduser()
    if path.is_dir():
        raise ConfigError(f"--json {text}: is a folder; give a file name")
    if not path.parent.is_dir():
        raise ConfigError(f"--json {text}: folder {path.parent} does not exist")
    try:
        tempfile.TemporaryFile(dir=path.parent).close()
    except OSError as exc:
        raise ConfigError(f"--json {text}: cannot write in {path.parent} "
                          f"({exc.strerror or exc})") from None
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m nnbook bench``; errors and Ctrl-C end in one line (``nnbook.__main__``)."""
    from .configspec import finite_json
    from .errors import ConfigError

    args = parser().parse_args(argv)
    if args.steps < 1 or args.rounds < 1 or args.accuracy_steps < 0:
        raise ConfigError("--steps and --rounds must be positive, --accuracy-steps "
                          "non-negative")
    target = _json_target(args.json) if args.json else None
    device = pick_device()
    ds = datamod.fashion_mnist()
    root = torchvision_root(ds)
    results = {"machine": machine(), "data": ds.describe()}
    nets = {"cnn": CNN, "mlp": lambda: MLP([784, 32, 10])}
    for name, make in nets.items():
        print(f"timing {name} training ({args.rounds} rounds x {args.steps} batches) ...",
              file=sys.stderr)
        results[f"{name}_train"] = compare_training(make, ds, root, args.steps, args.rounds,
                                                    device)
        if args.accuracy_steps:
            results[f"{name}_accuracy"] = compare_accuracy(make, ds, root, args.accuracy_steps,
                                                           device)
    set_seed(0)
    results["cnn_eval"] = compare_eval(CNN(), ds, root, device)
    if args.book:
        print("timing the book build (cold, warm) and nbval ...", file=sys.stderr)
        results["book"] = time_book(Path(__file__).resolve().parents[2])
    print(format_table(results), flush=True)
    if target is not None:
        text = json.dumps(finite_json(results), indent=1, allow_nan=False)
        try:
            target.write_text(text + "\n")
        except OSError as exc:
            raise ConfigError(f"--json {args.json}: could not write the results "
                              f"({exc.strerror or exc}); they are printed above") from None
    return 0


def format_table(r: dict) -> str:
    m = r["machine"]
    lines = [f"machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']}, {m['device']}",
             f"data: {r['data']}", "",
             f"{'measure':<34}{'reference':>12}{'nnbook':>12}{'ratio':>8}"]
    for name in ("cnn", "mlp"):
        t = r[f"{name}_train"]
        lines.append(f"{name.upper() + ' train, s/epoch':<34}{t['reference_s_per_epoch']:>12.1f}"
                     f"{t['nnbook_s_per_epoch']:>12.1f}{t['speedup']:>7.2f}x")
        if f"{name}_accuracy" in r:
            a = r[f"{name}_accuracy"]
            lines.append(f"{name.upper() + ' test acc, ' + str(a['steps']) + ' steps':<34}"
                         f"{a['reference_test_acc']:>12.4f}{a['nnbook_test_acc']:>12.4f}")
    e = r["cnn_eval"]
    lines.append(f"{'CNN eval, images/s':<34}{e['reference_images_per_s']:>12.0f}"
                 f"{e['nnbook_images_per_s']:>12.0f}{e['speedup']:>7.2f}x")
    lines.append(f"{'CNN eval shifted sets, images/s':<34}{'':>12}"
                 f"{e['nnbook_shifted_images_per_s']:>12.0f}")
    if "book" in r:
        b = r["book"]
        lines.append(f"book build quick: cold {b['book_cold_s']:.0f} s (ok={b['book_cold_ok']}), "
                     f"warm {b['book_warm_s']:.0f} s (ok={b['book_warm_ok']}), "
                     f"nbval after build {b['nbval_after_build_s']:.0f} s (ok={b['nbval_ok']})")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
