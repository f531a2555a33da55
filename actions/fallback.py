"""What the assistant says when it did not understand a message."""

from __future__ import annotations

from typing import Any, Dict, List, Sequence

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import config, topics
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
}
MAX_SUGGESTIONS = 3
# When the classifier thought a message might describe an emergency but was not sure enough,
# the clarifying reply starts with the emergency signs, so a real emergency is never met only
# with "did you mean".
POSSIBLE_RED_FLAG_CONFIDENCE = 0.2
EMERGENCY_SIGNS = (
    "If you have any emergency signs, such as new trouble controlling your bladder or bowels, "
    "numbness between your legs or around your bottom, weakness in both legs, or leg weakness "
    "that is getting worse, call 911 or go to the emergency room now."
)


def suggestions(parse_data: Dict[str, Any], limit: int = MAX_SUGGESTIONS) -> List[topics.Topic]:
    """Picks the most likely topics from the NLU result, for "did you mean" buttons.

    FAQ questions are resolved to their sub-topic through the ResponseSelector's ranking, so that
    "faq" becomes e.g. "What is sciatica?".

    Args:
        parse_data: `tracker.latest_message` (intent ranking and response selector output).
        limit: How many topics at most.

    Returns:
        Up to `limit` distinct topics, most likely first.
    """
    chosen: List[topics.Topic] = []
    faq_ranking = (
        parse_data.get("response_selector", {}).get("faq", {}).get("ranking", []) or []
    )
    for item in parse_data.get("intent_ranking", []) or []:
        name = item.get("name")
        if not name or name in NOT_SUGGESTED:
            continue
        keys: Sequence[str] = (
            [r.get("intent_response_key", "") for r in faq_ranking[:limit]] if name == "faq" else [name]
        )
        for key in keys:
            topic = topics.CATALOG.get(key)
            if topic and topic not in chosen:
                chosen.append(topic)
        if len(chosen) >= limit:
            break
    return chosen[:limit]


def possible_red_flag(parse_data: Dict[str, Any]) -> bool:
    """Tells whether `red_flag` is among the likeliest intents of an unclear message.

    Args:
        parse_data: `tracker.latest_message`.

    Returns:
        True if `red_flag` is in the top three with at least 0.2 confidence.
    """
    ranking = [r for r in parse_data.get("intent_ranking", []) or [] if r.get("name") != "nlu_fallback"]
    return any(
        r.get("name") == "red_flag" and (r.get("confidence") or 0.0) >= POSSIBLE_RED_FLAG_CONFIDENCE
        for r in ranking[:MAX_SUGGESTIONS]
    )


def clarification(parse_data: Dict[str, Any], phone: str, in_form: bool = False) -> Dict[str, Any]:
    """Builds the reply for a message that was not understood.

    Args:
        parse_data: `tracker.latest_message`.
        phone: The clinic's phone number, for requests we cannot handle in chat.
        in_form: True while a form waits for an answer: then only the emergency signs are
            given (if any), and the form asks its question again.

    Returns:
        Keyword arguments for `dispatcher.utter_message` (text and buttons).
    """
    kind = classify_text(parse_data.get("text"))
    if in_form and possible_red_flag(parse_data):
        return {"text": EMERGENCY_SIGNS}
    menu = [topics.button(t) for t in topics.MENU]
    if kind == "empty":
        return {"text": "I didn't get any words there. Type a question, or pick a topic:", "buttons": menu}
    if kind == "no_words":
        return {
            "text": "I can only read words, not pictures or emoji. Type a question, or pick a topic:",
            "buttons": menu,
        }
    if kind == "non_latin":
        return {
            "text": (
                "Sorry, I can only understand English for now. For help in another language, "
                f"please call us at {phone}."
            ),
            "buttons": menu,
        }
    likely = suggestions(parse_data)
    warning = f"{EMERGENCY_SIGNS}\n" if possible_red_flag(parse_data) else ""
    if likely:
        return {
            "text": f"{warning}Sorry, I'm not sure I understood. Did you mean one of these?",
            "buttons": [topics.button(t) for t in likely] + [topics.button(topics.SOMETHING_ELSE)],
        }
    return {
        "text": f"{warning}Sorry, I didn't understand that. Could you say it another way, or pick a topic?",
        "buttons": menu,
    }


class ActionClarifyTopic(Action):
    """Low-confidence fallback: offers the most likely topics as buttons."""

    def name(self) -> str:
        return "action_clarify_topic"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        reply = clarification(
            tracker.latest_message, config.clinic().phone, in_form=bool(tracker.active_loop_name)
        )
        dispatcher.utter_message(**reply)
        if reply["text"].startswith(EMERGENCY_SIGNS):
            return [SlotSet("red_flag_possible", True)]
        return []
