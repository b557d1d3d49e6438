"""`python -m bench [name ...]`: run the benchmarks (all, or those named) and print the table."""

import sys

from bench.harness import run

if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
