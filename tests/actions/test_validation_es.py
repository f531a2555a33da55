"""Spanish answers in the forms: names, phones, times, yes and no, insurance, new or returning."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from actions.display import plain
from bts.validation import (
    parse_consent,
    parse_patient_type,
    parse_preferred_time,
    validate_email,
    validate_insurance,
    validate_name,
    validate_phone,
)
from bts.validation.time_words import spanish_to_english
from tests.actions.responses import rendered
from tests.actions.test_validation import CLINIC

DENVER = ZoneInfo("America/Denver")
NOW = datetime(2026, 11, 30, 9, 15, tzinfo=DENVER)  # a Monday morning


@pytest.mark.parametrize(
    "text, expected",
    [
        ("José Luis García Pérez", "José Luis García Pérez"),
        ("me llamo María de la Cruz Núñez", "María de la Cruz Núñez"),
        ("mi nombre es ana lópez ramírez", "Ana López Ramírez"),
        ("Soy Ximena Peña", "Ximena Peña"),
    ],
)
def test_spanish_names_with_accents_and_two_surnames(text: str, expected: str) -> None:
    assert validate_name(text).value == expected


@pytest.mark.parametrize("text", ["no sé", "quiero una cita", "nada", "gracias"])
def test_spanish_non_names_are_refused(text: str) -> None:
    result = validate_name(text)
    assert not result.ok and "nombre" in rendered(result, "es")


@pytest.mark.parametrize(
    "text", ["mi número es 575-555-0142", "575 555 0142", "(575) 555-0142 extensión 12", "el 5755550142"]
)
def test_spanish_phone_answers(text: str) -> None:
    assert validate_phone(text).value in ("+15755550142", "+15755550142;ext=12")


def test_a_spanish_phone_refusal_reads_in_spanish() -> None:
    expected = 'Incluya el código de área, por ejemplo "(575) 555-0142".'
    assert rendered(validate_phone("555-0142"), "es") == expected


@pytest.mark.parametrize("text", ["omitir", "no tengo correo", "no gracias"])
def test_spanish_email_skips(text: str) -> None:
    result = validate_email(text)
    assert result.ok and result.value is None


@pytest.mark.parametrize(
    "text, summary",
    [
        ("el martes por la mañana", "Martes 1 de diciembre, por la mañana"),
        ("mañana a las 3", "Martes 1 de diciembre, a las 3:00 p. m."),
        ("mañana", "Martes 1 de diciembre"),
        ("pasado mañana", "Miércoles 2 de diciembre"),
        ("entre semana por la tarde", "Entre semana (de lunes a viernes), por la tarde"),
        ("después de las 3", "Entre semana (de lunes a viernes), después de las 3:00 p. m."),
        ("cualquier día", "A cualquier hora en que estemos abiertos"),
        ("el jueves a las 4 de la tarde", "Jueves 3 de diciembre, a las 4:00 p. m."),
        ("el próximo martes entre las 2 y las 4",
         "Martes 1 de diciembre, entre las 2:00 p. m. y las 4:00 p. m."),
        ("el 15 de diciembre", "Martes 15 de diciembre"),
        ("lo antes posible", "Lo antes posible"),
    ],
)
def test_spanish_preferred_times(text: str, summary: str) -> None:
    result = parse_preferred_time(text, CLINIC, NOW, "es")
    assert result.ok and result.value is not None, rendered(result, "es")
    assert result.value["summary"] == summary
    assert result.value["raw"] == text


def test_morning_is_a_part_of_the_day_and_tomorrow_a_day() -> None:
    assert " ".join(spanish_to_english("el martes por la mañana").split()) == "el tuesday morning"
    assert " ".join(spanish_to_english("mañana a las 3").split()) == "tomorrow at 3"
    assert " ".join(spanish_to_english("mañana por la mañana").split()) == "tomorrow morning"
    assert spanish_to_english("next tuesday after 3") == "next tuesday after 3"


@pytest.mark.parametrize(
    "text, starts",
    [
        ("el sábado", "Los sábados estamos cerrados."),
        ("el lunes a las 9 de la noche", "Los lunes abrimos de 7:30 a. m. a 6 p. m."),
        ("banana", "Perdone, no le entendí."),
    ],
)
def test_unusable_spanish_times_are_explained_in_spanish(text: str, starts: str) -> None:
    result = parse_preferred_time(text, CLINIC, NOW, "es")
    assert not result.ok and rendered(result, "es").startswith(starts)


@pytest.mark.parametrize(
    "text, value",
    [("sí", True), ("Sí, envíela", True), ("claro que sí", True), ("de acuerdo", True), ("no", False),
     ("no, gracias", False), ("para nada", False)],
)
def test_spanish_yes_and_no(text: str, value: bool) -> None:
    assert parse_consent(text).value is value


def test_an_unsure_spanish_answer_is_asked_again() -> None:
    assert not parse_consent("no sé").ok


@pytest.mark.parametrize(
    "text, value",
    [("no tengo seguro", "self-pay"), ("pago en efectivo", "self-pay"), ("tengo Medicare", "medicare"),
     ("mi seguro es blue cross", "Blue Cross"), ("omitir", None)],
)
def test_spanish_insurance_answers(text: str, value: str) -> None:
    assert validate_insurance(text, CLINIC.insurers).value == value


@pytest.mark.parametrize(
    "text, value",
    [("paciente nuevo", "new"), ("es mi primera vez", "new"), ("nunca he ido", "new"),
     ("ya he venido antes", "returning"), ("ya soy paciente", "returning"), ("no soy nuevo", "returning")],
)
def test_spanish_new_or_returning(text: str, value: str) -> None:
    assert parse_patient_type(text).value == value


def test_plain_text_keeps_words_but_breaks_links() -> None:
    assert plain("https://evil.example") != "https://evil.example"
    assert plain("https://evil.example").replace("\u2060", "") == "https://evil.example"
    assert "](" not in plain("[x](https://evil.example)")

