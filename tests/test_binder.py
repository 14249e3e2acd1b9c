"""binder/: what the Binder launch needs, checked cheaply inside `make test`.

The launch itself (an environment built as repo2docker builds it, JupyterLab, a browser
running every cell of two chapters) is `make binder-check` (tests/binder_check.py),
minutes long and not part of `make test`. Here:

- the JupyterLab that binder/ asks for is at least what the installed jupytext's lab
  extension was built for (read from its bundle: the share scope's required version of
  ``@jupyterlab/application``), and above the one repo2docker's base environment has
  (``tests/binder_base.txt``); notebook 7.N goes with JupyterLab 4.N;
- binder/ has no apt.txt package that may be missing from Binder's Ubuntu, postBuild and
  start are executable scripts that do what they say;
- progress bars appear in a notebook kernel when ``NNBOOK_PROGRESS=1`` (as binder/start
  sets) and not without it;
- the chapters' first cell explains the glued placeholders to a notebook reader.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"


def jupytext_lab_requirement() -> tuple[Version, str]:
    """The lowest JupyterLab the installed jupytext lab extension's bundle accepts.

    Its package.json lists the @jupyterlab/* packages it was *written* against
    (``^4.4.9`` in jupytext 1.19.6) and names the bundle it was *built* into
    (``jupyterlab._build.load``); the bundle's share scope is what JupyterLab checks when
    it loads the extension, and there every @jupyterlab/application it accepts is
    ``requiredVersion`` (``^4.6.0-beta.0``: JupyterLab 4.6 or newer, the application
    package has JupyterLab's own version)."""
    import jupyterlab_jupytext

    ext = Path(jupyterlab_jupytext.__file__).parent / "labextension"
    package = json.loads((ext / "package.json").read_text())
    bundle = ext / package["jupyterlab"]["_build"]["load"]
    text = bundle.read_text(encoding="utf-8")
    found = re.findall(r'shareKey:"@jupyterlab/application",[^}]*?requiredVersion:"([^"]+)"',
                       text)
    assert found, f"{bundle}: no required version of @jupyterlab/application in the bundle"
    spec = found[0]
    assert spec.startswith(("^", ">=")), f"{bundle}: unexpected requirement {spec!r}"
    return Version(spec.lstrip("^>=")), f"{package['name']} {package['version']}: {spec}"


def requirements(path: Path) -> dict[str, Requirement]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line)
        out[req.name.lower().replace("_", "-")] = req
    return out


def lowest_allowed(spec: SpecifierSet) -> Version | None:
    """The lower bound a specifier set puts on versions (None: no lower bound)."""
    bounds = [Version(s.version.removesuffix(".*")) for s in spec
              if s.operator in (">=", ">", "==", "~=", "===")]
    return max(bounds) if bounds else None


def check_pins(binder_reqs: dict[str, Requirement], needed: Version, base: dict) -> list[str]:
    problems = []
    lab = binder_reqs.get("jupyterlab")
    base_lab = Version(str(base["jupyterlab"].specifier).lstrip("="))
    if lab is None:
        return [f"binder/requirements.txt does not pin jupyterlab: Binder keeps its base "
                f"environment's {base_lab}, older than the {needed} jupytext's lab "
                f"extension needs (the launch opens a text editor)"]
    low = lowest_allowed(lab.specifier)
    if low is None or low.release < needed.release:
        problems.append(f"binder/requirements.txt allows {lab}: jupytext's lab extension needs "
                        f"JupyterLab >= {needed.base_version}")
    if lab.specifier.contains(base_lab, prereleases=True):
        problems.append(f"binder/requirements.txt allows {lab}, which keeps the base "
                        f"environment's JupyterLab {base_lab}")
    nb = binder_reqs.get("notebook")
    nb_low = lowest_allowed(nb.specifier) if nb else None
    if nb_low is None or (nb_low.major, nb_low.minor) < (7, needed.minor):
        problems.append(f"binder/requirements.txt: notebook {nb.specifier if nb else '(unpinned)'}"
                        f" does not require 7.{needed.minor}, the notebook built on JupyterLab "
                        f"4.{needed.minor}")
    return problems


def test_binder_jupyterlab_satisfies_jupytext_lab_extension():
    needed, source = jupytext_lab_requirement()
    assert needed >= Version("4.0"), source
    base = requirements(ROOT / "tests" / "binder_base.txt")
    problems = check_pins(requirements(BINDER / "requirements.txt"), needed, base)
    assert not problems, f"{source}; " + "; ".join(problems)


@pytest.mark.parametrize("pins, expect", [
    ("jupyterlab>=4.6.2,<5\nnotebook>=7.6,<8", None),
    ("notebook>=7.6", "does not pin jupyterlab"),
    ("jupyterlab>=4.4\nnotebook>=7.6", "needs JupyterLab >= 4.6"),
    ("jupyterlab==4.4.9\nnotebook>=7.6", "keeps the base"),
    ("jupyterlab>=4.6.2\nnotebook>=7.4", "does not require 7.6"),
])
def test_check_pins_catches_old_jupyterlab(tmp_path, pins, expect):
    """The check above fails for pins that reproduce the measured failure."""
    req = tmp_path / "requirements.txt"
    req.write_text(pins + "\n")
    base = requirements(ROOT / "tests" / "binder_base.txt")
    problems = check_pins(requirements(req), Version("4.6.0b0"), base)
    if expect is None:
        assert not problems
    else:
        assert any(expect in p for p in problems), problems


def test_binder_files():
    names = {p.name for p in BINDER.iterdir()}
    assert {"requirements.txt", "runtime.txt", "postBuild", "start"} <= names
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"
    # apt.txt: a package missing from Binder's Ubuntu fails the whole image build; the
    # data come through the package's own download in postBuild instead
    if (BINDER / "apt.txt").exists():
        pkgs = [ln.strip() for ln in (BINDER / "apt.txt").read_text().splitlines()
                if ln.strip() and not ln.startswith("#")]
        assert "dataset-fashion-mnist" not in pkgs
    for script in ("postBuild", "start"):
        mode = (BINDER / script).stat().st_mode
        assert mode & stat.S_IXUSR, f"binder/{script} is not executable"
        assert (BINDER / script).read_text().startswith("#!/bin/bash\n")
    start = (BINDER / "start").read_text()
    assert "export NNBOOK_PROGRESS=1" in start
    assert start.rstrip().endswith('exec "$@"'), "binder/start must end with exec \"$@\""
    post = (BINDER / "postBuild").read_text()
    assert "jupytext-config set-default-viewer" in post
    assert "fashion_mnist" in post and "|| echo \"warning:" in post
    reqs = (BINDER / "requirements.txt").read_text()
    assert "-r ../requirements.txt" in reqs and "jupyterlab-myst" in reqs


def _run_in_kernel(cells: list[str], env: dict) -> list[list[dict]]:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    old = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    return [c.outputs for c in nb.cells]


FIT_CELL = """
import torch
from nnbook import models, train
train.PROGRESS_DELAY = {delay}
X, y = torch.randn(256, 2), torch.randint(0, 2, (256,))
cfg = train.TrainConfig(num_epochs=2, batch_size=32, lr=0.1, optimizer="sgd", seed=0)
train.fit(models.MLP([2, 8, 2]), X, y, cfg, desc="demo")
print("trained")
"""


def _progress(outputs) -> bool:
    for o in outputs:
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {}):
            return True
        if o.get("name") == "stderr" and re.search(r"demo: +\d+%|demo:.*\d+/\d+", o["text"]):
            return True
    return False


@pytest.mark.slow
def test_progress_shows_in_a_notebook_kernel():
    """Binder's start sets NNBOOK_PROGRESS=1: a kernel's training cell then shows progress
    (a widget where ipywidgets is installed, as on Binder; tqdm's text bar here) once the
    run has lasted PROGRESS_DELAY seconds; runs shorter than that (the book's many small
    networks) show none, so that a cell never floods the notebook with bars."""
    base = {k: v for k, v in os.environ.items() if k != "NNBOOK_PROGRESS"}
    base["PYTHONPATH"] = os.pathsep.join(  # this checkout's package, as the book build uses
        p for p in (str(ROOT / "code"), os.environ.get("PYTHONPATH")) if p)
    short, long_ = FIT_CELL.format(delay=60), FIT_CELL.format(delay=0)
    on_short, on_long = _run_in_kernel([short, long_], {**base, "NNBOOK_PROGRESS": "1"})
    for out in (on_short, on_long):
        assert any("trained" in o.get("text", "") for o in out), out
    assert _progress(on_long), f"no progress bar in the kernel's outputs: {on_long}"
    assert not _progress(on_short), f"a bar for a run shorter than the delay: {on_short}"
    (off,) = _run_in_kernel([long_], base)
    assert any("trained" in o.get("text", "") for o in off), off
    assert not _progress(off), f"a progress bar without NNBOOK_PROGRESS: {off}"


def test_glue_note_explains_placeholders():
    from nnbook import present

    note = present.glue_note([("rings.n", 400), ("rings.acc", 97.123456), ("rings.name", "<b>")])
    assert "{glue:text}`rings.n`" in note and "3 of" in note
    assert "<td><code>rings.acc</code></td><td>97.12</td>" in note
    assert "&lt;b&gt;" in note and "<b>" not in note.split("<table>")[1]  # escaped


def test_progress_bar_refreshes_at_most_twice_a_second(monkeypatch, capsys):
    """A full-batch run has one step per epoch; the bar's per-epoch loss must not force a
    refresh per step (it did: 1,000 refreshes a second flooded the rings chapter's first
    cell on Binder, "IOPub message rate exceeded")."""
    import time

    import torch

    from nnbook import models, train

    monkeypatch.setattr(train, "PROGRESS_DELAY", 0.0)
    monkeypatch.setenv("NNBOOK_PROGRESS", "1")
    X, y = torch.randn(64, 2), torch.randint(0, 2, (64,))
    cfg = train.TrainConfig(num_epochs=400, batch_size=64, lr=0.1, optimizer="sgd", seed=0)
    t0 = time.perf_counter()
    train.fit(models.MLP([2, 8, 2]), X, y, cfg, desc="demo")
    seconds = time.perf_counter() - t0
    refreshes = capsys.readouterr().err.count("demo:")
    assert refreshes <= 2 * seconds + 5, f"{refreshes} refreshes in {seconds:.2f} s"
