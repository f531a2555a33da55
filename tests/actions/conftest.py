"""Fixtures of the action tests: the clinic the actions read, and the domain Rasa sends them."""

from __future__ import annotations

from typing import Any, Dict

import pytest

from bts import clinic as clinic_file
from bts.clinic import Clinic
from tests.actions.responses import all_responses


@pytest.fixture
def use_clinic(clinic: Clinic, monkeypatch: pytest.MonkeyPatch) -> Clinic:
    """Makes the actions read the test clinic instead of clinic.yml."""
    monkeypatch.setattr(clinic_file, "current", lambda: clinic)
    return clinic


@pytest.fixture
def domain() -> Dict[str, Any]:
    """The domain as the action server receives it (its responses are what matters here)."""
    return {"responses": all_responses(), "forms": {}, "slots": {}}
