"""Where the time of one CNN training step goes, operator by operator.

Trains the lecture's CNN on Fashion-MNIST with ``nnbook.train.fit`` (batch 64,
Adadelta, the trainer's own loop), profiles ``--steps`` steps after ``--warmup``
with ``torch.profiler`` and prints a Markdown table: milliseconds per step for
each part of the network (forward and backward apart), the optimizer, the loss,
layout copies and casts, and what the profiler cannot attribute (Python and
dispatch). ``--lecture`` profiles the network as the chapters show it
(``nn.Dropout``, ``torch.flatten``, as pytorch/examples writes it) without the
faster dropout layers that ``fit`` swaps in (``nnbook.speedups``), with the same
weights and trainer, for comparison.

    python benchmarks/profile_step.py [--precision fp32|bf16|auto] [--lecture]

Emulate a CPU without AVX-512 and bf16 with ``ONEDNN_MAX_CPU_ISA=AVX2
ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2`` in the environment.
Results: ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time

import torch
from bench import others_cpu_share
from torch import nn

from nnbook import data as datamod
from nnbook.models import CNN
from nnbook.train import TrainConfig, bf16_supported, fit, pick_device, set_seed

COPIES = ("aten::copy_", "aten::fill_", "aten::zero_")

BACKWARD = {  # autograd node -> part of the step
    "MaxPool2DWithIndicesBackward0": "max-pool", "ReluBackward0": "ReLU",
    "ThresholdBackward0": "ReLU", "MulBackward0": "dropout", "NativeDropoutBackward0": "dropout",
    "LogSoftmaxBackward0": "loss", "NllLossBackward0": "loss", "ToCopyBackward0": "casts (bf16)",
    "torch::autograd::AccumulateGrad": "gradient accumulation",
}
FORWARD = {  # top-level operator outside any module -> part of the step
    "aten::relu": "ReLU", "aten::max_pool2d": "max-pool", "aten::cross_entropy_loss": "loss",
    "aten::to": "casts (bf16)", "aten::flatten": "flatten (layout copy)",
}


class TorchDropout(nn.Dropout):
    """torch's own dropout under another name: ``fit`` swaps only layers of exactly
    ``nn.Dropout`` for its faster twin (``nnbook.speedups``), so ``--lecture`` keeps
    these and profiles the teaching code as it is."""


def teaching_as_is(model: CNN) -> CNN:
    model.dropout1, model.dropout2 = TorchDropout(0.25), TorchDropout(0.5)
    return model


def scope_modules(model: nn.Module) -> None:
    """Wrap each named leaf module's forward in a profiler range of its name."""
    for name, module in model.named_children():
        stack = []

        def enter(_m, _inp, name=name, stack=stack):
            stack.append(torch.profiler.record_function(name))
            stack[-1].__enter__()

        def leave(_m, _inp, _out, stack=stack):
            stack.pop().__exit__(None, None, None)

        module.register_forward_pre_hook(enter)
        module.register_forward_hook(leave)


def self_copies(event) -> float:
    """Microseconds that ``event`` and its descendants spent copying or filling memory."""
    own = event.self_cpu_time_total if event.name in COPIES else 0.0
    return own + sum(self_copies(c) for c in event.cpu_children)


def find(event, name):
    if event.name == name:
        return event
    for c in event.cpu_children:
        hit = find(c, name)
        if hit is not None:
            return hit
    return None


def part_of(event) -> str:
    """Which part of the step a top-level profiler event belongs to."""
    name = event.name
    if name in ("conv1", "conv2", "fc1", "fc2", "dropout1", "dropout2"):
        return {"dropout1": "dropout", "dropout2": "dropout"}.get(name, name) + " forward"
    if name.startswith("Optimizer.step"):
        return "optimizer step (Adadelta)"
    if name.startswith("Optimizer.zero_grad"):
        return "zero_grad"
    if name.startswith("autograd::engine::evaluate_function: "):
        node = name.split(": ", 1)[1]
        if node == "ConvolutionBackward0":
            conv = find(event, "aten::convolution_backward")
            channels = conv.input_shapes[0][1] if conv is not None and conv.input_shapes else 0
            return "conv1 backward" if channels == 32 else "conv2 backward"
        if node == "AddmmBackward0":
            mm = find(event, "aten::mm")
            shapes = str(mm.input_shapes if mm is not None else "")
            return "fc1 backward" if "9216" in shapes or "2304" in shapes else "fc2 backward"
        part = BACKWARD.get(node)
        if part is None:
            return "views, layout copies (backward)"
        return part if part.startswith(("casts", "gradient")) else part + " backward"
    if name == "aten::relu":
        return "ReLU forward"
    if name == "aten::max_pool2d":
        return "max-pool forward"
    if name == "aten::cross_entropy_loss":
        return "loss forward"
    if name in FORWARD:
        return FORWARD[name]
    return "trainer bookkeeping (batch slices, loss sum, accuracy)"


ORDER = ["conv1 forward", "conv1 backward", "conv2 forward", "conv2 backward",
         "max-pool forward", "max-pool backward", "ReLU forward", "ReLU backward",
         "dropout forward", "dropout backward", "flatten (layout copy)",
         "views, layout copies (backward)", "fc1 forward", "fc1 backward", "fc2 forward",
         "fc2 backward", "loss forward", "loss backward", "casts (bf16)",
         "gradient accumulation", "zero_grad", "optimizer step (Adadelta)",
         "trainer bookkeeping (batch slices, loss sum, accuracy)"]


def profile_steps(model: nn.Module, ds, steps: int, warmup: int, precision: str) -> dict:
    device = pick_device()
    scope_modules(model)
    schedule = torch.profiler.schedule(wait=0, warmup=warmup, active=steps, repeat=1)
    prof = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU],
                                  record_shapes=True, schedule=schedule)
    config = TrainConfig(num_epochs=1, batch_size=64, lr=1.0, optimizer="adadelta",
                         precision=precision, max_steps=warmup + steps + 1)
    with prof:
        share, _ = others_cpu_share(lambda: fit(model, ds.X_train, ds.y_train, config,
                                                device=device,
                                                callback=lambda step, m: prof.step()))
    parts = collections.defaultdict(float)
    copies = collections.defaultdict(float)
    step_events = [e for e in prof.events() if e.name.startswith("ProfilerStep")]
    total = sum(e.cpu_time_total for e in step_events)
    for step in step_events:
        for e in step.cpu_children:
            part = part_of(e)
            parts[part] += e.cpu_time_total
            copies[part] += self_copies(e)
    n = len(step_events)
    attributed = sum(parts.values())
    parts["Python, dispatch (unattributed)"] = total - attributed
    return {"steps": n, "step_ms": total / n / 1e3, "others_cpu_share": share,
            "parts_ms": {k: v / n / 1e3 for k, v in parts.items()},
            "copies_ms": {k: v / n / 1e3 for k, v in copies.items()}}


def table(r: dict) -> str:
    lines = ["| part of the step | ms per step | % | of which copies/fills, ms |",
             "|---|---:|---:|---:|"]
    keys = [k for k in ORDER if k in r["parts_ms"]]
    keys += sorted(k for k in r["parts_ms"] if k not in ORDER)
    for k in keys:
        ms = r["parts_ms"][k]
        c = r["copies_ms"].get(k, 0.0)
        lines.append(f"| {k} | {ms:.2f} | {100 * ms / r['step_ms']:.0f} | "
                     f"{c:.2f} |" if c >= 0.005 else f"| {k} | {ms:.2f} | "
                     f"{100 * ms / r['step_ms']:.0f} | |")
    lines.append(f"| **whole step** | **{r['step_ms']:.2f}** | 100 | "
                 f"{sum(r['copies_ms'].values()):.2f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--precision", choices=("fp32", "bf16", "auto"), default="fp32")
    p.add_argument("--steps", type=int, default=30, help="profiled steps")
    p.add_argument("--warmup", type=int, default=10, help="steps before profiling")
    p.add_argument("--lecture", action="store_true",
                   help="profile the network written as pytorch/examples does")
    args = p.parse_args(argv)
    os.environ.pop("NNBOOK_PRECISION", None)  # --precision decides
    ds = datamod.fashion_mnist()
    set_seed(0)
    model = CNN()
    if args.lecture:
        model = teaching_as_is(model)
    t0 = time.perf_counter()
    r = profile_steps(model, ds, args.steps, args.warmup, args.precision)
    cpu = torch.backends.cpu.get_cpu_capability()
    print(f"{'lecture-style' if args.lecture else 'nnbook'} CNN, precision {args.precision} "
          f"(bf16 native: {bf16_supported(torch.device('cpu'))}), ATen CPU capability {cpu}, "
          f"oneDNN ISA limit {os.environ.get('ONEDNN_MAX_CPU_ISA', 'none')}, "
          f"{torch.get_num_threads()} threads, {r['steps']} steps profiled; other processes "
          f"used {100 * r['others_cpu_share']:.0f} % of the CPU "
          f"({time.perf_counter() - t0:.0f} s)\n", file=sys.stderr)
    print(table(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
