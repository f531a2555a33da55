"""Runs the conversation tests and fails on any prediction error (see bts.dev.stories)."""

import sys

from bts.dev.stories import main

if __name__ == "__main__":
    sys.exit(main())
