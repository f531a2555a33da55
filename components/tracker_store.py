"""A SQL tracker store whose trackers hold the recent turns, not the whole conversation.

Rasa's `SQLTrackerStore` rebuilds the tracker from every event of the session on each message,
and Rasa then computes the dialogue states of the whole tracker for every prediction and sends
every event to the action server. A reply therefore gets slower the longer a conversation lasts
(3.4x over 100 turns in docs/benchmark.md), although the policies only look at the last few
states (`max_history`).

This store keeps every event in Rasa's `events` table, exactly as Rasa writes it (the staff
console and Rasa's own tools read it unchanged). Next to it, it keeps one *checkpoint* per
conversation: the slot values at a user message some turns back, as `SlotSet` events. A tracker is
rebuilt from the checkpoint plus the events after it, so it holds between `keep_turns` and
`checkpoint_turns` user turns whatever the length of the conversation. The checkpoint only moves
to a point where no form is active, nothing is paused and no follow-up action is pending, so the
rebuilt tracker has the same slots, active loop and recent dialogue states as the full one (see
tests/components/test_tracker_store.py).

What a rebuilt tracker does not have: events older than the checkpoint. Custom actions that read
`tracker.events` see the last `keep_turns` to `checkpoint_turns` turns of the session.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List, Optional, Sequence, Tuple

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.events import Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.orm import declarative_base, sessionmaker

from bts.db import migrate
from bts.db.engine import make_engine
from bts.db.schema import tracker_checkpoints

logger = logging.getLogger(__name__)

# Metadata key of the checkpoint's SlotSet events; its value is the id of the last event the
# checkpoint covers, so that `save` knows which stored events follow it.
CHECKPOINT_KEY = "bts_checkpoint"
# Rasa's built-in slot that never influences the dialogue: the first event of every checkpoint
# sets it (to its current value), so a checkpoint is never empty and always recognisable.
ANCHOR_SLOT = "session_started_metadata"
# Attribute of a tracker this store built or saved: how many of its events after the checkpoint
# are stored.
STORED_COUNT = "_bts_stored_events"

_Base: Any = declarative_base()


class TrackerCheckpoint(_Base):
    """The slot state of a conversation at one event (table `bts_tracker_checkpoints`)."""

    __table__ = tracker_checkpoints


def checkpoint_size(events: Sequence[Event]) -> Tuple[int, Optional[int]]:
    """How many leading events of a tracker come from a checkpoint, and which one.

    Args:
        events: The tracker's events.

    Returns:
        (number of leading checkpoint events, the checkpoint's event id or None).
    """
    count, event_id = 0, None
    for event in events:
        marker = event.metadata.get(CHECKPOINT_KEY) if event.metadata else None
        if marker is None:
            break
        count, event_id = count + 1, int(marker)
    return count, event_id


def checkpoint_events(slots: Sequence[Tuple[str, Any]], event_id: int) -> List[Dict[str, Any]]:
    """The serialised `SlotSet` events that restore a checkpoint.

    Args:
        slots: (slot, value) pairs of the slots set at the checkpoint.
        event_id: The id of the last event the checkpoint covers.

    Returns:
        Event dicts, the anchor slot first.
    """
    values = dict(slots)
    order = [ANCHOR_SLOT] + [name for name, _ in slots if name != ANCHOR_SLOT]
    return [
        SlotSet(name, values.get(name), metadata={CHECKPOINT_KEY: event_id}).as_dict()
        for name in order
    ]


def choose_cut(
    sender_id: str,
    events: Sequence[Event],
    slots: Any,
    keep_turns: int,
) -> Optional[Tuple[int, List[Tuple[str, Any]]]]:
    """Finds where a tracker can be cut, and the slot state there.

    The cut is at a user message at which no form is active, the conversation is not paused and
    no follow-up action is pending (only then do the slots alone carry the state of the
    dialogue): the latest such message that keeps `keep_turns` of them from it to the end. Rasa
    folds the turns inside a form into few dialogue states, so only messages outside forms
    count towards `keep_turns`.

    Args:
        sender_id: The conversation.
        events: The tracker's events (checkpoint events included).
        slots: The domain's slots.
        keep_turns: User messages outside forms to keep after the cut.

    Returns:
        (index in `events` of the first event kept, slots set before it) or None if there is no
        such place.
    """
    replay = DialogueStateTracker(sender_id, slots)
    clean: List[Tuple[int, List[Tuple[str, Any]]]] = []
    for index, event in enumerate(events):
        if (
            isinstance(event, UserUttered)
            and index > 0
            and replay.active_loop_name is None
            and not replay.is_paused()
            and replay.followup_action is None
        ):
            clean.append(
                (index, [(name, slot.value) for name, slot in replay.slots.items() if slot.has_been_set])
            )
        replay.update(event)
    if len(clean) < keep_turns:
        return None
    return clean[-keep_turns]


class RecentEventsSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` that rebuilds trackers from a checkpoint and the recent events.

    Configured in endpoints.yml like Rasa's SQL store, with `type:
    components.tracker_store.RecentEventsSQLTrackerStore` and optionally `keep_turns` and
    `checkpoint_turns`.
    """

    engine: sa.engine.Engine

    def __init__(
        self,
        *args: Any,
        keep_turns: int = 5,
        checkpoint_turns: int = 10,
        **kwargs: Any,
    ) -> None:
        """Connects like `SQLTrackerStore` and brings the project's tables to the newest migration.

        The engine is remade the way every project engine is (`bts.db.engine`): SQL errors never
        show parameters, which hold whole events with the patient's messages.

        Args:
            *args: Passed on to `SQLTrackerStore`.
            keep_turns: User turns a tracker keeps at least after its checkpoint.
            checkpoint_turns: User turns after the checkpoint that make it move forward.
            **kwargs: Passed on to `SQLTrackerStore`.

        Raises:
            ValueError: If the turn counts are inconsistent.
        """
        keep_turns, checkpoint_turns = int(keep_turns), int(checkpoint_turns)
        if keep_turns < 3 or checkpoint_turns <= keep_turns:
            raise ValueError(
                "RecentEventsSQLTrackerStore needs keep_turns >= 3 (the policies look back "
                f"several turns) and checkpoint_turns > keep_turns; got {keep_turns} and "
                f"{checkpoint_turns}."
            )
        super().__init__(*args, **kwargs)
        url = self.engine.url
        self.engine.dispose()
        # Rasa's pool settings, without a ping per checkout (a round trip on every message).
        self.engine = make_engine(url, pool_pre_ping=False, **create_engine_kwargs(url))
        self.sessionmaker = sessionmaker(bind=self.engine)
        self.keep_turns = keep_turns
        self.checkpoint_turns = checkpoint_turns
        self._retrieve_sql = self._retrieve_statement()
        migrate.upgrade(self.engine)
        # Reading the events after a checkpoint needs (sender_id, id); Rasa only indexes sender_id.
        # Created only where missing: the production replicas' role may not create indexes.
        indexes = {index["name"] for index in sa.inspect(self.engine).get_indexes("events")}
        if "bts_events_sender_id_id" not in indexes:
            with self.engine.begin() as connection:
                connection.execute(sa.text("CREATE INDEX bts_events_sender_id_id ON events (sender_id, id)"))

    def _retrieve_statement(self) -> Any:
        """One query for a conversation's checkpoint and the events after it (or all of them)."""
        events = self.SQLEvent.__table__
        checkpoints = TrackerCheckpoint.__table__
        return (
            sa.select(
                events.c.type_name,
                events.c.timestamp,
                events.c.data,
                checkpoints.c.event_id.label("checkpoint_id"),
                checkpoints.c.slots.label("checkpoint_slots"),
            )
            .select_from(events.outerjoin(checkpoints, checkpoints.c.sender_id == events.c.sender_id))
            .where(
                events.c.sender_id == sa.bindparam("sender_id"),
                events.c.id > sa.func.coalesce(checkpoints.c.event_id, -1),
            )
            .order_by(events.c.id)
        )

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        """The tracker of the latest session: checkpoint plus the events after it."""
        # Core, not the ORM, and one round trip: this runs for every message.
        with self.engine.connect() as connection:
            rows = connection.execute(self._retrieve_sql, {"sender_id": sender_id}).all()
        if not rows or not self.domain:
            # A checkpoint always has events after it, so no rows means no conversation.
            return None
        prefix: List[Dict[str, Any]] = []
        starts = [row.timestamp for row in rows if row.type_name == SessionStarted.type_name]
        if starts:
            # The latest session, chosen as Rasa's own query does (from the time of its
            # `session_started` event on). A checkpoint before it belongs to an older session.
            latest = max(starts)
            rows = [row for row in rows if row.timestamp is not None and row.timestamp >= latest]
        elif rows[0].checkpoint_id is not None:
            prefix = checkpoint_events(json.loads(rows[0].checkpoint_slots), rows[0].checkpoint_id)
        tracker = DialogueStateTracker.from_dict(
            sender_id, prefix + [json.loads(row.data) for row in rows], self.domain.slots
        )
        # `save` needs to know which events are stored already; remembering it saves a query.
        setattr(tracker, STORED_COUNT, len(rows))
        return tracker

    def _ids_after(self, session: Any, sender_id: str, event_id: Optional[int]) -> List[int]:
        """Ids of the stored events after a checkpoint, or of the latest session without one."""
        if event_id is not None:
            query = session.query(self.SQLEvent.id).filter(
                self.SQLEvent.sender_id == sender_id, self.SQLEvent.id > event_id
            )
            return [row.id for row in query.order_by(self.SQLEvent.id)]
        query = self._event_query(session, sender_id, fetch_events_from_all_sessions=False)
        return [row.id for row in query.with_entities(self.SQLEvent.id)]

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Appends the tracker's new events and moves its checkpoint if it has grown."""
        await self.stream_events(tracker)
        events = list(tracker.events)
        prefix, event_id = checkpoint_size(events)
        with self.session_scope() as session:
            stored = getattr(tracker, STORED_COUNT, None)
            if stored is None:
                stored = len(self._ids_after(session, tracker.sender_id, event_id))
            rows = []
            for event in events[prefix + stored :]:
                data = event.as_dict()
                rows.append(
                    {
                        "sender_id": tracker.sender_id,
                        "type_name": event.type_name,
                        "timestamp": data.get("timestamp"),
                        "intent_name": data.get("parse_data", {}).get("intent", {}).get("name"),
                        "action_name": data.get("name"),
                        "data": json.dumps(data),
                    }
                )
            # One statement for all of them (the ORM would send one INSERT per event).
            if rows:
                session.execute(self.SQLEvent.__table__.insert(), rows)
            tail = events[prefix:]
            if sum(isinstance(event, UserUttered) for event in tail) >= self.checkpoint_turns:
                self._move_checkpoint(session, tracker.sender_id, events, prefix, event_id)
            session.commit()
        setattr(tracker, STORED_COUNT, len(events) - prefix)

    def _move_checkpoint(
        self,
        session: Any,
        sender_id: str,
        events: List[Event],
        prefix: int,
        checkpoint_id: Optional[int],
    ) -> None:
        """Stores a checkpoint `keep_turns` user turns back, where the state allows one."""
        cut = choose_cut(sender_id, events, self.domain.slots if self.domain else [], self.keep_turns)
        if cut is None or cut[0] <= prefix:
            # No place to cut yet (for example, inside a long form).
            return
        # The ids are read only when there is a cut to store: not on every message of a long form.
        ids = self._ids_after(session, sender_id, checkpoint_id)
        if len(ids) != len(events) - prefix:
            logger.warning(
                "Tracker of %s does not match its stored events (%d vs %d); checkpoint kept.",
                sender_id,
                len(events) - prefix,
                len(ids),
            )
            return
        index, slots = cut
        event_id = ids[index - prefix - 1]
        data = json.dumps(slots)
        row = session.get(TrackerCheckpoint, sender_id)
        if row is None:
            session.add(TrackerCheckpoint(sender_id=sender_id, event_id=event_id, slots=data))
        else:
            row.event_id, row.slots = event_id, data
