"""The topics patients can pick from buttons: the menu and "did you mean" suggestions.

FAQ topics use a natural question as payload (it goes through NLU like typed text, and each one
is a training example of its topic: `tests/actions/test_topics.py` checks that); other topics
use Rasa's `/intent` payloads.
"""

from __future__ import annotations

from typing import Dict, NamedTuple


class Topic(NamedTuple):
    """A topic offered as a button.

    Attributes:
        title: Button label.
        payload: What the button sends.
    """

    title: str
    payload: str


def button(topic: Topic) -> Dict[str, str]:
    """The button dictionary Rasa expects for `topic`."""
    return {"title": topic.title, "payload": topic.payload}


# Keys are intent names, or "faq/<topic>" for retrieval sub-intents.
CATALOG: Dict[str, Topic] = {
    "faq/what_is_sciatica": Topic("What is sciatica?", "What is sciatica?"),
    "faq/symptoms": Topic("Symptoms", "What are the symptoms of sciatica?"),
    "faq/causes": Topic("Causes", "What causes sciatica?"),
    "faq/risk_factors": Topic("Who gets it?", "Who is at risk for sciatica?"),
    "faq/duration": Topic("How long it lasts", "How long does sciatica last?"),
    "faq/self_care": Topic("What I can do at home", "What can I do at home for sciatica?"),
    "faq/when_to_see_doctor": Topic("When to see a doctor", "When should I see a doctor for sciatica?"),
    "faq/pt_overview": Topic("How PT helps", "How does physical therapy help sciatica?"),
    "faq/core_strengthening": Topic("Core strength", "How does a stronger core help?"),
    "faq/exercise_endorphins": Topic("Exercise and pain", "Why does exercise help with pain?"),
    "faq/soft_tissue_mobilization": Topic(
        "Soft tissue mobilization", "What is soft tissue mobilization?"
    ),
    "faq/personalized_plan": Topic("Personal plans", "Will my plan be made just for me?"),
    "faq/first_visit": Topic("First visit", "What happens at the first visit?"),
    "faq/what_to_wear": Topic("What to wear", "What should I wear to therapy?"),
    "faq/session_length": Topic("Session length", "How long is a therapy session?"),
    "faq/number_of_sessions": Topic("How many sessions", "How many sessions will I need?"),
    "faq/low_impact_exercise": Topic("Low-impact exercise", "What is low-impact exercise?"),
    "faq/referral": Topic("Do I need a referral?", "Do I need a referral from my doctor?"),
    "ask_hours": Topic("Opening hours", "/ask_hours"),
    "ask_location": Topic("Where are you?", "/ask_location"),
    "ask_contact": Topic("Phone number", "/ask_contact"),
    "ask_languages": Topic("Languages", "/ask_languages"),
    "ask_insurance": Topic("Insurance", "/ask_insurance"),
    "ask_cost": Topic("Cost", "/ask_cost"),
    "book_appointment": Topic("Book an appointment", "/book_appointment"),
    "request_handoff": Topic("Talk to a person", "/request_handoff"),
    "bot_challenge": Topic("Are you a bot?", "/bot_challenge"),
    "change_appointment": Topic("Reschedule or cancel", "/change_appointment"),
}

SOMETHING_ELSE = Topic("Something else", "/what_can_you_do")

# The main menu ("what can you do?", and replies to input the assistant cannot read).
MENU = [
    CATALOG["faq/what_is_sciatica"],
    CATALOG["faq/pt_overview"],
    CATALOG["faq/first_visit"],
    CATALOG["ask_insurance"],
    CATALOG["ask_hours"],
    CATALOG["book_appointment"],
]
