"""One custom action, for the action server's tests."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher


class ActionSubmitBooking(Action):
    """Stands for an action with consequences: it records that it ran."""

    runs: List[Dict[str, Any]] = []

    def name(self) -> str:
        return "action_submit_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        ActionSubmitBooking.runs.append(dict(tracker.slots))
        if tracker.get_slot("explode"):
            raise RuntimeError(f"failed for {tracker.get_slot('booking_phone')}")
        return []
