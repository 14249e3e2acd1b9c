"""The package's exceptions: each carries a one-line, actionable message.

``ConfigError`` is a ``ValueError`` (a bad name or value given by the caller);
``DataError`` names the data file at fault and how to fix it. The command line
prints either as a single line and exits with status 2.
"""


class NNBookError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(NNBookError, ValueError):
    """A bad experiment name, profile, configuration value or argument."""


class DataError(NNBookError, RuntimeError):
    """A data set that is missing, truncated, corrupt or cannot be fetched."""
