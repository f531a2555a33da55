"""Kept for existing commands: the outbox worker is `python -m bts.booking.worker`."""

import sys

from bts.booking.worker import main

if __name__ == "__main__":
    sys.exit(main())
