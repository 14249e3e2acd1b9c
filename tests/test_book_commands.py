"""Every `python -m nnbook ...` command the built book prints can be pasted.

Runs after the book is built (``make html``): each command found in the HTML (code
spans and output blocks, HTML entities unescaped) is split as a shell would split it
and handed to the command line's own parser; ``run`` commands are then resolved by
``experiments.resolve()``, which validates every setting. Nothing is trained.
"""

import html
import re
import shlex
from pathlib import Path

import pytest

from nnbook import bench, experiments, reproduce, variation
from nnbook.__main__ import parser, run_arguments

pytestmark = pytest.mark.book

HTML = Path(__file__).resolve().parent.parent / "_build" / "html"
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
        assert args[0] in ("list", "run", "data", "bench", "reproduce", "variation"), command
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


def test_the_book_prints_regenerate_commands():
    if not HTML.is_dir():
        pytest.fail(f"{HTML} does not exist: build the book first (make book)")
    runs = [c for _, c in book_commands() if c.startswith("python -m nnbook run ")]
    assert len(runs) >= 10, runs


@pytest.mark.parametrize("page,command", book_commands() if HTML.is_dir() else [])
def test_every_printed_command_is_accepted(page, command):
    assert check(command) in ("ok", "template")
