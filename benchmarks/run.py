"""Speed benchmarks of the book (benchmarks/bench.py): python benchmarks/run.py [--json PATH]."""

import sys

from nnbook.__main__ import main

if __name__ == "__main__":  # through the command line, so errors and Ctrl-C are one line
    sys.exit(main(["bench", *sys.argv[1:]]))
