"""Measures reply latency over one long conversation against a running Rasa server (see bts.dev.latency)."""

import sys

from bts.dev.latency import QUESTIONS, main

__all__ = ["QUESTIONS", "main"]

if __name__ == "__main__":
    sys.exit(main())
