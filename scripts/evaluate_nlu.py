"""Evaluates the trained model on the held-out NLU sets (see bts.dev.evaluate_nlu)."""

import sys

from bts.dev.evaluate_nlu import main

if __name__ == "__main__":
    sys.exit(main())
