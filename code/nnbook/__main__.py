"""The command line: ``python -m nnbook list | run NAME | data | bench | reproduce | variation``.

Every fault ends in one line on stderr and no traceback: a bad name, value,
variable or file prints ``nnbook: error: ...`` and exits with status 2; Ctrl-C
prints ``nnbook: error: interrupted ...`` and exits with 130; a closed pipe
(``python -m nnbook list | head -1``) ends quietly with status 141, as a program
killed by SIGPIPE does. ``--set KEY=VALUE`` reads values as JSON (``true``,
``null``, ``[100, 50]``; a bare word is a string), exactly as the regenerate
commands the book prints write them.
"""

from __future__ import annotations

import json
import os
import sys

from .configspec import finite_json
from .errors import ConfigError, NNBookError, OneLineParser, warn


def _parse_set(items: list[str]) -> dict:
    from .configspec import parse_value

    overrides = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set takes KEY=VALUE, got {item!r}")
        overrides[key] = parse_value(text)
    return overrides


def dumps(obj) -> str:
    return json.dumps(finite_json(obj), indent=1, default=str, allow_nan=False)


def _summary(result: dict) -> str:
    m = result.get("metrics", {})
    lines = [f"{result['experiment']} ({result['profile']} profile, seed {result['seed']}, "
             f"{result['device']}, {result['seconds']:.1f} s"
             f"{', cached' if result.get('cached') else ''})",
             f"  data: {result['data'].get('label', result['data'].get('source'))}, "
             f"{result['data'].get('source')}"]
    for key, value in m.items():
        if isinstance(value, float):
            lines.append(f"  {key}: {value:.4f}")
        elif key == "shift_acc":
            shifts = ", ".join(f"{p}px {v if isinstance(v, float) else v['mean']:.4f}"
                               for p, v in value.items())
            lines.append(f"  shift_acc (mean over directions): {shifts}")
        else:
            lines.append(f"  {key}: {json.dumps(finite_json(value), default=str)[:200]}")
    if result.get("note"):
        lines.append(f"  note: {result['note']}")
    lines.append(f"  regenerate: {result['command']}")
    return "\n".join(lines)


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


def _main(argv: list[str]) -> int:
    if argv[:1] in (["bench"], ["reproduce"], ["variation"]):  # parse their own options
        import importlib

        return importlib.import_module(f".{argv[0]}", __package__).main(argv[1:])
    args = parser().parse_args(argv)
    if args.cmd == "list":
        from .experiments import REGISTRY, describe

        if args.settings:
            print(_settings_text())
            return 0
        rows = [describe(n) for n in sorted(REGISTRY)]
        if args.json:
            print(dumps(rows))
        for r in [] if args.json else rows:
            print(f"{r['name']}: {r['description']}\n  chapter: {r['chapter']}; "
                  f"data: {r['data']}\n  quick: {json.dumps(r['quick'])}\n"
                  f"  full:  {json.dumps(r['full'])}")
    elif args.cmd == "run":
        from .experiments import command, resolve, run

        kwargs = run_arguments(args)
        if args.check:
            _, profile, config = resolve(**kwargs)
            overrides = {k: v for k, v in kwargs.items()
                         if k not in ("name", "profile", "seed")}
            print(f"ok: {command(args.name, profile, config['seed'], overrides)}\n"
                  f"  config: {json.dumps(config)}")
            return 0
        result = run(use_cache=not args.no_cache, **kwargs)
        if not result.get("metrics"):
            warn(f"{args.name} measured nothing (no metrics)"
                 + (f": {result['note']}" if result.get("note") else ""))
        print(dumps(result) if args.json else _summary(result))
    elif args.cmd == "data":
        from .data import sources

        rows = sources()
        if args.json:
            print(dumps(rows))
        for r in [] if args.json else rows:
            if r["ok"]:
                print(f"{r['dataset']}: {r['label']}, {r['n_train']:,} train / "
                      f"{r['n_test']:,} test, from {r['source']} ({r['detail']})")
            else:
                print(f"{r['dataset']}: NOT AVAILABLE: {r['error']}")
    return 0


def _error(message: str) -> None:
    try:
        print(f"nnbook: error: {message}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _quiet_stdout() -> None:
    """After a closed pipe: point stdout at /dev/null so that the interpreter's final
    flush cannot complain (the recipe in Python's documentation of SIGPIPE)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real stdout (e.g. under capture)
        pass


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (see the module docstring)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        status = _main(argv)
        sys.stdout.flush()  # a closed pipe shows up here when the output was short
        return status
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
