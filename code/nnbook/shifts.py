"""Shifted test sets: every reading of "the test images shifted by n pixels".

The lecture reports the accuracy of its networks on test images shifted by
1, 2 and 3 pixels without saying in which direction, nor what fills the
uncovered border. A *reading* is one answer to both questions:

- a **direction**: one of the four axis directions (``right``, ``left``,
  ``down``, ``up``: the image content moves that way by n pixels) or one of the
  four diagonals (``down-right``, ...: n pixels along both axes);
- a **fill**: ``zero`` (the strip that the image leaves uncovered is filled with
  the background, black) or ``wrap`` (``torch.roll``: what leaves one side
  enters on the other).

The book's main measurements use the four axis directions with zero fill and
report their mean (and range); the chapter "Reproducing the lecture" compares
every reading with the lecture's numbers. Explained there and in "CNNs on MNIST".
"""

from __future__ import annotations

import torch

from .errors import ConfigError

#: (rows, columns) moved per pixel of shift: positive = down / right.
AXES = {"right": (0, 1), "left": (0, -1), "down": (1, 0), "up": (-1, 0)}
DIAGONALS = {"down-right": (1, 1), "down-left": (1, -1), "up-right": (-1, 1),
             "up-left": (-1, -1)}
DIRECTIONS = {**AXES, **DIAGONALS}
FILLS = ("zero", "wrap")


def shift(X: torch.Tensor, pixels: int, direction: str = "right", fill: str = "zero",
          background: float = 0.0) -> torch.Tensor:
    """Images ``X`` (``N x C x H x W``) moved by ``pixels`` in ``direction``.

    ``fill="zero"`` puts ``background`` (the normalised value of a black pixel)
    where the image left the frame; ``fill="wrap"`` rolls the image around.
    ``pixels=0`` returns ``X`` itself.
    """
    if direction not in DIRECTIONS:
        raise ConfigError(f"unknown shift direction {direction!r}: choose one of "
                          f"{', '.join(DIRECTIONS)}")
    if fill not in FILLS:
        raise ConfigError(f"unknown shift fill {fill!r}: choose zero or wrap")
    size = min(X.shape[-2:])
    if not isinstance(pixels, int) or isinstance(pixels, bool) or not 0 <= pixels < size:
        raise ConfigError(f"shift must be an integer from 0 to {size - 1} pixels, "
                          f"got {pixels!r}")
    if pixels == 0:
        return X
    dy, dx = (pixels * d for d in DIRECTIONS[direction])
    if fill == "wrap":
        return torch.roll(X, shifts=(dy, dx), dims=(-2, -1))
    out = torch.full_like(X, background)
    H, W = X.shape[-2:]
    out[..., max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] = \
        X[..., max(-dy, 0):H + min(-dy, 0), max(-dx, 0):W + min(-dx, 0)]
    return out


def readings(directions=tuple(DIRECTIONS), fills=FILLS) -> list[tuple[str, str]]:
    """Every ``(direction, fill)`` pair, axis directions first."""
    return [(d, f) for f in fills for d in directions]


def reading_name(direction: str, fill: str) -> str:
    """``"right"`` for the book's default fill, ``"right, wrap"`` otherwise."""
    return direction if fill == "zero" else f"{direction}, {fill}"


def random_shift(X: torch.Tensor, max_shift: int, background: float,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Each image of ``X`` moved by its own random offset of up to
    ``max_shift`` pixels along each axis (uniform on ``-max_shift ..
    max_shift``, zero fill): the shift augmentation of the chapter "Curing
    shift sensitivity"."""
    if max_shift == 0:
        return X
    n, H, W = X.shape[0], X.shape[-2], X.shape[-1]
    m, dev = max_shift, X.device
    padded = torch.nn.functional.pad(X, (m, m, m, m), value=background)
    off = torch.randint(0, 2 * m + 1, (2, n), generator=generator, device=dev)
    rows = torch.arange(H, device=dev)[None, :] + off[0][:, None]  # n x H
    cols = torch.arange(W, device=dev)[None, :] + off[1][:, None]  # n x W
    batch = torch.arange(n, device=dev)[:, None, None]
    # n x H x W x C
    out = padded[batch, :, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2)  # n x C x H x W, laid out channels-last
