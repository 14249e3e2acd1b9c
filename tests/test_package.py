"""The package itself: name, import without side effects, vocabulary."""

import subprocess
import sys

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
