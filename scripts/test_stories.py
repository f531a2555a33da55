"""Runs the conversation tests and fails on any prediction error.

Usage:
    python scripts/test_stories.py
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.model_files import ROOT, current_model  # noqa: E402

STORIES = ROOT / "tests" / "test_stories.yml"
OUT = ROOT / "results" / "core"


def main() -> int:
    """Command-line entry point; returns the exit code."""
    model = current_model()
    if not model.exists():
        print(f"error: no trained model {model.name}; run `make train`.", file=sys.stderr)
        return 1
    result = subprocess.run(
        [sys.executable, "-m", "rasa", "test", "core", "--stories", str(STORIES),
         "--model", str(model), "--out", str(OUT), "--fail-on-prediction-errors"],
        cwd=ROOT,
    )
    failed = OUT / "failed_test_stories.yml"
    if result.returncode != 0 and failed.exists():
        print(failed.read_text()[-6000:], file=sys.stderr)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
