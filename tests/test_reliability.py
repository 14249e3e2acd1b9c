"""Failures are clear and recoverable: killed writes, bad values, broken chapters."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nnbook import experiments
from nnbook.cache import Cache
from nnbook.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent

WRITER = """
import sys, torch
from nnbook.cache import Cache, make_key
c = Cache(sys.argv[1])
i = 0
while True:
    c.store(make_key({"i": i % 3}), {"i": i}, {"w": torch.full((4_000_000,), float(i))})
    i += 1
"""


def test_killed_mid_write_leaves_no_entry_read_as_valid(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)])
    try:
        deadline = time.time() + 60
        while time.time() < deadline and len(list(tmp_path.rglob("result.json"))) < 2:
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    entries = list(tmp_path.rglob("result.json"))
    assert entries, "the writer stored nothing before it was killed"
    c = Cache(tmp_path)
    for entry in entries:
        hit = c.load(entry.parent.name, want_weights=True)
        if hit is not None:  # whatever loads is complete and consistent
            result, state = hit
            assert float(state["w"][0]) == result["i"] and state["w"].numel() == 4_000_000


def test_same_seed_same_metrics():
    a = experiments.run("mnist-mlp", use_cache=False, n_train=600, num_epochs=2, seed=3)
    b = experiments.run("mnist-mlp", use_cache=False, n_train=600, num_epochs=2, seed=3)
    assert a["metrics"] == b["metrics"] and a["seed"] == b["seed"] == 3
    strip = [{k: v for k, v in h.items() if k != "seconds"} for h in a["history"]]
    assert strip == [{k: v for k, v in h.items() if k != "seconds"} for h in b["history"]]
    c = experiments.run("mnist-mlp", use_cache=False, n_train=600, num_epochs=2, seed=4)
    assert c["metrics"]["test_acc"] != a["metrics"]["test_acc"] or c["history"] != a["history"]


BAD = [
    (["run", "no-such-experiment"], dict(name="no-such-experiment")),
    (["run", "rings", "--profile", "medium"], dict(name="rings", profile="medium")),
    (["run", "mnist-mlp", "--set", "num_epochs=-2"], dict(name="mnist-mlp", num_epochs=-2)),
    (["run", "mnist-mlp", "--set", "batch_size=0"], dict(name="mnist-mlp", batch_size=0)),
    (["run", "mnist-mlp", "--set", "hidden=0"], dict(name="mnist-mlp", hidden=0)),
    (["run", "mnist-mlp", "--set", "lr=-1"], dict(name="mnist-mlp", lr=-1)),
    (["run", "mnist-mlp", "--set", "optimizer=\"lbfgs\""], dict(name="mnist-mlp",
                                                               optimizer="lbfgs")),
]


@pytest.mark.parametrize("argv,kwargs", BAD, ids=[" ".join(a[1:]) for a, _ in BAD])
def test_cli_and_python_give_the_same_one_line_error(argv, kwargs):
    with pytest.raises(ConfigError) as exc:
        experiments.run(**kwargs)
    assert isinstance(exc.value, ValueError)
    out = subprocess.run([sys.executable, "-m", "nnbook", *argv], capture_output=True,
                         text=True, timeout=300, env=dict(os.environ, NNBOOK_PROGRESS="0"))
    assert out.returncode == 2
    errors = [line for line in out.stderr.splitlines() if line.startswith("nnbook: error:")]
    assert errors == [f"nnbook: error: {exc.value}"], out.stderr
    assert "Traceback" not in out.stderr


def _jb_flags() -> list[str]:
    """The flags the Makefile builds the book with (so this test follows any change)."""
    text = (ROOT / "Makefile").read_text()
    return re.search(r"^JB_FLAGS := (.*)$", text, re.M).group(1).split()


BROKEN = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
# Broken

```{code-cell} ipython3
raise RuntimeError("this cell is broken on purpose")
```
"""


HEALTHY = BROKEN.replace("# Broken", "# Healthy").replace(
    'raise RuntimeError("this cell is broken on purpose")', "x = 1 + 1\nassert x == 2")


def _small_book(tmp_path: Path, chapter: str) -> Path:
    """A one-chapter book with the real configuration and everything it needs (the
    references and the local extension in book/_ext, which _config.yml loads)."""
    book = tmp_path / "book"
    (book / "book").mkdir(parents=True)
    shutil.copy(ROOT / "_config.yml", book / "_config.yml")
    shutil.copy(ROOT / "conftest.py", book / "conftest.py")
    shutil.copy(ROOT / "book" / "references.bib", book / "book" / "references.bib")
    shutil.copytree(ROOT / "book" / "_ext", book / "book" / "_ext",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (book / "_toc.yml").write_text("format: jb-book\nroot: book/chapter\n")
    (book / "book" / "chapter.md").write_text(chapter)
    return book


def _build(book: Path) -> subprocess.CompletedProcess:
    jb = Path(sys.executable).parent / "jupyter-book"
    return subprocess.run([str(jb), "build", ".", *_jb_flags()], cwd=book, capture_output=True,
                          text=True, timeout=600)


def _nbval(book: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env",
                           "-p", "no:cacheprovider", "-q", "book/chapter.md"], cwd=book,
                          capture_output=True, text=True, timeout=600)


def test_a_healthy_chapter_builds_and_passes_nbval(tmp_path):
    """The control of the next test: the same small book with a healthy chapter builds
    (with the Makefile's -W) and passes nbval, so a failure there is the broken cell's."""
    book = _small_book(tmp_path, HEALTHY)
    build = _build(book)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    assert (book / "_build" / "html" / "book" / "chapter.html").is_file()
    nbval = _nbval(book)
    assert nbval.returncode == 0, nbval.stdout[-2000:]
    assert "1 passed" in nbval.stdout


def test_broken_chapter_fails_the_build_and_nbval(tmp_path):
    book = _small_book(tmp_path, BROKEN)
    build = _build(book)
    assert build.returncode != 0, build.stdout[-2000:]
    assert "this cell is broken on purpose" in build.stdout + build.stderr + "".join(
        p.read_text(errors="replace") for p in (book / "_build").rglob("*.log"))
    nbval = _nbval(book)
    assert nbval.returncode == 1, nbval.stdout[-2000:]
    assert "this cell is broken on purpose" in nbval.stdout
