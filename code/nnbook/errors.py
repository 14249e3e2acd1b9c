"""The package's exceptions and warnings: each a single, actionable line.

``ConfigError`` is a ``ValueError`` (a bad name, value, argument or environment
variable given by the caller); ``DataError`` names the data file at fault and how
to fix it. The command line prints either as ``nnbook: error: <line>`` and exits
with status 2. The result cache raises nothing for a file-system fault: what
cannot be stored is still returned, with a warning (:mod:`nnbook.cache`).

:func:`warn` prints ``nnbook: warning: <line>`` on stderr (optionally once per
process), for faults that lose nothing: a result that could not be stored is
still returned, with one such line.
"""

import argparse
import sys


class NNBookError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(NNBookError, ValueError):
    """A bad experiment name, profile, configuration value, argument or variable."""


class DataError(NNBookError, RuntimeError):
    """A data set that is missing, truncated, corrupt, not what it claims, or unfetchable."""


_warned: set = set()


def warn(message: str, once=None) -> None:
    """Print ``nnbook: warning: message`` on stderr; with ``once`` (any hashable), only
    the first time this process warns with that ``once``."""
    if once is not None:
        if once in _warned:
            return
        _warned.add(once)
    try:
        print(f"nnbook: warning: {message}", file=sys.stderr, flush=True)
    except (OSError, ValueError):  # stderr closed: nothing to tell
        pass


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is a :class:`ConfigError` (so one line and exit status 2
    from the command line, like every other bad value)."""

    def error(self, message):
        raise ConfigError(f"{message} (see `python -m {self.prog} --help`)")
