"""Answers about the clinic itself (hours, location, contact, insurance, cost, languages).

The texts are built from `clinic.yml` at run time, so that editing the clinic's details needs no
retraining. Fields that still hold example values are labelled as examples in every answer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import config
from actions.config import WEEKDAYS, Clinic

Button = Dict[str, str]

EXAMPLE_NOTE = (
    "(Note: this detail is an example placeholder; the clinic has not filled in its real "
    "information yet. Please check the clinic's website before relying on it.)"
)

BOOK = {"title": "Book an appointment", "payload": "/book_appointment"}
HOURS = {"title": "Opening hours", "payload": "/ask_hours"}
LOCATION = {"title": "Where are you?", "payload": "/ask_location"}
CONTACT = {"title": "Phone number", "payload": "/ask_contact"}
INSURANCE = {"title": "Insurance", "payload": "/ask_insurance"}
FIRST_VISIT = {"title": "First visit", "payload": "What happens at the first visit?"}


def with_example_note(text: str, clinic: Clinic, *fields: str) -> str:
    """Appends the example-value warning when any of `fields` is still an example.

    Args:
        text: The answer.
        clinic: Clinic details.
        *fields: The `clinic.yml` fields the answer used.

    Returns:
        The answer, followed by the warning where needed.
    """
    return f"{text}\n{EXAMPLE_NOTE}" if clinic.is_example(*fields) else text


def _clock(value: Any) -> str:
    """Formats a time as patients read it, e.g. 7:30 AM."""
    return value.strftime("%I:%M %p").lstrip("0")


def weekly_hours_text(clinic: Clinic) -> str:
    """Lists the opening hours of the week, one line per day.

    Args:
        clinic: Clinic details.

    Returns:
        Lines such as "Monday: 7:30 AM to 6:00 PM" or "Sunday: closed".
    """
    lines = []
    for day in WEEKDAYS:
        span = clinic.hours.get(day)
        when = f"{_clock(span[0])} to {_clock(span[1])}" if span else "closed"
        lines.append(f"{day.capitalize()}: {when}")
    return "\n".join(lines)


def next_opening(clinic: Clinic, now: datetime) -> Optional[datetime]:
    """Finds when the clinic next opens after `now`.

    Args:
        clinic: Clinic details.
        now: An aware datetime in the clinic's time zone.

    Returns:
        The next opening time, or None when the clinic has no opening hours at all.
    """
    for offset in range(0, 8):
        day = (now + timedelta(days=offset)).date()
        span = clinic.hours.get(WEEKDAYS[day.weekday()])
        if span is None:
            continue
        opening = datetime.combine(day, span[0], tzinfo=now.tzinfo)
        if opening > now:
            return opening
    return None


def open_now_text(clinic: Clinic, now: datetime) -> str:
    """Says whether the clinic is open at `now` and when that changes.

    Args:
        clinic: Clinic details.
        now: Any aware datetime; it is converted to the clinic's time zone.

    Returns:
        A sentence such as "We're open now, until 6:00 PM (Mountain Time)."
    """
    local = now.astimezone(clinic.tz)
    span = clinic.hours.get(WEEKDAYS[local.weekday()])
    if span and span[0] <= local.time() < span[1]:
        return f"Right now we're open, until {_clock(span[1])} today (Mountain Time)."
    opening = next_opening(clinic, local)
    if opening is None:
        return "We're closed right now."
    if opening.date() == local.date():
        when = f"today at {_clock(opening.time())}"
    elif opening.date() == local.date() + timedelta(days=1):
        when = f"tomorrow at {_clock(opening.time())}"
    else:
        when = f"on {opening.strftime('%A')} at {_clock(opening.time())}"
    return f"Right now we're closed. We open again {when} (Mountain Time)."


def hours_text(clinic: Clinic, now: datetime) -> str:
    """Answer to "what are your hours?" and "are you open now?".

    Args:
        clinic: Clinic details.
        now: The current time (aware).

    Returns:
        Open/closed status followed by the weekly hours.
    """
    text = f"{open_now_text(clinic, now)}\nOur hours are:\n{weekly_hours_text(clinic)}"
    return with_example_note(text, clinic, "hours")


def location_text(clinic: Clinic) -> str:
    """Answer to "where are you?"."""
    text = f"{clinic.name} is at {clinic.address}."
    if clinic.directions:
        text += f" {clinic.directions}"
    return with_example_note(text, clinic, "address", "directions")


def contact_text(clinic: Clinic) -> str:
    """Answer to "how do I reach you?"."""
    text = f"You can call our front desk at {clinic.phone}."
    if clinic.email:
        text += f" You can also e-mail {clinic.email}."
    text += " Please don't send private health details by e-mail."
    return with_example_note(text, clinic, "phone", "email")


def languages_text(clinic: Clinic) -> str:
    """Answer to "do you speak Spanish?"."""
    if len(clinic.languages) == 1:
        spoken = clinic.languages[0]
    else:
        spoken = ", ".join(clinic.languages[:-1]) + f" and {clinic.languages[-1]}"
    text = (
        f"Our staff speak {spoken}. This chat assistant understands English only, so for "
        f"help in another language please call us at {clinic.phone}."
    )
    return with_example_note(text, clinic, "languages", "phone")


def insurance_text(clinic: Clinic) -> str:
    """Answer to insurance and Medicare questions."""
    parts = []
    if clinic.insurers:
        parts.append("We work with these insurers: " + ", ".join(clinic.insurers) + ".")
    if clinic.accepts_self_pay:
        parts.append("You can also pay for yourself.")
    parts.append(
        "Medicare Part B covers outpatient physical therapy that your provider says you need; "
        "you usually pay 20% after your deductible."
    )
    parts.append(
        "Plans differ, and some need a referral, so please check with your plan "
        f"or call us at {clinic.phone} before your first visit."
    )
    return with_example_note(" ".join(parts), clinic, "insurers", "phone")


def cost_text(clinic: Clinic) -> str:
    """Answer to "how much does it cost?"."""
    if clinic.prices:
        listed = "; ".join(f"{item.replace('_', ' ')}: {price}" for item, price in clinic.prices.items())
        text = f"Our self-pay prices are {listed}. What you pay with insurance depends on your plan."
        return with_example_note(text, clinic, "prices")
    text = (
        "The cost depends on your insurance plan and the care you need, so we can't give one "
        f"price here. Please call us at {clinic.phone} and we'll help you find out what you would pay."
    )
    return with_example_note(text, clinic, "phone")


class _ClinicAnswer(Action, ABC):
    """Sends one clinic answer with follow-up buttons."""

    action_name = ""
    buttons: List[Button] = []

    def name(self) -> str:
        return self.action_name

    @abstractmethod
    def text(self, clinic: Clinic) -> str:
        """The answer built from the clinic details."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        dispatcher.utter_message(text=self.text(config.clinic()), buttons=self.buttons)
        return []


class ActionTellHours(_ClinicAnswer):
    """Opening hours and whether the clinic is open right now."""

    action_name = "action_tell_hours"
    buttons = [BOOK, LOCATION, CONTACT]

    def text(self, clinic: Clinic) -> str:
        return hours_text(clinic, datetime.now(clinic.tz))


class ActionTellLocation(_ClinicAnswer):
    """Address and directions."""

    action_name = "action_tell_location"
    buttons = [HOURS, BOOK, CONTACT]

    def text(self, clinic: Clinic) -> str:
        return location_text(clinic)


class ActionTellContact(_ClinicAnswer):
    """Phone number and e-mail."""

    action_name = "action_tell_contact"
    buttons = [HOURS, BOOK, LOCATION]

    def text(self, clinic: Clinic) -> str:
        return contact_text(clinic)


class ActionTellLanguages(_ClinicAnswer):
    """Languages the staff speak."""

    action_name = "action_tell_languages"
    buttons = [CONTACT, BOOK]

    def text(self, clinic: Clinic) -> str:
        return languages_text(clinic)


class ActionTellInsurance(_ClinicAnswer):
    """Accepted insurers and Medicare."""

    action_name = "action_tell_insurance"
    buttons = [
        {"title": "Do I need a referral?", "payload": "Do I need a referral from my doctor?"},
        BOOK,
        CONTACT,
    ]

    def text(self, clinic: Clinic) -> str:
        return insurance_text(clinic)


class ActionTellCost(_ClinicAnswer):
    """Prices, or how to find out the cost."""

    action_name = "action_tell_cost"
    buttons = [INSURANCE, BOOK, CONTACT]

    def text(self, clinic: Clinic) -> str:
        return cost_text(clinic)
