"""Every response speaks English and Spanish, and every response the code names exists."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Set

import pytest

from actions import booking, handoff
from tests.actions.responses import ROOT, all_responses, variation

SPANISH = [{"type": "slot", "name": "language", "value": "es"}]
# domain.yml's and faq.yml's answers get their Spanish variations from the Spanish content work.
PLACEHOLDER = re.compile(r"{([^\n{}]+?)}")


def _responses_named_in(folder: Path) -> Set[str]:
    names: Set[str] = set()
    for path in folder.rglob("*.py"):
        names |= set(re.findall(r"\"(utter_[a-z0-9_]*[a-z0-9])\"", path.read_text(encoding="utf-8")))
    return names


@pytest.mark.parametrize("name", sorted(all_responses()))
def test_both_languages_fill_in_the_same_values_and_offer_as_many_buttons(name: str) -> None:
    english, spanish = variation(name, "en"), variation(name, "es")
    filled = [set(PLACEHOLDER.findall(str(one.get("text")))) for one in (english, spanish)]
    assert filled[0] == filled[1]
    assert len(english.get("buttons") or []) == len(spanish.get("buttons") or [])


def test_every_response_the_actions_name_exists() -> None:
    named = _responses_named_in(ROOT / "actions") | {f"utter_ask_{slot}" for slot in booking.FIELDS}
    named |= {f"utter_ask_{slot}" for slot in handoff.CALLBACK_SLOTS + handoff.CHANGE_SLOTS}
    missing = named - set(all_responses())
    assert not missing


def test_every_refusal_a_validator_can_give_has_its_response() -> None:
    keys: Set[str] = set()
    for path in list((ROOT / "bts" / "validation").glob("*.py")) + [ROOT / "actions" / "handoff.py"]:
        text = path.read_text(encoding="utf-8")
        keys |= set(re.findall(r"fail\(\s*\"([a-z0-9_]+)\"", text))
        keys |= set(re.findall(r"problem = \"([a-z0-9_]+)\"", text))
        keys |= set(re.findall(r"\": \"(time_[a-z_]+)\"", text))  # the reader's errors
    missing = {f"utter_invalid_{key}" for key in keys} - set(all_responses())
    assert keys and not missing
