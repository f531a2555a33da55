"""Scores the trained model on real patients' messages (tests/realpatients/).

The logic lives in bts/evaluation/realpatients.py.

Usage:
    python scripts/evaluate_realpatients.py [--model M] [--part dev|test] [--enforce all|red-flags]
"""

from __future__ import annotations

import sys

from bts.evaluation.realpatients import main
from scripts.model_files import current_model

if __name__ == "__main__":
    sys.exit(main(current_model()))
