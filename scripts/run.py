"""Starts the whole product on one computer and stops it cleanly on Ctrl-C (see bts.dev.runner)."""

import sys

from bts.dev.runner import main

if __name__ == "__main__":
    sys.exit(main())
