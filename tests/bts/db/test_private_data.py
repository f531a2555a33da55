"""Patient data stays out of error messages and other accounts' reach (engines and files)."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bts.booking.settings import Settings
from bts.booking.store import Store
from bts.db.engine import make_engine
from components.tracker_store import RecentEventsSQLTrackerStore

PHONE = "575-555-0142"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_failed_tracker_save_shows_no_message_text(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = RecentEventsSQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(tmp_path / "t.db"))
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TRIGGER refuse BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    tracker = DialogueStateTracker.from_events("conv-1", [UserUttered(f"call me at {PHONE}")])
    caplog.set_level(logging.DEBUG)
    with pytest.raises(sa.exc.DBAPIError) as caught:
        await store.save(tracker)
    assert "disk full" in str(caught.value)
    assert PHONE not in str(caught.value) and PHONE not in caplog.text


def test_every_project_engine_hides_parameters_and_deletes_securely(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    assert engine.hide_parameters
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    engine.dispose()
    tracker_store = RecentEventsSQLTrackerStore(
        domain=Domain.empty(), dialect="sqlite", db=str(tmp_path / "t.db")
    )
    assert tracker_store.engine.hide_parameters
    with tracker_store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1


def test_the_database_its_wal_and_the_spool_are_private_to_their_owner(tmp_path: Path) -> None:
    data = tmp_path / "var"
    store = Store(Settings(database_url=f"sqlite:///{data / 'db' / 'bts.db'}",
                           spool_file=data / "spool" / "bookings.jsonl", submit_delivery_budget_s=0))
    store.submit("booking", "conv-1", {"phone": "+15755550142"}, deliver_now=False)
    store.spool.append({"reference": "BTS-22222222", "details": {}})
    for folder in (data / "db", data / "spool"):
        assert mode(folder) == 0o700, folder
    with store.engine.connect() as conn:  # the WAL exists while a connection is open
        conn.exec_driver_sql("SELECT count(*) FROM booking_requests").scalar()
        for name in ("bts.db", "bts.db-wal", "bts.db-shm"):
            assert mode(data / "db" / name) == 0o600, name
    assert mode(store.spool.path) == 0o600
    store.dispose()
