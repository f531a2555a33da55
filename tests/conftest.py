"""Shared pytest fixtures: a clinic config and trackers."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker

from bts.clinic import Clinic, parse_clinic

ROOT = Path(__file__).resolve().parent.parent

CLINIC_YAML: Dict[str, Any] = {
    "example_fields": ["phone"],
    "name": "Border Therapy Services",
    "city": "Las Cruces, New Mexico",
    "timezone": "America/Denver",
    "phone": "(575) 555-0142",
    "email": "frontdesk@example.com",
    "booking_url": "",
    "address": "123 Example St., Las Cruces, NM 88001",
    "directions": "Parking behind the building.",
    "hours": {
        "monday": ["08:00", "17:00"],
        "tuesday": ["08:00", "17:00"],
        "wednesday": ["08:00", "17:00"],
        "thursday": ["08:00", "17:00"],
        "friday": ["08:00", "12:00"],
    },
    "insurers": ["Medicare", "Example Health Plan"],
    "accepts_self_pay": True,
    "prices": {},
    "languages": ["English", "Spanish"],
    "pool": False,
}


@pytest.fixture
def clinic_raw() -> Dict[str, Any]:
    """A fresh copy of a valid clinic.yml document, to modify in a test."""
    import copy

    return copy.deepcopy(CLINIC_YAML)


@pytest.fixture
def clinic(clinic_raw: Dict[str, Any]) -> Clinic:
    """Validated clinic details (phone marked as an example, everything else real)."""
    return parse_clinic(clinic_raw)


def make_tracker(
    text: str = "",
    intent: Optional[str] = None,
    intent_ranking: Optional[List[Dict[str, Any]]] = None,
    response_selector: Optional[Dict[str, Any]] = None,
    slots: Optional[Dict[str, Any]] = None,
) -> Tracker:
    """Builds an SDK tracker whose latest message is `text`."""
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0} if intent else {},
        "intent_ranking": intent_ranking or [],
        "entities": [],
    }
    if response_selector is not None:
        latest["response_selector"] = response_selector
    return Tracker(
        sender_id="test-user",
        slots=slots or {},
        latest_message=latest,
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
