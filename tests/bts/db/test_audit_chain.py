"""The audit log is hash-chained: an edited, deleted or forged entry is found by `verify`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa

from bts.db import audit, migrate
from bts.db.__main__ import main
from bts.db.engine import make_engine
from bts.db.schema import audit as audit_table


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.engine.Engine]:
    made = make_engine(f"sqlite:///{tmp_path / 'bts.db'}")
    migrate.upgrade(made)
    with made.execution_options(bts_write=True).begin() as conn:
        for n in range(1, 6):
            audit.append(
                conn, ts=1714575600.0 + n, username="alice", role="admin", action="view_transcript",
                target_type="conversation", target_id=str(n), detail=json.dumps({"n": n}), ip="10.0.0.1",
            )
    yield made
    made.dispose()


def tamper(engine: sa.engine.Engine, statement: str) -> None:
    """What an owner of the database can do: drop the append-only triggers, then change the log."""
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER console_audit_no_update")
        conn.exec_driver_sql("DROP TRIGGER console_audit_no_delete")
        conn.exec_driver_sql(statement)


def check(engine: sa.engine.Engine, anchor: str | None = None) -> audit.Verification:
    with engine.connect() as conn:
        return audit.verify(conn, anchor)


def newest(engine: sa.engine.Engine) -> str:
    with engine.connect() as conn:
        return conn.execute(sa.select(audit_table.c.entry_hash).order_by(audit_table.c.id.desc())).scalar()


def test_an_untouched_log_verifies(engine: sa.engine.Engine) -> None:
    result = check(engine, newest(engine))
    assert result.intact and result.checked == 5


def test_the_applications_cannot_change_the_log(engine: sa.engine.Engine) -> None:
    with pytest.raises(sa.exc.DBAPIError), engine.begin() as conn:
        conn.exec_driver_sql("UPDATE console_audit SET username = 'mallory'")


def test_an_edited_entry_is_found(engine: sa.engine.Engine) -> None:
    tamper(engine, "UPDATE console_audit SET username = 'mallory' WHERE id = 3")
    assert check(engine).broken_at == [3]


def test_a_deleted_entry_is_found(engine: sa.engine.Engine) -> None:
    tamper(engine, "DELETE FROM console_audit WHERE id = 2")
    assert check(engine).broken_at == [3]


def test_deleting_the_newest_entries_is_found_with_an_anchor(engine: sa.engine.Engine) -> None:
    anchor = newest(engine)
    tamper(engine, "DELETE FROM console_audit WHERE id >= 4")
    assert check(engine).intact  # the chain alone cannot see a cut-off end ...
    assert not check(engine, anchor).intact  # ... a hash kept elsewhere can


def test_a_forged_entry_is_found(engine: sa.engine.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(audit_table.insert().values(
            ts=1714575700.0, username="mallory", role="admin", action="login", entry_hash="f" * 64,
        ))
    assert check(engine).broken_at == [6]


def test_the_command_line_reports_tampering(
    engine: sa.engine.Engine, capsys: pytest.CaptureFixture
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    assert main(["verify-audit", "--url", url]) == 0
    assert "intact: 5 chained entries" in capsys.readouterr().out
    tamper(engine, "UPDATE console_audit SET detail = '{}' WHERE id = 1")
    assert main(["verify-audit", "--url", url]) == 1
    assert "TAMPERED" in capsys.readouterr().out
