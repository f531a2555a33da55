"""Tests of components/tracker_store.py: a windowed tracker behaves like Rasa's full one."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Iterator, List, Optional

import pytest
from rasa.core.tracker_store import SQLTrackerStore, create_tracker_store
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config

from components.tracker_store import RecentEventsSQLTrackerStore, TrackerCheckpoint

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = Domain.load(str(ROOT / "domain.yml"))
SENDER = "patient-1"
_clock = itertools.count(1_800_000_000)


def _at(event: Event) -> Event:
    # Strictly increasing timestamps, as on a real server (Rasa orders sessions by them).
    event.timestamp = float(next(_clock))
    return event


def faq_turn(n: int) -> List[Event]:
    """A question answered by an utterance, as Rasa logs it."""
    return [
        _at(UserUttered(f"question {n}", {"name": "ask_hours", "confidence": 0.9})),
        _at(ActionExecuted("action_tell_hours")),
        _at(BotUttered(f"answer {n}")),
        _at(ActionExecuted("action_listen")),
    ]


def red_flag_turn(n: int) -> List[Event]:
    """A turn that sets a slot which influences the dialogue."""
    return [
        _at(UserUttered(f"red flag {n}", {"name": "red_flag", "confidence": 1.0})),
        _at(SlotSet("red_flag", True)),
        _at(ActionExecuted("utter_greet")),
        _at(ActionExecuted("action_listen")),
    ]


def form_turns(answers: int) -> Iterator[List[Event]]:
    """A booking form that stays active for `answers` user turns, then ends."""
    yield [
        _at(UserUttered("book me", {"name": "book_appointment", "confidence": 0.95})),
        _at(ActionExecuted("booking_form")),
        _at(ActiveLoop("booking_form")),
        _at(SlotSet("requested_slot", "booking_name")),
        _at(ActionExecuted("action_listen")),
    ]
    for n in range(answers):
        turn: List[Event] = [
            _at(UserUttered(f"answer {n}", {"name": "inform", "confidence": 0.9})),
            _at(SlotSet("booking_name", f"Name {n}")),
            _at(ActionExecuted("booking_form")),
        ]
        if n == answers - 1:
            turn += [_at(SlotSet("requested_slot", None)), _at(ActiveLoop(None))]
        turn.append(_at(ActionExecuted("action_listen")))
        yield turn


def session_start() -> List[Event]:
    return [
        _at(ActionExecuted("action_session_start")),
        _at(SessionStarted()),
        _at(ActionExecuted("action_listen")),
    ]


def conversation() -> Iterator[List[Event]]:
    """Batches of events as Rasa saves them, one batch per message: 60 turns, a long form."""
    yield session_start() + faq_turn(0)
    for n in range(1, 20):
        yield red_flag_turn(n) if n == 7 else faq_turn(n)
    yield from form_turns(answers=15)
    for n in range(20, 45):
        yield faq_turn(n)


@pytest.fixture()
def stores(tmp_path: Path) -> Iterator[tuple]:
    db = str(tmp_path / "trackers.db")
    windowed = RecentEventsSQLTrackerStore(DOMAIN, dialect="sqlite", db=db)
    stock = SQLTrackerStore(DOMAIN, dialect="sqlite", db=db)
    yield windowed, stock


async def _talk(
    store: RecentEventsSQLTrackerStore, batch: List[Event], rebuilt: bool = False
) -> DialogueStateTracker:
    tracker = await store.retrieve(SENDER) or DialogueStateTracker(SENDER, DOMAIN.slots)
    if rebuilt:
        # A tracker the store did not build itself (Rasa's HTTP API can hand one over): the
        # store finds out from the database which of its events are stored already.
        tracker = DialogueStateTracker.from_dict(SENDER, [e.as_dict() for e in tracker.events], DOMAIN.slots)
    for event in batch:
        tracker.update(event)
    await store.save(tracker)
    return tracker


def _assert_same_state(windowed: DialogueStateTracker, full: DialogueStateTracker) -> None:
    assert windowed.current_slot_values() == full.current_slot_values()
    assert windowed.active_loop_name == full.active_loop_name
    assert windowed.latest_message.text == full.latest_message.text
    assert windowed.latest_action_name == full.latest_action_name
    assert windowed.is_paused() == full.is_paused()
    # TED looks at 5 states, memoization at 3: the recent states must be identical.
    assert windowed.past_states(DOMAIN)[-8:] == full.past_states(DOMAIN)[-8:]


async def test_windowed_tracker_matches_the_full_one_after_every_message(stores: tuple) -> None:
    windowed, stock = stores
    stored = 0
    sizes = []
    for n, batch in enumerate(conversation()):
        await _talk(windowed, batch, rebuilt=n % 3 == 0)
        stored += len(batch)
        mine = await windowed.retrieve(SENDER)
        full = await stock.retrieve(SENDER)
        assert mine is not None and full is not None
        _assert_same_state(mine, full)
        sizes.append(len(mine.events))
        # Every event is stored once, none lost.
        assert len(list((await stock.retrieve_full_tracker(SENDER)).events)) == stored
    # The full tracker of the last message has every event of the session; the windowed one is
    # bounded by checkpoint_turns (10) user turns of 4 events each plus the slots.
    full_size = len((await stock.retrieve(SENDER)).events)
    assert full_size > 240
    assert max(sizes[-20:]) < 50
    # A form is never cut: while it was active the tracker kept growing.
    assert max(sizes) > max(sizes[-20:])


async def test_a_new_session_after_the_checkpoint_starts_from_scratch(stores: tuple) -> None:
    windowed, stock = stores
    for n in range(30):
        await _talk(windowed, (session_start() if n == 0 else []) + red_flag_turn(n))
    await _talk(windowed, session_start() + faq_turn(99))
    mine, full = await windowed.retrieve(SENDER), await stock.retrieve(SENDER)
    assert mine is not None and full is not None
    assert [e.as_dict() for e in mine.events] == [e.as_dict() for e in full.events]
    # Rasa does not carry slots over by itself: the new session starts without the red flag.
    assert mine.get_slot("red_flag") is None
    for n in range(15):
        await _talk(windowed, faq_turn(100 + n))
    mine, full = await windowed.retrieve(SENDER), await stock.retrieve(SENDER)
    assert mine is not None and full is not None
    _assert_same_state(mine, full)
    assert len(mine.events) < len(full.events)


async def test_a_checkpoint_is_stored_per_conversation(stores: tuple) -> None:
    windowed, _ = stores
    for n in range(20):
        await _talk(windowed, (session_start() if n == 0 else []) + faq_turn(n))
    with windowed.session_scope() as session:
        row: Optional[TrackerCheckpoint] = session.get(TrackerCheckpoint, SENDER)
        assert row is not None and session.get(TrackerCheckpoint, "someone-else") is None


async def test_unknown_conversation_has_no_tracker(stores: tuple) -> None:
    windowed, _ = stores
    assert await windowed.retrieve("nobody") is None


def test_inconsistent_turn_counts_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="keep_turns >= 3"):
        RecentEventsSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "x.db"), keep_turns=1)
    with pytest.raises(ValueError, match="checkpoint_turns > keep_turns"):
        RecentEventsSQLTrackerStore(
            DOMAIN, dialect="sqlite", db=str(tmp_path / "x.db"), keep_turns=6, checkpoint_turns=6
        )


@pytest.mark.parametrize("endpoints", ["endpoints.yml", "deploy/endpoints.prod.yml"])
def test_the_endpoints_use_this_store(
    endpoints: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rasa falls back to an in-memory store (with only a warning) when it cannot import a custom
    # store, which would silently lose every conversation.
    for var in ("BTS_ACTION_ENDPOINT_URL", "BTS_ACTION_TOKEN", "BTS_PG_HOST", "BTS_PG_PORT", "BTS_PG_DB",
                "BTS_PG_USER", "BTS_PG_PASSWORD", "BTS_REDIS_HOST", "BTS_REDIS_PORT", "BTS_REDIS_PASSWORD"):
        monkeypatch.setenv(var, "x")
    config = read_endpoint_config(str(ROOT / endpoints), "tracker_store")
    assert config is not None
    assert config.type == "components.tracker_store.RecentEventsSQLTrackerStore"
    config.url = None
    config.kwargs.update(dialect="sqlite", db=str(tmp_path / "e.db"))
    for key in ("username", "password"):
        config.kwargs.pop(key, None)
    store = create_tracker_store(config, DOMAIN)
    assert isinstance(store, RecentEventsSQLTrackerStore)
