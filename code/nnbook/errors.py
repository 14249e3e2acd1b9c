"""The package's exceptions and warnings: each a single, actionable line.

``ConfigError`` is a ``ValueError`` (a bad name, value, argument or environment
variable given by the caller); ``DataError`` names the data file at fault and how
to fix it. The command line prints either as ``nnbook: error: <line>`` and exits
with status 2. The result cache raises nothing for a file-system fault: what
cannot be stored is still returned, with a warning (:mod:`nnbook.cache`).

:func:`warn` prints ``nnbook: warning: <line>`` on stderr (optionally once per
process), for faults that lose nothing: a result that could not be stored is
still returned, with one such line. Every line is passed through :func:`printable`,
so that text from a shared cache or a file name cannot drive the terminal.
"""

import argparse
import sys
import unicodedata


class NNBookError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(NNBookError, ValueError):
    """A bad experiment name, profile, configuration value, argument or variable."""


class DivergedError(ConfigError):
    """Training diverged (the loss became infinite or NaN): a setting, usually the learning
    rate, is too large. The depth study records such a run instead of stopping."""


class DataError(NNBookError, RuntimeError):
    """A data set that is missing, truncated, corrupt, not what it claims, or unfetchable."""


class OutputError(NNBookError):
    """Standard output is closed or cannot be written (a full disk): the command line
    prints one line and exits with status 74."""


def stream_why(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}, errno {exc.errno}"
    return str(exc)


def out(text) -> None:
    """Print ``text`` on standard output, each line escaped for the terminal
    (:func:`printable`); a write that fails (a full disk) is an :class:`OutputError`, a
    closed pipe stays a BrokenPipeError (the command line ends quietly on it)."""
    try:
        print("\n".join(printable(line) for line in str(text).split("\n")))
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except (OSError, ValueError) as exc:
        raise OutputError(f"cannot write to standard output ({stream_why(exc)}); what was "
                          "computed is in the cache: run it again with the output elsewhere"
                          ) from None


_warned: set = set()


def printable(text) -> str:
    """``text`` with every control character (ANSI escape sequences, carriage returns,
    bidirectional overrides, ...) written as a visible escape (``\\x1b``), so that a
    string read from a shared cache or a file name shows as what it is on a terminal."""
    text = str(text)
    if text.isprintable():
        return text
    out = []
    for c in text:
        if c.isprintable() or c == " ":
            out.append(c)
        elif unicodedata.category(c) == "Zs":
            out.append(" ")
        else:
            code = ord(c)
            out.append(f"\\x{code:02x}" if code < 0x100 else
                       f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)


def warn(message: str, once=None) -> None:
    """Print ``nnbook: warning: message`` on stderr; with ``once`` (any hashable), only
    the first time this process warns with that ``once``."""
    if once is not None:
        if once in _warned:
            return
        _warned.add(once)
    try:
        if sys.stderr is not None:  # None: started with stderr closed
            print(f"nnbook: warning: {printable(message)}", file=sys.stderr, flush=True)
    except (OSError, ValueError):  # stderr closed: nothing to tell
        pass


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is a :class:`ConfigError` (so one line and exit status 2
    from the command line, like every other bad value)."""

    def error(self, message):
        raise ConfigError(f"{message} (see `python -m {self.prog} --help`)")
