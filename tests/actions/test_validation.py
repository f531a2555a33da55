"""Table-driven tests of bts/validation: the forms' input validators, read as the patient reads them."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, List, Optional
from zoneinfo import ZoneInfo

import phonenumbers
import pytest

from bts.clinic import Clinic, parse_clinic
from bts.validation import (
    format_phone_for_display,
    parse_consent,
    parse_patient_type,
    parse_preferred_time,
    validate_email,
    validate_insurance,
    validate_name,
    validate_phone,
    validate_reason,
)
from bts.validation.words import opening_hours_text
from tests.actions.responses import rendered

DENVER = ZoneInfo("America/Denver")
# A Monday morning; every relative phrase below is read from here.
NOW = datetime(2026, 11, 30, 9, 15, tzinfo=DENVER)
HOURS_TEXT = "Monday to Thursday 7:30 AM–6 PM and Friday 7:30 AM–4 PM"


def make_clinic(**hours: List[str]) -> Clinic:
    return parse_clinic(
        {
            "name": "Border Therapy Services",
            "city": "Las Cruces, New Mexico",
            "timezone": "America/Denver",
            "phone": "(575) 555-0142",
            "address": "123 Example St., Las Cruces, NM 88001",
            "hours": hours
            or {
                "monday": ["07:30", "18:00"],
                "tuesday": ["07:30", "18:00"],
                "wednesday": ["07:30", "18:00"],
                "thursday": ["07:30", "18:00"],
                "friday": ["07:30", "16:00"],
            },
            "insurers": ["Medicare", "Example Health Plan"],
            "accepts_self_pay": True,
        }
    )


CLINIC = make_clinic()


# --------------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("José Núñez", "José Núñez"),
        ("O'Brien", "O'Brien"),
        ("Mary-Jane Smith", "Mary-Jane Smith"),
        ("  mary   jane  smith ", "Mary Jane Smith"),
        ("JOHN SMITH", "John Smith"),
        ("o\u2019brien", "O'Brien"),
        ("McDonald", "McDonald"),  # mixed case is the patient's own: kept
        ("My name is Ana de la Cruz", "Ana de la Cruz"),
        ("J. R. Smith", "J. R. Smith"),
        ("Zoë Kravitz", "Zoë Kravitz"),
        ("Jo", "Jo"),
    ],
)
def test_names_are_accepted_and_normalised(text: str, expected: str) -> None:
    result = validate_name(text)
    assert result.ok, result.message
    assert result.value == expected
    assert result.message == ""


@pytest.mark.parametrize(
    "text, explains",
    [
        ("5755550142", "looks like a number"),
        ("R2D2", "can't have numbers"),
        ("john@example.com", "email address"),
        ("www.johnsmith.com", "web address"),
        ("i don't know", "I need your name"),
        ("none", "I need your name"),
        ("no", "I need your name"),
        ("I want to book an appointment", "I need your name"),
        ("J", "too short"),
        ("", "didn't catch your name"),
        ("Smith, John", "only letters, spaces, hyphens"),
        ("x" * 81, "too long"),
    ],
)
def test_bad_names_are_explained(text: str, explains: str) -> None:
    result = validate_name(text)
    assert not result.ok
    assert result.value is None
    assert explains in rendered(result)
    assert '"Maria Lopez"' in rendered(result) or "80 characters" in rendered(result)


# --------------------------------------------------------------------------------------------------
# Phones
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("575-555-0142", "+15755550142"),
        ("(575) 555 0142", "+15755550142"),
        ("(575) 555-0142", "+15755550142"),
        ("+1 575 555 0142", "+15755550142"),
        ("+1 (575) 555-0142", "+15755550142"),
        ("5755550142", "+15755550142"),
        ("575.555.0142", "+15755550142"),
        ("1-575-555-0142", "+15755550142"),
        ("1 575 555 0142", "+15755550142"),
        ("001 575 555 0142", "+15755550142"),
        ("my number is 575-555-0142, thanks", "+15755550142"),
        ("575-555-0142 x12", "+15755550142;ext=12"),
        ("575 555 0142 ext. 7", "+15755550142;ext=7"),
        ("5755550142x305", "+15755550142;ext=305"),
        ("tel:+1-505-555-0199", "+15055550199"),
        ("212-456-7890", "+12124567890"),  # an ordinary, non-fictional number
    ],
)
def test_us_phone_numbers_are_normalised_to_e164(text: str, expected: str) -> None:
    result = validate_phone(text)
    assert result.ok, result.message
    assert result.value == expected
    # Everything before ";ext=" is plain E.164, and phonenumbers reads the whole value back.
    parsed = phonenumbers.parse(result.value, None)
    assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == expected.split(";")[0]


@pytest.mark.parametrize(
    "text, explains",
    [
        ("555-0142", "include the area code"),
        ("575-555-014", "too short"),
        ("12", "too short"),
        ("575-555-01423", "too long"),
        ("075-555-0142", "don't start with 0 or 1"),
        ("175-555-0142", "don't start with 0 or 1"),
        ("575-055-0142", "can't start with 0 or 1"),
        ("911-555-0142", "isn't an area code"),
        ("+44 20 7946 0958", "only take US phone numbers"),
        ("+52 656 123 4567", "only take US phone numbers"),
        ("011 44 20 7946 0958", "only take US phone numbers"),
        ("575-555-CALL", "no letters"),
        ("1-800-FLOWERS", "no letters"),
        ("five seven five", "with digits"),
        ("575-555-0142 or 575-555-0199", "more than one number"),
        ("", "with digits"),
    ],
)
def test_bad_phone_numbers_are_explained_with_an_example(text: str, explains: str) -> None:
    result = validate_phone(text)
    assert not result.ok
    assert result.value is None
    assert explains in rendered(result)
    assert '"(575) 555-0142"' in rendered(result)


def test_fictional_555_01xx_numbers_are_accepted() -> None:
    for last_two in ("00", "42", "99"):
        assert validate_phone(f"505-555-01{last_two}").value == f"+150555501{last_two}"


def test_stored_phone_numbers_format_for_display() -> None:
    assert format_phone_for_display("+15755550142") == "(575) 555-0142"
    assert format_phone_for_display("+15755550142;ext=12") == "(575) 555-0142 ext. 12"
    assert format_phone_for_display("not a number") == "not a number"


# --------------------------------------------------------------------------------------------------
# Emails
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Maria@Example.COM", "Maria@example.com"),
        ("my email is ana.lopez+pt@gmail.com", "ana.lopez+pt@gmail.com"),
        ("a@b.co", "a@b.co"),
        ("<ana@gmail.com>", "ana@gmail.com"),
        ("ana@gmail.com.", "ana@gmail.com"),
        ("ana_o'neil@mail.example.org", "ana_o'neil@mail.example.org"),
        ("ana@münchen.de", "ana@münchen.de"),
        ("skip", None),
        ("No email", None),
        ("none", None),
        ("no", None),
        ("I don't have one", None),
    ],
)
def test_emails_are_accepted_or_skipped(text: str, expected: Optional[str]) -> None:
    result = validate_email(text)
    assert result.ok, result.message
    assert result.value == expected


@pytest.mark.parametrize(
    "text, explains",
    [
        ("ana gmail.com", "doesn't look like an email address"),
        ("ana@gmail", "needs a dot"),
        ("ana@gmail,com", "needs a dot"),
        ("ana@@gmail.com", 'exactly one "@"'),
        ("ana @gmail.com", "can't have spaces"),
        ("ana@gmail.c", "doesn't look right"),
        ("ana@x.123", "doesn't look right"),
        ("ana@-gmail.com", "doesn't look right"),
        (".ana@gmail.com", "characters email addresses can't use"),
        ("ana..b@gmail.com", "characters email addresses can't use"),
        ("@gmail.com", "is missing"),
        ("a" * 65 + "@example.com", "too long"),
        ("ana@gmail.com bob@gmail.com", "more than one email address"),
    ],
)
def test_bad_emails_are_explained_with_an_example(text: str, explains: str) -> None:
    result = validate_email(text)
    assert not result.ok
    assert result.value is None
    assert explains in rendered(result)
    assert '"maria@example.com"' in rendered(result)


# --------------------------------------------------------------------------------------------------
# Preferred days and times (now = Monday, November 30, 2026, 9:15 AM in Las Cruces)
# --------------------------------------------------------------------------------------------------

WEEKDAYS_OPEN = ["monday", "tuesday", "wednesday", "thursday", "friday"]
MON_TO_THU = ["monday", "tuesday", "wednesday", "thursday"]


@pytest.mark.parametrize(
    "text, kind, start, days, summary",
    [
        # specific days and times
        ("next Tuesday after 3", "datetime", "2026-12-01T15:00:00-07:00", None,
         "Tuesday, December 1, after 3:00 PM"),
        ("tomorrow", "date", "2026-12-01", None, "Tuesday, December 1"),
        ("tomorrow at 10am", "datetime", "2026-12-01T10:00:00-07:00", None,
         "Tuesday, December 1, at 10:00 AM"),
        ("Friday afternoon", "date", "2026-12-04", None, "Friday, December 4, in the afternoon"),
        ("December 3 at 2pm", "datetime", "2026-12-03T14:00:00-07:00", None,
         "Thursday, December 3, at 2:00 PM"),
        ("12/3 at 2", "datetime", "2026-12-03T14:00:00-07:00", None, "Thursday, December 3, at 2:00 PM"),
        ("between 2 and 4pm tomorrow", "datetime", "2026-12-01T14:00:00-07:00", None,
         "Tuesday, December 1, between 2:00 PM and 4:00 PM"),
        ("3ish on Thursday", "datetime", "2026-12-03T15:00:00-07:00", None,
         "Thursday, December 3, around 3:00 PM"),
        ("tomorrow morning at 8", "datetime", "2026-12-01T08:00:00-07:00", None,
         "Tuesday, December 1, at 8:00 AM"),
        ("today after 4", "datetime", "2026-11-30T16:00:00-07:00", None,
         "Monday, November 30, after 4:00 PM"),
        ("the 3rd", "date", "2026-12-03", None, "Thursday, December 3"),
        ("November 30", "date", "2026-11-30", None, "Monday, November 30"),  # today, not next year
        ("in 2 weeks", "date", "2026-12-14", None, "Monday, December 14"),
        ("Tuesday next week", "date", "2026-12-08", None, "Tuesday, December 8"),
        ("jan 5 at 9:30", "datetime", "2027-01-05T09:30:00-07:00", None,
         "Tuesday, January 5, 2027, at 9:30 AM"),
        ("next week", "date", "2026-12-07", WEEKDAYS_OPEN,
         "Any day from Monday, December 7 to Friday, December 11"),
        # recurring preferences
        ("weekday mornings", "recurring", None, WEEKDAYS_OPEN, "Weekdays (Monday to Friday), in the morning"),
        ("mornings", "recurring", None, WEEKDAYS_OPEN, "Weekdays (Monday to Friday), in the morning"),
        ("after 5", "recurring", None, MON_TO_THU, "Monday to Thursday, after 5:00 PM"),
        ("evenings", "recurring", None, MON_TO_THU, "Monday to Thursday, in the evening (until 6 PM)"),
        ("every Friday afternoon", "recurring", None, ["friday"], "Fridays, in the afternoon"),
        ("Tuesdays and Thursdays after 4", "recurring", None, ["tuesday", "thursday"],
         "Tuesdays and Thursdays, after 4:00 PM"),
        ("any day but Friday", "recurring", None, MON_TO_THU, "Monday to Thursday, any time"),
        ("I get off work at 4", "recurring", None, MON_TO_THU, "Monday to Thursday, after 4:00 PM"),
        # no preference
        ("any time", "any", None, WEEKDAYS_OPEN, "Any time we're open"),
        ("asap", "any", None, WEEKDAYS_OPEN, "As soon as possible"),
    ],
)
def test_preferred_times_are_understood(
    text: str, kind: str, start: Optional[str], days: Optional[List[str]], summary: str
) -> None:
    result = parse_preferred_time(text, CLINIC, NOW)
    assert result.ok, result.message
    value: Dict[str, Any] = result.value or {}
    assert value["raw"] == text
    assert value["kind"] == kind
    assert value["start"] == start
    assert value["days"] == days
    assert value["summary"] == summary


@pytest.mark.parametrize(
    "text, explains",
    [
        # past
        ("yesterday", "already passed"),
        ("today at 8am", "already passed today"),
        ("November 29", "already passed"),  # not rolled over to next year
        ("11/30/2025", "already passed"),
        # closed days and weekends
        ("Sunday at 10", f"We're closed on Sundays. We're open {HOURS_TEXT}."),
        ("next Saturday", "We're closed on Saturdays."),
        ("weekends", f"We're closed on weekends. We're open {HOURS_TEXT}."),
        ("this weekend", "We're closed on weekends."),
        # outside the hours of that day
        ("Friday at 5pm", "We're open 7:30 AM–4 PM on Fridays, so we don't have visits at 5:00 PM"),
        ("Monday at 7", "We're open 7:30 AM–6 PM on Mondays, so we don't have visits at 7:00 AM"),
        ("Monday at 5:45pm", "the latest visit starts at 5:30 PM"),
        ("Friday evening", "so we don't have visits in the evening"),
        ("Fridays after 4", "We don't have visits after 4:00 PM on Fridays"),
        ("weekdays after 6",
         f"We don't have visits after 6:00 PM Monday to Friday. We're open {HOURS_TEXT}."),
        ("before 7am", "We don't have visits before 7:00 AM"),
        # too far ahead
        ("June 15", "more than 6 months away"),
        ("in 8 months", "more than 6 months away"),
        # not a time at all, or not readable
        ("banana", 'like "weekday mornings", "tomorrow at 10am" or "next Tuesday after 3"'),
        ("", "didn't understand"),
        ("December 32", "couldn't read that date"),
        ("at 25", "didn't understand that time"),
        ("tomorrow at 10 or 2pm", "one time"),
        ("Tuesday, December 2", "December 2 is a Wednesday, not a Tuesday"),
    ],
)
def test_unusable_times_are_explained(text: str, explains: str) -> None:
    result = parse_preferred_time(text, CLINIC, NOW)
    assert not result.ok
    assert result.value is None
    assert explains in rendered(result)


def test_evenings_are_refused_when_the_clinic_closes_at_five() -> None:
    early = make_clinic(**{day: ["08:00", "17:00"] for day in ["monday", "tuesday", "wednesday", "thursday"]})
    result = parse_preferred_time("evenings", early, NOW)
    assert not result.ok
    expected = "We're not open in the evening. We're open Monday to Thursday 8 AM–5 PM."
    assert rendered(result).startswith(expected)


def test_late_in_the_day_today_is_closed_and_this_morning_has_passed() -> None:
    late = datetime(2026, 11, 30, 17, 45, tzinfo=DENVER)
    assert "closed for the rest of today" in rendered(parse_preferred_time("today", CLINIC, late))
    afternoon = datetime(2026, 11, 30, 16, 0, tzinfo=DENVER)
    assert "already passed today" in rendered(parse_preferred_time("this morning", CLINIC, afternoon))


def test_now_in_another_time_zone_or_naive_is_read_in_clinic_time() -> None:
    # 03:00 UTC on December 1 is still 8 PM on Monday, November 30 in Las Cruces.
    utc = datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc)
    assert (parse_preferred_time("tomorrow", CLINIC, utc).value or {})["start"] == "2026-12-01"
    naive = datetime(2026, 11, 30, 9, 15)
    assert (parse_preferred_time("tomorrow at 10am", CLINIC, naive).value or {})["start"] == (
        "2026-12-01T10:00:00-07:00"
    )


def test_daylight_saving_time_is_applied_to_the_start() -> None:
    march = datetime(2027, 3, 10, 9, 0, tzinfo=DENVER)
    value = parse_preferred_time("next Monday at 9", CLINIC, march).value or {}
    assert value["start"] == "2027-03-15T09:00:00-06:00"  # MDT after the March 14 change


def test_the_value_keeps_the_raw_text_and_the_time_details() -> None:
    value = parse_preferred_time("  next Tuesday   after 3 ", CLINIC, NOW).value or {}
    assert value["raw"] == "next Tuesday after 3"
    assert (value["time"], value["relation"], value["part_of_day"]) == ("15:00", "after", None)
    recurring = parse_preferred_time("weekday mornings", CLINIC, NOW).value or {}
    assert recurring["part_of_day"] == "morning"
    assert recurring["start"] is None


def test_opening_hours_are_described_in_one_phrase() -> None:
    assert opening_hours_text(CLINIC, "en") == HOURS_TEXT


# --------------------------------------------------------------------------------------------------
# Reason, insurance, patient type, consent
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("sciatica", "sciatica"),
        ("  lower   back pain ", "lower back pain"),
        ("Sciatica down my left leg since March", "Sciatica down my left leg since March"),
        ("x" * 300, "x" * 300),
    ],
)
def test_reasons_are_trimmed(text: str, expected: str) -> None:
    result = validate_reason(text)
    assert result.ok
    assert result.value == expected


@pytest.mark.parametrize(
    "text, explains",
    [
        ("no", "in a few words"),
        ("ab", "in a few words"),
        ("??", "in a few words"),
        ("   ", "in a few words"),
        ("x" * 301, "under 300 characters"),
    ],
)
def test_bad_reasons_are_explained(text: str, explains: str) -> None:
    result = validate_reason(text)
    assert not result.ok
    assert explains in rendered(result)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Medicare", "medicare"),
        ("medicare part b", "medicare"),
        ("I have Medicare", "medicare"),
        ("self pay", "self-pay"),
        ("self-pay", "self-pay"),
        ("cash", "self-pay"),
        ("I don't have insurance", "self-pay"),
        ("no insurance", "self-pay"),
        ("none", "self-pay"),
        ("skip", None),
        ("no", None),
        ("not sure", None),
        ("blue cross blue shield", "Blue Cross Blue Shield"),
        ("My insurance is Presbyterian", "Presbyterian"),
        ("example health", "Example Health Plan"),  # the clinic's own spelling
        ("medicare advantage through Humana", "medicare advantage through Humana"),
    ],
)
def test_insurance_answers_are_recognised(text: str, expected: Optional[str]) -> None:
    result = validate_insurance(text, insurers=CLINIC.insurers)
    assert result.ok, result.message
    assert result.value == expected


@pytest.mark.parametrize(
    "text, explains",
    [
        ("123456789", "member ID"),
        ("XZ12345678", "member ID"),
        ("a", "What insurance do you have"),
        ("claims@insurer.com", "name of your insurance company"),
    ],
)
def test_bad_insurance_answers_are_explained(text: str, explains: str) -> None:
    result = validate_insurance(text)
    assert not result.ok
    assert explains in rendered(result)
    assert '"skip"' in rendered(result)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("new", "new"),
        ("first time", "new"),
        ("brand new patient", "new"),
        ("no, first time", "new"),
        ("I haven't been there before", "new"),
        ("I've never been to your clinic", "new"),
        ("not a returning patient", "new"),
        ("returning", "returning"),
        ("existing patient", "returning"),
        ("i've been there before", "returning"),
        ("been there once before", "returning"),
        ("I came last year", "returning"),
        ("I'm not a new patient", "returning"),
        ("coming back for my knee again", "returning"),
    ],
)
def test_patient_type_is_read_from_free_text(text: str, expected: str) -> None:
    result = parse_patient_type(text)
    assert result.ok, result.message
    assert result.value == expected


@pytest.mark.parametrize("text", ["yes", "no", "maybe", "", "banana"])
def test_unclear_patient_type_is_asked_again(text: str) -> None:
    result = parse_patient_type(text)
    assert not result.ok
    assert 'say "new" or "returning"' in rendered(result)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("yes", True),
        ("Y", True),
        ("sure", True),
        ("ok", True),
        ("yep", True),
        ("yes please", True),
        ("of course", True),
        ("no problem", True),
        ("that's fine", True),
        ("go ahead", True),
        ("no", False),
        ("N", False),
        ("nope", False),
        ("don't call me", False),
        ("you can't call me", False),
        ("absolutely not", False),
        ("I do not consent", False),
    ],
)
def test_consent_is_read_from_free_text(text: str, expected: bool) -> None:
    result = parse_consent(text)
    assert result.ok, result.message
    assert result.value is expected


@pytest.mark.parametrize("text", ["maybe", "I don't know", "ok but don't call me", "", "banana"])
def test_unclear_consent_is_asked_again(text: str) -> None:
    result = parse_consent(text)
    assert not result.ok
    assert result.value is None
    assert 'Please say "yes" or "no"' in rendered(result)
