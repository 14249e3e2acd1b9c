"""The book's experiments, one module per part; importing this package registers them all
in :data:`nnbook.registry.REGISTRY`.

- :mod:`.toys`: ``gradient-descent`` and ``rings`` (chapters "Neural networks" and
  "The two-ring toy problem");
- :mod:`.depth`: ``depth`` (chapter "ResNet");
- :mod:`.mnist`: ``mnist-mlp``, ``mnist-overfit`` and ``loss-compare`` (chapters
  "Classification" and "MNIST with two-layer networks");
- :mod:`.cnn`: ``mnist-cnn``, ``fashion-cnn`` and ``shift-study`` (the CNN chapters and
  "Reproducing the lecture").

Each experiment is a function ``(config, dataset) -> result`` of one seed (one that
runs other experiments, the shift study, is also handed the runner:
``(config, dataset, run)``); the shapes of the results are documented in
:mod:`nnbook.schema` and checked where :func:`nnbook.experiments.run` makes them.
"""

from . import cnn, depth, mnist, toys  # noqa: F401
