"""Trains the assistant only when its training inputs changed (see bts.dev.train)."""

import sys

from bts.dev.train import main

if __name__ == "__main__":
    sys.exit(main())
