"""Tests of actions/handoff.py: references, change types and the prepared change request."""

from __future__ import annotations

from typing import Any, Dict, Optional

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import handoff
from actions.handoff import ActionPrepareChange, parse_change_type, validate_reference
from tests.conftest import make_tracker


@pytest.mark.parametrize(
    "text, ok, value",
    [
        ("BTS-7K2Q", True, "BTS-7K2Q"),
        ("bts 7k2q", True, "BTS-7K2Q"),
        ("I don't have it", True, None),
        ("lost it", True, None),
        ("12", False, None),
    ],
)
def test_validate_reference(text: str, ok: bool, value: Optional[str]) -> None:
    result = validate_reference(text)
    assert (result.ok, result.value) == (ok, value)
    if not ok:
        assert "BTS-7K2Q" in result.message


@pytest.mark.parametrize(
    "text, value",
    [("cancel", "cancel"), ("I have to cancel my visit", "cancel"), ("reschedule", "reschedule"),
     ("can we move it to friday", "reschedule"), ("hmm", None)],
)
def test_parse_change_type(text: str, value: Optional[str]) -> None:
    assert parse_change_type(text).value == value


async def test_prepare_change_reads_reference_and_kind_from_the_first_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    looked_up: Dict[str, Any] = {}

    def fake_find(reference: str) -> Dict[str, Any]:
        looked_up["reference"] = reference
        return {"reference": reference}

    monkeypatch.setattr(handoff, "find_request", fake_find)
    tracker = make_tracker("I need to cancel my appointment bts-7k2q please")
    events = await ActionPrepareChange().run(CollectingDispatcher(), tracker, {})
    slots = {e["name"]: e["value"] for e in events if e.get("value") is not None}
    assert slots == {"change_type": "cancel", "change_reference": "BTS-7K2Q", "change_reference_found": True}
    assert looked_up["reference"] == "BTS-7K2Q"
