"""The command line: ``python -m nnbook list | run NAME | data | bench | reproduce | variation``.

Bad names and values print one line (``nnbook: error: ...``) and exit with
status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys

from .errors import NNBookError


def _parse_set(items: list[str]) -> dict:
    overrides = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise NNBookError(f"--set takes KEY=VALUE, got {item!r}")
        try:
            overrides[key] = json.loads(text)
        except json.JSONDecodeError:
            overrides[key] = text
    return overrides


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
            lines.append(f"  {key}: {json.dumps(value, default=str)[:200]}")
    lines.append(f"  regenerate: {result['command']}")
    return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line too (still exit status 2)."""

    def error(self, message):
        print(f"nnbook: error: {message} (see `python -m nnbook --help`)", file=sys.stderr)
        raise SystemExit(2)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["bench"], ["reproduce"], ["variation"]):  # parse their own options
        import importlib

        module = importlib.import_module(f".{argv[0]}", __package__)
        try:
            return module.main(argv[1:])
        except NNBookError as exc:
            print(f"nnbook: error: {exc}", file=sys.stderr)
            return 2
    parser = _Parser(prog="nnbook", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True, parser_class=_Parser)
    p_list = sub.add_parser("list", help="the registered experiments and their configs")
    p_list.add_argument("--json", action="store_true", help="print JSON")
    p_run = sub.add_parser("run", help="run an experiment (or load its cached result)")
    p_run.add_argument("name")
    p_run.add_argument("--profile", default=None,
                       help="quick or full (default: $NNBOOK_PROFILE, else quick)")
    p_run.add_argument("--seed", type=int, default=None)
    p_run.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="override one setting of the config (repeatable)")
    p_run.add_argument("--no-cache", action="store_true", help="recompute even if cached")
    p_run.add_argument("--json", action="store_true", help="print the whole result as JSON")
    p_data = sub.add_parser("data", help="where each data set comes from on this machine")
    p_data.add_argument("--json", action="store_true")
    sub.add_parser("bench", help="speed benchmarks: python -m nnbook bench --help")
    sub.add_parser("reproduce", help="train and print the lecture-claims table "
                                     "(python -m nnbook reproduce --help)")
    sub.add_parser("variation", help="measure how the book's numbers vary across seeds, "
                                     "precisions, threads and CPUs, and write the test bands "
                                     "(python -m nnbook variation --help)")
    args = parser.parse_args(argv)

    try:
        if args.cmd == "list":
            from .experiments import REGISTRY, describe

            rows = [describe(n) for n in sorted(REGISTRY)]
            if args.json:
                print(json.dumps(rows, indent=1))
            for r in [] if args.json else rows:
                print(f"{r['name']}: {r['description']}\n  chapter: {r['chapter']}; "
                      f"data: {r['data']}\n  quick: {json.dumps(r['quick'])}\n"
                      f"  full:  {json.dumps(r['full'])}")
        elif args.cmd == "run":
            from .experiments import run

            result = run(args.name, profile=args.profile, seed=args.seed,
                         use_cache=not args.no_cache, **_parse_set(args.set))
            print(json.dumps(result, indent=1, default=str) if args.json else _summary(result))
        elif args.cmd == "data":
            from .data import sources

            rows = sources()
            if args.json:
                print(json.dumps(rows, indent=1))
            for r in [] if args.json else rows:
                if r["ok"]:
                    print(f"{r['dataset']}: {r['label']}, {r['n_train']:,} train / "
                          f"{r['n_test']:,} test, from {r['source']} ({r['detail']})")
                else:
                    print(f"{r['dataset']}: NOT AVAILABLE: {r['error']}")
    except NNBookError as exc:
        print(f"nnbook: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nnbook: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
