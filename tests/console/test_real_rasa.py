"""The views over tracker events written by a REAL Rasa run (tests/console/make_fixtures.py).

A session fixture starts the project's action server and Rasa server (Rasa's own environment,
the trained model) with a temporary SQLite tracker store, sends scripted conversations over the
REST channel, and the console then reads that database. Skipped, with the reason, when there is
no Rasa environment or no trained model (`make console-test` trains first).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict

import make_fixtures
import pytest
import support
import yaml

from console.db import indexer, make_engine
from console.db.schema import create_console_tables
from console.web import create_app

pytestmark = pytest.mark.rasa


@pytest.fixture(scope="session")
def rasa_run(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    reason = make_fixtures.unavailable_reason()
    if reason:
        pytest.skip(f"no real Rasa run possible: {reason}")
    workdir = tmp_path_factory.mktemp("rasa-fixtures")
    db = workdir / "tracker.db"
    result = make_fixtures.generate(db, workdir)
    return {"db": db, **result}


@pytest.fixture
def real_app(rasa_run: Dict[str, Any], tmp_path: Path) -> Any:
    db = tmp_path / "copy.db"
    db.write_bytes(Path(rasa_run["db"]).read_bytes())  # each test gets its own copy
    engine = make_engine(f"sqlite:///{db}")
    create_console_tables(engine)
    support.add_user(engine, "ada", "admin")
    support.add_user(engine, "sam", "staff")
    settings = support.settings_for(db)
    app = create_app(settings, engine)
    indexer.sync(engine, settings.low_confidence)
    yield app
    engine.dispose()


def client_for(app: Any, username: str) -> Any:
    client = app.test_client()
    assert support.login(client, username).status_code == 302
    return client


def transcript(client: Any, app: Any, sender: str) -> str:
    cid = support.conversation_id(app.extensions["console_engine"], sender)
    return client.get(f"/conversations/{cid}").get_data(as_text=True)


def listed_ids(html: str) -> set:
    return set(re.findall(r'<td><a href="/conversations/(\d+)">', html))


def test_every_scripted_conversation_is_listed(real_app: Any, rasa_run: Dict[str, Any]) -> None:
    staff = client_for(real_app, "sam")
    html = staff.get("/conversations").get_data(as_text=True)
    engine = real_app.extensions["console_engine"]
    ids = {str(support.conversation_id(engine, s)) for s in rasa_run["senders"]}
    assert ids <= listed_ids(html)


def test_red_flag_conversation_is_flagged_with_its_intent_category_and_urgent_reply(real_app: Any) -> None:
    staff = client_for(real_app, "sam")
    engine = real_app.extensions["console_engine"]
    red = str(support.conversation_id(engine, "fixture-red-flag"))
    assert red in listed_ids(staff.get("/conversations?red_flag=yes").get_data(as_text=True))
    assert red not in listed_ids(staff.get("/conversations?red_flag=no").get_data(as_text=True))
    html = transcript(staff, real_app, "fixture-red-flag")
    assert "I can&#39;t control my bladder" in html
    assert "intent <b>red_flag</b> 1.00" in html
    assert "<code>red_flag=bladder_bowel</code>" in html  # entity from the RedFlagDetector
    assert "red flag: bladder_bowel" in html and 'class="msg user is-red"' in html
    assert "<code>red_flag=true</code>" in html  # slot set
    assert "<code>utter_urgent_red_flag</code> · RulePolicy · 1.00" in html


def test_gibberish_is_a_fallback_with_runner_ups_and_the_clarifying_action(real_app: Any) -> None:
    staff = client_for(real_app, "sam")
    engine = real_app.extensions["console_engine"]
    fallback = str(support.conversation_id(engine, "fixture-fallback"))
    assert fallback in listed_ids(staff.get("/conversations?fallback=yes").get_data(as_text=True))
    assert fallback not in listed_ids(staff.get("/conversations?fallback=no").get_data(as_text=True))
    html = transcript(staff, real_app, "fixture-fallback")
    assert re.search(r"intent <b>nlu_fallback</b> 0\.\d\d", html)
    runner_ups = re.search(r"runner-ups:\s*([^<]+)</span>", html.split("xqzt")[1]).group(1)
    assert len(runner_ups.split(",")) == 3
    assert "<code>action_clarify_topic</code> · RulePolicy" in html
    assert "xqzt blorf vrrmm kkkj" in staff.get("/nlu").get_data(as_text=True)


def test_greeting_faq_and_out_of_scope_show_their_intents(real_app: Any) -> None:
    staff = client_for(real_app, "sam")
    greeting = transcript(staff, real_app, "fixture-greeting")
    assert re.search(r"intent <b>greet</b> 0\.\d\d", greeting)
    assert "intent <b>goodbye</b>" in greeting and "<code>utter_greet</code> · RulePolicy" in greeting
    faq = transcript(staff, real_app, "fixture-faq")
    assert "intent <b>faq/what_is_sciatica</b> 1.00" in faq
    assert "intent <b>faq/duration</b>" in faq
    assert "intent <b>ask_hours</b>" in faq and "<code>action_tell_hours</code> · RulePolicy" in faq
    assert "session started" in faq and "<code>action_session_start</code>" in faq
    oos = transcript(staff, real_app, "fixture-out-of-scope")
    assert "intent <b>out_of_scope</b>" in oos and "<code>utter_out_of_scope</code>" in oos


def test_real_patient_text_with_markup_renders_as_text(real_app: Any) -> None:
    html = transcript(client_for(real_app, "sam"), real_app, "fixture-xss")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; my back hurts" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script>alert(1)" not in html and "<img src=x" not in html


def test_contact_details_typed_by_a_patient_are_masked_for_staff(real_app: Any) -> None:
    staff_html = transcript(client_for(real_app, "sam"), real_app, "fixture-contact")
    assert "575-555-0199" not in staff_html and "jane.doe@example.com" not in staff_html
    assert "[phone …99]" in staff_html
    admin_html = transcript(client_for(real_app, "ada"), real_app, "fixture-contact")
    assert "575-555-0199" not in admin_html  # admins too see it only after an audited reveal


def test_a_real_conversation_exports_as_a_test_story(real_app: Any) -> None:
    admin = client_for(real_app, "ada")
    cid = support.conversation_id(real_app.extensions["console_engine"], "fixture-red-flag")
    steps = yaml.safe_load(admin.get(f"/conversations/{cid}/story.yml").get_data(as_text=True))["stories"][0][
        "steps"
    ]
    assert {"user": "hi", "intent": "greet"} in steps
    assert {"action": "utter_urgent_red_flag"} in steps
    slots = [s["slot_was_set"] for s in steps if "slot_was_set" in s]
    assert any({"red_flag": True} in s and {"red_flag_category": "bladder_bowel"} in s for s in slots)
    user = next(s for s in steps if s.get("intent") == "red_flag")
    assert user["user"] == "I can't [control my bladder](red_flag)"


def test_analytics_over_the_real_run(real_app: Any) -> None:
    html = client_for(real_app, "sam").get("/analytics?from=2000-01-01").get_data(as_text=True)
    assert html.count("<svg") == 3
    for intent in ("greet", "faq", "nlu_fallback"):
        assert f">{intent}</text>" in html
    # red_flag may fall out of the top-intents chart once the booking run adds its answers; the
    # red-flag tile counts the conversation either way.
    flagged = re.search(r"<b>(\d+)</b><span>red-flag conversations", html)
    assert flagged and int(flagged.group(1)) >= 1


def test_a_booking_made_through_rasa_is_linked(real_app: Any, rasa_run: Dict[str, Any]) -> None:
    if not make_fixtures.domain_has_booking_flow():
        pytest.skip("the domain has no booking flow yet (no booking_reference slot)")
    assert rasa_run["booking"], "the scripted booking did not produce a booking reference"
    staff = client_for(real_app, "sam")
    cid = str(support.conversation_id(real_app.extensions["console_engine"], make_fixtures.BOOKING_SENDER))
    assert cid in listed_ids(staff.get("/conversations?booking=yes").get_data(as_text=True))
    html = transcript(staff, real_app, make_fixtures.BOOKING_SENDER)
    assert re.search(r'href="/bookings/\d+">BTS-[A-Z2-9]{4,8}</a>', html)
