"""NLU and story exports: loadable by Rasa whatever a patient typed, and without patient details."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any, List

import pytest
import sqlalchemy as sa
import support
import yaml

from bts.deid import deidentify
from console.db import indexer
from console.db.schema import events, messages

RASA_PYTHON = support.ROOT / ".venv" / "bin" / "python"
PATIENT = (
    "Hi, my name is Maria Lopez, call me at 575 - 555 - 0142 or maria.lopez@bücher.example.com. "
    "I was born 05/14/1961, I live at 4500 N Telshor Blvd Apt 5, about BTS-7K2Q on March 3rd"
)
SECRETS = ["Maria", "Lopez", "0142", "555 - 555", "bücher", "maria.lopez", "1961", "4500", "Telshor", "7K2Q"]


def _conversation(engine: Any, sender: str, texts: List[str], slots: List[tuple] = ()) -> int:
    now = time.time()
    rows = [support.user_event(sender, now + i, text, "nlu_fallback", 0.3) for i, text in enumerate(texts)]
    rows += [
        support.other_event(sender, now + 50 + i, {"type": "slot", "name": name, "value": value})
        for i, (name, value) in enumerate(slots)
    ]
    with engine.begin() as conn:
        conn.execute(events.insert(), rows)
    indexer.sync(engine, 0.7)
    return support.conversation_id(engine, sender)


def _label_all(staff: Any, engine: Any, conversation_id: int, intent: str = "greet") -> None:
    token = support.session_csrf(staff)
    with engine.connect() as conn:
        ids = [
            r.event_id
            for r in conn.execute(
                sa.select(messages.c.event_id).where(messages.c.conversation_id == conversation_id)
            )
        ]
    for event_id in ids:
        response = staff.post(f"/nlu/{event_id}/label", data={"intent": intent, "csrf_token": token})
        assert "msg=labelled" in response.headers["Location"]


def _examples(admin: Any) -> List[str]:
    doc = yaml.safe_load(admin.get("/nlu/export.yml").get_data(as_text=True))
    return [line[2:] for block in doc["nlu"] for line in block["examples"].splitlines()]


def test_control_characters_do_not_break_the_nlu_export(staff: Any, admin: Any, app: Any) -> None:
    engine = app.extensions["console_engine"]
    texts = ["hello\x07 there\x00 friend\x1b[31m", "ok\ud83d then\ufffe", "\x85fine\u2028"]
    cid = _conversation(engine, "bell", texts)
    _label_all(staff, engine, cid)
    text = admin.get("/nlu/export.yml").get_data(as_text=True)
    assert sorted(_examples(admin)) == ["fine", "hello there friend [31m", "ok then"]
    assert not any(ch < " " and ch != "\n" for ch in text)


def test_nlu_export_is_de_identified(staff: Any, admin: Any, app: Any) -> None:
    engine = app.extensions["console_engine"]
    cid = _conversation(engine, "pii", [PATIENT])
    _label_all(staff, engine, cid)
    exported = " ".join(_examples(admin))
    for secret in SECRETS:
        assert secret not in exported, secret
    assert "Alex Example" in exported and "(575) 555-0100" in exported and "patient@example.com" in exported
    assert "call me at" in exported and "I live at" in exported  # the rest of the wording stays


def test_story_export_is_de_identified(admin: Any, app: Any) -> None:
    engine = app.extensions["console_engine"]
    slots = [
        ("booking_name", "Maria Lopez"),
        ("booking_phone", "+15755550142"),
        ("booking_email", "maria.lopez@bücher.example.com"),
        ("booking_reason", "back pain since my fall at 4500 N Telshor Blvd"),
        ("booking_reference", "BTS-7K2Q"),
    ]
    cid = _conversation(engine, "pii-story", [PATIENT, "it's maria lopez again"], slots)
    body = admin.get(f"/conversations/{cid}/story.yml").get_data(as_text=True)
    for secret in SECRETS + ["maria lopez", "+15755550142"]:
        assert secret not in body, secret
    doc = yaml.safe_load(body)
    steps = doc["stories"][0]["steps"]
    set_slots = {k: v for s in steps for d in s.get("slot_was_set", []) for k, v in d.items()}
    assert set_slots["booking_name"] == "Alex Example" and set_slots["booking_phone"] == "+15755550100"
    assert set_slots["booking_reason"] == "back pain since my fall at 123 Example St"


def test_de_identification_keeps_what_trains_the_intent() -> None:
    assert deidentify("I'm having pain 7/10 in my lower back on tuesday") == (
        "I'm having pain 7/10 in my lower back on tuesday"
    )
    assert deidentify("this is Pat, 88011") == "this is Alex, 88001"


@pytest.mark.skipif(not RASA_PYTHON.exists(), reason="needs the Rasa environment (.venv)")
def test_exports_load_with_rasas_own_readers(staff: Any, admin: Any, app: Any, tmp_path: Path) -> None:
    engine = app.extensions["console_engine"]
    cid = _conversation(engine, "bell-story", ["hello\x07 there\x00", PATIENT + "\x1b"])
    _label_all(staff, engine, cid)
    nlu = tmp_path / "nlu.yml"
    story = tmp_path / "story.yml"
    nlu.write_bytes(admin.get("/nlu/export.yml").get_data())
    story.write_bytes(admin.get(f"/conversations/{cid}/story.yml").get_data())
    result = subprocess.run(
        [str(RASA_PYTHON), str(Path(__file__).parent / "rasa_checks.py"), "yaml", str(nlu), str(story)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(support.ROOT)},
    )
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert json.loads(result.stdout) == []
