"""Checking a preferred time against the clinic's hours, and saying it in the patient's language.

`parse_preferred_time` is the entry point: `time_read.understand` picks the words apart, then one of three
checks applies: a specific day, a stretch of days ("next week"), or a recurring wish ("weekday mornings").
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, Dict, List, Optional, Sequence, Tuple

from bts.clinic import WEEKDAYS, Clinic
from bts.validation import words as w
from bts.validation.result import ValidationResult, fail, ok, squash
from bts.validation.time_read import Request, TimeSpec, understand
from bts.validation.time_words import MAX_DAYS_AHEAD, MIN_VISIT, PART_WINDOWS

_READ_ERRORS = {
    "time": "time_unreadable",
    "range": "time_range_backwards",
    "two_times": "time_two_times",
    "date": "time_date",
    "nonsense": "time_nonsense",
}


def _window(spec: Optional[TimeSpec], parts: Sequence[str]) -> Optional[Tuple[time, time]]:
    """The clock window the patient asked for, or `None` for "any time of day"."""
    if spec is not None:
        if spec.relation == "after":
            return spec.start, time(23, 59)
        if spec.relation == "before":
            return time(0, 0), spec.start
        if spec.relation == "between" and spec.end is not None:
            return spec.start, spec.end
        return spec.start, spec.start
    if parts:
        windows = [PART_WINDOWS[part] for part in parts]
        return min(x[0] for x in windows), max(x[1] for x in windows)
    return None


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def _fits(spec: Optional[TimeSpec], parts: Sequence[str], opens: time, closes: time,
          earliest: Optional[time] = None) -> bool:
    """Tells whether the requested time fits in one day's opening hours (from `earliest` on, if given)."""
    lower = _minutes(opens)
    if earliest is not None:
        lower = max(lower, _minutes(earliest))
    upper = _minutes(closes)
    needed = int(MIN_VISIT.total_seconds() // 60)
    if spec is not None and spec.relation in ("at", "around"):
        start = _minutes(spec.start)
        return lower <= start and start + needed <= upper
    window = _window(spec, parts)
    if window is not None:
        lower, upper = max(lower, _minutes(window[0])), min(upper, _minutes(window[1]))
    return upper - lower >= needed


def time_phrase(spec: Optional[TimeSpec], parts: Sequence[str], lang: str) -> str:
    """"after 3:00 PM", "between 2:00 PM and 4:00 PM", "in the morning" (or in Spanish)."""
    if spec is not None:
        if spec.relation == "between" and spec.end is not None:
            return w.word("between", lang, t=w.clock(spec.start, lang), u=w.clock(spec.end, lang))
        return w.word(spec.relation, lang, t=w.clock(spec.start, lang))
    return f" {w.word('or', lang)} ".join(w.word(part, lang) for part in parts)


def _summary_time(spec: Optional[TimeSpec], parts: Sequence[str], closes: Sequence[time], lang: str) -> str:
    """The time part of the summary; an evening wish is shown with the closing time ("until 6 PM")."""
    phrase = time_phrase(spec, parts, lang)
    if spec is None and any(part in ("evening", "night") for part in parts) and closes:
        phrase += " " + w.word("until", lang, t=w.clock(max(closes), lang, True))
    return phrase


def _hours(clinic: Clinic, lang: str) -> str:
    return w.opening_hours_text(clinic, lang)


def _closed(days: Sequence[int], clinic: Clinic, lang: str) -> ValidationResult[Any]:
    return fail("time_closed_days", days=w.day_list(sorted(set(days)), lang), hours=_hours(clinic, lang))


def _outside_hours(day: date, spec: Optional[TimeSpec], parts: Sequence[str], clinic: Clinic,
                   lang: str) -> ValidationResult[Any]:
    opens, closes = clinic.hours[WEEKDAYS[day.weekday()]]
    weekday = w.day_name(day.weekday(), lang, plural=True)
    if spec is not None and spec.relation in ("at", "around") and opens <= spec.start < closes:
        latest = (datetime.combine(day, closes) - MIN_VISIT).time()
        return fail("time_too_late", closes=w.clock(closes, lang, True), weekday=weekday,
                    latest=w.clock(latest, lang))
    return fail("time_outside_hours", weekday=weekday, opens=w.clock(opens, lang, True),
                closes=w.clock(closes, lang, True), phrase=time_phrase(spec, parts, lang))


def _iso_time(day: date, at: time, clinic: Clinic) -> str:
    return datetime.combine(day, at, tzinfo=clinic.tz).isoformat()


def _result_value(raw: str, kind: str, summary: str, request: Request, **extra: Any) -> Dict[str, Any]:
    spec = request.spec
    value: Dict[str, Any] = {
        "raw": raw,
        "kind": kind,
        "start": None,
        "end": None,
        "days": None,
        "part_of_day": " or ".join(request.parts) if request.parts else None,
        "time": spec.start.strftime("%H:%M") if spec else None,
        "time_end": spec.end.strftime("%H:%M") if spec and spec.end else None,
        "relation": spec.relation if spec else None,
        "asap": request.asap,
        "summary": summary,
    }
    value.update(extra)
    return value


def _specific_day(day: date, raw: str, request: Request, clinic: Clinic, local_now: datetime,
                  lang: str) -> ValidationResult[Dict[str, Any]]:
    """One day: it must be from today on, open, and have the asked time within its hours."""
    today = local_now.date()
    spec, parts = request.spec, request.parts
    if day < today:
        return fail("time_past")
    if (day - today).days > MAX_DAYS_AHEAD:
        return fail("time_too_far")
    day_name = WEEKDAYS[day.weekday()]
    if day_name not in clinic.hours:
        return _closed([day.weekday()], clinic, lang)
    opens, closes = clinic.hours[day_name]
    if day == today:
        earliest = local_now.time().replace(second=0, microsecond=0)
        asked = _window(spec, parts)
        if asked is not None and asked[1] <= earliest:
            return fail("time_passed_today")
        if not _fits(None, [], opens, closes, earliest):
            return fail("time_closed_rest_of_today", hours=_hours(clinic, lang))
        if not _fits(spec, parts, opens, closes, earliest):
            return _outside_hours(day, spec, parts, clinic, lang)
    elif not _fits(spec, parts, opens, closes):
        return _outside_hours(day, spec, parts, clinic, lang)
    when = _summary_time(spec, parts, [closes], lang)
    summary = w.capitalized(w.date_text(day, today, lang)) + (f", {when}" if when else "")
    if spec is not None:
        end = _iso_time(day, spec.end, clinic) if spec.end else None
        start = _iso_time(day, spec.start, clinic)
        return ok(_result_value(raw, "datetime", summary, request, start=start, end=end))
    return ok(_result_value(raw, "date", summary, request, start=day.isoformat()))


def _in_range(raw: str, request: Request, clinic: Clinic, local_now: datetime,
              lang: str) -> ValidationResult[Dict[str, Any]]:
    """A stretch of days ("next week", "in January"): the open days in it that fit the asked time."""
    assert request.date_range is not None
    today = local_now.date()
    spec, parts = request.spec, request.parts
    first, last, label = request.date_range
    if last < today:
        return fail("time_past")
    if (first - today).days > MAX_DAYS_AHEAD:
        return fail("time_too_far")
    last = min(last, today + timedelta(days=MAX_DAYS_AHEAD))
    span = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    allowed = request.days - request.excluded_days if request.days else None
    span = [day for day in span if allowed is None or day.weekday() in allowed]
    span = [day for day in span if day.weekday() not in request.excluded_days]
    open_days = [day for day in span if WEEKDAYS[day.weekday()] in clinic.hours]
    if not open_days:
        return _closed(sorted({day.weekday() for day in span}) or [5, 6], clinic, lang)
    fitting = []
    for day in open_days:
        opens, closes = clinic.hours[WEEKDAYS[day.weekday()]]
        earliest_today = local_now.time() if day == today else None
        if _fits(spec, parts, opens, closes, earliest_today):
            fitting.append(day)
    if not fitting:
        if label in ("this week", "next week", "this month", "next month"):
            label = w.word(label, lang)
        else:
            month, year = label.rsplit(" ", 1)
            label = f"{w.month_name(_month_number(month), lang)} {year}"
        return fail("time_no_visits_in_range", phrase=time_phrase(spec, parts, lang), period=label,
                    hours=_hours(clinic, lang))
    closes_list = [clinic.hours[WEEKDAYS[day.weekday()]][1] for day in fitting]
    when = _summary_time(spec, parts, closes_list, lang)
    if fitting[0] == fitting[-1]:
        summary = w.capitalized(w.date_text(fitting[0], today, lang))
    else:
        summary = w.word("from_to", lang, first=w.date_text(fitting[0], today, lang),
                         last=w.date_text(fitting[-1], today, lang))
    summary += f", {when}" if when else ""
    return ok(_result_value(raw, "date", summary, request, start=fitting[0].isoformat(),
                            end=fitting[-1].isoformat(),
                            days=[WEEKDAYS[i] for i in sorted({day.weekday() for day in fitting})]))


def _month_number(english_name: str) -> int:
    import calendar

    return list(calendar.month_name).index(english_name)


def _recurring(raw: str, request: Request, clinic: Clinic, lang: str) -> ValidationResult[Dict[str, Any]]:
    """A wish for every week ("weekday mornings", "Tuesdays after 3", "any day but Friday")."""
    spec, parts = request.spec, request.parts
    requested = set(request.days) if request.days else set(range(7))
    requested -= request.excluded_days
    if not requested:
        return fail("time_no_days", hours=_hours(clinic, lang))
    open_requested = [day for day in sorted(requested) if WEEKDAYS[day] in clinic.hours]
    if not open_requested:
        return _closed(sorted(requested), clinic, lang)
    fitting_days = [day for day in open_requested if _fits(spec, parts, *clinic.hours[WEEKDAYS[day]])]
    if not fitting_days:
        phrase = time_phrase(spec, parts, lang)
        if request.days:
            listed = w.day_list(open_requested, lang)
            first, last = open_requested[0], open_requested[-1]
            stretch = len(open_requested) >= 3 and last - first == len(open_requested) - 1
            phrase += " " + (listed if stretch else w.word("on_days", lang, days=listed))
        evening_only = spec is None and all(part in ("evening", "night") for part in parts)
        key = "time_not_open" if evening_only else "time_no_visits"
        return fail(key, phrase=phrase, hours=_hours(clinic, lang))
    closes_list = [clinic.hours[WEEKDAYS[day]][1] for day in fitting_days]
    when = _summary_time(spec, parts, closes_list, lang) or w.word("any_time", lang)
    days_text = w.day_list(fitting_days, lang)
    if fitting_days == [0, 1, 2, 3, 4]:
        days_text = w.word("weekdays", lang)
    summary = f"{w.capitalized(days_text)}, {when}"
    return ok(_result_value(raw, "recurring", summary, request, days=[WEEKDAYS[i] for i in fitting_days]))


def _the_day(request: Request, dates: List[date], today: date) -> Optional[date]:
    """The one day meant, if any: a date, "this/next <weekday>", or a lone weekday ("Friday afternoon")."""
    parts = request.parts
    single_weekday = (
        len(request.days) == 1 and not request.recurring_days and not request.excluded_days
        and (request.weekday_prefix is not None or not (parts and request.parts_plural and not dates))
    )
    if dates:
        return dates[0]
    if not single_weekday:
        return None
    weekday = next(iter(request.days))
    if request.date_range:
        first, last, _label = request.date_range
        candidates = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        matching = [day for day in candidates if day.weekday() == weekday]
        return matching[0] if matching else None
    ahead = (weekday - today.weekday()) % 7
    if ahead == 0 and request.weekday_prefix != "this":
        ahead = 7
    return today + timedelta(days=ahead)


def parse_preferred_time(text: str, clinic: Clinic, now: datetime,
                         lang: str = "en") -> ValidationResult[Dict[str, Any]]:
    """Understands when the patient would like to come in and checks it against the clinic's hours.

    Understood, in English and Spanish: specific days ("tomorrow", "next Tuesday", "el martes", "pasado
    mañana", "December 3", "12/3", "the 5th", "in 2 weeks"), times ("at 10am", "after 3", "después de las
    3", "4 de la tarde", "between 2 and 4"), parts of the day ("morning", "por la tarde"), recurring wishes
    ("weekday mornings", "entre semana por la tarde", "any day but Friday"), ranges ("next week", "in
    January") and "any time" / "cualquier día" / "asap". A bare hour from 1 to 6 is read as PM, from 7 to
    11 as AM. "Next Tuesday" and a bare "Tuesday" mean the first Tuesday after today; "this Tuesday" may be
    today.

    Refused, with the name of the response that says why: dates or times in the past; closed days;
    times outside that day's hours (a visit needs at least 30 minutes before closing); dates more than about
    6 months ahead; and text that is not a time.

    Args:
        text: What the patient typed.
        clinic: The clinic, for its time zone and opening hours.
        now: The current time; a naive value is taken as the clinic's local time.
        lang: Language of the summary and of the values of a refusal ("en" or "es").

    Returns:
        A dict with `raw` (the text as typed), `kind` ("datetime", "date", "recurring" or "any"), `start`
        (ISO datetime for "datetime", ISO date for "date", else None), `end`, `days` (weekday names),
        `part_of_day`, `time` / `time_end` ("15:00"), `relation`, `asap`, and a `summary` in `lang`
        ("Tuesday, December 1, after 3:00 PM" / "Martes 1 de diciembre, después de las 3:00 p. m.").
    """
    raw = squash(text)
    local_now = now.replace(tzinfo=clinic.tz) if now.tzinfo is None else now.astimezone(clinic.tz)
    today = local_now.date()
    if not raw:
        return fail("time_nonsense")
    request = understand(raw, clinic, local_now)
    if request.error:
        return fail(_READ_ERRORS[request.error])
    dates = sorted(set(request.dates))
    if len(dates) > 1:
        return fail("time_several_dates")
    if dates and request.days and dates[0].weekday() not in request.days:
        wanted = dates[0]
        return fail("time_weekday_mismatch", date=f"{w.month_name(wanted.month, lang)} {wanted.day}"
                    if lang != "es" else f"{wanted.day} de {w.month_name(wanted.month, lang)}",
                    weekday=w.day_name(wanted.weekday(), lang),
                    said=w.day_list(sorted(request.days), lang, plural=False, joiner="or"))
    day = _the_day(request, dates, today)
    if day is not None:
        return _specific_day(day, raw, request, clinic, local_now, lang)
    if request.date_range:
        return _in_range(raw, request, clinic, local_now, lang)
    if request.days or request.excluded_days or request.spec is not None or request.parts:
        return _recurring(raw, request, clinic, lang)
    summary = w.word("asap" if request.asap else "any_open", lang)
    open_names = [name for name in WEEKDAYS if name in clinic.hours]
    return ok(_result_value(raw, "any", summary, request, days=open_names or None))
