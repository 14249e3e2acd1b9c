"""Every `python -m nnbook ...` command the README and the book print is run for real.

Unit tests (no build needed): each command printed in ``README.md`` and ``book/*.md`` is
run as a real process, at a tiny size stated here, and must exit 0 and print its summary:
``--set`` overrides (:data:`TINY`) appended to ``run`` commands; options (:data:`BENCH`)
appended to ``bench`` commands (a few batches, 500 test images, the introduction and one
chapter for ``--book``); the commands that run the whole book (``reproduce``,
``variation run``) run with ``tests/tiny_site`` on the path, which shrinks every
experiment's base config (:data:`tiny_site.sitecustomize.TINY`) in every process they
start. Templates such as ``run NAME --seed S`` are filled in with :data:`FILL`. No
printed command is skipped.

After the book is built (``make html``): every command found in the HTML (code spans
and output blocks, HTML entities unescaped) is split as a shell would split it and
handed to the command line's own parser; every regenerate line under a table or figure
is then run for real, in-process, against the build's cache, where it must be a cache
hit (the command regenerates exactly what the book shows) and print its summary; and
``python -m nnbook reproduce`` runs for real (its results are all cached by the build).
"""

import html
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import bench
import pytest

from nnbook import errors, experiments, variation
from nnbook.__main__ import main, parser, run_arguments
from nnbook.present import reproduction as reproduce

book = pytest.mark.book
ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"

#: The size at which the tests run each `run` command: appended --set overrides, so that
#: every experiment trains for seconds (a few hundred images, one epoch, a tiny grid).
TINY = {
    "mnist-mlp": dict(n_train=200, n_test=200, num_epochs=1, monitor=50),
    "mnist-cnn": dict(n_train=200, n_test=200, num_epochs=1, monitor=50, evals_per_epoch=1),
    "fashion-cnn": dict(n_train=200, n_test=200, num_epochs=1, monitor=50,
                        evals_per_epoch=1),
    "depth": dict(depths=[2], variants=["plain"], width=8, n_train=200, n_test=200,
                  num_epochs=1, grad_batch=16),
    "mnist-overfit": dict(sizes=[100], largest_available=False, num_epochs=1),
    "loss-compare": dict(n_train=200, n_test=200, num_epochs=1),
    "rings": dict(snapshots=[2], grid=3, n=20),
    "gradient-descent": dict(steps=5, snapshots=[0, 5], lrs=[0.1], n=10),
}
#: How the placeholders of printed templates are filled in.
FILL = {"NAME": "rings", "S": "1", "...": None, "PATH": "{tmp}/bench.json"}
#: The size at which the tests run each `bench` command (appended options).
BENCH = ["--steps", "2", "--accuracy-steps", "2", "--accuracy-seeds", "1",
         "--eval-images", "500"]
#: Commands that run every experiment of the book: run with every config shrunk.
WHOLE_BOOK = ("reproduce", "variation")
TINY_SITE = ROOT / "tests" / "tiny_site"


def _variants(command: str) -> list[str]:
    """``reproduce [--profile full]`` -> ``reproduce`` and ``reproduce --profile full``."""
    out = [command]
    while any("[" in c and not c.split("[", 1)[1].startswith(("1", "2", "\"")) for c in out):
        c = next(c for c in out if "[" in c)
        m = re.search(r" \[([^\]]+)\]", c)
        if not m:
            break
        out.remove(c)
        out += [c[:m.start()] + c[m.end():], c[:m.start()] + " " + m.group(1) + c[m.end():]]
    return [" ".join(c.split()) for c in out]


def printed_commands() -> list[tuple[str, str]]:
    """``(files, command)`` for every `python -m nnbook ...` in README.md and book/*.md:
    each command once (it runs once), with every file that prints it."""
    found: dict[str, set] = {}
    for path in [ROOT / "README.md", *sorted((ROOT / "book").glob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        spans = re.findall(r"`(python -m nnbook[^`]*)`", text)
        blocks = [line for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S)
                  for line in block.splitlines() if line.startswith("python -m nnbook")]
        for command in spans + blocks:
            command = command.split("  #")[0].strip()
            for variant in _variants(command):
                found.setdefault(variant, set()).add(path.relative_to(ROOT).as_posix())
    return sorted((", ".join(sorted(files)), command) for command, files in found.items())


def _tiny_argv(command: str, tmp: Path) -> list[str]:
    """The command's arguments at the test's size."""
    words = shlex.split(command, comments=True)
    assert words[:3] == ["python", "-m", "nnbook"], command
    args = []
    for w in words[3:]:
        if w in FILL:
            if FILL[w] is not None:
                args.append(FILL[w].format(tmp=tmp))
        else:
            args.append(w)
    if args[:1] == ["run"] and "--check" not in args:
        for key, value in TINY[args[1]].items():
            args += ["--set", f"{key}={json.dumps(value)}"]
    if args[:1] == ["bench"]:
        args += BENCH + (["--book-chapters", "pipeline"] if "--book" in args else [])
    return args


def _env(tmp: Path, whole_book: bool = False) -> dict:
    path = [str(TINY_SITE)] if whole_book else []
    return dict(os.environ, PYTHONPATH=os.pathsep.join([*path, str(ROOT / "code")]),
                NNBOOK_CACHE=str(tmp / "cache"), NNBOOK_PROGRESS="0", NNBOOK_OFFLINE="1")


def test_the_readme_and_the_book_print_commands():
    commands = [c for _, c in printed_commands()]
    assert len(commands) >= 12, commands
    assert "python -m nnbook run mnist-cnn --profile quick" in commands


@pytest.mark.parametrize("where,command", printed_commands())
def test_every_printed_command_runs(where, command, tmp_path):
    """Run it for real (a process, as a reader would), at a test's size."""
    args = _tiny_argv(command, tmp_path)
    whole_book = args[0] in WHOLE_BOOK
    if "|" in args:  # `python -m nnbook list | head -1`: a real pipe
        pipe = args.index("|")
        line = " ".join(shlex.quote(w) for w in [sys.executable, "-m", "nnbook", *args[:pipe]])
        out = subprocess.run(["bash", "-c", f"{line} | {' '.join(args[pipe + 1:])}"],
                             capture_output=True, text=True, timeout=300, env=_env(tmp_path))
        assert out.returncode == 0 and out.stdout.count("\n") == 1, out
        assert out.stderr == "", out.stderr
        return
    out = subprocess.run([sys.executable, "-m", "nnbook", *args], capture_output=True,
                         text=True, timeout=900, env=_env(tmp_path, whole_book),
                         cwd=tmp_path)  # `variation run` writes to ./_build/variation
    assert out.returncode == 0, f"{command}: exit {out.returncode}\n{out.stderr[-3000:]}"
    assert "Traceback" not in out.stderr and "nnbook: error" not in out.stderr, out.stderr
    if whole_book:  # really at the test's size, in every process it started
        trained = list(Path(tmp_path, "cache").rglob("result.json"))
        assert len(trained) > 20, "the command trained (almost) nothing"
        for r in trained:
            config = json.loads(r.read_text())["config"]
            assert config.get("num_epochs", 1) == 1 and config.get("n_train", 200) == 200, \
                (r, config)
    if args[0] == "run" and "--json" in args:
        result = json.loads(out.stdout)
        assert result["metrics"] and result["command"].startswith("python -m nnbook run")
    elif args[0] == "run" and "--check" in args:
        assert out.stdout.startswith("ok: python -m nnbook run"), out.stdout
    elif args[0] == "run":  # the summary, to its last line
        assert re.search(r"^  regenerate: python -m nnbook run \S+ --profile", out.stdout,
                         re.M), out.stdout
    elif args[0] == "list":
        assert "mnist-cnn" in out.stdout, out.stdout
    elif args[0] == "data":
        assert out.stdout.startswith("mnist: "), out.stdout
    elif args[0] == "view" and len(args) > 1:  # one view: its numbers, sites and findings
        assert out.stdout.startswith(f"view {args[1]}: chapter book/"), out.stdout
        assert re.search(rf"^  {args[1]}\.\S+ = .*\[\w+; band .*; present/\w+\.py:\d+\]$",
                         out.stdout, re.M), out.stdout
        assert "NO BAND" not in out.stdout, out.stdout
    elif args[0] == "view":
        assert "mnist-cnn" in out.stdout and "book/cnn-mnist.md" in out.stdout, out.stdout
    elif args[0] == "reproduce":
        assert out.stdout.startswith("| claim | lecture | this build |"), out.stdout
        assert out.stdout.count("\n") > 15, out.stdout
    elif args[0] == "bench":
        assert "CNN eval, 500 images, images/s" in out.stdout, out.stdout
        assert ("book build quick (introduction and pipeline only)" in out.stdout) == \
            ("--book" in args), out.stdout
        if "--book" in args:
            assert "(ok=False)" not in out.stdout, out.stdout
        if "--json" in args:
            saved = json.loads(Path(args[args.index("--json") + 1]).read_text())
            assert saved["cnn_eval"]["images"] == 500, saved
    elif args[:2] == ["variation", "run"]:
        folder = args[args.index("--out") + 1] if "--out" in args else "_build/variation"
        records = [json.loads(line) for f in Path(tmp_path, folder).glob("*.jsonl")
                   for line in f.read_text().splitlines()]
        from nnbook import present
        views = {args[i + 1] for i, a in enumerate(args) if a == "--view"} or \
            set(present.views())
        assert {r["view"] for r in records} == views, records
        assert len(records) >= 4 * len(views), len(records)  # 4 environments, or more
    else:
        assert out.stdout.strip(), out
PLACEHOLDER = re.compile(r"^[A-Z][A-Z_]*(=[A-Z_]+)?$")  # NAME, KEY=VALUE, PATH


def book_commands() -> list[tuple[str, str]]:
    found = []
    for page in sorted(HTML.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        for _, inner in re.findall(r"<(code|pre)\b[^>]*>(.*?)</\1>", text, re.S):
            plain = html.unescape(re.sub(r"<[^>]+>", "", inner)).replace("\xa0", " ")
            for line in plain.splitlines():
                at = line.find("python -m nnbook")
                if at >= 0:
                    found.append((page.relative_to(HTML).as_posix(), line[at:].strip()))
    return sorted(set(found))


def check(command: str) -> str:
    """``ok`` / ``template`` for a command the parser accepts; raises otherwise."""
    words = shlex.split(command, comments=True)
    assert words[:3] == ["python", "-m", "nnbook"], command
    args = words[3:]
    if any(PLACEHOLDER.match(w) for w in args):  # `python -m nnbook run NAME`: a template
        assert args[0] in ("list", "run", "data", "view", "bench", "reproduce", "variation"), \
            command
        return "template"
    if args[:1] == ["reproduce"]:
        options = reproduce.parser().parse_args(args[1:])
        experiments.current_profile(options.profile)
    elif args[:1] == ["bench"]:
        bench.parser().parse_args(args[1:])
    elif args[:1] == ["variation"]:
        options = variation.parser().parse_args(args[1:])
        experiments.current_profile(options.profile)
    else:
        options = parser().parse_args(args)
        if options.cmd == "run":
            experiments.resolve(**run_arguments(options))
    return "ok"


@book
def test_the_book_prints_regenerate_commands():
    if not HTML.is_dir():
        pytest.fail(f"{HTML} does not exist: build the book first (make book)")
    runs = [c for _, c in book_commands() if c.startswith("python -m nnbook run ")]
    assert len(runs) >= 10, runs


@book
@pytest.mark.parametrize("page,command", book_commands() if HTML.is_dir() else [])
def test_every_printed_command_is_accepted(page, command):
    assert check(command) in ("ok", "template")


def regenerate_lines() -> list[str]:
    """The commands the package printed into the built book (with --profile and --seed),
    as opposed to those the chapters' prose prints (run by the unit tests above)."""
    prose = {c for _, c in printed_commands()}
    return sorted({c for _, c in book_commands() if c.startswith("python -m nnbook run ")
                   and " --profile " in c and " --seed " in c and c not in prose})


@book
@pytest.mark.parametrize("command", regenerate_lines() if HTML.is_dir() else [])
def test_every_regenerate_line_runs_from_the_builds_cache(command, capsys):
    """Run for real (in-process, through the command line's main) against the build's
    cache: exit 0, its summary, and a cache hit (a command that trained would not
    regenerate what the book shows)."""
    errors._warned.clear()
    status = main(shlex.split(command)[3:])
    out, err = capsys.readouterr()
    assert status == 0 and "Traceback" not in err, err
    first, last = out.splitlines()[0], out.splitlines()[-1]
    assert first.endswith(", cached)"), f"not a cache hit of the build: {first}"
    assert last.startswith("  regenerate: python -m nnbook run "), out


@book
def test_reproduce_runs_from_the_builds_cache(capsys):
    """`python -m nnbook reproduce` (which `make book` runs first), for real: every
    result is in the build's cache, so it prints the table in seconds."""
    status = main(["reproduce"])
    out, err = capsys.readouterr()
    assert status == 0 and "Traceback" not in err, err
    assert out.startswith("| claim | lecture | this build |") and out.count("\n") > 15, out
