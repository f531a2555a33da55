"""Tests of the booking store (tables, references, spool) and the storage settings."""

from __future__ import annotations

import json
import logging
import re
import socket
import stat
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from sqlalchemy import event, inspect, select
from sqlalchemy.exc import IntegrityError, OperationalError

import bts.booking.api as api_module
import bts.booking.references as references_module
from bts.booking.records import StorageError, SubmitResult
from bts.booking.references import REFERENCE_ALPHABET, normalize_reference
from bts.booking.settings import DEFAULT_DATABASE_URL, DEFAULT_SPOOL_FILE, PROJECT_ROOT, Settings
from bts.booking.store import Store
from bts.db.schema import booking_requests, outbox
from bts.env import SettingsError


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


DETAILS: Dict[str, Any] = {
    "name": "Rosa Example",
    "phone": "+15755550142",
    "email": "rosa@example.com",
    "preferred_time_text": "weekday mornings",
    "preferred_time": None,
    "reason": "sciatica",
    "patient_type": "new",
    "insurance": "Medicare",
    "consent": True,
}
REFERENCE = re.compile(r"^BTS-[23456789ABCDEFGHJKLMNPQRSTUVWXYZ]{8}$")


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    base = Settings(
        database_url=f"sqlite:///{tmp_path / 'db' / 'bts.db'}",
        spool_file=tmp_path / "spool" / "bookings.jsonl",
        submit_delivery_budget_s=0,
    )
    return replace(base, **overrides)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    created = Store(make_settings(tmp_path))
    yield created
    created.dispose()


def blocked_store(tmp_path: Path, **overrides: Any) -> Store:
    """A store whose SQLite file cannot be opened: its directory is a regular file."""
    blocker = tmp_path / "blocked"
    blocker.write_text("not a directory")
    return Store(make_settings(tmp_path, database_url=f"sqlite:///{blocker / 'bts.db'}", **overrides))


def rows(store: Store, table: Any) -> List[Dict[str, Any]]:
    store.ensure_schema()
    with store.engine.connect() as conn:
        return [dict(row) for row in conn.execute(select(table).order_by(table.c.id)).mappings()]


# -- schema -----------------------------------------------------------------------------------


def test_schema_is_the_documented_data_model(store: Store) -> None:
    store.ensure_schema()
    inspector = inspect(store.engine)
    assert [c["name"] for c in inspector.get_columns("booking_requests")] == [
        "id", "reference", "kind", "status", "conversation_id", "created_at", "updated_at", "details",
        "language",
    ]
    assert [c["name"] for c in inspector.get_columns("outbox")] == [
        "id", "request_id", "channel", "idempotency_key", "state", "attempts", "next_attempt_at",
        "last_error", "delivered_at",
    ]
    fks = inspector.get_foreign_keys("outbox")
    assert fks[0]["referred_table"] == "booking_requests" and fks[0]["constrained_columns"] == ["request_id"]
    data_model = (PROJECT_ROOT / "docs" / "data-model.md").read_text()
    for table in ("booking_requests", "outbox"):
        for column in inspector.get_columns(table):
            assert f"| {column['name']} |" in data_model, column["name"]


def test_unique_reference_and_idempotency_key_are_enforced(store: Store) -> None:
    store.submit("booking", "c1", DETAILS, deliver_now=False)
    reference = rows(store, booking_requests)[0]["reference"]
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(booking_requests.insert().values(
            reference=reference, kind="booking", status="new", conversation_id="c2",
            created_at=utcnow(), updated_at=utcnow(), details="{}",
        ))


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(store: Store) -> None:
    store.ensure_schema()
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_writes_take_the_lock_up_front_and_reads_do_not(store: Store) -> None:
    store.ensure_schema()
    statements: List[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    store.submit("booking", "c1", DETAILS, deliver_now=False)
    assert statements[0] == "BEGIN IMMEDIATE"
    statements.clear()
    store.find("BTS-2222")
    assert "BEGIN" in statements and "BEGIN IMMEDIATE" not in statements


def test_sql_errors_never_show_parameters(store: Store) -> None:
    store.submit("booking", "c1", DETAILS, deliver_now=False)
    reference = rows(store, booking_requests)[0]["reference"]
    with pytest.raises(IntegrityError) as caught, store.engine.begin() as conn:
        conn.execute(booking_requests.insert().values(
            reference=reference, kind="booking", status="new", conversation_id="c2",
            created_at=utcnow(), updated_at=utcnow(), details=json.dumps(DETAILS),
        ))
    assert "Rosa" not in str(caught.value)
    assert "hidden" in str(caught.value)


# -- submitting -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides, channels",
    [
        ({}, []),
        ({"webhook_url": "http://127.0.0.1:9/hook", "webhook_secret": "s"}, ["webhook"]),
        ({"smtp_host": "127.0.0.1", "smtp_from": "a@example.com", "smtp_to": ("b@example.com",)}, ["email"]),
        (
            {"webhook_url": "http://127.0.0.1:9/hook", "webhook_secret": "s", "smtp_host": "127.0.0.1",
             "smtp_from": "a@example.com", "smtp_to": ("b@example.com",)},
            ["webhook", "email"],
        ),
    ],
)
def test_submit_writes_the_request_and_one_outbox_row_per_channel(
    tmp_path: Path, overrides: Dict[str, Any], channels: List[str]
) -> None:
    store = Store(make_settings(tmp_path, **overrides))
    result, outbox_ids = store.submit("booking", "conv-1", DETAILS, deliver_now=False)
    assert result.stored and REFERENCE.match(result.reference)
    [request] = rows(store, booking_requests)
    assert request["reference"] == result.reference
    assert request["kind"] == "booking" and request["status"] == "new"
    assert request["conversation_id"] == "conv-1"
    assert request["created_at"] == request["updated_at"]
    assert abs(request["created_at"] - utcnow()) < timedelta(seconds=5)
    assert json.loads(request["details"]) == DETAILS
    deliveries = rows(store, outbox)
    assert [d["channel"] for d in deliveries] == channels
    assert [d["id"] for d in deliveries] == outbox_ids
    for delivery in deliveries:
        assert delivery["request_id"] == request["id"]
        assert delivery["idempotency_key"] == f"{result.reference}:{delivery['channel']}"
        assert delivery["state"] == "pending" and delivery["attempts"] == 0
        assert delivery["delivered_at"] is None and delivery["last_error"] is None
        assert delivery["next_attempt_at"] <= utcnow()


def test_the_api_functions_use_the_process_wide_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api_module, "_default_store", Store(make_settings(tmp_path)))
    result = api_module.submit_request("callback", "conv-2", {"name": "Al", "phone": "+15755550100"})
    assert isinstance(result, SubmitResult) and result.stored
    found = api_module.find_request(result.reference.lower())
    assert found is not None and found["kind"] == "callback" and found["stored"] is True
    assert [r["reference"] for r in api_module.find_requests_by_phone("+15755550100")] == [result.reference]


@pytest.mark.parametrize(
    "kind, details", [("appointment", DETAILS), ("booking", ["a"]), ("booking", {"x": {1, 2}})]
)
def test_bad_arguments_are_refused_before_anything_is_written(
    store: Store, kind: str, details: Any
) -> None:
    with pytest.raises(ValueError):
        store.submit(kind, "c1", details, deliver_now=False)
    assert rows(store, booking_requests) == []
    assert not store.spool.pending()


def test_references_use_an_unambiguous_alphabet_and_a_cryptographic_source(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert not set("0O1I") & set(REFERENCE_ALPHABET) and len(set(REFERENCE_ALPHABET)) == 32
    drawn = {references_module.new_reference() for _ in range(300)}
    assert all(REFERENCE.match(r) for r in drawn) and len(drawn) > 290
    calls: List[str] = []

    def fake_choice(alphabet: str) -> str:
        calls.append(alphabet)
        return "Z"

    monkeypatch.setattr(references_module.secrets, "choice", fake_choice)
    assert references_module.new_reference() == "BTS-ZZZZZZZZ" and calls == [REFERENCE_ALPHABET] * 8


def test_a_colliding_reference_is_drawn_again(tmp_path: Path) -> None:
    codes = iter(["BTS-AAAA", "BTS-AAAA", "BTS-AAAA", "BTS-BBBB"])
    store = Store(make_settings(tmp_path), reference_factory=lambda length: next(codes))
    first, _ = store.submit("booking", "c1", DETAILS, deliver_now=False)
    second, _ = store.submit("booking", "c2", DETAILS, deliver_now=False)
    assert (first.reference, second.reference) == ("BTS-AAAA", "BTS-BBBB")
    assert second.stored and len(rows(store, booking_requests)) == 2


def test_references_get_longer_when_they_keep_colliding(tmp_path: Path) -> None:
    lengths: List[int] = []

    def factory(length: int) -> str:
        lengths.append(length)
        return "BTS-" + "A" * length if length < 10 else "BTS-BCDEFGHJKL"

    store = Store(make_settings(tmp_path), reference_factory=factory)
    store.ensure_schema()
    with store.engine.begin() as conn:
        for length in (8, 9):
            conn.execute(booking_requests.insert().values(
                reference="BTS-" + "A" * length, kind="booking", status="new", conversation_id="x",
                created_at=utcnow(), updated_at=utcnow(), details="{}",
            ))
    result, _ = store.submit("booking", "c1", DETAILS, deliver_now=False)
    assert result.reference == "BTS-BCDEFGHJKL" and result.stored
    assert lengths == [8] * 5 + [9] * 5 + [10]
    assert store.find("bts-bcdefghjkl") is not None


# -- finding ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["{ref}", "{lower}", "{code}", "bts{code}", "BTS {code}", " #{ref} ", "bts--{lower_code}"]
)
def test_find_request_tolerates_case_spaces_and_a_missing_dash(store: Store, typed: str) -> None:
    result, _ = store.submit("booking", "c1", DETAILS, deliver_now=False)
    code = result.reference[4:]
    text = typed.format(
        ref=result.reference, lower=result.reference.lower(), code=code, lower_code=code.lower()
    )
    found = store.find(text)
    assert found is not None and found["reference"] == result.reference
    assert found["details"] == DETAILS and found["status"] == "new" and found["created_at"].endswith("Z")


@pytest.mark.parametrize("typed", ["", "hello", "BTS-", "BTS-0O1I", "BTS-ABC", "BTS-ABCDEFGHJKLMN", "12"])
def test_find_request_answers_none_for_what_cannot_be_a_reference(store: Store, typed: str) -> None:
    store.submit("booking", "c1", DETAILS, deliver_now=False)
    assert store.find(typed) is None


def test_find_request_answers_none_for_an_unknown_reference(tmp_path: Path) -> None:
    store = Store(make_settings(tmp_path), reference_factory=lambda length: "BTS-AAAA")
    store.submit("booking", "c1", DETAILS, deliver_now=False)
    assert store.find("BTS-2345") is None
    assert store.find("bts aaaa") is not None
    assert normalize_reference("bts 7k2q") == "BTS-7K2Q"
    assert normalize_reference("BTS2") == "BTS-BTS2" and normalize_reference("BTS") is None
    assert normalize_reference("btsbts2") == "BTS-BTS2"


def test_find_requests_by_phone_matches_exactly_newest_first(store: Store) -> None:
    first, _ = store.submit("booking", "c1", DETAILS, deliver_now=False)
    time.sleep(0.01)
    second, _ = store.submit("change", "c1", {**DETAILS, "related_reference": first.reference},
                             deliver_now=False)
    store.submit("booking", "c3", {**DETAILS, "phone": "+157555501420"}, deliver_now=False)
    store.submit("booking", "c4", {**DETAILS, "phone": "+15755550199", "reason": "+15755550142"},
                 deliver_now=False)
    found = store.find_by_phone("+15755550142")
    assert [r["reference"] for r in found] == [second.reference, first.reference]
    assert store.find_by_phone("") == [] and store.find_by_phone("+1%") == []


# -- database unavailable: the spool ----------------------------------------------------------


def test_an_unreachable_database_spools_the_request_with_a_valid_reference(tmp_path: Path) -> None:
    store = blocked_store(tmp_path)
    result, outbox_ids = store.submit("booking", "conv-9", DETAILS)
    assert not result.stored and REFERENCE.match(result.reference) and outbox_ids == []
    [line] = store.spool.path.read_text().splitlines()
    record = json.loads(line)
    assert record["reference"] == result.reference and record["details"] == DETAILS
    assert record["kind"] == "booking" and record["conversation_id"] == "conv-9"
    assert stat.S_IMODE(store.spool.path.stat().st_mode) == 0o600
    found = store.find(result.reference)
    assert found is not None and found["stored"] is False and found["details"] == DETAILS
    assert [r["reference"] for r in store.find_by_phone(DETAILS["phone"])] == [result.reference]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_bad_postgresql_url_spools_quickly(tmp_path: Path) -> None:
    store = Store(make_settings(tmp_path, database_url=f"postgresql://bts:pw@127.0.0.1:{_closed_port()}/bts"))
    started = time.monotonic()
    result, _ = store.submit("callback", "conv-pg", DETAILS)
    assert not result.stored and time.monotonic() - started < 3
    assert store.spool.records()[0]["reference"] == result.reference


def test_when_the_spool_cannot_be_written_either_the_caller_is_told(tmp_path: Path) -> None:
    (tmp_path / "nofile").write_text("x")
    store = blocked_store(tmp_path, spool_file=tmp_path / "nofile" / "bookings.jsonl")
    with pytest.raises(StorageError, match="could not be stored"):
        store.submit("booking", "c1", DETAILS)


def test_the_spool_is_replayed_once_the_database_is_back(tmp_path: Path) -> None:
    down = blocked_store(tmp_path, webhook_url="http://127.0.0.1:9/x", webhook_secret="s")
    spooled = [down.submit("booking", f"c{i}", {**DETAILS, "name": f"P{i}"})[0] for i in range(3)]
    with pytest.raises(OperationalError):
        down.replay_spool()
    assert down.spool.pending()
    up = Store(replace(down.config, database_url=f"sqlite:///{tmp_path / 'db' / 'bts.db'}"))
    result = up.replay_spool()
    assert (result.inserted, result.already_stored, result.rejected) == (3, 0, 0)
    stored = rows(up, booking_requests)
    assert [r["reference"] for r in stored] == [s.reference for s in spooled]
    assert [json.loads(r["details"])["name"] for r in stored] == ["P0", "P1", "P2"]
    assert [d["idempotency_key"] for d in rows(up, outbox)] == [f"{s.reference}:webhook" for s in spooled]
    assert not up.spool.pending() and up.replay_spool().inserted == 0
    assert up.find(spooled[0].reference)["stored"] is True


def test_an_interrupted_replay_does_not_duplicate(tmp_path: Path) -> None:
    store = Store(make_settings(tmp_path))
    first, _ = store.submit("booking", "c1", DETAILS, deliver_now=False)
    lines = [
        json.dumps({"reference": first.reference, "kind": "booking", "conversation_id": "c1",
                    "details": DETAILS, "created_at": "2024-05-01T15:00:00Z"}),
        json.dumps({"reference": "BTS-WXYZ", "kind": "callback", "conversation_id": "c2",
                    "details": DETAILS, "created_at": "2024-05-01T15:00:01Z"}),
    ]
    store.spool.path.parent.mkdir(parents=True, exist_ok=True)
    store.spool.replaying_path.write_text("\n".join(lines) + "\n")
    result = store.replay_spool()
    assert (result.inserted, result.already_stored) == (1, 1)
    references = sorted(r["reference"] for r in rows(store, booking_requests))
    assert references == sorted([first.reference, "BTS-WXYZ"])


def test_a_spooled_reference_taken_meanwhile_gets_a_new_one_and_stays_findable(tmp_path: Path) -> None:
    store = Store(make_settings(tmp_path))
    taken, _ = store.submit("booking", "someone-else", DETAILS, deliver_now=False)
    store.spool.append({"reference": taken.reference, "kind": "booking", "conversation_id": "me",
                        "details": {"name": "Me"}, "created_at": "2024-05-01T15:00:00Z"})
    assert store.replay_spool().inserted == 1
    mine = [r for r in rows(store, booking_requests) if r["conversation_id"] == "me"][0]
    assert mine["reference"] != taken.reference
    assert json.loads(mine["details"])["spooled_reference"] == taken.reference
    found = store.find(taken.reference)
    assert found is not None and found["conversation_id"] == "someone-else"


def test_unreadable_spool_lines_are_set_aside_not_dropped(tmp_path: Path) -> None:
    store = Store(make_settings(tmp_path))
    store.spool.path.parent.mkdir(parents=True)
    good = json.dumps({"reference": "BTS-GGGG", "kind": "booking", "conversation_id": "c",
                       "details": {}, "created_at": "2024-05-01T15:00:00Z"})
    store.spool.path.write_text('{"reference": "BTS-HALF", "kin\n' + good + "\n")
    result = store.replay_spool()
    assert (result.inserted, result.rejected) == (1, 1)
    assert store.spool.rejected_path.read_text().startswith('{"reference": "BTS-HALF"')


def test_many_threads_can_spool_at_once(tmp_path: Path) -> None:
    store = blocked_store(tmp_path)
    results: List[SubmitResult] = []
    threads = [threading.Thread(target=lambda: results.append(store.submit("booking", "c", DETAILS)[0]))
               for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    records = store.spool.records()
    assert len(records) == 20 and {r["reference"] for r in records} == {r.reference for r in results}


# -- outbox rows ------------------------------------------------------------------------------


def test_a_claim_is_exclusive_until_its_lease_runs_out(tmp_path: Path) -> None:
    store = Store(make_settings(tmp_path, webhook_url="http://x/", webhook_secret="s", outbox_lease_s=30))
    result, [outbox_id] = store.submit("booking", "c1", DETAILS, deliver_now=False)
    assert store.due_outbox_ids(10) == [outbox_id]
    job = store.claim(outbox_id)
    assert job is not None and job.attempts == 1 and job.channel == "webhook"
    assert job.request["reference"] == result.reference and job.request["details"] == DETAILS
    assert store.claim(outbox_id) is None and store.due_outbox_ids(10) == []
    later = utcnow() + timedelta(seconds=31)
    assert store.due_outbox_ids(10, now=later) == [outbox_id]
    again = store.claim(outbox_id, now=later)
    assert again is not None and again.attempts == 2


def test_failed_and_delivered_attempts_are_recorded(tmp_path: Path) -> None:
    store = Store(make_settings(tmp_path, webhook_url="http://x/", webhook_secret="s"))
    _, [outbox_id] = store.submit("booking", "c1", DETAILS, deliver_now=False)
    store.claim(outbox_id)
    store.mark_failed(outbox_id, "webhook answered HTTP 500", 60)
    [row] = rows(store, outbox)
    assert row["state"] == "pending" and row["last_error"] == "webhook answered HTTP 500"
    assert timedelta(seconds=55) < row["next_attempt_at"] - utcnow() <= timedelta(seconds=60)
    store.mark_delivered(outbox_id)
    [row] = rows(store, outbox)
    assert row["state"] == "delivered" and row["delivered_at"] is not None and row["last_error"] is None
    assert store.outbox_counts() == {"delivered": 1}
    assert store.find(rows(store, booking_requests)[0]["reference"])["deliveries"][0]["state"] == "delivered"


# -- personal data stays out of the logs ------------------------------------------------------


def test_details_are_never_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    marker = {**DETAILS, "name": "Zebulon Quixote", "reason": "PHI-MARKER-7731"}
    hook = {"webhook_url": f"http://127.0.0.1:{_closed_port()}/x", "webhook_secret": "s",
            "submit_delivery_budget_s": 1.0}
    store = Store(make_settings(tmp_path, **hook))
    store.submit("booking", "c1", marker)
    down = blocked_store(tmp_path, **hook)
    down.submit("booking", "c2", marker)
    Store(replace(down.config, database_url=store.config.database_url)).replay_spool()
    store.find_by_phone(marker["phone"])
    logged = caplog.text + " ".join(str(r.args) for r in caplog.records)
    assert "spooling" in logged and "failed" in logged  # the paths above did log
    assert "Zebulon" not in logged and "PHI-MARKER" not in logged and "rosa@example.com" not in logged


# -- settings ---------------------------------------------------------------------------------


def test_storage_settings_have_project_defaults() -> None:
    config = Settings.from_env({})
    assert config.database_url == DEFAULT_DATABASE_URL == f"sqlite:///{PROJECT_ROOT}/var/bts.db"
    assert config.spool_file == DEFAULT_SPOOL_FILE == PROJECT_ROOT / "var" / "spool" / "bookings.jsonl"
    assert config.delivery_channels == () and config.delivery_problems() == []
    assert Settings().database_url == DEFAULT_DATABASE_URL


def test_storage_settings_come_from_the_environment() -> None:
    config = Settings.from_env({
        "BTS_DATABASE_URL": "postgres://bts:secret@db/bts",
        "BTS_SPOOL_FILE": "var/other.jsonl",
        "BTS_OUTBOX_BACKOFF_BASE_S": "0.5",
        "BTS_OUTBOX_BACKOFF_MAX_S": "10",
        "BTS_OUTBOX_POLL_S": "0.2",
        "BTS_OUTBOX_LEASE_S": "5",
        "BTS_SUBMIT_DELIVERY_BUDGET_S": "1",
    })
    assert config.database_url == "postgresql://bts:secret@db/bts"
    assert config.spool_file == PROJECT_ROOT / "var" / "other.jsonl"
    assert (config.outbox_backoff_base_s, config.outbox_backoff_max_s) == (0.5, 10.0)
    assert (config.outbox_poll_s, config.outbox_lease_s, config.submit_delivery_budget_s) == (0.2, 5.0, 1.0)
    assert Settings.from_env({"BTS_SPOOL_FILE": "/abs/s.jsonl"}).spool_file == Path("/abs/s.jsonl")


@pytest.mark.parametrize(
    "env, name",
    [
        ({"BTS_OUTBOX_POLL_S": "soon"}, "BTS_OUTBOX_POLL_S"),
        ({"BTS_OUTBOX_LEASE_S": "-1"}, "BTS_OUTBOX_LEASE_S"),
        ({"BTS_OUTBOX_BACKOFF_BASE_S": "nan"}, "BTS_OUTBOX_BACKOFF_BASE_S"),
    ],
)
def test_unusable_storage_settings_name_the_variable(env: Dict[str, str], name: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(env)


def test_backoff_cap_below_base_is_a_problem() -> None:
    config = Settings.from_env({"BTS_OUTBOX_BACKOFF_BASE_S": "10", "BTS_OUTBOX_BACKOFF_MAX_S": "1"})
    assert any("BTS_OUTBOX_BACKOFF_MAX_S" in p for p in config.delivery_problems())
