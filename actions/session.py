"""Start of a conversation: the safety disclaimer comes first."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, SessionStarted
from rasa_sdk.executor import CollectingDispatcher


def session_start_events() -> List[Dict[str, Any]]:
    """Events that open a new session.

    Slots are deliberately not carried over: a returning visitor starts fresh, and a red flag
    raised in an earlier session stays visible in that session's history for staff.

    Returns:
        `session_started` followed by `action_listen`, as Rasa expects.
    """
    return [SessionStarted(), ActionExecuted("action_listen")]


class ActionSessionStart(Action):
    """Says who the assistant is and that it gives no medical advice, before anything else."""

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        dispatcher.utter_message(response="utter_disclaimer")
        return session_start_events()
