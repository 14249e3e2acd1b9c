"""The bands the tests hold every glued number to: one file, one reader.

``bands.json`` ships inside the package (package data), so an installed ``nnbook``
reads the same bands as a source checkout. Per profile it holds the measured band
of every glued number, how often each finding held and how often each lecture claim
got each verdict, with what was measured. ``python -m nnbook variation bands``
writes it (see :mod:`nnbook.variation`); the tests, the reproduction report (its
"builds" column) and ``python -m nnbook view`` read it through :func:`profile`.
"""

from __future__ import annotations

import json
from pathlib import Path

from .errors import ConfigError

#: Where the bands live: next to this module, installed with it.
FILE = Path(__file__).with_name("bands.json")


def read(path: Path = FILE) -> dict:
    """The whole bands file: ``{profile: {bands, findings, claims, measured}, rules}``."""
    if not path.is_file():
        raise ConfigError(f"no bands file at {path}: measure the bands with `python -m "
                          "nnbook variation run` (README, 'Checked prose')")
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"the bands file {path} cannot be read ({exc}): restore it "
                          "(git checkout) or measure it again with `python -m nnbook "
                          "variation run`") from None


def profile(name: str, path: Path = FILE) -> dict:
    """The bands, findings and claims of profile ``name`` (empty when never measured)."""
    return read(path).get(name, {})
