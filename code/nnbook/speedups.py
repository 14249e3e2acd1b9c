"""What :func:`nnbook.train.fit` swaps into a network while it trains: the same
function as the teaching code, with less work for a CPU.

The chapters show the networks as pytorch/examples writes them (``nn.Dropout``,
``torch.flatten``). Two of those operations cost a CPU more than they need
(``benchmarks/README.md``):

- torch draws a dropout mask one float at a time with ``bernoulli_`` (3.6 ms of a
  25 ms training step of the lecture's CNN here); :class:`Dropout` compares random
  bytes with ``256 p`` instead, the same distribution exactly when ``256 p`` is a
  whole number (p = 0.25, 0.5), at a twentieth of the cost;
- flattening a channels-last feature map copies it, autograd hands the gradient
  back in the copy's (NCHW) layout, and the pooling layer's backward then converts
  whole 24x24 maps to and fro (4.7 ms of a step); :class:`Dropout` hands the
  gradient on in the layout of its input instead.

:func:`swapped_in` replaces every ``nn.Dropout`` of a model by :class:`Dropout`
for the length of a ``with`` block and puts the originals back afterwards, so the
model a reader holds is the teaching code again. ``tests/test_speedups.py``
checks that outputs and gradients are bit-identical with dropout off and that
the masks have the stated distribution.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn


class Dropout(nn.Dropout):
    """``nn.Dropout`` with masks from random bytes (exact for p = 0.25, 0.5 on a CPU;
    other ``p`` and other devices use torch's own mask), whose gradient keeps the
    memory layout of its channels-last input."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        threshold = self.p * 256
        if (not self.training or self.inplace or x.device.type != "cpu"
                or threshold != int(threshold) or not 0 < self.p < 1):
            return super().forward(x)
        keep = random_bytes_like(x) >= int(threshold)  # P(byte < 256 p) = p exactly
        out = x * keep.to(x.dtype).mul_(1 / (1 - self.p))
        if out.requires_grad and is_channels_last(x):
            out.register_hook(_to_channels_last)
        return out


def _to_channels_last(grad: torch.Tensor) -> torch.Tensor:
    """A gradient that came back in NCHW order (from a flatten), in channels-last."""
    if grad.is_contiguous() and not grad.is_contiguous(memory_format=torch.channels_last):
        return grad.contiguous(memory_format=torch.channels_last)
    return grad


def random_bytes_like(x: torch.Tensor) -> torch.Tensor:
    """Independent uniform bytes (uint8) shaped and laid out like ``x`` (from torch's
    seeded generator). ``random_`` fills int64 with 63 random bits, so each word gives
    7 uniform bytes."""
    n = x.numel()
    words = torch.empty((n + 6) // 7, dtype=torch.int64, device=x.device).random_()
    flat = words.view(torch.uint8).view(-1, 8)[:, :7].reshape(-1)[:n]
    if is_channels_last(x):  # same layout as x: elementwise ops on both stay contiguous
        n_, c, h, w = x.shape
        return flat.view(n_, h, w, c).permute(0, 3, 1, 2)
    return flat.view(x.shape)


def is_channels_last(x: torch.Tensor) -> bool:
    """Whether ``x`` is a 4-d tensor stored channels-last (and not also plain NCHW)."""
    return x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(
        memory_format=torch.channels_last)


@contextlib.contextmanager
def swapped_in(model: nn.Module):
    """Every ``nn.Dropout`` of ``model`` replaced by :class:`Dropout` (same ``p``, same
    mode) until the block ends; then the original layers are back in place."""
    swapped = []
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if type(child) is nn.Dropout:
                setattr(parent, name, Dropout(child.p, child.inplace).train(child.training))
                swapped.append((parent, name, child))
    try:
        yield model
    finally:
        for parent, name, child in swapped:
            child.train(getattr(parent, name).training)  # the mode training left
            setattr(parent, name, child)
