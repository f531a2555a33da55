"""Benchmarks our assistant against stock Rasa's default recipe on the same data (bts/bench).

Usage:
    python scripts/bench.py                    # the full benchmark (about 30 minutes)
    python scripts/bench.py --quick            # small sizes, to try the script
    python scripts/bench.py --stock-model M    # reuse a trained stock model (no training times)
"""

from __future__ import annotations

import sys

from bts.bench.run import main
from scripts.model_files import current_model

if __name__ == "__main__":
    sys.exit(main(current_model()))
