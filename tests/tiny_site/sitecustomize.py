"""Test-sized experiments for commands that run the whole book (``reproduce``,
``variation run``): with this folder on PYTHONPATH (nothing else switches it on), every
process (the command, its subprocesses, its notebook kernels) starts by shrinking every
experiment's base config, in both profiles, to :data:`TINY` (a few hundred images, one
epoch), as the tests' ``--set`` overrides do for ``run``; the full profile's architecture
comparisons train the same one epoch, and ``variation run`` measures one seed offset per
environment instead of three. Everything else of the command runs as printed: the same
code, the same views, the same cache, the same output. Used by
``tests/test_book_commands.py``; never on the path of a reader's build."""

#: experiment -> the keys shrunk (the structure the views read, such as snapshots,
#: sizes, depths and variants, is kept)
TINY = {
    "mnist-mlp": dict(n_train=200, n_test=200, num_epochs=1, monitor=50),
    "mnist-cnn": dict(n_train=200, n_test=200, num_epochs=1, monitor=50, evals_per_epoch=1),
    "fashion-cnn": dict(n_train=200, n_test=200, num_epochs=1, monitor=50, evals_per_epoch=1),
    "depth": dict(width=8, n_train=200, n_test=200, num_epochs=1, grad_batch=16),
    "mnist-overfit": dict(num_epochs=1),
    "loss-compare": dict(n_train=200, n_test=200, num_epochs=1),
    "rings": dict(grid=11),
    "gradient-descent": dict(),
    "shift-study": dict(),
}

from nnbook import experiments  # noqa: E402

_config = experiments.Experiment.config


def config(self, profile: str) -> dict:
    base = _config(self, profile)
    base.update(TINY[self.name])  # a new experiment without a test size: KeyError
    return base


experiments.Experiment.config = config


from nnbook import variation  # noqa: E402
from nnbook.studies import cnn  # noqa: E402

cnn.VARIANT_BUDGET.update(full={"num_epochs": 1})  # not 3 epochs: the test's one
variation.SEED_OFFSETS = variation.SEED_OFFSETS[:1]  # every environment, one seed offset
