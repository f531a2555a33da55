"""Words and patterns of preferred times, and the rewriting of Spanish time phrases into English ones."""

from __future__ import annotations

import calendar
import re
from datetime import time, timedelta
from typing import Any, Dict, FrozenSet, List, Optional, Tuple

MAX_DAYS_AHEAD = 183
"""How far ahead (about 6 months) a preferred date may be."""

RECENT_PAST_DAYS = 90
"""A year-less date at most this many days back is the one that just passed, not next year's."""

MIN_VISIT = timedelta(minutes=30)
"""Shortest stretch of opening hours that makes a requested time window usable."""

PART_WINDOWS: Dict[str, Tuple[time, time]] = {
    "morning": (time(6, 0), time(12, 0)),
    "lunchtime": (time(11, 30), time(13, 30)),
    "afternoon": (time(12, 0), time(17, 0)),
    "evening": (time(17, 0), time(21, 0)),
    "night": (time(19, 0), time(23, 59)),
}
"""Clock windows of the parts of the day; "evening" starts at 5 PM."""

_DAY_FORMS: Dict[str, int] = {
    "mondays": 0, "monday": 0, "mon": 0,
    "tuesdays": 1, "tuesday": 1, "tues": 1, "tue": 1,
    "wednesdays": 2, "wednesday": 2, "weds": 2, "wed": 2,
    "thursdays": 3, "thursday": 3, "thurs": 3, "thur": 3, "thu": 3,
    "fridays": 4, "friday": 4, "fri": 4,
    "saturdays": 5, "saturday": 5, "sat": 5,
    "sundays": 6, "sunday": 6, "sun": 6,
}  # fmt: skip
_DAY_ALT = "|".join(sorted(_DAY_FORMS, key=len, reverse=True))
_DAY_SET_ALT = r"week\s?days?|work\s?days?|business\s+days?|week\s?nights?|weekends?|during\s+the\s+week"
_WEEKDAY = re.compile(
    rf"(?:\b(?P<prefix>this\s+coming|next|this|coming|every|each|on|any)\s+)?\b(?P<day>{_DAY_ALT})\b"
)
_DAY_SET = re.compile(rf"(?:\b(?P<prefix>every|any|on|during|this|next|a)\s+)?\b(?P<set>{_DAY_SET_ALT})\b")
_NEGATED_TAIL = re.compile(
    rf"\b(?:except|but|not|no|besides|than|never|can't|cannot|without)\s+(?:on\s+|for\s+|the\s+)?"
    rf"(?:(?:{_DAY_ALT}|{_DAY_SET_ALT})\s*(?:,|and|or|&|/)?\s*)*$"
)
_ANY = re.compile(
    r"\b(?:any\s?time|whenever|any\s+days?|no\s+preference|(?:it\s+)?doesn't\s+matter|does\s+not\s+matter|"
    r"(?:i'm\s+)?flexible|anything\s+works|any\s+of\s+them|either)\b"
)
_ASAP = re.compile(
    r"\b(?:asap|as\s+soon\s+as\s+possible|as\s+early\s+as\s+possible|soonest|earliest|first\s+available|"
    r"next\s+available|right\s+away|soon)\b"
)
_TIME = r"(\d{1,2})(?::([0-5]\d))?\s*(am|pm)?"
_NOT_TIME_AFTER = r"(?![\d/:\-]|\.\d|st\b|nd\b|rd\b|th\b|\s*(?:days?|weeks?|months?|years?)\b)"
_TIME_RANGE = re.compile(
    rf"(?:\b(?P<pre>between|from)\s+)?(?<![\d/:.\-]){_TIME}\s*(?:-|–|to|and|until|till)\s*{_TIME}"
    rf"{_NOT_TIME_AFTER}"
)
_RELATIONS = {
    "no earlier than": "after", "not before": "after", "any time after": "after", "anytime after": "after",
    "sometime after": "after", "some time after": "after", "starting at": "after", "starting from": "after",
    "from": "after", "past": "after", "after": "after",
    "no later than": "before", "not after": "before", "any time before": "before",
    "anytime before": "before", "before": "before", "until": "before", "till": "before", "til": "before",
    "by": "before",
    "work until": "after", "working until": "after", "work till": "after", "busy until": "after",
    "busy till": "after", "get off at": "after", "get off work at": "after", "off work at": "after",
    "off at": "after", "done at": "after", "finish at": "after", "finish work at": "after",
    "free after": "after", "free from": "after", "free before": "before", "free until": "before",
    "at around": "around", "at about": "around", "around": "around", "about": "around", "at": "at",
}  # fmt: skip
_REL_ALT = "|".join(
    re.escape(key).replace(r"\ ", r"\s+") for key in sorted(_RELATIONS, key=len, reverse=True)
)
_TIME_SINGLE = re.compile(rf"(?:\b(?P<rel>{_REL_ALT})\s+)?(?<![\d/:.\-]){_TIME}{_NOT_TIME_AFTER}")
_PART = re.compile(
    r"(?:\b(?P<prefix>this|every|in\s+the|on|early|late|mid)\s+)?\b"
    r"(?P<part>mornings?|afternoons?|evenings?|nights?|lunch\s?times?|lunch)\b"
)
_NEGATED_PART = re.compile(r"\b(?:not|no|but\s+not|except|never|can't\s+do|cannot\s+do)\s+(?:in\s+the\s+)?$")
_MONTHS: Dict[str, int] = {}
for _number in range(1, 13):
    _MONTHS[calendar.month_name[_number].lower()] = _number
    _MONTHS[calendar.month_abbr[_number].lower()] = _number
_MONTHS["sept"] = 9
_MONTH_ALT = "|".join(sorted(_MONTHS, key=len, reverse=True))
_MONTH_RANGE = re.compile(
    rf"(?:\b(?:in|during|sometime\s+in|some\s+time\s+in|early|late|mid)\s+)?(?<!\d\s)(?<!\d)"
    rf"\b(?P<month>{_MONTH_ALT})\b(?!\.?\s*\d{{1,2}}(?!\d))(?!\s+the\s+\d)(?:\s+(?P<year>\d{{4}}))?"
)
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "a couple of": 2, "a couple": 2,
    "couple of": 2, "a few": 3, "few": 3,
}  # fmt: skip
_COUNT_ALT = r"\d{1,2}|" + "|".join(
    re.escape(key).replace(r"\ ", r"\s+") for key in sorted(_NUMBER_WORDS, key=len, reverse=True)
)
_IN_N = re.compile(
    rf"\b(?:in\s+(?P<n1>{_COUNT_ALT})\s+(?P<u1>day|week|month)s?|"
    rf"(?P<n2>{_COUNT_ALT})\s+(?P<u2>day|week|month)s?\s+from\s+(?:now|today))\b"
)
_REL_WEEK = re.compile(
    r"\b(?:(?P<later>later)\s+)?(?P<which>this|next|the\s+following)\s+week\b(?!\s?(?:day|end))"
)
_REL_MONTH = re.compile(r"\b(?:(?:later|sometime|some\s+time)\s+)?(?P<which>this|next)\s+month\b")
_REL_DAY = re.compile(r"\b(?:the\s+)?day\s+after\s+tomorrow\b|\btomorrow\b|\btoday\b|\btonight\b")
_ORDINAL = re.compile(r"^(?:on\s+)?(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)$")
_DATE_HINT = re.compile(
    rf"\b(?:{_MONTH_ALT})\b|\d{{1,4}}[/\-.]\d{{1,2}}|\b\d{{1,2}}(?:st|nd|rd|th)\b|\b\d{{4}}\b|yesterday|ago"
)
_YEAR_GIVEN = re.compile(r"\b\d{4}\b|\d{1,2}/\d{1,2}/\d{2}\b|'\d{2}\b")
_FILLER: FrozenSet[str] = frozenset(
    """i i'm im i'd id i'll i've me my we us you your it it's its is am are be been was would could can will
    should shall might must do does did prefer preferably preferred ideally like love want need works work
    working good great best better fine ok okay please thanks thank the a an on at in of for to or and but
    also maybe perhaps probably possibly if possible sometime some time times day days appointment
    appointments visit visits slot slots available availability open free something anything earlier later
    early late that this that's be great come get see go with just only really so too then there here any
    usually generally mostly around about same well yes yeah sure hmm um uh let's say how what
    when el la los las de del por en que para un una mi prefiero preferiblemente puedo podría podria quiero
    cita si sí es está esta bien mejor o y lo pero me gustaría gustaria tengo libre disponible día dia
    días dias hora horas va bueno pues""".split()
)

_DATEPARSER_SETTINGS: Dict[str, Any] = {
    "PREFER_DATES_FROM": "future",
    "RETURN_AS_TIMEZONE_AWARE": True,
    "DATE_ORDER": "MDY",
    "PREFER_DAY_OF_MONTH": "first",
}


_ES_NUMBERS = {
    "un": "1", "una": "1", "uno": "1", "dos": "2", "tres": "3", "cuatro": "4", "cinco": "5", "seis": "6",
    "siete": "7", "ocho": "8", "nueve": "9", "diez": "10", "once": "11", "doce": "12",
}  # fmt: skip
_ES_NUMBER_ALT = "|".join(_ES_NUMBERS)
_ES_DAYS = {
    "lunes": "monday", "martes": "tuesday", "miércoles": "wednesday", "miercoles": "wednesday",
    "jueves": "thursday", "viernes": "friday", "sábados": "saturdays", "sabados": "saturdays",
    "sábado": "saturday", "sabado": "saturday", "domingos": "sundays", "domingo": "sunday",
}  # fmt: skip
_ES_DAY_ALT = "|".join(sorted(_ES_DAYS, key=len, reverse=True))
_ES_MONTHS = {
    "enero": "january", "febrero": "february", "marzo": "march", "abril": "april", "mayo": "may",
    "junio": "june", "julio": "july", "agosto": "august", "septiembre": "september", "setiembre": "september",
    "octubre": "october", "noviembre": "november", "diciembre": "december",
}  # fmt: skip
_ES_MONTH_ALT = "|".join(_ES_MONTHS)
_ES_UNITS = {"día": "day", "dia": "day", "sem": "week", "mes": "month"}
_MANANA = r"(?:mañana|manana)"
# Order matters: a clock time with its part of the day ("4 de la tarde") before the part alone, the part of
# the day ("por la mañana") before "mañana" alone, which means tomorrow.
_ES_RULES: List[Tuple[str, Any]] = [
    (r"\b(?:las?\s+)?(" + _ES_NUMBER_ALT + r")(?=\s+(?:de\s+la|y\s+media|y\s+cuarto|en\s+punto)\b)",
     lambda m: " " + _ES_NUMBERS[m.group(1)]),
    (r"\b(las?)\s+(" + _ES_NUMBER_ALT + r")\b", lambda m: f"{m.group(1)} {_ES_NUMBERS[m.group(2)]}"),
    (r"(\d{1,2})\s+y\s+media\b", r"\1:30"),
    (r"(\d{1,2})\s+y\s+cuarto\b", r"\1:15"),
    (r"(\d{1,2})\s+en\s+punto\b", r"\1:00"),
    (r"(\d{1,2}(?::\d\d)?)\s+de\s+la\s+" + _MANANA + r"\b", r"\1am"),
    (r"(\d{1,2}(?::\d\d)?)\s+de\s+la\s+(?:tarde|noche)\b", r"\1pm"),
    (r"\bpasado\s+" + _MANANA + r"\b", " the day after tomorrow "),
    (r"\besta\s+noche\b", " tonight "),
    (r"\b(?:por|en|de|durante)\s+las\s+(?:mañanas|mananas)\b", " mornings "),
    (r"\b(?:por|en|de|durante)\s+las\s+tardes\b", " afternoons "),
    (r"\b(?:por|en|de|durante)\s+las\s+noches\b", " evenings "),
    (r"\b(?:por|en|de|durante|a)\s+la\s+" + _MANANA + r"\b", " morning "),
    (r"\b(?:por|en|de|durante|a)\s+la\s+tarde\b", " afternoon "),
    (r"\b(?:por|en|de|durante|a)\s+la\s+noche\b", " evening "),
    (r"\besta\s+" + _MANANA + r"\b", " this morning "),
    (r"\besta\s+tarde\b", " this afternoon "),
    (r"\b(?:mañanas|mananas)\b", " mornings "),
    (r"\btardes\b", " afternoons "),
    (r"\b" + _MANANA + r"\b", " tomorrow "),
    (r"\btarde\b", " afternoon "),
    (r"\bnoche\b", " evening "),
    (r"\b(?:al\s+)?medio\s*d[ií]a\b|\bmediod[ií]a\b", " noon "),
    (r"\b(?:la\s+)?hora\s+del\s+almuerzo\b|\balmuerzo\b", " lunchtime "),
    (r"\bhoy(?:\s+mismo)?\b", " today "),
    (r"\b(?:los\s+)?d[ií]as\s+(?:de\s+)?(?:entre\s+semana|h[aá]biles|laborables)\b|\bentre\s+semana\b",
     " weekdays "),
    (r"\b(?:los\s+)?fin(?:es)?\s+de\s+semana\b", " weekends "),
    (r"\b(?:la\s+)?(?:pr[oó]xima|siguiente)\s+semana\b|\bla\s+semana\s+(?:que\s+viene|pr[oó]xima)\b",
     " next week "),
    (r"\besta\s+semana\b", " this week "),
    (r"\b(?:el\s+)?(?:pr[oó]ximo|siguiente)\s+mes\b|\bel\s+mes\s+que\s+viene\b", " next month "),
    (r"\beste\s+mes\b", " this month "),
    (r"\blo\s+(?:antes|m[aá]s\s+pronto)\s+posible\b|\bcuanto\s+antes\b|\bpronto\b", " asap "),
    (r"\bcualquier\s+(?:d[ií]a|hora|momento)\b|\bcuando\s+sea\b|\bme\s+da\s+igual\b|\bno\s+importa\b|"
     r"\bsoy\s+flexible\b|\bcualquiera\b|\bde\s+todo\b", " any time "),
    (r"\b(?:(?:todos\s+)?los|cada)\s+(" + _ES_DAY_ALT + r")\b", r" every \1 "),
    (r"\b(?:el\s+)?(?:pr[oó]ximo|siguiente)\s+(" + _ES_DAY_ALT + r")\b", r" next \1 "),
    (r"\b(?:el\s+)?(" + _ES_DAY_ALT + r")\s+(?:que\s+viene|pr[oó]ximo)\b", r" next \1 "),
    (r"\beste\s+(" + _ES_DAY_ALT + r")\b", r" this \1 "),
    (r"\b(?:excepto|menos|salvo)\b", " except "),
    (r"\b(?:en|dentro\s+de)\s+(" + _ES_NUMBER_ALT + r"|\d{1,2})\s+(d[ií]a|semana|mes)(?:s|es)?\b",
     lambda m: f" in {_ES_NUMBERS.get(m.group(1), m.group(1))} {_ES_UNITS[m.group(2)[:3]]}s "),
    (r"\b(?:el\s+)?(\d{1,2})\s+de\s+(" + _ES_MONTH_ALT + r")(?:\s+(?:de|del)\s+(\d{4}))?\b", r" \2 \1 \3 "),
    (r"\b(?:en|durante)\s+(" + _ES_MONTH_ALT + r")\b", r" in \1 "),
    (r"\bdespu[eé]s\s+de(?:l|\s+las?)?\s+", " after "),
    (r"\bantes\s+de(?:l|\s+las?)?\s+", " before "),
    (r"\bentre\s+(?:las?\s+)?(?=\d)", " between "),
    (r"(\d|\d)(\s*(?:am|pm)?)\s+y\s+(?:las?\s+)?(?=\d)", r"\1\2 and "),
    (r"\bdesde\s+(?:las?\s+)?", " from "),
    (r"\bhasta\s+(?:las?\s+)?", " until "),
    (r"\ba\s+eso\s+de\s+(?:las?\s+)?|\balrededor\s+de\s+(?:las?\s+)?|\bcomo\s+a\s+las?\s+", " around "),
    (r"\ba\s+las?\s+(?=\d)", " at "),
    (r"\blas?\s+(?=\d)", " at "),
    (r"\by\b", " and "),
    (r"\bo\b", " or "),
]
_ES_COMPILED = [(re.compile(pattern), replacement) for pattern, replacement in _ES_RULES]
_ES_HINT = re.compile(
    r"mañana|manana|tarde|noche|semana|lunes|martes|mi[eé]rcoles|jueves|viernes|s[aá]bado|domingo|hoy|"
    r"\blas?\b|despu[eé]s|antes|cualquier|mediod[ií]a|medio\s*d[ií]a|\bmes\b|\bde\b|pr[oó]xim|cuando|"
    r"\bdesde\b|\bhasta\b|\bentre\b|pronto|almuerzo|\bdentro\b|\b(?:" + _ES_MONTH_ALT + r")\b"
)


def spanish_to_english(text: str) -> str:
    """Rewrites the Spanish time phrases of lower-case `text` as the English ones the reader knows.

    "el martes por la mañana" -> "tuesday morning", "mañana a las 3" -> "tomorrow at 3", "4 de la tarde" ->
    "4pm", "después de las 3" -> "after 3"; English text has none of these words and comes back unchanged.
    """
    if not _ES_HINT.search(text):
        return text
    for pattern, replacement in _ES_COMPILED:
        text = pattern.sub(replacement, text)
    text = re.sub(r"\b(" + _ES_DAY_ALT + r")\b", lambda m: _ES_DAYS[m.group(1)], text)
    text = re.sub(r"\b(" + _ES_MONTH_ALT + r")\b", lambda m: _ES_MONTHS[m.group(1)], text)
    return text


_DAY_WORD = re.compile(rf"\b(?:{_DAY_ALT})\b|\btoday\b|\btomorrow\b")


def day_mentioned(text: str, today_index: int) -> Optional[int]:
    """The one weekday a question is about ("are you open on Saturday?", "¿abren el sábado?"), if any.

    Args:
        text: The patient's message.
        today_index: Today's weekday (Monday is 0), for "today" and "tomorrow".

    Returns:
        The weekday's index, or None when no day or more than one day is named.
    """
    found = {
        today_index if word == "today" else (today_index + 1) % 7 if word == "tomorrow" else _DAY_FORMS[word]
        for word in _DAY_WORD.findall(spanish_to_english(squash_lower(text)))
    }
    return found.pop() if len(found) == 1 else None


def squash_lower(text: str) -> str:
    """Lower case with whitespace collapsed."""
    return " ".join((text or "").lower().split())
