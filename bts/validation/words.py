"""Words of each conversation language for the parts of answers built from data (days, dates, hours).

Sentences live in the responses; only the pieces filled into them (a day name, a clock time, a list
joined with "and" or "y") are made here, so that they match the conversation's language.
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import Dict, List, Sequence, Tuple

from bts.clinic import WEEKDAYS, Clinic

LANGUAGES = ("en", "es")

_DAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
}
_DAYS_PLURAL = {
    "en": ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábados", "domingos"),
}
_MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"),
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
           "octubre", "noviembre", "diciembre"),
}  # fmt: skip
# Small words that join the pieces; the sentences around them are in the responses.
_WORDS: Dict[str, Dict[str, str]] = {
    "en": {
        "and": "and", "or": "or", "weekends": "weekends", "weekdays": "Weekdays (Monday to Friday)",
        "range": "{first} to {last}", "hours_span": "{days} {opens}–{closes}", "closed": "closed",
        "by_appointment": "by appointment only; please call us to find a time",
        "at": "at {t}", "around": "around {t}", "after": "after {t}", "before": "before {t}",
        "between": "between {t} and {u}", "until": "(until {t})", "any_time": "any time",
        "asap": "As soon as possible", "any_open": "Any time we're open",
        "from_to": "Any day from {first} to {last}", "on_days": "on {days}",
        "this week": "this week", "next week": "next week", "this month": "this month",
        "next month": "next month", "day_span": "{opens} to {closes}",
        "morning": "in the morning", "lunchtime": "around lunchtime", "afternoon": "in the afternoon",
        "evening": "in the evening", "night": "at night", "no": "none",
    },
    "es": {
        "and": "y", "or": "o", "weekends": "fines de semana", "weekdays": "Entre semana (de lunes a viernes)",
        "range": "de {first} a {last}", "hours_span": "{days} de {opens} a {closes}", "closed": "cerrado",
        "by_appointment": "solo con cita; llámenos para buscar un horario",
        "at": "a las {t}", "around": "alrededor de las {t}", "after": "después de las {t}",
        "before": "antes de las {t}", "between": "entre las {t} y las {u}", "until": "(hasta las {t})",
        "any_time": "a cualquier hora", "asap": "Lo antes posible",
        "any_open": "A cualquier hora en que estemos abiertos",
        "from_to": "Cualquier día del {first} al {last}", "on_days": "los {days}",
        "this week": "esta semana", "next week": "la próxima semana", "this month": "este mes",
        "next month": "el próximo mes", "day_span": "de {opens} a {closes}",
        "morning": "por la mañana", "lunchtime": "a la hora del almuerzo", "afternoon": "por la tarde",
        "evening": "por la noche", "night": "por la noche", "no": "ninguno",
    },
}  # fmt: skip
# Language names as clinic.yml writes them (in English) and as they read in Spanish.
_LANGUAGE_NAMES_ES = {
    "english": "inglés", "spanish": "español", "french": "francés", "german": "alemán",
    "portuguese": "portugués", "chinese": "chino", "vietnamese": "vietnamita", "navajo": "navajo",
}  # fmt: skip


def language_of(value: object) -> str:
    """The conversation language for a `language` slot value; English unless it is "es"."""
    return "es" if value == "es" else "en"


def word(key: str, lang: str, **values: str) -> str:
    """One of the joining words or phrases above, with its blanks filled."""
    text = _WORDS[language_of(lang)][key].format(**values)
    # Spanish says "a la 1", "a las 3".
    return re.sub(r"\blas (1(?::\d\d)? )", r"la \1", text) if language_of(lang) == "es" else text


def day_name(index: int, lang: str, plural: bool = False) -> str:
    """The weekday's name (Monday is 0)."""
    table = _DAYS_PLURAL if plural else _DAYS
    return table[language_of(lang)][index]


def month_name(number: int, lang: str) -> str:
    """The month's name (January is 1)."""
    return _MONTHS[language_of(lang)][number - 1]


def join(items: Sequence[str], lang: str, joiner: str = "and") -> str:
    """"a, b and c" or "a, b y c"."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {word(joiner, lang)} " + items[-1]


def clock(value: time, lang: str, compact: bool = False) -> str:
    """"3:00 PM" / "3:00 p. m."; "3 PM" / "3 p. m." when `compact` and on the hour."""
    hour = value.hour % 12 or 12
    suffix = ("AM" if value.hour < 12 else "PM") if language_of(lang) == "en" else (
        "a. m." if value.hour < 12 else "p. m."
    )
    if compact and value.minute == 0:
        return f"{hour} {suffix}"
    return f"{hour}:{value.minute:02d} {suffix}"


def day_list(indexes: Sequence[int], lang: str, plural: bool = True, joiner: str = "and") -> str:
    """Weekdays the short way: "Monday to Thursday", "Mondays and Wednesdays", "weekends"."""
    days = sorted(set(indexes))
    if days == [5, 6]:
        return word("weekends", lang)
    if len(days) >= 3 and days == list(range(days[0], days[-1] + 1)):
        first, last = day_name(days[0], lang), day_name(days[-1], lang)
        return word("range", lang, first=first, last=last)
    return join([day_name(day, lang, plural) for day in days], lang, joiner)


def date_text(day: date, today: date, lang: str) -> str:
    """"Tuesday, December 1" / "martes 1 de diciembre", with the year when it is not this year."""
    weekday, month = day_name(day.weekday(), lang), month_name(day.month, lang)
    if language_of(lang) == "es":
        text = f"{weekday} {day.day} de {month}"
        return text if day.year == today.year else f"{text} de {day.year}"
    text = f"{weekday}, {month} {day.day}"
    return text if day.year == today.year else f"{text}, {day.year}"


def opening_hours_text(clinic: Clinic, lang: str) -> str:
    """The opening hours in one phrase: "Monday to Thursday 7:30 AM–6 PM and Friday 7:30 AM–4 PM"."""
    groups: List[Tuple[List[int], Tuple[time, time]]] = []
    for index, day in enumerate(WEEKDAYS):
        span = clinic.hours.get(day)
        if span is None:
            continue
        if groups and groups[-1][1] == span and groups[-1][0][-1] == index - 1:
            groups[-1][0].append(index)
        else:
            groups.append(([index], span))
    if not groups:
        return word("by_appointment", lang)
    phrases = []
    for days, (opens, closes) in groups:
        if len(days) == 2:
            names = join([day_name(days[0], lang), day_name(days[1], lang)], lang)
        else:
            names = day_list(days, lang, plural=False)
        phrases.append(
            word("hours_span", lang, days=names, opens=clock(opens, lang, True),
                 closes=clock(closes, lang, True))
        )
    return join(phrases, lang)


def weekly_hours_lines(clinic: Clinic, lang: str) -> str:
    """One line per weekday: "Monday: 7:30 AM to 6:00 PM" or "Sunday: closed"."""
    lines = []
    for index, day in enumerate(WEEKDAYS):
        span = clinic.hours.get(day)
        when = (
            word("day_span", lang, opens=clock(span[0], lang), closes=clock(span[1], lang))
            if span
            else word("closed", lang)
        )
        name = day_name(index, lang)
        lines.append(f"{name[0].upper()}{name[1:]}: {when}")
    return "\n".join(lines)


def language_names(names: Sequence[str], lang: str) -> str:
    """Languages the staff speak, listed in the conversation's language."""
    if language_of(lang) == "es":
        names = [_LANGUAGE_NAMES_ES.get(name.lower(), name) for name in names]
    return join(list(names), lang)


def capitalized(text: str) -> str:
    """The text with its first letter in upper case (Spanish day names are written in lower case)."""
    return text[:1].upper() + text[1:]
