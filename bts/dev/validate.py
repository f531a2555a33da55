"""Runs `rasa data validate` and fails on any error or warning.

`rasa data validate --fail-on-warnings` lets some warnings pass with exit code 0 (see Rasa issue
#11843), so this wrapper also fails when Rasa printed a `UserWarning`.

Usage:
    python -m bts.dev.validate   (make validate)
"""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Set

import yaml

from bts.dev.model_files import ROOT

# Responses that custom actions speak (`utter_message(response=...)`): Rasa's validator only sees
# responses named in stories and rules, and calls these unused.
SPOKEN_BY_ACTIONS = (
    "booking.yml", "clinic.yml", "fallback.yml", "handoff.yml", "topics.yml", "validation.yml"
)
UNUSED = re.compile(r"The utterance '([^']+)' is not used in any story or rule")


def spoken_by_actions() -> Set[str]:
    """Names of the responses in the files custom actions speak from."""
    names: Set[str] = set()
    for name in SPOKEN_BY_ACTIONS:
        path = ROOT / "data" / "responses" / name
        if path.exists():
            names |= set((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("responses") or {})
    return names


def real_warning(line: str, allowed: Set[str]) -> bool:
    """A warning or error line that is not an action's response reported as unused."""
    if "UserWarning" not in line and " ERROR " not in line:
        return False
    unused = UNUSED.search(line)
    return not (unused and unused.group(1) in allowed)


def main() -> int:
    """Command-line entry point; returns the exit code."""
    result = subprocess.run(
        [sys.executable, "-m", "rasa", "data", "validate", "--fail-on-warnings"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    output = result.stdout + result.stderr
    allowed = spoken_by_actions()
    warnings = [line for line in output.splitlines() if real_warning(line, allowed)]
    # With --fail-on-warnings the exit code is not 0 when only those responses were reported.
    excused = any(UNUSED.search(line) for line in output.splitlines())
    if warnings or (result.returncode != 0 and not excused):
        print(output[-8000:], file=sys.stderr)
        print(f"FAILED: exit code {result.returncode}, {len(warnings)} warning(s)", file=sys.stderr)
        return 1
    print("rasa data validate: no errors, no warnings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
