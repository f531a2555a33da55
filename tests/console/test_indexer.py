"""The index misses no event, even when two Rasa replicas commit events out of id order."""

from __future__ import annotations

import random
import threading
import time
from typing import Any, Dict, Iterator

import postgres
import pytest
import sqlalchemy as sa
import support

from console.db import indexer, make_engine
from console.db.schema import conversations, create_console_tables, create_external_tables, events, state


def red_flag_rows(sender: str, ts: float) -> list:
    return [
        support.user_event(sender, ts, "I can't control my bladder", "red_flag", 0.99),
        support.other_event(sender, ts + 0.1, {"type": "slot", "name": "red_flag", "value": True}),
    ]


def summary(engine: Any) -> Dict[str, Dict[str, Any]]:
    with engine.connect() as conn:
        return {r.sender_id: dict(r._mapping) for r in conn.execute(sa.select(conversations))}


def user_events(engine: Any) -> Dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(events.c.sender_id, sa.func.count())
            .where(events.c.type_name == "user")
            .group_by(events.c.sender_id)
        )
        return {sender: n for sender, n in rows}


def test_an_event_committed_after_a_higher_id_is_still_indexed(tmp_path: Any) -> None:
    engine = support.make_db(tmp_path / "bts.db", handwritten=False)
    create_external_tables(engine)
    now = time.time()
    with engine.begin() as conn:  # replica B commits ids 12 and 13 first ...
        conn.execute(events.insert(), [{**r, "id": 12 + i} for i, r in enumerate(red_flag_rows("b", now))])
    indexer.sync(engine, 0.7)
    with engine.begin() as conn:  # ... then replica A's ids 10 and 11 become visible
        conn.execute(events.insert(), [{**r, "id": 10 + i} for i, r in enumerate(red_flag_rows("a", now))])
    indexer.sync(engine, 0.7)
    index = summary(engine)
    assert index["a"]["has_red_flag"] and index["a"]["n_user"] == 1
    assert index["b"]["has_red_flag"] and index["b"]["n_user"] == 1
    indexer.sync(engine, 0.7)  # nothing is counted twice
    assert summary(engine)["a"]["n_user"] == 1


def test_gaps_that_never_fill_are_forgotten(tmp_path: Any, monkeypatch: Any) -> None:
    engine = support.make_db(tmp_path / "bts.db", handwritten=False)
    create_external_tables(engine)
    with engine.begin() as conn:
        conn.execute(events.insert(), [{**r, "id": 100} for r in red_flag_rows("c", time.time())[:1]])
    indexer.sync(engine, 0.7)
    with engine.connect() as conn:
        gaps = conn.execute(sa.select(state.c.value).where(state.c.key == indexer.GAPS_KEY)).scalar()
    assert gaps and "[1, 99," in gaps  # ids 1-99 were skipped (a rollback, or not committed yet)
    later = time.time() + indexer.GAP_TTL_S + 1
    monkeypatch.setattr(indexer.time, "time", lambda: later)
    indexer.sync(engine, 0.7)
    with engine.connect() as conn:
        assert conn.execute(sa.select(state.c.value).where(state.c.key == indexer.GAPS_KEY)).scalar() == "[]"


@pytest.fixture(scope="module")
def pg_engine() -> Iterator[Any]:
    reason = postgres.can_run()
    if reason:
        pytest.skip(reason)
    cluster = postgres.Cluster()
    engine = make_engine(cluster.url)
    try:
        create_external_tables(engine)
        create_console_tables(engine)
        yield engine
    finally:
        engine.dispose()
        cluster.destroy()


def test_postgresql_two_writers_committing_out_of_order(pg_engine: Any) -> None:
    now = time.time()
    with pg_engine.connect() as replica_a, pg_engine.connect() as replica_b:
        slow = replica_a.begin()
        replica_a.execute(events.insert(), red_flag_rows("pg-a", now))  # takes the lower ids
        with replica_b.begin():
            replica_b.execute(events.insert(), red_flag_rows("pg-b", now))
        indexer.sync(pg_engine, 0.7)
        assert "pg-a" not in summary(pg_engine)
        slow.commit()
    indexer.sync(pg_engine, 0.7)
    index = summary(pg_engine)
    assert index["pg-a"]["has_red_flag"] and index["pg-a"]["n_user"] == 1
    assert index["pg-b"]["has_red_flag"]


def test_postgresql_concurrent_writers_and_indexer_agree_with_the_events(pg_engine: Any) -> None:
    stop = threading.Event()
    errors: list = []

    def writer(name: str, seed: int) -> None:
        rng = random.Random(seed)
        try:
            for i in range(60):
                with pg_engine.begin() as conn:
                    conn.execute(events.insert(), red_flag_rows(f"{name}-{i % 7}", time.time())[:1])
                    time.sleep(rng.uniform(0, 0.01))  # a slow transaction holds a lower id
        except Exception as err:  # noqa: BLE001 - reported by the assertion below
            errors.append(err)

    def keep_indexing() -> None:
        while not stop.is_set():
            indexer.sync(pg_engine, 0.7)

    threads = [threading.Thread(target=writer, args=(f"w{k}", k)) for k in range(2)]
    reader = threading.Thread(target=keep_indexing)
    reader.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    reader.join()
    indexer.sync(pg_engine, 0.7)
    assert not errors
    expected = {s: n for s, n in user_events(pg_engine).items() if s.startswith("w")}
    got = {s: row["n_user"] for s, row in summary(pg_engine).items() if s.startswith("w")}
    assert got == expected and sum(expected.values()) == 120
