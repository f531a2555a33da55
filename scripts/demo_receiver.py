"""Kept for existing commands: the demo receiver is `python -m bts.booking.receiver`."""

import sys

from bts.booking.receiver import main

if __name__ == "__main__":
    sys.exit(main())
