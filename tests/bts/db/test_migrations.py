"""Migrations: a new database gets the newest schema; a database of the release before
migrations (its tables, data, and no `alembic_version`) is taken over and upgraded, losing nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bts.booking.settings import Settings
from bts.booking.store import Store
from bts.db import migrate
from bts.db.engine import make_engine
from bts.db.schema import metadata

HERE = Path(__file__).resolve().parent
OLD_TABLES = [
    "booking_requests", "outbox", "bts_tracker_checkpoints", "events", "console_users", "console_sessions",
    "console_login_attempts", "console_conversations", "console_messages", "console_tags", "console_notes",
    "console_nlu_labels", "console_audit", "console_state",
]
SEED = [
    "INSERT INTO booking_requests (reference, kind, status, conversation_id, created_at, updated_at, "
    "details) VALUES ('BTS-7K2Q', 'booking', 'contacted', 'conv-1', '2024-05-01 15:00:00.000000', "
    "'2024-05-02 09:30:00.000000', '{\"name\": \"Rosa Example\", \"phone\": \"+15755550142\"}')",
    "INSERT INTO outbox (request_id, channel, idempotency_key, state, attempts, next_attempt_at, "
    "last_error, delivered_at) VALUES ((SELECT id FROM booking_requests), 'webhook', 'BTS-7K2Q:webhook', "
    "'delivered', 2, '2024-05-01 15:00:05.000000', NULL, '2024-05-01 15:00:06.000000')",
    "INSERT INTO events (id, sender_id, type_name, timestamp, intent_name, action_name, data) VALUES "
    "(1, 'conv-1', 'user', 1714575600.0, 'book', NULL, '{\"text\": \"I want an appointment\"}')",
    "INSERT INTO bts_tracker_checkpoints (sender_id, event_id, slots) VALUES ('conv-1', 1, '[]')",
    "INSERT INTO console_users (id, username, password_hash, role, active, created_at) VALUES "
    "(1, 'alice', 'argon2-hash', 'admin', TRUE, 1714575600.0)",
    "INSERT INTO console_conversations (id, sender_id, first_ts, last_ts, n_user, n_bot, n_sessions, "
    "has_fallback, has_low_confidence, has_red_flag, booking_reference) VALUES "
    "(1, 'conv-1', 1714575600.0, 1714575600.0, 1, 0, 1, FALSE, FALSE, FALSE, 'BTS-7K2Q')",
    "INSERT INTO console_messages (event_id, conversation_id, ts, text, is_fallback, is_low_confidence) "
    "VALUES (1, 1, 1714575600.0, 'I want an appointment', FALSE, FALSE)",
    "INSERT INTO console_audit (id, ts, username, role, action, target_type, target_id) VALUES "
    "(1, 1714575600.0, 'alice', 'admin', 'login', NULL, NULL)",
    "INSERT INTO console_state (key, value) VALUES ('last_purge_at', '1714575600.0')",
]


def legacy_statements(dialect: str) -> List[str]:
    text = (HERE / f"legacy_schema.{dialect}.sql").read_text()
    body = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    return [part.strip() for part in body.split(";\n") if part.strip()]


def make_legacy(engine: sa.engine.Engine) -> None:
    with engine.begin() as conn:
        for statement in legacy_statements(engine.dialect.name) + SEED:
            conn.exec_driver_sql(statement.rstrip(";"))


def snapshot(engine: sa.engine.Engine) -> Dict[str, List[Dict[str, Any]]]:
    found: Dict[str, List[Dict[str, Any]]] = {}
    with engine.connect() as conn:
        for table in OLD_TABLES:
            rows = conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY 1").mappings().all()
            new_columns = ("language", "entry_hash")
            found[table] = [{k: v for k, v in row.items() if k not in new_columns} for row in rows]
    return found


def schema_differences(conn: sa.engine.Connection) -> List[Any]:
    context = MigrationContext.configure(conn, opts={"include_name": migrate.ours})
    return list(compare_metadata(context, metadata))


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.engine.Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'bts.db'}"
    else:
        server = request.getfixturevalue("postgres")
        url = server.new_database(f"bts_migrate_{abs(hash(str(tmp_path))) % 10**8}")
    made = make_engine(url)
    yield made
    made.dispose()


def test_a_new_database_gets_exactly_the_schema_the_code_defines(engine: sa.engine.Engine) -> None:
    assert migrate.current(engine) is None
    assert migrate.upgrade(engine) == migrate.head()
    with engine.connect() as conn:
        differences = schema_differences(conn)
    assert differences == []
    assert migrate.upgrade(engine) == migrate.head()  # a second run changes nothing


def test_a_database_of_the_release_before_migrations_is_upgraded_without_loss(
    engine: sa.engine.Engine, tmp_path: Path
) -> None:
    make_legacy(engine)
    before = snapshot(engine)
    assert migrate.current(engine) is None
    assert migrate.upgrade(engine) == migrate.head()
    assert snapshot(engine) == before
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT language FROM booking_requests").scalar() == "en"
        differences = schema_differences(conn)
    assert differences == []
    # The audit log is still append-only after the upgrade.
    with pytest.raises(sa.exc.DBAPIError), engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM console_audit")
    # The booking code reads the old request (a 4-character reference) and writes new ones.
    store = Store(Settings(database_url=str(engine.url.render_as_string(hide_password=False)),
                           spool_file=tmp_path / "spool.jsonl", submit_delivery_budget_s=0))
    old = store.find("bts 7k2q")
    assert old is not None and old["details"]["name"] == "Rosa Example" and old["language"] == "en"
    assert old["deliveries"][0]["state"] == "delivered" and old["created_at"] == "2024-05-01T15:00:00Z"
    new, _ = store.submit("booking", "conv-2", {"name": "Ana"}, deliver_now=False, language="es")
    assert new.stored and store.find(new.reference)["language"] == "es"  # type: ignore[index]
    store.dispose()


def test_the_newest_migration_can_be_taken_back_and_applied_again(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'bts.db'}")
    make_legacy(engine)
    migrate.upgrade(engine)
    assert migrate.downgrade(engine, "0001") == "0001"
    assert "language" not in [c["name"] for c in sa.inspect(engine).get_columns("booking_requests")]
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert json.loads(conn.exec_driver_sql("SELECT details FROM booking_requests").scalar())["phone"]
    engine.dispose()


def test_the_command_line_upgrades_the_configured_database(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bts.db.__main__ import main

    monkeypatch.setenv("BTS_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    assert main(["upgrade"]) == 0
    assert f"revision {migrate.head()}" in capsys.readouterr().out
    assert main(["current"]) == 0 and capsys.readouterr().out.strip() == migrate.head()
