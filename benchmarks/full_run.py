"""Time one full-profile Fashion-MNIST CNN run: the lecture's recipe, 14 epochs.

Trains :class:`nnbook.models.CNN` with :func:`nnbook.train.fit` on all 60,000
training images (Adadelta lr 1.0, StepLR gamma 0.7 per epoch, batch 64, seed 0),
evaluating the 10,000 test images after every epoch as the book's experiments do,
and prints the total time, each epoch's training time and test accuracy, and the
share of the CPU that other processes took during each epoch (a timing taken
while others computed is slower than this machine can be).

    python benchmarks/full_run.py [--precision fp32|bf16|auto] [--epochs 14] [--json PATH]

Emulate a CPU without AVX-512 and bf16 with ``ONEDNN_MAX_CPU_ISA=AVX2
ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2`` in the environment.
Results: ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import torch
from bench import _cpu_seconds, machine

from nnbook import data as datamod
from nnbook.models import CNN
from nnbook.train import TrainConfig, fit, set_seed


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--precision", choices=("fp32", "bf16", "auto"), default="auto")
    p.add_argument("--epochs", type=int, default=14)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", metavar="PATH")
    args = p.parse_args(argv)
    os.environ.pop("NNBOOK_PRECISION", None)  # --precision decides
    t_start = time.perf_counter()
    ds = datamod.fashion_mnist()
    config = TrainConfig(num_epochs=args.epochs, batch_size=64, lr=1.0, optimizer="adadelta",
                         gamma=0.7, seed=args.seed, precision=args.precision)
    steps_per_epoch = math.ceil(ds.n_train / config.batch_size)
    cores = os.cpu_count() or 1
    start, shares = [], []

    def callback(step, model):  # others' share of the CPU over each epoch's training
        if step % steps_per_epoch == 1:
            start[:] = [time.perf_counter(), *_cpu_seconds()]
        elif step % steps_per_epoch == 0 and start:
            now = (time.perf_counter(), *_cpu_seconds())
            wall, busy, mine = (a - b for a, b in zip(now, start, strict=True))
            shares.append(max(0.0, (busy - mine) / (wall * cores)))

    set_seed(args.seed)
    model = CNN()
    t0 = time.perf_counter()
    history = fit(model, ds.X_train, ds.y_train, config, ds.X_test, ds.y_test,
                  callback=callback)
    fit_s = time.perf_counter() - t0
    total_s = time.perf_counter() - t_start
    result = {"machine": machine(), "precision_setting": args.precision,
              "precision": history[-1]["precision"], "threads": torch.get_num_threads(),
              "epochs": args.epochs, "seed": args.seed, "fit_s": fit_s, "total_s": total_s,
              "train_s": sum(r["seconds"] for r in history),
              "epoch_s": [r["seconds"] for r in history],
              "test_acc": [r["test_acc"] for r in history],
              "others_cpu_share_per_epoch": shares,
              "isa_limit": os.environ.get("ONEDNN_MAX_CPU_ISA", "")}
    quiet = [s for s, sh in zip(result["epoch_s"], shares, strict=False) if sh < 0.05]
    print(f"{args.epochs} epochs, precision {result['precision']} (setting {args.precision}), "
          f"ATen {torch.backends.cpu.get_cpu_capability()}, oneDNN ISA limit "
          f"{result['isa_limit'] or 'none'}: fit {fit_s / 60:.1f} min (training "
          f"{result['train_s'] / 60:.1f} min, evaluation "
          f"{(fit_s - result['train_s']) / 60:.1f} min), final test accuracy "
          f"{100 * result['test_acc'][-1]:.2f} %")
    print("epoch  seconds  test acc  others' CPU share")
    for i, (s, a) in enumerate(zip(result["epoch_s"], result["test_acc"], strict=True)):
        sh = f"{100 * shares[i]:.0f} %" if i < len(shares) else "?"
        print(f"{i + 1:>5}  {s:>7.1f}  {100 * a:>7.2f} %  {sh:>6}")
    if quiet:
        print(f"epochs with others under 5 % of the CPU: {len(quiet)}, median "
              f"{sorted(quiet)[len(quiet) // 2]:.1f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
