"""nnbook: the shared code of the executable textbook on neural networks and CNNs.

Every chapter of the book imports this package and calls one named function per
cell; the logic lives here, where it is unit-tested. Importing the package has
no side effects (no downloads, no plotting style, no training).

The package lives in the repository folder ``code/`` but is named ``nnbook``:
a package called ``code`` would clash with the standard library module that
pdb, ipykernel and Sphinx import at start-up.
"""

__version__ = "0.1.0"

from .errors import ConfigError, DataError, NNBookError  # noqa: E402,F401
