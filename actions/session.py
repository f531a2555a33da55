"""Start of a conversation: the safety disclaimer comes first."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.topics import variation
from bts import clinic as clinic_file
from bts.clinic import Clinic

LANGUAGES = ("en", "es")


def page_language(metadata: Any) -> Optional[str]:
    """The language the widget's page asked for (`data-lang`, sent as message metadata), if any."""
    lang = metadata.get("lang") if isinstance(metadata, dict) else None
    return lang if lang in LANGUAGES else None


def session_start_events(clinic: Clinic) -> List[Dict[str, Any]]:
    """Events that open a new session.

    Slots are deliberately not carried over: a returning visitor starts fresh, and a red flag
    raised in an earlier session stays visible in that session's history for staff. Slots that
    select clinic-specific wording of responses are set from `clinic.yml` here.

    Args:
        clinic: Clinic details.

    Returns:
        `session_started`, the clinic slots, then `action_listen`, as Rasa expects.
    """
    # An example value must never be presented as a fact, so an unconfirmed pool counts as none.
    has_pool = clinic.pool and not clinic.is_example("pool")
    return [SessionStarted(), SlotSet("clinic_has_pool", has_pool), ActionExecuted("action_listen")]


class ActionSessionStart(Action):
    """Says who the assistant is and that it gives no medical advice, before anything else."""

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        lang = page_language(tracker.get_slot("session_started_metadata"))
        disclaimer = variation("utter_disclaimer", domain, lang) if lang else None
        if disclaimer:
            dispatcher.utter_message(text=disclaimer.get("text"), buttons=disclaimer.get("buttons", []))
        else:
            dispatcher.utter_message(response="utter_disclaimer")
        events = session_start_events(clinic_file.current())
        if lang:
            events.insert(-1, SlotSet("language", lang))
        return events
