"""Runs `rasa data validate` and fails on any error or warning.

`rasa data validate --fail-on-warnings` lets some warnings pass with exit code 0 (see Rasa issue
#11843), so this wrapper also fails when Rasa printed a `UserWarning`.

Usage:
    python -m bts.dev.validate   (make validate)
"""

from __future__ import annotations

import subprocess
import sys

from bts.dev.model_files import ROOT


def main() -> int:
    """Command-line entry point; returns the exit code."""
    result = subprocess.run(
        [sys.executable, "-m", "rasa", "data", "validate", "--fail-on-warnings"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    output = result.stdout + result.stderr
    warnings = [line for line in output.splitlines() if "UserWarning" in line or " ERROR " in line]
    if result.returncode != 0 or warnings:
        print(output[-8000:], file=sys.stderr)
        print(f"FAILED: exit code {result.returncode}, {len(warnings)} warning(s)", file=sys.stderr)
        return 1
    print("rasa data validate: no errors, no warnings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
