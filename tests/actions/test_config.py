"""Tests of bts/clinic.py: clinic.yml parsing, where it is read from, and its error messages."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml

from bts.clinic import PROJECT_ROOT, ClinicConfigError, clinic_path, load_clinic, parse_clinic


def test_the_shipped_clinic_file_is_valid_and_marks_its_examples() -> None:
    clinic = load_clinic(PROJECT_ROOT / "clinic.yml")
    assert clinic.name == "Border Therapy Services"
    assert "555" in clinic.phone  # fictitious number, as facts.md requires
    assert clinic.is_example("phone", "address", "hours")


def test_hours_are_parsed_per_weekday(clinic_raw: Dict[str, Any]) -> None:
    clinic = parse_clinic(clinic_raw)
    assert clinic.hours["friday"] == (time(8, 0), time(12, 0))
    assert "saturday" not in clinic.hours


@pytest.mark.parametrize(
    "change, message",
    [
        ({"phone": ""}, "phone"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"hours": {"funday": ["08:00", "09:00"]}}, "unknown weekday"),
        ({"hours": {"monday": ["8am", "17:00"]}}, "expected a time"),
        ({"hours": {"monday": ["17:00", "08:00"]}}, "closing time must be after"),
        ({"hours": {"monday": ["08:00"]}}, "expected [open, close]"),
        ({"prices": ["$10"]}, "prices"),
    ],
)
def test_bad_values_get_a_clear_message(
    clinic_raw: Dict[str, Any], change: Dict[str, Any], message: str
) -> None:
    clinic_raw.update(change)
    with pytest.raises(ClinicConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_clinic(clinic_raw)


def test_missing_and_broken_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ClinicConfigError, match="cannot read"):
        load_clinic(tmp_path / "nope.yml")
    broken = tmp_path / "clinic.yml"
    broken.write_text("name: [unclosed")
    with pytest.raises(ClinicConfigError, match="not valid YAML"):
        load_clinic(broken)
    broken.write_text(yaml.safe_dump(["a", "list"]))
    with pytest.raises(ClinicConfigError, match="mapping"):
        load_clinic(broken)


def test_settings_read_the_clinic_file_from_the_environment() -> None:
    assert clinic_path({"BTS_CLINIC_FILE": "/tmp/x.yml"}) == Path("/tmp/x.yml")
    assert clinic_path({}) == PROJECT_ROOT / "clinic.yml"
