"""The anatomy of a real network: the shape after each of its operations.

:func:`stages` traces a model's ``forward`` with ``torch.fx`` (so functional calls such
as ``F.relu`` and ``F.max_pool2d`` count, not only submodules), runs a blank image
through it and lists every operation with the shape it produces and the weights
it holds. The architecture diagrams, the layer table and the "9,216 features"
of the chapters all come from here, applied to :class:`nnbook.models.CNN`
itself, so they cannot drift from the network that is trained (d2l's
``layer_summary`` walks its networks in the same spirit).

Explained in the chapter "CNN architecture and pooling".
"""

from __future__ import annotations

import torch
from torch import fx, nn
from torch.nn import functional as F

_FUNCTIONS = {F.relu: "ReLU", torch.relu: "ReLU", F.max_pool2d: "max-pool",
              torch.flatten: "flatten", F.avg_pool2d: "average-pool"}


def _describe(node: fx.Node, module: nn.Module | None) -> str | None:
    """A short name for the operation of ``node``; None for bookkeeping nodes."""
    if node.op == "call_module":
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size
            return f"conv {k[0]}×{k[1]}, {module.in_channels}→{module.out_channels}"
        if isinstance(module, nn.Linear):
            return f"dense {module.in_features}→{module.out_features}"
        if isinstance(module, nn.Dropout):
            return f"dropout {module.p:g}"
        if isinstance(module, nn.MaxPool2d):
            return f"max-pool {module.kernel_size}×{module.kernel_size}"
        if isinstance(module, nn.Flatten):
            return "flatten"
        if isinstance(module, nn.ReLU):
            return "ReLU"
        if isinstance(module, nn.BatchNorm2d):
            return "batch norm"
        return type(module).__name__
    if node.op == "call_function" and getattr(node.target, "__name__", "") == "flatten":
        return "flatten"
    if node.op == "call_function" and node.target in _FUNCTIONS:
        name = _FUNCTIONS[node.target]
        if name == "max-pool":
            k = node.args[1] if len(node.args) > 1 else node.kwargs.get("kernel_size")
            return f"max-pool {k}×{k}"
        return name
    if node.op == "call_method" and node.target == "mean":
        return "global average"
    return None


class _Tracer(fx.Tracer):
    """fx's tracer, with every dropout layer one operation (subclasses of ``nn.Dropout``,
    such as the trainer's :class:`nnbook.speedups.Dropout`, included)."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return isinstance(m, nn.Dropout) or super().is_leaf_module(m, module_qualified_name)


def stages(model: nn.Module, in_shape=(1, 28, 28)) -> list[dict]:
    """``[{"op", "shape", "params"}, ...]``: the input, then every operation of
    ``model.forward`` in order, with the shape of one sample after it and the number
    of weights the operation holds."""
    tracer = _Tracer()
    traced = fx.GraphModule(model, tracer.trace(model))
    modules = dict(traced.named_modules())
    shapes: dict[str, tuple] = {}
    out = [{"op": "input", "shape": tuple(in_shape), "params": 0}]
    env: dict[str, torch.Tensor] = {}
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for node in traced.graph.nodes:
                if node.op == "placeholder":
                    env[node.name] = torch.zeros(1, *in_shape)
                    continue
                if node.op == "output":
                    break
                args = fx.node.map_arg(node.args, lambda n: env[n.name])
                kwargs = fx.node.map_arg(node.kwargs, lambda n: env[n.name])
                module = modules.get(node.target) if node.op == "call_module" else None
                if node.op == "call_module":
                    value = module(*args, **kwargs)
                elif node.op == "call_function":
                    value = node.target(*args, **kwargs)
                elif node.op == "call_method":
                    value = getattr(args[0], node.target)(*args[1:], **kwargs)
                else:  # get_attr
                    value = getattr(traced, node.target)
                env[node.name] = value
                name = _describe(node, module)
                if name is None or not isinstance(value, torch.Tensor):
                    continue
                shapes[node.name] = tuple(value.shape[1:])
                params = sum(p.numel() for p in module.parameters()) if module is not None else 0
                out.append({"op": name, "shape": shapes[node.name], "params": params})
    finally:
        model.train(was_training)
    return out


def merged(stage_list: list[dict]) -> list[dict]:
    """:func:`stages` with each ReLU folded into the operation before it ("conv 3×3,
    1→32, ReLU") and dropout left out (it changes no shape and holds no weights)."""
    out: list[dict] = []
    for st in stage_list:
        if st["op"] == "ReLU" and out:
            out[-1] = dict(out[-1], op=out[-1]["op"] + ", ReLU")
        elif not st["op"].startswith("dropout"):
            out.append(dict(st))
    return out


def features_before_dense(model: nn.Module, in_shape=(1, 28, 28)) -> int:
    """How many numbers reach the first fully connected layer."""
    st = stages(model, in_shape)
    first = next(i for i, s in enumerate(st) if s["op"].startswith("dense"))
    shape = st[first - 1]["shape"]
    n = 1
    for d in shape:
        n *= d
    return n
