"""Reading a preferred time: the patient's words picked apart into days, dates, times and parts of day.

Our own rules handle what `dateparser` 1.2.0 gets wrong or misses (times of day, parts of the day, weekdays
with "next"/"this", recurring wishes, weeks and months); `dateparser` reads calendar dates only. Spanish is
first rewritten into the same English phrases (`spanish_to_english`).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import List, Optional, Sequence, Set, Tuple

import dateparser

from bts.clinic import Clinic
from bts.validation.result import squash
from bts.validation.time_words import (
    _ANY,
    _ASAP,
    _DATE_HINT,
    _DATEPARSER_SETTINGS,
    _DAY_FORMS,
    _DAY_SET,
    _FILLER,
    _IN_N,
    _MONTH_RANGE,
    _MONTHS,
    _NEGATED_PART,
    _NEGATED_TAIL,
    _NUMBER_WORDS,
    _ORDINAL,
    _PART,
    _REL_DAY,
    _REL_MONTH,
    _REL_WEEK,
    _RELATIONS,
    _TIME_RANGE,
    _TIME_SINGLE,
    _WEEKDAY,
    _YEAR_GIVEN,
    MAX_DAYS_AHEAD,
    RECENT_PAST_DAYS,
    spanish_to_english,
)


@dataclass
class TimeSpec:
    """A time of day or a window the patient asked for."""

    relation: str  # "at", "around", "after", "before" or "between"
    start: time
    end: Optional[time] = None  # only for "between"


@dataclass
class Request:
    """What the patient's words were understood to mean, before checking against the clinic."""

    asap: bool = False
    any_time: bool = False
    spec: Optional[TimeSpec] = None
    parts: List[str] = field(default_factory=list)
    parts_plural: bool = False
    days: Set[int] = field(default_factory=set)
    excluded_days: Set[int] = field(default_factory=set)
    recurring_days: bool = False
    weekday_prefix: Optional[str] = None
    dates: List[date] = field(default_factory=list)
    date_range: Optional[Tuple[date, date, str]] = None
    error: str = ""


def _resolve_hour(hour: int, minute: int, ampm: Optional[str], parts: Sequence[str]) -> Optional[time]:
    """Turns "3", "3pm", "15:00" into a time; a bare hour from 1 to 6 is PM, from 7 to 11 is AM.

    The clinic is open in the daytime, so "after 3" means 3 PM and "at 8" means 8 AM. A part of the day
    said alongside ("tomorrow morning at 8") decides instead.
    """
    if ampm:
        if not 1 <= hour <= 12:
            return None
        if ampm == "pm" and hour != 12:
            hour += 12
        elif ampm == "am" and hour == 12:
            hour = 0
    elif hour > 23:
        return None
    elif 1 <= hour <= 11:
        if parts and parts[0] in ("afternoon", "evening", "night"):
            hour += 12
        elif parts and parts[0] == "morning":
            pass
        elif hour <= 6:
            hour += 12
    return time(hour, minute)


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _month_span(year: int, month: int, today: date) -> Tuple[date, date]:
    first = max(date(year, month, 1), today)
    return first, date(year, month, calendar.monthrange(year, month)[1])


def _cut(text: str, match: re.Match) -> str:
    return text[: match.start()] + " " + text[match.end():]


def _parse_dateparser(text: str, clinic: Clinic, local_now: datetime) -> Optional[date]:
    """Reads a calendar date ("December 3", "12/3", "2026-12-03") with dateparser.

    Works around three dateparser 1.2.0 habits: an aware RELATIVE_BASE makes some inputs fail, so the
    clinic's wall-clock time is passed naive with TIMEZONE set; with PREFER_DATES_FROM='future' a date
    without a year that is today ("November 30" on November 30) is moved to next year, so the year is
    chosen here; and impossible dates ("December 32", "13/45") come back as odd years, so a date without
    a year must land this year or next.
    """
    settings = dict(
        _DATEPARSER_SETTINGS, TIMEZONE=clinic.timezone, RELATIVE_BASE=local_now.replace(tzinfo=None)
    )
    try:
        parsed = dateparser.parse(text, languages=["en"], settings=settings)
    except (ValueError, OverflowError, TypeError):  # pragma: no cover - defensive
        return None
    if parsed is None:
        return None
    found = parsed.date()
    today = local_now.date()
    if _YEAR_GIVEN.search(text) or re.search(r"\b(?:yesterday|ago)\b", text):
        return found
    if found.year not in (today.year, today.year + 1):
        return None
    try:
        this_year = found.replace(year=today.year)
    except ValueError:  # February 29
        return found
    if this_year >= today:
        return this_year
    if (found - today).days > MAX_DAYS_AHEAD and (today - this_year).days <= RECENT_PAST_DAYS:
        return this_year  # "November 29" said on November 30 means the one that just passed
    return found


def understand(text: str, clinic: Clinic, local_now: datetime) -> Request:
    """Picks the patient's words apart into days, dates, times and parts of the day."""
    today = local_now.date()
    request = Request()
    s = " " + spanish_to_english(squash(text).lower()) + " "
    s = re.sub(r"\b([ap])\.\s?m\b\.?", r"\1m", s)
    s = re.sub(r"\b(?:12\s+)?(?:noon|midday)\b", "12pm", s)
    s = re.sub(r"(\d)\s*o'?clock\b", r"\1:00", s)
    s = re.sub(r"(\d{1,2}(?::\d\d)?\s*(?:am|pm)?)\s*-?ish\b", r"around \1", s)
    s = re.sub(r"[,;!?()]", " ", s)
    s = re.sub(r"\bafter\s+work\b", "after 5pm", s)  # the usual end of a working day

    if _ASAP.search(s):
        request.asap = True
        s = _ASAP.sub(" ", s)
    s = _read_parts_of_day(s, request, today)
    s = _read_clock_times(s, request)
    if _ANY.search(s):
        request.any_time = True
        s = _ANY.sub(" ", s)
    s = _read_weekdays(s, request)
    s = _read_ranges(s, request, today)
    s = _read_relative_days(s, request, today)
    _read_leftover(s, request, clinic, local_now)
    return request


def _read_parts_of_day(s: str, request: Request, today: date) -> str:
    """Parts of the day come first: they decide whether a bare "8" is AM or PM."""
    # Parts of the day first: they decide whether a bare "8" is AM or PM.
    for match in reversed(list(_PART.finditer(s))):
        part = match.group("part")
        name = "lunchtime" if part.startswith("lunch") else part.rstrip("s")
        if _NEGATED_PART.search(s[: match.start()] + (match.group("prefix") or "")):
            # "not mornings" -> afternoons, "no afternoons" -> mornings; "not evenings" adds nothing.
            name = {"morning": "afternoon", "afternoon": "morning"}.get(name, "")
            negation = r"\b(?:not|no|but\s+not|except|never)\s+(?:in\s+the\s+)?$"
            before = re.sub(negation, " ", s[: match.start()])
            s = before + " " + s[match.end():]
        else:
            s = _cut(s, match)
        if not name:
            continue
        if part.endswith("s") and not part.startswith("lunch") or match.group("prefix") == "every":
            request.parts_plural = True
        if match.group("prefix") == "this":
            request.dates.append(today)
        if name not in request.parts:
            request.parts.insert(0, name)
    if re.search(r"\btonight\b", s):
        request.parts.append("evening")
    if re.search(r"\bweek\s?nights?\b", s):
        request.parts.append("evening")
    return s


def _read_clock_times(s: str, request: Request) -> str:
    """One time ("after 3") or one range ("between 2 and 4pm")."""
    range_match = _TIME_RANGE.search(s)
    while range_match and not (
        range_match.group("pre") or range_match.group(4) or range_match.group(7)
        or range_match.group(3) or range_match.group(6)
    ):
        range_match = _TIME_RANGE.search(s, range_match.end())
    if range_match:
        h1, m1, ap1, h2, m2, ap2 = range_match.group(2, 3, 4, 5, 6, 7)
        if ap2 == "am" and not ap1 and int(h1) <= int(h2):
            ap1 = "am"
        start = _resolve_hour(int(h1), int(m1 or 0), ap1, request.parts)
        end = _resolve_hour(int(h2), int(m2 or 0), ap2, request.parts)
        if start is None or end is None:
            request.error = "time"
        elif end <= start:
            request.error = "range"
        else:
            request.spec = TimeSpec("between", start, end)
        s = _cut(s, range_match)
    singles = [
        match for match in _TIME_SINGLE.finditer(s) if match.group("rel") or match.group(4) or match.group(3)
    ]
    if singles and request.spec is None and not request.error:
        if len(singles) > 1:
            request.error = "two_times"
        else:
            match = singles[0]
            at = _resolve_hour(int(match.group(2)), int(match.group(3) or 0), match.group(4), request.parts)
            relation = _RELATIONS[" ".join(match.group("rel").split())] if match.group("rel") else "at"
            if re.search(r"\bnot\s+$", s[: match.start()]):
                relation = {"after": "before", "before": "after"}.get(relation, relation)
            if at is None:
                request.error = "time"
            else:
                request.spec = TimeSpec(relation, at)
    for match in reversed(singles):
        s = _cut(s, match)
    return s


def _read_weekdays(s: str, request: Request) -> str:
    """Weekdays and sets of days ("weekdays", "any day but Friday")."""
    for match in reversed(list(_DAY_SET.finditer(s))):
        word = match.group("set").replace(" ", "")
        members = {5, 6} if word.startswith("weekend") else {0, 1, 2, 3, 4}
        if _NEGATED_TAIL.search(s[: match.start()]):
            request.excluded_days |= members
        else:
            request.days |= members
            request.recurring_days = True
        s = _cut(s, match)

    weekday_matches = list(_WEEKDAY.finditer(s))
    for match in weekday_matches:
        index = _DAY_FORMS[match.group("day")]
        if _NEGATED_TAIL.search(s[: match.start()]):
            request.excluded_days.add(index)
            continue
        request.days.add(index)
        prefix = " ".join((match.group("prefix") or "").split())
        if match.group("day").endswith("days") or prefix in ("every", "each", "any"):
            request.recurring_days = True
        elif prefix in ("next", "this", "coming", "this coming"):
            request.weekday_prefix = "next" if prefix == "next" else "this"
    for match in reversed(weekday_matches):
        s = _cut(s, match)
    return re.sub(r"\b(?:except|but\s+not|besides|other\s+than|not\s+on|not)\s+(?=\s*$)", " ", s)


def _read_ranges(s: str, request: Request, today: date) -> str:
    """A week, a month or a named month."""
    week = _REL_WEEK.search(s)
    if week:
        monday = today - timedelta(days=today.weekday())
        if week.group("which") == "this":
            request.date_range = (today, monday + timedelta(days=6), "this week")
        else:
            monday += timedelta(days=7)
            request.date_range = (monday, monday + timedelta(days=6), "next week")
        s = _cut(s, week)
    month = _REL_MONTH.search(s)
    if month:
        target = today if month.group("which") == "this" else _add_months(today.replace(day=1), 1)
        first, last = _month_span(target.year, target.month, today)
        request.date_range = (first, last, f"{month.group('which')} month")
        s = _cut(s, month)
    named_month = _MONTH_RANGE.search(s)
    if named_month and not (named_month.group("month") == "may" and not re.search(
        r"\b(?:in|during|early|late|mid)\s+may\b|\bmay\s+\d{4}", s
    )):
        number = _MONTHS[named_month.group("month")]
        if named_month.group("year"):
            year = int(named_month.group("year"))
        else:
            year = today.year if number >= today.month else today.year + 1
        first, last = _month_span(year, number, today)
        if last < today:
            first = last = date(year, number, 1)
        request.date_range = (first, last, f"{calendar.month_name[number]} {year}")
        s = _cut(s, named_month)
    return s


def _read_relative_days(s: str, request: Request, today: date) -> str:
    """"in 2 weeks", "tomorrow", "the day after tomorrow"."""
    for match in reversed(list(_IN_N.finditer(s))):
        count_text = " ".join((match.group("n1") or match.group("n2")).split())
        count = int(count_text) if count_text.isdigit() else _NUMBER_WORDS[count_text]
        unit = match.group("u1") or match.group("u2")
        if unit == "day":
            request.dates.append(today + timedelta(days=count))
        elif unit == "week":
            request.dates.append(today + timedelta(weeks=count))
        else:
            request.dates.append(_add_months(today, count))
        s = _cut(s, match)
    for match in reversed(list(_REL_DAY.finditer(s))):
        word = match.group().strip()
        offset = 2 if "after" in word else 1 if word == "tomorrow" else 0
        request.dates.append(today + timedelta(days=offset))
        s = _cut(s, match)
    return s


def _read_leftover(s: str, request: Request, clinic: Clinic, local_now: datetime) -> None:
    """What is left: an ordinal ("the 5th"), a calendar date for dateparser, or nonsense."""
    today = local_now.date()
    if not re.search(r"\bmay\s+\d|\d(?:st|nd|rd|th)?\s+(?:of\s+)?may\b", s):
        s = re.sub(r"\bmay\b", " ", s)
    leftover = " ".join(word for word in s.replace(".", " ").split() if word.strip("'-/") not in _FILLER)
    leftover_raw = " ".join(word for word in s.split() if word.strip("'-/.") not in _FILLER)
    if leftover:
        ordinal = _ORDINAL.match(leftover)
        if ordinal:
            day_number = int(ordinal.group(1))
            candidate: Optional[date] = None
            for months_ahead in range(0, 3):
                first = _add_months(today.replace(day=1), months_ahead)
                if day_number <= calendar.monthrange(first.year, first.month)[1]:
                    option = first.replace(day=day_number)
                    if option >= today:
                        candidate = option
                        break
            if candidate is None:
                request.error = request.error or "date"
            else:
                request.dates.append(candidate)
        elif _DATE_HINT.search(leftover_raw):
            found = _parse_dateparser(leftover_raw, clinic, local_now)
            if found is None:
                request.error = request.error or "date"
            else:
                request.dates.append(found)
        elif not (
            request.days or request.excluded_days or request.dates or request.date_range or request.spec
            or request.parts or request.any_time or request.asap
        ):
            request.error = request.error or "nonsense"
