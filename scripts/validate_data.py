"""Runs `rasa data validate` and fails on any error or warning (see bts.dev.validate)."""

import sys

from bts.dev.validate import main

if __name__ == "__main__":
    sys.exit(main())
