"""`python -m drills [name ...]`: run the failure drills (all, or those named); print the table."""

import sys

from drills.harness import run

if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
