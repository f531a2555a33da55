"""What the assistant says when it did not understand a message.

"Did you mean" offers only what the model itself found likely for this message (the intent ranking
and the FAQ response selector's ranking); when nothing is likely enough, the reply says what the
assistant can help with instead of guessing.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import topics
from actions.forms import language
from bts import clinic as clinic_file
from components.text import classify_text

# Intents that are never offered as "did you mean" choices: they are not topics a patient would
# pick from a list, or (red_flag) they must never be guessed at.
NOT_SUGGESTED = {
    "nlu_fallback",
    "out_of_scope",
    "red_flag",
    "greet",
    "goodbye",
    "thanks",
    "what_can_you_do",
    "ask_diagnosis",
    "affirm",
    "deny",
    "stop",
}
MAX_SUGGESTIONS = 3
# Below this, the model did not really consider a topic for this message: it is not offered.
LIKELY = 0.2
# When the classifier thought a message might describe an emergency but was not sure enough,
# the clarifying reply starts with the emergency signs, so a real emergency is never met only
# with "did you mean".
POSSIBLE_RED_FLAG_CONFIDENCE = 0.2


def suggestions(parse_data: Dict[str, Any], limit: int = MAX_SUGGESTIONS) -> List[str]:
    """The topics the model found likely for this message, most likely first.

    An intent counts with its own confidence; an FAQ topic with the `faq` intent's confidence times the
    response selector's confidence for that topic, so "faq" becomes e.g. "What is sciatica?" only when
    both the intent and the topic were likely.

    Args:
        parse_data: `tracker.latest_message` (intent ranking and response selector output).
        limit: How many topics at most.

    Returns:
        Up to `limit` topic keys whose likelihood is at least `LIKELY`.
    """
    scored: List[Tuple[float, str]] = []
    faq_ranking = ((parse_data.get("response_selector") or {}).get("faq") or {}).get("ranking") or []
    for item in parse_data.get("intent_ranking") or []:
        name, confidence = item.get("name"), float(item.get("confidence") or 0.0)
        if not name or name in NOT_SUGGESTED:
            continue
        if name == "faq":
            for topic in faq_ranking:
                key = str(topic.get("intent_response_key") or "")
                scored.append((confidence * float(topic.get("confidence") or 0.0), key))
        else:
            scored.append((confidence, name))
    chosen: List[str] = []
    for score, key in sorted(scored, key=lambda pair: -pair[0]):
        if score >= LIKELY and key in topics.TOPICS and key not in chosen:
            chosen.append(key)
    return chosen[:limit]


def possible_red_flag(parse_data: Dict[str, Any]) -> bool:
    """Tells whether `red_flag` is among the three likeliest intents with at least 0.2 confidence."""
    ranking = [r for r in parse_data.get("intent_ranking") or [] if r.get("name") != "nlu_fallback"]
    return any(
        r.get("name") == "red_flag" and (r.get("confidence") or 0.0) >= POSSIBLE_RED_FLAG_CONFIDENCE
        for r in ranking[:MAX_SUGGESTIONS]
    )


def clarification(parse_data: Dict[str, Any], in_form: bool = False) -> List[Tuple[str, List[str]]]:
    """The reply to a message that was not understood: responses, each with the topics offered as buttons.

    Args:
        parse_data: `tracker.latest_message`.
        in_form: True while a form waits for an answer: then a possible emergency gets only the
            emergency signs, and the form asks its question again.

    Returns:
        (response name, topic keys) pairs, in the order they are sent.
    """
    warning: List[Tuple[str, List[str]]] = (
        [("utter_fallback_emergency_signs", [])] if possible_red_flag(parse_data) else []
    )
    if in_form and warning:
        return warning
    kind = classify_text(parse_data.get("text"))
    menu = list(topics.MENU)
    if kind == "empty":
        return [("utter_fallback_empty", menu)]
    if kind == "no_words":
        return [("utter_fallback_no_words", menu)]
    if kind == "non_latin":
        return [("utter_fallback_other_script", menu)]
    if kind == "markup":
        return [("utter_fallback_markup", menu)]
    likely = suggestions(parse_data)
    if likely:
        return warning + [("utter_fallback_did_you_mean", likely + [topics.SOMETHING_ELSE])]
    return warning + [("utter_fallback_can_help_with", menu)]


class ActionClarifyTopic(Action):
    """Low-confidence fallback: offers the topics the model found likely, or says what it can do."""

    def name(self) -> str:
        return "action_clarify_topic"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        lang = language(tracker)
        reply = clarification(tracker.latest_message, in_form=bool(tracker.active_loop_name))
        phone = clinic_file.current().phone
        for response, keys in reply:
            offered = topics.buttons(keys, domain, lang)
            dispatcher.utter_message(response=response, buttons=offered, phone=phone)
        if reply and reply[0][0] == "utter_fallback_emergency_signs":
            return [SlotSet("red_flag_possible", True)]
        return []
