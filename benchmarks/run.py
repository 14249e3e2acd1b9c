"""Speed benchmarks of the book (see nnbook.bench): python benchmarks/run.py [--json PATH]."""

import sys

from nnbook.bench import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
