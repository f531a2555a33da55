"""Answers about the clinic itself (hours, location, contact, insurance, cost, languages).

The sentences are responses in data/responses/clinic.yml; the details filled into them come from
`clinic.yml` when the answer is sent, so editing that file needs no retraining. Fields that still hold
example values are followed by a note saying so.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.forms import language
from bts import clinic as clinic_file
from bts.clinic import WEEKDAYS, Clinic
from bts.validation import words as w
from bts.validation.time_words import day_mentioned

Message = Tuple[str, Dict[str, Any]]
Answer = Tuple[List[Message], Tuple[str, ...]]
"""The messages (a response name and the values to fill into it) and the clinic.yml fields they used."""


def next_opening(clinic: Clinic, now: datetime) -> Optional[datetime]:
    """When the clinic next opens after `now` (an aware datetime in the clinic's time zone), if ever."""
    for offset in range(0, 8):
        day = (now + timedelta(days=offset)).date()
        span = clinic.hours.get(WEEKDAYS[day.weekday()])
        if span is None:
            continue
        opening = datetime.combine(day, span[0], tzinfo=now.tzinfo)
        if opening > now:
            return opening
    return None


_WHEN = {
    "en": {"today": "today at {t}", "tomorrow": "tomorrow at {t}", "day": "on {day} at {t}"},
    "es": {"today": "hoy a las {t}", "tomorrow": "mañana a las {t}", "day": "el {day} a las {t}"},
}


def open_now(clinic: Clinic, now: datetime, lang: str) -> Message:
    """Whether the clinic is open at `now` and when that changes: a response name and its values."""
    local = now.astimezone(clinic.tz)
    span = clinic.hours.get(WEEKDAYS[local.weekday()])
    if span and span[0] <= local.time() < span[1]:
        return "utter_clinic_open_now", {"closes": w.clock(span[1], lang)}
    opening = next_opening(clinic, local)
    if opening is None:
        return "utter_clinic_no_hours", {}
    at = w.clock(opening.time(), lang)
    if opening.date() == local.date():
        when = _WHEN[lang]["today"].format(t=at)
    elif opening.date() == local.date() + timedelta(days=1):
        when = _WHEN[lang]["tomorrow"].format(t=at)
    else:
        when = _WHEN[lang]["day"].format(day=w.day_name(opening.weekday(), lang), t=at)
    return "utter_clinic_closed_now", {"when": when}


def hours_answer(clinic: Clinic, now: datetime, lang: str, text: str = "") -> Answer:
    """"Are you open on Saturday?" answers for that day; "what are your hours?" gives the week."""
    local = now.astimezone(clinic.tz)
    day = day_mentioned(text, local.weekday())
    if day is not None:
        span = clinic.hours.get(WEEKDAYS[day])
        if span is None:
            values = {"day_plural": w.day_name(day, lang, plural=True),
                      "hours": w.opening_hours_text(clinic, lang)}
            return [("utter_clinic_closed_on_day", values)], ("hours",)
        values = {"day": w.day_name(day, lang), "opens": w.clock(span[0], lang),
                  "closes": w.clock(span[1], lang)}
        return [("utter_clinic_open_on_day", values)], ("hours",)
    week = ("utter_clinic_week", {"week": w.weekly_hours_lines(clinic, lang)})
    return [open_now(clinic, now, lang), week], ("hours",)


def location_answer(clinic: Clinic, lang: str) -> Answer:
    """Address and directions ("how do I find you?")."""
    values = {"clinic_name": clinic.name, "address": clinic.address,
              "directions": clinic.directions_in(lang)}
    return [("utter_clinic_location", values)], ("address", "directions")


def contact_answer(clinic: Clinic, lang: str) -> Answer:
    """Phone number and e-mail."""
    return [("utter_clinic_contact", {"phone": clinic.phone, "email": clinic.email})], ("phone", "email")


def languages_answer(clinic: Clinic, lang: str) -> Answer:
    """Languages the staff speak."""
    values = {"languages": w.language_names(clinic.languages, lang), "phone": clinic.phone}
    return [("utter_clinic_languages", values)], ("languages", "phone")


def insurance_answer(clinic: Clinic, lang: str) -> Answer:
    """Accepted insurers and Medicare."""
    values = {"insurers": w.join(clinic.insurers, lang), "phone": clinic.phone}
    messages: List[Message] = [("utter_clinic_insurance", values)]
    if clinic.accepts_self_pay:
        messages.append(("utter_clinic_self_pay", {}))
    return messages, ("insurers", "phone")


def cost_answer(clinic: Clinic, lang: str) -> Answer:
    """Prices, or how to find out the cost."""
    if clinic.prices:
        listed = "; ".join(f"{item.replace('_', ' ')}: {price}" for item, price in clinic.prices.items())
        return [("utter_clinic_cost_prices", {"prices": listed})], ("prices",)
    return [("utter_clinic_cost_call", {"phone": clinic.phone})], ("phone",)


class _ClinicAnswer(Action, ABC):
    """Sends one clinic answer, then the example note when it used example details."""

    action_name = ""

    def name(self) -> str:
        return self.action_name

    @abstractmethod
    def answer(self, clinic: Clinic, lang: str, tracker: Tracker) -> Answer:
        """The response, its values and the clinic.yml fields it used."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        clinic = clinic_file.current()
        messages, fields = self.answer(clinic, language(tracker), tracker)
        for response, values in messages:
            dispatcher.utter_message(response=response, **values)
        if clinic.is_example(*fields):
            dispatcher.utter_message(response="utter_clinic_example_note")
        return []


class ActionTellHours(_ClinicAnswer):
    """Opening hours, whether the clinic is open now, or whether it opens on the day asked about."""

    action_name = "action_tell_hours"

    def answer(self, clinic: Clinic, lang: str, tracker: Tracker) -> Answer:
        text = str(tracker.latest_message.get("text") or "")
        return hours_answer(clinic, datetime.now(clinic.tz), lang, text)


class ActionTellLocation(_ClinicAnswer):
    """Address and directions."""

    action_name = "action_tell_location"

    def answer(self, clinic: Clinic, lang: str, tracker: Tracker) -> Answer:
        return location_answer(clinic, lang)


class ActionTellContact(_ClinicAnswer):
    """Phone number and e-mail."""

    action_name = "action_tell_contact"

    def answer(self, clinic: Clinic, lang: str, tracker: Tracker) -> Answer:
        return contact_answer(clinic, lang)


class ActionTellLanguages(_ClinicAnswer):
    """Languages the staff speak."""

    action_name = "action_tell_languages"

    def answer(self, clinic: Clinic, lang: str, tracker: Tracker) -> Answer:
        return languages_answer(clinic, lang)


class ActionTellInsurance(_ClinicAnswer):
    """Accepted insurers and Medicare."""

    action_name = "action_tell_insurance"

    def answer(self, clinic: Clinic, lang: str, tracker: Tracker) -> Answer:
        return insurance_answer(clinic, lang)


class ActionTellCost(_ClinicAnswer):
    """Prices, or how to find out the cost."""

    action_name = "action_tell_cost"

    def answer(self, clinic: Clinic, lang: str, tracker: Tracker) -> Answer:
        return cost_answer(clinic, lang)
