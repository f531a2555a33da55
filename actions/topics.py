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
    "faq/session_length", "faq/number_of_sessions", "faq/low_impact_exercise", "faq/referral", "ask_hours",
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


def button(key: str, domain: Mapping[str, Any], lang: str) -> Optional[Dict[str, str]]:
    """The topic's button in the conversation's language, read from the domain's responses.

    Args:
        key: Topic key ("faq/symptoms", "ask_hours", `SOMETHING_ELSE`).
        domain: The domain the action server received with the request.
        lang: The conversation's language.

    Returns:
        The button, or None when the domain has no such topic.
    """
    variations = (domain.get("responses") or {}).get(response_name(key)) or []
    chosen = None
    for variation in variations:
        conditions = variation.get("condition") or []
        wanted = {c.get("value") for c in conditions if c.get("name") == "language"}
        if wanted and lang in wanted:
            return dict(variation["buttons"][0])
        if not conditions:
            chosen = variation
    return dict(chosen["buttons"][0]) if chosen and chosen.get("buttons") else None


def buttons(keys: List[str], domain: Mapping[str, Any], lang: str) -> List[Dict[str, str]]:
    """The buttons of several topics, skipping any the domain lacks."""
    return [found for found in (button(key, domain, lang) for key in keys) if found]
