"""Fixtures of the storage and delivery fault tests (see `harness.py`).

Measured numbers are printed at the end of the run and written to `results/fault_tests.json`.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from bts.booking.settings import PROJECT_ROOT
from tests.faults.harness import MEASUREMENTS, Faults
from tests.faults.postgres import postgres  # noqa: F401 - a fixture of these tests


@pytest.fixture
def faults(tmp_path: Path) -> Iterator[Faults]:
    """Processes of one fault test; all stopped afterwards."""
    manager = Faults(tmp_path)
    yield manager
    manager.stop_all()


@pytest.fixture
def measure(request: pytest.FixtureRequest) -> Callable[..., None]:
    """Records measured numbers of the test, reported at the end of the run."""

    def record(**numbers: Any) -> None:
        entry = {"test": request.node.name, **numbers}
        MEASUREMENTS.append(entry)
        request.node.user_properties.extend(numbers.items())

    return record


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Prints the fault-test measurements and saves them to results/fault_tests.json."""
    if not MEASUREMENTS:
        return
    terminalreporter.section("fault test measurements")
    for entry in MEASUREMENTS:
        numbers = ", ".join(f"{k}={v}" for k, v in entry.items() if k != "test")
        terminalreporter.write_line(f"{entry['test']}: {numbers}")
    with contextlib.suppress(OSError):
        results = PROJECT_ROOT / "results"
        results.mkdir(exist_ok=True)
        (results / "fault_tests.json").write_text(json.dumps(MEASUREMENTS, indent=1) + "\n")
