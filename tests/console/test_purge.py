"""Retention purge, deletion on request, and the append-only audit log."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import pytest
import sqlalchemy as sa
import support

from console.db import indexer
from console.db.privacy import purge
from console.db.schema import (
    audit,
    conversations,
    events,
    messages,
    nlu_labels,
    notes,
    tags,
    tracker_checkpoints,
)

EXPIRED = {"hw-old-red-flag", "hw-old-faq"}


def senders_in_events(engine: Any) -> set:
    with engine.connect() as conn:
        return {r[0] for r in conn.execute(sa.select(events.c.sender_id).distinct())}


def count(engine: Any, table: sa.Table, *where: Any) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()


def annotate_everything(admin: Any, engine: Any) -> None:
    """Tags, notes and NLU labels on every conversation, old and recent."""
    token = support.session_csrf(admin)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(conversations.c.id)).all()
        msgs = conn.execute(sa.select(messages.c.event_id)).all()
    for (cid,) in rows:
        assert (
            admin.post(f"/conversations/{cid}/tags", data={"tag": "keep", "csrf_token": token}).status_code
            == 302
        )
        assert (
            admin.post(f"/conversations/{cid}/notes", data={"body": "n", "csrf_token": token}).status_code
            == 302
        )
    for (event_id,) in msgs:
        admin.post(f"/nlu/{event_id}/label", data={"intent": "greet", "csrf_token": token})


def add_checkpoints(engine: Any) -> set:
    """A tracker-store checkpoint (slots: patient data) for every conversation, as Rasa writes them."""
    tracker_checkpoints.create(engine, checkfirst=True)
    senders = senders_in_events(engine)
    with engine.begin() as conn:
        for sender in senders:
            row = {"sender_id": sender, "event_id": 1, "slots": '[["booking_name", "Ana"]]'}
            conn.execute(tracker_checkpoints.insert().values(**row))
    return senders


def checkpoint_senders(engine: Any) -> set:
    with engine.connect() as conn:
        return {r[0] for r in conn.execute(sa.select(tracker_checkpoints.c.sender_id))}


def test_purge_removes_exactly_the_expired_conversations_and_their_console_data(admin: Any, app: Any) -> None:
    engine = app.extensions["console_engine"]
    annotate_everything(admin, engine)
    add_checkpoints(engine)
    before = senders_in_events(engine)
    assert EXPIRED <= before
    old_ids = {support.conversation_id(engine, s) for s in EXPIRED}
    kept_ids = {support.conversation_id(engine, s) for s in before - EXPIRED}
    kept_events = count(engine, events, events.c.sender_id.not_in(EXPIRED))

    result = purge(engine, 365, actor="tester", role="admin")

    assert result["conversations"] == len(EXPIRED)
    assert senders_in_events(engine) == before - EXPIRED
    assert count(engine, events) == kept_events
    assert checkpoint_senders(engine) == before - EXPIRED
    for table in (messages, tags, notes, nlu_labels):
        assert count(engine, table, table.c.conversation_id.in_(old_ids)) == 0, table.name
        assert count(engine, table, table.c.conversation_id.in_(kept_ids)) > 0, table.name
    assert count(engine, conversations, conversations.c.id.in_(old_ids)) == 0
    assert count(engine, conversations) == len(kept_ids)
    with engine.connect() as conn:
        entry = conn.execute(sa.select(audit).where(audit.c.action == "purge")).one()
    assert entry.username == "tester" and '"conversations": 2' in entry.detail
    # A second run finds nothing more, and is audited too.
    assert purge(engine, 365)["conversations"] == 0
    assert count(engine, audit, audit.c.action == "purge") == 2


def test_a_conversation_active_again_is_not_purged(app: Any) -> None:
    engine = app.extensions["console_engine"]
    with engine.begin() as conn:
        conn.execute(
            events.insert().values(
                sender_id="hw-old-faq", type_name="user", timestamp=time.time(), data='{"text": "back again"}'
            )
        )
    purge(engine, 365)
    assert senders_in_events(engine) & EXPIRED == {"hw-old-faq"}


def test_the_purge_command_and_its_dry_run(app: Any, settings: Any, db_path: Any) -> None:
    env = {
        "BTS_DATABASE_URL": f"sqlite:///{db_path}",
        "CONSOLE_RETENTION_DAYS": "365",
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(support.ROOT),
    }
    dry = subprocess.run(
        [sys.executable, "-m", "console", "purge", "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
        cwd=support.ROOT,
        check=True,
    )
    assert "would purge 2 conversation(s)" in dry.stdout
    assert EXPIRED <= senders_in_events(app.extensions["console_engine"])
    real = subprocess.run(
        [sys.executable, "-m", "console", "purge"],
        env=env,
        capture_output=True,
        text=True,
        cwd=support.ROOT,
        check=True,
    )
    assert "purged 2 conversation(s)" in real.stdout
    assert not EXPIRED & senders_in_events(app.extensions["console_engine"])


def test_the_admin_purge_button(admin: Any, app: Any) -> None:
    page = admin.post("/admin/purge", data={"csrf_token": support.session_csrf(admin)})
    assert page.status_code == 200 and "Purged 2 conversation(s)" in page.get_data(as_text=True)
    audit_page = admin.get("/admin/audit?action=purge").get_data(as_text=True)
    assert "purge" in audit_page and "ada" in audit_page


def test_deleting_one_conversation_on_request(admin: Any, app: Any) -> None:
    engine = app.extensions["console_engine"]
    cid = support.conversation_id(engine, "hw-booking")
    add_checkpoints(engine)
    token = support.session_csrf(admin)
    assert admin.get(f"/conversations/{cid}/delete").status_code == 200
    # Without the confirmation box nothing happens.
    admin.post(f"/conversations/{cid}/delete", data={"csrf_token": token})
    assert "hw-booking" in senders_in_events(engine)
    response = admin.post(
        f"/conversations/{cid}/delete", data={"csrf_token": token, "confirm": "delete", "with_bookings": "1"}
    )
    assert response.status_code == 302
    assert "hw-booking" not in senders_in_events(engine)
    assert "hw-booking" not in checkpoint_senders(engine) and "hw-handoff" in checkpoint_senders(engine)
    assert admin.get(f"/conversations/{cid}").status_code == 404
    assert "BTS-7K2Q" not in admin.get("/bookings").get_data(as_text=True)
    assert count(engine, audit, audit.c.action == "delete_conversation", audit.c.target_id == str(cid)) == 1
    # The other conversations are untouched, and indexing again does not bring it back.
    indexer.sync(engine, 0.7)
    assert "hw-handoff" in senders_in_events(engine)


def test_the_audit_log_is_append_only(app: Any, admin: Any) -> None:
    engine = app.extensions["console_engine"]
    assert count(engine, audit) > 0
    with pytest.raises(sa.exc.DatabaseError):
        with engine.begin() as conn:
            conn.execute(audit.update().values(username="someone-else"))
    with pytest.raises(sa.exc.DatabaseError):
        with engine.begin() as conn:
            conn.execute(audit.delete())
