"""The topics patients can pick from buttons: the menu and "did you mean" suggestions.

Each topic is a response `utter_topic_<key>` in data/responses/topics.yml with one button per language
("faq/symptoms" -> `utter_topic_faq_symptoms`). FAQ topics use a natural question as payload (it goes
through NLU like typed text); other topics use Rasa's `/intent` payloads.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

# Keys are intent names, or "faq/<topic>" for retrieval sub-intents.
TOPICS = (
    "faq/what_is_sciatica", "faq/symptoms", "faq/causes", "faq/risk_factors", "faq/duration", "faq/self_care",
    "faq/when_to_see_doctor", "faq/pt_overview", "faq/core_strengthening", "faq/exercise_endorphins",
    "faq/soft_tissue_mobilization", "faq/personalized_plan", "faq/first_visit", "faq/what_to_wear",
    "faq/session_length", "faq/number_of_sessions", "faq/low_impact_exercise", "faq/referral",
    "faq/back_pain", "faq/back_pain_self_care", "faq/back_pain_pt", "faq/medicines", "faq/test_results",
    "faq/surgery", "faq/other_conditions", "faq/second_opinion", "ask_hours",
    "ask_location", "ask_contact", "ask_languages", "ask_insurance", "ask_cost", "book_appointment",
    "request_handoff", "bot_challenge", "change_appointment",
)  # fmt: skip
SOMETHING_ELSE = "something_else"

# The main menu (replies to input the assistant cannot read or place).
MENU = (
    "faq/what_is_sciatica",
    "faq/pt_overview",
    "faq/first_visit",
    "ask_insurance",
    "ask_hours",
    "book_appointment",
)


def response_name(key: str) -> str:
    """The response that holds the topic's button."""
    return "utter_topic_" + key.replace("/", "_")


def variation(name: str, domain: Mapping[str, Any], lang: str) -> Optional[Dict[str, Any]]:
    """The variation of a domain response for a language (the one without conditions otherwise).

    Actions that speak before their own `SlotSet("language", ...)` applies pick it themselves:
    Rasa renders a response with the slots as they were before the action ran.
    """
    chosen = None
    for candidate in (domain.get("responses") or {}).get(name) or []:
        conditions = candidate.get("condition") or []
        if lang in {c.get("value") for c in conditions if c.get("name") == "language"}:
            return dict(candidate)
        if not conditions:
            chosen = candidate
    return dict(chosen) if chosen else None


def button(key: str, domain: Mapping[str, Any], lang: str) -> Optional[Dict[str, str]]:
    """The topic's button in the conversation's language, read from the domain's responses.

    Args:
        key: Topic key ("faq/symptoms", "ask_hours", `SOMETHING_ELSE`).
        domain: The domain the action server received with the request.
        lang: The conversation's language.

    Returns:
        The button, or None when the domain has no such topic.
    """
    chosen = variation(response_name(key), domain, lang)
    return dict(chosen["buttons"][0]) if chosen and chosen.get("buttons") else None


def buttons(keys: List[str], domain: Mapping[str, Any], lang: str) -> List[Dict[str, str]]:
    """The buttons of several topics, skipping any the domain lacks."""
    return [found for found in (button(key, domain, lang) for key in keys) if found]
