"""Speed benchmarks: ``nnbook``'s trainer side by side with the reference recipe, and
against the machine's own arithmetic limit.

The reference is pytorch/examples' MNIST script (re-written here from its
description): its network (:class:`nnbook.models.CNN`, which is written as that
script writes it, followed by ``log_softmax``; ``nll_loss``), a torchvision dataset whose
samples go through ``ToTensor`` and ``Normalize`` one at a time, a ``DataLoader``
with batch 64, Adadelta, float32, torch's default threads. ``nnbook`` trains
:class:`nnbook.models.CNN` with :func:`nnbook.train.fit`: the normalised data set
in memory as one tensor, batches sliced out of it, channels-last, faster dropout
layers swapped in (:mod:`nnbook.speedups`), the precision asked for. The two
networks start from the same weights (one seed) and train on
the same data (Fashion-MNIST, the full set this machine has). Each recipe runs in
a process of its own, so that neither's settings (threads, malloc) leak into the
other's timings; rounds alternate between them so that machine noise hits both,
and every figure is the median over the rounds with its range.

The limit: the machine's float32 matrix product rate (2048 x 2048, on the threads
CNN training uses), measured after every CNN round, and the CNN's training
arithmetic per image from its layer shapes (:func:`training_flops`); the bench
prints each recipe's CNN step as a fraction of that limit. ``--precision fp32``
runs nnbook without bf16 on a CPU that has it. Optionally the whole quick-profile
book build is timed, cold (empty caches) and warm.

This is the benchmark's machinery; it lives in the source checkout's ``benchmarks/``,
not in the package the book imports. Run it with ``python -m nnbook bench [--precision P]
[--json PATH] [--book]`` (a thin entry point that loads this file), ``make bench`` or
``python benchmarks/run.py``. Explained in the README ("Speed").
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
from torch import nn
from torch.nn import functional as F

from nnbook import data as datamod
from nnbook import shifts
from nnbook.data import reference_loader
from nnbook.models import CNN, MLP
from nnbook.train import (
    TrainConfig,
    bf16_supported,
    evaluate,
    evaluate_many,
    fit,
    pick_device,
    set_seed,
    use_all_cores,
)


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


class _LogSoftmax(nn.Module):
    """``net`` followed by ``log_softmax`` (the reference trains with ``nll_loss``)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x):
        return F.log_softmax(self.net(x), dim=1)


#: the networks compared: name -> (reference's network, nnbook's network)
NETS = {"cnn": (lambda: _LogSoftmax(CNN()), CNN),
        "mlp": (lambda: _LogSoftmax(MLP([784, 32, 10])), lambda: MLP([784, 32, 10]))}


def reference_train(model, loader, steps: int, device) -> float:
    """Train ``steps`` batches as pytorch/examples' ``train()`` does; returns seconds."""
    opt = torch.optim.Adadelta(model.parameters(), lr=1.0)
    model.to(device).train()
    t0 = time.perf_counter()
    done = 0
    while done < steps:
        for X, y in loader:
            X, y = X.to(device), y.to(device)
            opt.zero_grad()
            loss = F.nll_loss(model(X), y)
            loss.backward()
            opt.step()
            done += 1
            if done >= steps:
                break
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def reference_eval(model, loader, device) -> tuple[float, float]:
    """pytorch/examples' ``test()`` loop; returns (seconds, accuracy)."""
    model.to(device).eval()
    t0 = time.perf_counter()
    correct = n = 0
    with torch.no_grad():
        for X, y in loader:
            correct += (model(X.to(device)).argmax(1).cpu() == y).sum().item()
            n += len(y)
    return time.perf_counter() - t0, correct / n


def nnbook_train(model, ds, steps: int, seed: int, device) -> tuple[float, str]:
    """Train ``steps`` batches with :func:`nnbook.train.fit`; (seconds, precision used)."""
    config = TrainConfig(num_epochs=1 + steps * 64 // ds.n_train, batch_size=64, lr=1.0,
                         optimizer="adadelta", seed=seed, max_steps=steps)
    t0 = time.perf_counter()
    history = fit(model, ds.X_train, ds.y_train, config, device=device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0, history[-1]["precision"]


def matmul_gflops(n: int = 2048, reps: int = 5) -> float:
    """The float32 rate of an ``n x n`` matrix product on the threads torch uses now."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(2):
        a @ b
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return 2 * n ** 3 / statistics.median(times) / 1e9


def training_flops(model: nn.Module, in_shape=(1, 28, 28)) -> dict:
    """Floating-point operations per image of one training step of ``model``, from the
    shapes of its convolution and linear layers (2 per multiply-add; bias, activation,
    pooling and optimizer arithmetic left out): the forward pass; the backward pass
    computes each layer's weight gradient (as much as its forward) and its input
    gradient (as much again), except the first layer's, whose input is the data."""
    layers: list[int] = []

    def hook(module, inputs, output):
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1] * module.in_channels
            layers.append(2 * output[0].numel() * k // module.groups)
        else:
            layers.append(2 * module.in_features * module.out_features)

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    was_training = model.training
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, *in_shape))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    forward = sum(layers)
    backward = 2 * forward - (layers[0] if layers else 0)
    return {"forward": forward, "backward": backward, "training": forward + backward,
            "layers": layers}


class _Recipe:
    """One side of the comparison, living in its own process (see :class:`_Worker`)."""

    def __init__(self, role: str, root: str, precision: str | None, eval_images: int):
        self.role, self.root = role, Path(root)
        self.device = pick_device()
        self.ds = datamod.fashion_mnist()
        self.n_eval = min(eval_images or self.ds.n_test, self.ds.n_test)
        self.X_eval, self.y_eval = self.ds.X_test[:self.n_eval], self.ds.y_test[:self.n_eval]
        if precision:
            os.environ["NNBOOK_PRECISION"] = precision

    def train(self, net: str, seed: int, steps: int) -> dict:
        make = NETS[net][0 if self.role == "reference" else 1]
        set_seed(seed)
        model = make()
        if self.role == "reference":
            loader = reference_loader(self.root, True, 64, seed=seed)
            return {"seconds": reference_train(model, loader, steps, self.device),
                    "precision": "fp32", "threads": torch.get_num_threads()}
        seconds, precision = nnbook_train(model, self.ds, steps, seed, self.device)
        return {"seconds": seconds, "precision": precision, "threads": torch.get_num_threads()}

    def accuracy(self, net: str, seed: int, steps: int) -> float:
        make = NETS[net][0 if self.role == "reference" else 1]
        set_seed(seed)
        model = make()
        if self.role == "reference":
            reference_train(model, reference_loader(self.root, True, 64, seed=seed), steps,
                            self.device)
            loader = reference_loader(self.root, False, 1000, 0, n=self.n_eval)
            return reference_eval(model, loader, self.device)[1]
        nnbook_train(model, self.ds, steps, seed, self.device)
        return evaluate(model, self.X_eval, self.y_eval)["accuracy"]

    def evaluation(self, shifted_sets: int) -> dict:
        """Images per second of evaluating an (untrained) CNN on the test set (its first
        ``--eval-images``)."""
        set_seed(0)
        n = self.n_eval
        if self.role == "reference":
            loader = reference_loader(self.root, False, 1000, seed=0, n=n)
            seconds, _ = reference_eval(NETS["cnn"][0](), loader, self.device)
            return {"images_per_s": n / seconds, "images": n}
        model = CNN()
        t0 = time.perf_counter()
        evaluate(model, self.X_eval, self.y_eval)
        single = n / (time.perf_counter() - t0)
        moves = [(p, d) for p in range(1, 15) for d in shifts.AXES][:shifted_sets]
        sets = [shifts.shift(self.X_eval, p, d, "zero", self.ds.background) for p, d in moves]
        t0 = time.perf_counter()
        evaluate_many(model, sets, self.y_eval)
        many = len(sets) * n / (time.perf_counter() - t0)
        return {"images_per_s": single, "shifted_images_per_s": many, "images": n}

    def matmul(self) -> float:
        use_all_cores()  # the threads CNN training uses
        return matmul_gflops()


def _worker(role: str, root: str, precision: str | None, eval_images: int, conn) -> None:
    """Serve one recipe's measurements over ``conn`` until told to quit."""
    import signal
    import traceback

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        recipe = _Recipe(role, root, precision, eval_images)
        conn.send(("ok", None))
        while True:
            command, kwargs = conn.recv()
            if command == "quit":
                return
            share, out = others_cpu_share(lambda c=command, k=kwargs: getattr(recipe, c)(**k))
            conn.send(("ok", {"result": out, "others_cpu_share": share}))
    except Exception:  # reported by the parent, in one line
        conn.send(("error", traceback.format_exc().strip().splitlines()[-1]))


class _Worker:
    """A recipe in a child process: nnbook's settings of the process (threads, malloc)
    cannot leak into the reference's timings, nor the reference's into nnbook's."""

    def __init__(self, role: str, root: Path, precision: str | None, eval_images: int = 0):
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        self.role = role
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker,
                                   args=(role, str(root), precision, eval_images, child),
                                   daemon=True, name=f"nnbook-bench-{role}")
        self.process.start()
        child.close()
        self._answer()

    def _answer(self):
        try:
            status, payload = self.conn.recv()
        except EOFError:
            raise RuntimeError(f"the {self.role} benchmark process ended unexpectedly") from None
        if status == "error":
            raise RuntimeError(f"{self.role} benchmark: {payload}")
        return payload

    def __call__(self, command: str, **kwargs) -> dict:
        self.conn.send((command, kwargs))
        return self._answer()

    def close(self) -> None:
        if self.process.is_alive():
            try:
                self.conn.send(("quit", {}))
            except OSError:
                pass
            self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()


def _summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "all": values}


def _round(calls, max_others: float | None, retries: list) -> list[dict]:
    """Run ``calls`` (one round: a list of zero-argument functions) and return their
    answers; while other processes took more than ``max_others`` of the CPU during any
    of them, wait and run the whole round again (at most 20 times, counted in
    ``retries``)."""
    for attempt in range(21):
        answers = [call() for call in calls]
        if max_others is None or max(a["others_cpu_share"] for a in answers) <= max_others:
            return answers
        if attempt < 20:
            retries.append(max(a["others_cpu_share"] for a in answers))
            print(f"  other processes took {100 * retries[-1]:.0f} % of the CPU: waiting, "
                  f"then this round again", file=sys.stderr, flush=True)
            time.sleep(15)
    return answers


def compare_training(workers: dict, net: str, n_train: int, steps: int, rounds: int,
                     matmul: list | None = None, max_others: float | None = None) -> dict:
    """Seconds per batch of both recipes in alternating rounds (round r: seed r), the
    per-round ratios, and, if ``matmul`` is a list, a matmul rate after each round."""
    per = {"reference": [], "nnbook": []}
    shares, retries = [], []
    for role in ("reference", "nnbook"):  # untimed: first calls create kernels, touch memory
        workers[role]("train", net=net, seed=rounds, steps=5)
    for r in range(rounds):
        calls = [lambda role=role, r=r: workers[role]("train", net=net, seed=r, steps=steps)
                 for role in ("reference", "nnbook")]
        if matmul is not None:
            calls.append(lambda: workers["nnbook"]("matmul"))
        answers = _round(calls, max_others, retries)
        for role, out in zip(("reference", "nnbook"), answers, strict=False):
            per[role].append(out["result"]["seconds"] / steps)
        precision, threads = answers[1]["result"]["precision"], answers[1]["result"]["threads"]
        if matmul is not None:
            matmul.append(answers[2]["result"])
        shares += [a["others_cpu_share"] for a in answers]
    per_epoch = n_train / 64
    ratios = [a / b for a, b in zip(per["reference"], per["nnbook"], strict=True)]
    return {"steps_per_round": steps, "rounds": rounds, "nnbook_precision": precision,
            "nnbook_threads": threads,
            "reference_s_per_batch": _summary(per["reference"]),
            "nnbook_s_per_batch": _summary(per["nnbook"]),
            "reference_s_per_epoch": _summary([t * per_epoch for t in per["reference"]]),
            "nnbook_s_per_epoch": _summary([t * per_epoch for t in per["nnbook"]]),
            "speedup": statistics.median(per["reference"]) / statistics.median(per["nnbook"]),
            "speedup_per_round": _summary(ratios), "others_cpu_share": shares,
            "rounds_redone": len(retries)}


def compare_accuracy(workers: dict, net: str, steps: int, seeds: int) -> dict:
    """Test accuracy of both recipes after ``steps`` steps from seeds 0, 1, ...: the
    difference of the means, and the spread between seeds that it compares with."""
    acc = {role: [workers[role]("accuracy", net=net, seed=s, steps=steps)["result"]
                  for s in range(seeds)] for role in ("reference", "nnbook")}
    out = {"steps": steps, "seeds": seeds}
    for role, values in acc.items():
        out[f"{role}_test_acc"] = statistics.mean(values)
        out[f"{role}_test_acc_sd"] = statistics.stdev(values) if len(values) > 1 else 0.0
        out[f"{role}_test_acc_all"] = values
    out["difference"] = out["nnbook_test_acc"] - out["reference_test_acc"]
    return out


def compare_eval(workers: dict, rounds: int, shifted_sets: int,
                 max_others: float | None = None) -> dict:
    """Evaluation speed of an (untrained) CNN: the reference test loop against
    :func:`nnbook.train.evaluate`, and :func:`evaluate_many` on shifted test sets."""
    ref, ours, many, shares, retries = [], [], [], [], []
    for role in ("reference", "nnbook"):  # untimed warm-up
        workers[role]("evaluation", shifted_sets=1)
    for _ in range(rounds):
        a, b = _round([lambda role=role: workers[role]("evaluation", shifted_sets=shifted_sets)
                       for role in ("reference", "nnbook")], max_others, retries)
        ref.append(a["result"]["images_per_s"])
        ours.append(b["result"]["images_per_s"])
        many.append(b["result"]["shifted_images_per_s"])
        shares += [a["others_cpu_share"], b["others_cpu_share"]]
    return {"images": b["result"]["images"],  # the same test images for both recipes
            "reference_images_per_s": _summary(ref), "nnbook_images_per_s": _summary(ours),
            "nnbook_shifted_images_per_s": _summary(many), "shifted_sets": shifted_sets,
            "speedup": statistics.median(ours) / statistics.median(ref),
            "others_cpu_share": shares, "rounds_redone": len(retries)}


def compare(ds: datamod.Dataset, root: Path, steps: int, rounds: int, accuracy_steps: int,
            accuracy_seeds: int, precision: str | None, shifted_sets: int = 8,
            max_others: float | None = None, eval_images: int = 0) -> dict:
    """Every comparison of the bench, the two recipes each in its own process."""
    workers = {}
    try:
        for role in ("reference", "nnbook"):
            workers[role] = _Worker(role, root, precision, eval_images)
        results = {}
        matmul: list[float] = []
        for net in NETS:
            print(f"timing {net} training ({rounds} rounds x {steps} batches) ...",
                  file=sys.stderr, flush=True)
            results[f"{net}_train"] = compare_training(workers, net, ds.n_train, steps, rounds,
                                                       matmul if net == "cnn" else None,
                                                       max_others)
            if accuracy_steps:
                print(f"{net}: test accuracy after {accuracy_steps} steps, {accuracy_seeds} "
                      f"seeds ...", file=sys.stderr, flush=True)
                results[f"{net}_accuracy"] = compare_accuracy(workers, net, accuracy_steps,
                                                              accuracy_seeds)
        print("timing evaluation ...", file=sys.stderr, flush=True)
        results["cnn_eval"] = compare_eval(workers, rounds, shifted_sets, max_others)
    finally:
        for w in workers.values():
            w.close()
    flops = training_flops(CNN())
    rate = _summary(matmul)
    results["limit"] = {"matmul_n": 2048, "matmul_gflops": rate,
                        "cnn_flops_per_image": flops,
                        "cnn_limit_s_per_epoch": ds.n_train * flops["training"]
                        / (rate["median"] * 1e9)}
    for role in ("reference", "nnbook"):
        per_batch = results["cnn_train"][f"{role}_s_per_batch"]["all"]
        fractions = [64 * flops["training"] / t / (g * 1e9)
                     for t, g in zip(per_batch, matmul, strict=True)]
        results["limit"][f"{role}_fraction"] = _summary(fractions)
    shares = [s for k, v in results.items() if isinstance(v, dict)
              for s in v.get("others_cpu_share", [])]
    results["others_cpu_share"] = _summary(shares)
    return results


def time_book(repo: Path, chapters: list[str] | None = None) -> dict:
    """Cold and warm quick-profile builds of a clean copy of the book, and nbval after
    (of the introduction and ``chapters`` alone, when given: a smaller book)."""
    work = Path(tempfile.mkdtemp(prefix="nnbook-bench-book-"))
    files = subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True, text=True,
                           check=True).stdout.split()
    for f in files:
        (work / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / f, work / f)
    pages = ["book/"]
    if chapters:
        pages = [f"book/{c}.md" for c in chapters]
        toc = ["format: jb-book", "root: book/intro", "chapters:"]
        toc += [f"  - file: book/{c}" for c in chapters]
        (work / "_toc.yml").write_text("\n".join(toc) + "\n")
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
                            "-p", "no:cacheprovider", "-q", *pages], cwd=work, env=env,
                           capture_output=True, text=True)
        out["nbval_after_build_s"] = time.perf_counter() - t0
        out["nbval_ok"] = r.returncode == 0
        out["chapters"] = chapters or "all"
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
            "device": pick_device().type,
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "onednn_max_isa": os.environ.get("ONEDNN_MAX_CPU_ISA", ""),
            "bf16_native": bf16_supported(torch.device("cpu"))}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def parser():
    """The options of ``python -m nnbook bench`` (usage errors are one line)."""
    from nnbook.errors import OneLineParser

    p = OneLineParser(prog="nnbook bench", description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=60, help="batches per timed round")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds per comparison")
    p.add_argument("--accuracy-steps", type=int, default=300,
                   help="steps for the same-seed accuracy comparison (0: skip)")
    p.add_argument("--accuracy-seeds", type=int, default=3,
                   help="seeds of the accuracy comparison (their spread is the seed noise)")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"),
                   help="nnbook's precision (default: $NNBOOK_PRECISION, else auto); "
                        "fp32 on a CPU with bf16 is the comparison without bf16")
    p.add_argument("--max-others", type=float, metavar="SHARE",
                   help="redo a timed round while other processes take more than this share "
                        "of the CPU (e.g. 0.05 on a shared machine)")
    p.add_argument("--book", action="store_true", help="also time the whole book build")
    p.add_argument("--book-chapters", metavar="NAMES",
                   help="with --book: build only the introduction and these chapters "
                        "(comma-separated file names, e.g. pipeline)")
    p.add_argument("--eval-images", type=int, default=0, metavar="N",
                   help="evaluate on the first N test images (default: all)")
    p.add_argument("--json", metavar="PATH", help="write the results as JSON")
    return p


def _json_target(text: str) -> Path:
    """The ``--json`` path, checked before any benchmark runs (not after a minute of it)."""
    from nnbook.errors import ConfigError

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
    from nnbook.configspec import finite_json
    from nnbook.errors import ConfigError

    args = parser().parse_args(argv)
    if args.steps < 1 or args.rounds < 1 or args.accuracy_steps < 0 or args.accuracy_seeds < 1 \
            or args.eval_images < 0:
        raise ConfigError("--steps, --rounds and --accuracy-seeds must be positive, "
                          "--accuracy-steps and --eval-images non-negative")
    chapters = None
    if args.book_chapters is not None:
        repo_book = Path(__file__).resolve().parents[1] / "book"
        chapters = [c.strip().removesuffix(".md") for c in args.book_chapters.split(",")]
        missing = [c for c in chapters if not (repo_book / f"{c}.md").is_file()]
        if not args.book or missing or not all(chapters):
            raise ConfigError("--book-chapters needs --book and names of chapter files in "
                              f"book/ (not found: {', '.join(missing) or 'an empty name'})")
    target = _json_target(args.json) if args.json else None
    pick_device()  # a bad NNBOOK_DEVICE fails here, before any work
    ds = datamod.fashion_mnist()
    root = torchvision_root(ds)
    if args.precision == "bf16" and not bf16_supported(torch.device("cpu")):
        raise ConfigError("--precision bf16: this CPU has no native bf16; use fp32 or auto")
    results = {"machine": machine(), "data": ds.describe(),
               "precision_asked": args.precision or os.environ.get("NNBOOK_PRECISION") or "auto"}
    results.update(compare(ds, root, args.steps, args.rounds, args.accuracy_steps,
                           args.accuracy_seeds, args.precision,
                           max_others=args.max_others, eval_images=args.eval_images))
    if args.book:
        print("timing the book build (cold, warm) and nbval ...", file=sys.stderr)
        results["book"] = time_book(Path(__file__).resolve().parents[1], chapters)
    print(format_table(results), flush=True)
    if target is not None:
        text = json.dumps(finite_json(results), indent=1, allow_nan=False)
        try:
            target.write_text(text + "\n")
        except OSError as exc:
            raise ConfigError(f"--json {args.json}: could not write the results "
                              f"({exc.strerror or exc}); they are printed above") from None
    return 0


def _spread(x: dict, fmt: str) -> str:
    return f"{x['median']:{fmt}} [{x['min']:{fmt}}-{x['max']:{fmt}}]"


def format_table(r: dict) -> str:
    """The bench's results as a text table: medians over the rounds, [min-max] after."""
    m = r["machine"]
    isa = f", oneDNN limited to {m['onednn_max_isa']}" if m.get("onednn_max_isa") else ""
    t = r["cnn_train"]
    lines = [f"machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']}, {m['device']}; "
             f"ATen CPU capability {m.get('cpu_capability', '?')}{isa}; native bf16: "
             f"{'yes' if m.get('bf16_native') else 'no'}",
             f"precision: nnbook {t['nnbook_precision']} (setting: {r['precision_asked']}), "
             f"reference fp32 (pytorch/examples); CNN threads: {t['nnbook_threads']}",
             f"data: {r['data']}",
             f"{t['rounds']} alternating rounds of {t['steps_per_round']} batches per recipe, "
             f"each recipe in its own process; other processes used "
             f"{100 * r['others_cpu_share']['median']:.0f} % of the CPU (median over "
             f"measurements, max {100 * r['others_cpu_share']['max']:.0f} %; rounds redone "
             f"for that: {t.get('rounds_redone', 0) + r['mlp_train'].get('rounds_redone', 0)}"
             f" + {r['cnn_eval'].get('rounds_redone', 0)})", "",
             "median [min-max] over the rounds; ratio: of the medians [per-round range]",
             f"{'measure':<36}{'reference':>22}{'nnbook':>22}{'ratio':>20}"]
    for name in ("cnn", "mlp"):
        t = r[f"{name}_train"]
        ratio = t["speedup_per_round"]
        lines.append(f"{name.upper() + ' train, s/epoch':<36}"
                     f"{_spread(t['reference_s_per_epoch'], '.1f'):>22}"
                     f"{_spread(t['nnbook_s_per_epoch'], '.1f'):>22}"
                     f"{t['speedup']:>8.2f}x [{ratio['min']:.2f}-{ratio['max']:.2f}]")
        if f"{name}_accuracy" in r:
            a = r[f"{name}_accuracy"]
            label = f"{name.upper()} test acc, {a['steps']} steps"
            lines.append(f"{label:<36}"
                         f"{_pm(a['reference_test_acc'], a['reference_test_acc_sd']):>22}"
                         f"{_pm(a['nnbook_test_acc'], a['nnbook_test_acc_sd']):>22}"
                         f"  mean ± sd of {a['seeds']} seeds")
    e = r["cnn_eval"]
    images = e.get("images")
    label = "CNN eval, " + (f"{images:,} " if images else "") + "images, images/s"
    lines.append(f"{label:<36}{_spread(e['reference_images_per_s'], '.0f'):>22}"
                 f"{_spread(e['nnbook_images_per_s'], '.0f'):>22}{e['speedup']:>8.2f}x")
    lines.append(f"{'CNN eval, ' + str(e['shifted_sets']) + ' shifted sets, images/s':<36}"
                 f"{'':>22}{_spread(e['nnbook_shifted_images_per_s'], '.0f'):>22}"
                 f"  evaluate_many")
    lim = r["limit"]
    f = lim["cnn_flops_per_image"]
    lines += ["",
              f"limit: float32 matmul {lim['matmul_n']}x{lim['matmul_n']} on "
              f"{r['cnn_train']['nnbook_threads']} threads: "
              f"{_spread(lim['matmul_gflops'], '.0f')} GFLOP/s",
              f"CNN training arithmetic (from the layer shapes): {f['training'] / 1e6:.1f} MFLOP "
              f"per image (forward {f['forward'] / 1e6:.1f}, backward {f['backward'] / 1e6:.1f}), "
              f"at the matmul rate {lim['cnn_limit_s_per_epoch']:.1f} s/epoch",
              f"CNN training step as a fraction of that limit: reference "
              f"{_spread(_percent(lim['reference_fraction']), '.0f')} %, nnbook "
              f"{_spread(_percent(lim['nnbook_fraction']), '.0f')} %"]
    if "book" in r:
        b = r["book"]
        which = "" if b.get("chapters", "all") == "all" else \
            f" (introduction and {', '.join(b['chapters'])} only)"
        lines.append(f"book build quick{which}: "
                     f"cold {b['book_cold_s']:.0f} s (ok={b['book_cold_ok']}), "
                     f"warm {b['book_warm_s']:.0f} s (ok={b['book_warm_ok']}), "
                     f"nbval after build {b['nbval_after_build_s']:.0f} s (ok={b['nbval_ok']})")
    return "\n".join(lines)


def _pm(mean: float, sd: float) -> str:
    return f"{100 * mean:.2f} ± {100 * sd:.2f} %"


def _percent(x: dict) -> dict:
    return {k: 100 * x[k] for k in ("median", "min", "max")}


if __name__ == "__main__":
    sys.exit(main())
