"""The console's mask hides every phone number and e-mail the booking validators accept.

The validators live in the Rasa environment (.venv) and the console in its own, so the check
runs there as a subprocess (tests/console/rasa_checks.py): a corpus of formats and 20,000
random strings, each accepted input must come out of `bts.contact.mask` without its digits or
address, and the booking form's `find_phone` / `find_email` must find the same value.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import support

RASA_PYTHON = support.ROOT / ".venv" / "bin" / "python"


@pytest.mark.skipif(not RASA_PYTHON.exists(), reason="needs the Rasa environment (.venv)")
def test_every_phone_and_email_the_validators_accept_is_masked() -> None:
    result = subprocess.run(
        [str(RASA_PYTHON), str(Path(__file__).parent / "rasa_checks.py"), "contact"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(support.ROOT)},
    )
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert json.loads(result.stdout) == []
