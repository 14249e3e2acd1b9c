"""Image convolution and pooling written out in NumPy, and the lecture's named kernels.

:func:`convolve` implements the lecture's formula literally, as an explicit sum
over the kernel offsets:

    (W∗I)(i, j) = Σ_{p,q=-N..N} W(N+1+p, N+1+q) · I(i+p, j+q)

for a ``(2N+1) x (2N+1)`` kernel ``W`` (indices from 1 in the formula, from 0 in
NumPy). The kernel is *not* flipped: this is what signal processing calls a
cross-correlation, and it is exactly what ``torch.nn.functional.conv2d`` and
every CNN library compute under the name "convolution".

Border rule (``border=``): ``"valid"`` (the default) evaluates the sum only
where the whole window lies inside the image, so an ``H x W`` image gives an
``(H-2N) x (W-2N)`` output (``conv2d`` with ``padding=0``); ``"zero"`` treats
pixels outside the image as 0 and keeps the size (``padding=N``); ``"edge"``
repeats the nearest border pixel and keeps the size (what photo editors do).

:func:`max_pool` and :func:`avg_pool` slide a ``size x size`` window with
stride ``stride`` (default ``size``) and drop an incomplete last window, as
``max_pool2d`` / ``avg_pool2d`` do. :func:`photograph` loads a real test photo
that matplotlib ships (no download).

:func:`conv_layer` and :func:`max_pool_layer` are the same operations as the
layers of a CNN: batches of images with several channels, ``(batch, channels,
height, width)`` as PyTorch stores them. ``conv_layer`` is what
``nn.Conv2d(C_in, C_out, 2N+1)`` computes (valid border, stride 1), written as
the lecture's formula summed over the input channels; ``max_pool_layer`` is
``F.max_pool2d(X, size)``.

Explained in the chapters "Image convolution" and "CNN architecture and pooling".
"""

from __future__ import annotations

import numpy as np

from .errors import ConfigError

#: The six named 3x3 kernels of the lecture, exactly as given there.
KERNELS: dict[str, tuple[tuple[int, ...], ...]] = {
    "sobel-vertical": ((-1, 0, 1), (-2, 0, 2), (-1, 0, 1)),
    "sobel-horizontal": ((1, 2, 1), (0, 0, 0), (-1, -2, -1)),
    "laplacian": ((0, -1, 0), (-1, 4, -1), (0, -1, 0)),
    "outline": ((-1, -1, -1), (-1, 8, -1), (-1, -1, -1)),
    "emboss": ((-2, -1, 0), (-1, 1, 1), (0, 1, 2)),
    "sharpen": ((0, -1, 0), (-1, 5, -1), (0, -1, 0)),
}
BORDERS = ("valid", "zero", "edge")
#: ITU-R BT.601 luma weights, used to turn the RGB photograph into grey.
LUMA = (0.299, 0.587, 0.114)
PHOTO = "grace_hopper.jpg"


def kernel(name: str) -> np.ndarray:
    """The named kernel (see :data:`KERNELS`) as a new float64 ``3 x 3`` array."""
    if name not in KERNELS:
        raise ConfigError(f"unknown kernel {name!r}: choose one of {', '.join(KERNELS)}")
    return np.array(KERNELS[name], dtype=np.float64)


def _image(image, what: str = "image") -> np.ndarray:
    arr = np.asarray(image, dtype=np.float64)
    if arr.ndim != 2 or min(arr.shape) == 0:
        raise ConfigError(f"{what} must be a non-empty 2-D array (one grey channel), "
                          f"got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ConfigError(f"{what} contains NaN or infinite values")
    return arr


def half_width(weights) -> int:
    """N for a ``(2N+1) x (2N+1)`` kernel; ConfigError for any other shape."""
    w = np.asarray(weights)
    if w.ndim != 2 or w.shape[0] != w.shape[1] or w.shape[0] % 2 == 0:
        raise ConfigError(f"kernel must be square with an odd side (2N+1), got shape {w.shape}")
    return w.shape[0] // 2


def convolve(image, weights, border: str = "valid") -> np.ndarray:
    """The lecture's 2-D convolution of a grey ``image`` with a ``(2N+1)^2`` kernel.

    ``weights`` is an array or the name of a kernel in :data:`KERNELS`. The sum
    over the offsets ``p, q = -N..N`` is written out: each term adds
    ``W(N+1+p, N+1+q)`` times the image moved by ``(p, q)``. See the module
    docstring for ``border``.
    """
    if isinstance(weights, str):
        weights = kernel(weights)
    I = _image(image)  # noqa: E741  (the lecture's name)
    W = _image(weights, "kernel")
    N = half_width(W)
    if border not in BORDERS:
        raise ConfigError(f"unknown border rule {border!r}: "
                          f"choose one of {', '.join(BORDERS)}")
    if border == "zero":
        I = np.pad(I, N, mode="constant")  # noqa: E741
    elif border == "edge":
        I = np.pad(I, N, mode="edge")  # noqa: E741
    H, Wd = I.shape[0] - 2 * N, I.shape[1] - 2 * N
    if H < 1 or Wd < 1:
        raise ConfigError(f"image {I.shape} is smaller than the "
                          f"{2 * N + 1}x{2 * N + 1} kernel (use border='zero' or 'edge')")
    out = np.zeros((H, Wd))
    # Output pixel (i, j) sits at (i+N, j+N) of I: I(i+p, j+q) of the formula is
    # I[N+i+p, N+j+q] here, and W(N+1+p, N+1+q) (from 1) is W[N+p, N+q] (from 0).
    for p in range(-N, N + 1):
        for q in range(-N, N + 1):
            out += W[N + p, N + q] * I[N + p:N + p + H, N + q:N + q + Wd]
    return out


def _batch(X, what: str = "X") -> np.ndarray:
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim != 4 or min(arr.shape) == 0:
        raise ConfigError(f"{what} must be a non-empty 4-D array (batch, channels, height, "
                          f"width), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ConfigError(f"{what} contains NaN or infinite values")
    return arr


def conv_layer(X, W, b) -> np.ndarray:
    """A convolution layer: ``C_in`` input channels to ``C_out`` output channels.

    ``X``: a batch of images, ``(batch, C_in, H, W)``; ``W``: the kernels,
    ``(C_out, C_in, 2N+1, 2N+1)``, one per pair of output and input channel; ``b``:
    one bias per output channel. Output channel ``c`` of an image ``x`` is
    ``b[c] + sum over d of convolve(x[d], W[c, d])`` with the valid border, so the
    result has shape ``(batch, C_out, H-2N, W-2N)``: what ``nn.Conv2d`` computes.
    """
    X, W, b = _batch(X), _batch(W, "W"), np.asarray(b, dtype=np.float64)
    if W.shape[1] != X.shape[1] or b.shape != (W.shape[0],):
        raise ConfigError(f"shapes do not fit: X {X.shape} (batch, C_in, H, W), "
                          f"W {W.shape} (C_out, C_in, k, k), b {b.shape} (C_out,)")
    return np.array([[b[c] + sum(convolve(x[d], W[c, d]) for d in range(len(x)))
                      for c in range(len(W))]
                     for x in X])


def max_pool_layer(X, size: int = 2) -> np.ndarray:
    """Max pooling of every channel of every image in a batch ``(batch, C, H, W)``,
    ``size x size`` windows that do not overlap: ``F.max_pool2d(X, size)``."""
    return np.array([[max_pool(channel, size) for channel in x] for x in _batch(X)])


def compare_with_conv2d(cases=((28, 28, 3), (64, 48, 3), (31, 17, 5), (100, 100, 7)),
                        seed: int = 0) -> list[dict]:
    """Largest |convolve - torch conv2d| on random images and kernels, for every border rule.

    ``cases`` are ``(height, width, kernel side)``. :func:`convolve` computes in
    float64; ``conv2d`` is run in float64 (``diff_float64``) and in float32, the
    precision CNNs train in (``diff_float32``). ``border="zero"`` is compared with
    ``conv2d(padding=N)``, ``"edge"`` with replicate-padding first.
    """
    import torch
    import torch.nn.functional as F

    def conv2d(image, weights, border, dtype):
        x = torch.from_numpy(image).to(dtype)[None, None]
        k = torch.from_numpy(weights).to(dtype)[None, None]
        N = half_width(weights)
        if border == "edge":
            x = F.pad(x, (N, N, N, N), mode="replicate")
        out = F.conv2d(x, k, padding=N if border == "zero" else 0)
        return out[0, 0].double().numpy()

    rng = np.random.default_rng(seed)
    rows = []
    for h, w, side in cases:
        image, weights = rng.standard_normal((h, w)), rng.standard_normal((side, side))
        for border in BORDERS:
            ours = convolve(image, weights, border)
            diffs = {f"diff_{name}": float(np.abs(ours - conv2d(image, weights, border,
                                                                 dtype)).max())
                     for name, dtype in (("float64", torch.float64), ("float32", torch.float32))}
            rows.append({"image": (h, w), "kernel": side, "border": border,
                         "output": ours.shape, **diffs})
    return rows


def _pool(image, size: int, stride: int | None, reduce) -> np.ndarray:
    I = _image(image)  # noqa: E741
    stride = size if stride is None else stride
    for name, v in (("size", size), ("stride", stride)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ConfigError(f"pooling {name} must be a positive integer, got {v!r}")
    if size > min(I.shape):
        raise ConfigError(f"pooling window {size} is larger than the image {I.shape}")
    H = (I.shape[0] - size) // stride + 1
    W = (I.shape[1] - size) // stride + 1
    # out(i, j) = reduce over a, b = 0..size-1 of I(i*stride + a, j*stride + b): one
    # array per position (a, b) in the window, holding that pixel of every window.
    window = [I[a:a + stride * (H - 1) + 1:stride, b:b + stride * (W - 1) + 1:stride]
              for a in range(size) for b in range(size)]
    return reduce(np.stack(window), axis=0)


def max_pool(image, size: int = 2, stride: int | None = None) -> np.ndarray:
    """Max pooling: the largest value in each ``size x size`` window (stride ``size``)."""
    return _pool(image, size, stride, np.max)


def avg_pool(image, size: int = 2, stride: int | None = None) -> np.ndarray:
    """Average pooling: the mean of each ``size x size`` window (stride ``size``)."""
    return _pool(image, size, stride, np.mean)


def pool(image, kind: str = "max", size: int = 2, stride: int | None = None) -> np.ndarray:
    """``max_pool`` or ``avg_pool`` by name (``kind`` is "max" or "avg")."""
    funcs = {"max": max_pool, "avg": avg_pool}
    if kind not in funcs:
        raise ConfigError(f"unknown pooling {kind!r}: choose max or avg")
    return funcs[kind](image, size, stride)


def shift(image, dy: int = 0, dx: int = 0, fill: float = 0.0) -> np.ndarray:
    """``image`` moved ``dy`` pixels down and ``dx`` right (negative: up / left).

    Nothing wraps around: uncovered pixels get ``fill``.
    """
    I = _image(image)  # noqa: E741
    for v in (dy, dx):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
            raise ConfigError(f"shift must be a whole number of pixels, got {v!r}")
    if abs(dy) >= I.shape[0] or abs(dx) >= I.shape[1]:
        raise ConfigError(f"shift ({dy}, {dx}) is larger than the image {I.shape}")
    out = np.full_like(I, fill)
    H, W = I.shape
    out[max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] = \
        I[max(-dy, 0):H - max(dy, 0), max(-dx, 0):W - max(dx, 0)]
    return out


def equivariance_error(image, weights, dy: int, dx: int) -> float:
    """Largest |conv(shift(I)) - shift(conv(I))| away from the borders.

    Convolution commutes with translation: shifting the input shifts the
    output. Only the band of ``|shift| + N`` pixels along the edges, where
    pixels left or entered the image, can differ; it is excluded. The
    result is 0 up to rounding.
    """
    if isinstance(weights, str):
        weights = kernel(weights)
    N = half_width(weights)
    a = convolve(shift(image, dy, dx), weights, border="zero")
    b = shift(convolve(image, weights, border="zero"), dy, dx)
    m_y, m_x = abs(dy) + N, abs(dx) + N
    inner = (slice(m_y, a.shape[0] - m_y), slice(m_x, a.shape[1] - m_x))
    if a[inner].size == 0:
        raise ConfigError(f"shift ({dy}, {dx}) leaves no interior in a {a.shape} image")
    return float(np.abs(a[inner] - b[inner]).max())


def impulse_response(weights, size: int = 9) -> np.ndarray:
    """The output for an image that is 0 except for a single 1 in the centre.

    Shows locality (only a ``(2N+1)^2`` patch of the output changes) and that
    the formula does not flip the kernel: the patch is ``W`` rotated by 180°
    (a true convolution would give ``W`` itself).
    """
    if isinstance(weights, str):
        weights = kernel(weights)
    if not isinstance(size, int) or size < 2 * half_width(weights) + 1:
        raise ConfigError(f"impulse image size must be an integer >= the kernel side, got {size}")
    delta = np.zeros((size, size))
    delta[size // 2, size // 2] = 1.0
    return convolve(delta, weights, border="zero")


def pooled_shift_change(images, kind: str = "max", size: int = 2, shifts=(1, 2, 3)) -> dict:
    """How much a pooled image changes when the input moves, relative to its size.

    For each shift ``s`` (pixels, to the right) returns the mean over ``images``
    of ``‖P(shift(x)) - P(x)‖ / ‖P(x)‖`` with ``P`` the ``size x size`` pooling
    (``size=1``: no pooling). Uncovered pixels get the image's smallest value
    (its background). Smaller means more invariant.
    """
    images = [_image(x) for x in images]
    if not images:
        raise ConfigError("pooled_shift_change needs at least one image")
    out = {}
    for s in shifts:
        rel = []
        for x in images:
            base = pool(x, kind, size)
            moved = pool(shift(x, 0, int(s), fill=float(x.min())), kind, size)
            rel.append(np.linalg.norm(moved - base) / max(np.linalg.norm(base), 1e-12))
        out[int(s)] = float(np.mean(rel))
    return out


def photograph(scale: int = 1) -> np.ndarray:
    """Matplotlib's sample photograph of Grace Hopper, in grey, values in [0, 1].

    The file ships with matplotlib (``matplotlib.cbook.get_sample_data``); no
    download. RGB is turned into grey with the BT.601 weights :data:`LUMA`.
    ``scale > 1`` shrinks it by averaging ``scale x scale`` blocks.
    """
    from matplotlib import cbook
    from PIL import Image

    if not isinstance(scale, int) or scale < 1:
        raise ConfigError(f"scale must be a positive integer, got {scale!r}")
    with cbook.get_sample_data(PHOTO) as f, Image.open(f) as im:
        rgb = np.asarray(im.convert("RGB"), dtype=np.float64) / 255.0
    grey = rgb @ np.array(LUMA)
    if scale > 1:
        H, W = (grey.shape[0] // scale) * scale, (grey.shape[1] // scale) * scale
        grey = grey[:H, :W].reshape(H // scale, scale, W // scale, scale).mean(axis=(1, 3))
    return grey
