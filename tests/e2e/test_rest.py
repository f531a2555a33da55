"""End to end over the REST channel, against the real Rasa server and action server."""

from __future__ import annotations

import json
import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List

import yaml

from bts.runtime.channels.limits import CUT_MARKER, MAX_MESSAGE_CHARS
from tests.e2e.conftest import Servers

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text())["responses"]
FAQ = yaml.safe_load((ROOT / "data" / "responses" / "faq.yml").read_text())["responses"]


def text_of(response: str, responses: Dict[str, Any] = DOMAIN) -> str:
    """The English variation of a response (the one without a condition)."""
    return next(v for v in responses[response] if not v.get("condition"))["text"].strip()


def texts(messages: List[Dict[str, Any]]) -> List[str]:
    return [m.get("text", "").strip() for m in messages]


def new_sender() -> str:
    return f"e2e-{uuid.uuid4().hex[:10]}"


def user_events(db: Path, sender: str) -> List[Dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id", (sender,)
        ).fetchall()
    return [json.loads(row[0]) for row in rows]


def test_first_reply_starts_with_the_disclaimer_then_answers(servers: Servers) -> None:
    replies = servers.send(new_sender(), "what is sciatica?")
    assert texts(replies)[0] == " ".join(text_of("utter_disclaimer").split())
    assert texts(replies)[1] == text_of("utter_faq/what_is_sciatica", FAQ)
    assert replies[1]["buttons"], "every answer offers a next step"


def test_clinic_answers_come_from_clinic_yml(servers: Servers) -> None:
    sender = new_sender()
    servers.send(sender, "hello")
    hours = " ".join(texts(servers.send(sender, "what are your opening hours")))
    assert "(Mountain Time)" in hours and "Monday: 7:30 AM to 6:00 PM" in hours
    assert "example placeholder" in hours  # clinic.yml still holds example hours
    phone = texts(servers.send(sender, "what's your phone number"))[0]
    assert "(575) 555-0142" in phone


def test_red_flag_mid_conversation_gets_the_urgent_reply_first(servers: Servers) -> None:
    sender = new_sender()
    servers.send(sender, "hi")
    servers.send(sender, "how long does sciatica last")
    replies = texts(servers.send(sender, "also since this morning I can't control my bladder"))
    assert replies[0] == " ".join(text_of("utter_urgent_red_flag").split())
    assert "911" in replies[0]


def test_out_of_scope_is_declined_without_starting_a_booking(servers: Servers) -> None:
    sender = new_sender()
    servers.send(sender, "hi")
    replies = servers.send(sender, "can you order me a pepperoni pizza")
    assert texts(replies)[0] == " ".join(text_of("utter_out_of_scope").split())


def test_diagnosis_requests_are_declined(servers: Servers) -> None:
    sender = new_sender()
    servers.send(sender, "hi")
    replies = texts(servers.send(sender, "my calf has been tingling for days, what could it be?"))
    assert replies[0] == " ".join(text_of("utter_cannot_diagnose").split())


BAD_INPUTS = {
    "empty": "",
    "whitespace": "   \n\t  ",
    "emoji": "😀😀🙏",
    "chinese": "坐骨神经痛怎么办",
    "arabic": "ما هو عرق النسا",
    "html": "<img src=x onerror=alert(1)>",
    "script": "<script>alert('x')</script> what is sciatica",
    "markdown link": "[x](javascript:alert(1))",
}


def test_bad_inputs_each_get_a_sensible_reply(servers: Servers) -> None:
    sender = new_sender()
    servers.send(sender, "hi")
    for name, text in BAD_INPUTS.items():
        replies = texts(servers.send(sender, text))
        assert replies and all(replies), f"{name}: no reply"
        if name in ("empty", "whitespace"):
            assert "didn't get any words" in replies[0]
        if name == "emoji":
            assert "only read words" in replies[0]
        if name in ("chinese", "arabic"):
            assert "only understand English" in replies[0]
    # Nothing the patient typed is lost: every message is in the tracker (Rasa strips the
    # surrounding whitespace of every message).
    stored = [e["text"] for e in user_events(servers.db, sender)]
    assert stored[1:] == [t.strip() for t in BAD_INPUTS.values()]


def test_a_10000_character_message_is_cut_and_marked_before_it_is_stored(servers: Servers) -> None:
    sender = new_sender()
    long_text = ("my back hurts and I want to know about sciatica " * 250)[:10_000]
    replies = texts(servers.send(sender, long_text, timeout=60))
    assert replies and all(replies)
    [event] = user_events(servers.db, sender)
    assert event["text"].endswith(" " + CUT_MARKER)
    assert long_text.startswith(event["text"].removesuffix(" " + CUT_MARKER))
    assert len(event["text"]) <= MAX_MESSAGE_CHARS + len(CUT_MARKER) + 1
    assert len(event["parse_data"]["text"]) <= MAX_MESSAGE_CHARS


def test_a_burst_of_20_messages_in_one_second_loses_nothing(servers: Servers) -> None:
    sender = new_sender()
    servers.send(sender, "hi")
    questions = [f"what are your hours? ({n})" for n in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda q: servers.send(sender, q, timeout=120), questions))
    assert all(texts(r) and all(texts(r)) for r in results), "every message got a reply"
    stored = [e["text"] for e in user_events(servers.db, sender)][1:]
    assert sorted(stored) == sorted(questions)
