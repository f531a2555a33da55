"""The spool: requests kept on local disk while the database is unreachable.

An append-only JSON-lines file, replayed into the database by the outbox worker. Its lines hold
health information, so the file and its folder are readable by their owner only.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional

from bts.db.engine import FILE_MODE, private_dir
from bts.db.schema import to_utc


def _matches(line: str, condition: Callable[[Dict[str, Any]], bool]) -> bool:
    try:
        record = json.loads(line)
        return isinstance(record, dict) and bool(condition(record))
    except (ValueError, KeyError, TypeError):
        return False


def _rewrite(path: Path, lines: List[str]) -> None:
    if not lines:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in lines))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class Spool:
    """Append-only JSON-lines file that keeps requests while the database is unreachable.

    Appends and the hand-over to a replay take a lock on a separate `.lock` file, so several
    processes can spool at once. A replay first renames the file to `.replaying`; lines are
    removed only after all of them are in the database.

    Args:
        path: The spool file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")
        self.replaying_path = path.with_name(path.name + ".replaying")
        self.rejected_path = path.with_name(path.name + ".rejected")

    @contextlib.contextmanager
    def _locked(self, lock_path: Optional[Path] = None, blocking: bool = True) -> Iterator[bool]:
        lock_path = lock_path or self.lock_path
        private_dir(lock_path.parent)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _fsync_dir(self) -> None:
        with contextlib.suppress(OSError):
            fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def append(self, record: Mapping[str, Any]) -> None:
        """Appends one request and forces it to disk before returning.

        Args:
            record: The request, JSON-serialisable.

        Raises:
            OSError: If the file cannot be written.
        """
        line = (json.dumps(dict(record), ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
        with self._locked():
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        self._fsync_dir()

    def pending(self) -> bool:
        """Whether requests wait in the spool (or in an interrupted replay)."""
        return any(p.exists() and p.stat().st_size > 0 for p in (self.path, self.replaying_path))

    def _read_lines(self, path: Path) -> List[str]:
        if not path.exists():
            return []
        return path.read_text(encoding="utf-8", errors="replace").splitlines()

    def records(self) -> List[Dict[str, Any]]:
        """All readable spooled requests, oldest first (for look-ups while the database is down)."""
        found: List[Dict[str, Any]] = []
        for path in (self.replaying_path, self.path):
            for line in self._read_lines(path):
                with contextlib.suppress(ValueError):
                    record = json.loads(line)
                    if isinstance(record, dict):
                        found.append(record)
        return found

    @contextlib.contextmanager
    def replay(self) -> Iterator[Optional[List[str]]]:
        """Hands the spooled lines to one replaying process.

        Yields:
            The lines to replay, or None when another process is replaying right now. If the
            body finishes without an exception, the lines are removed; otherwise they stay
            for the next replay.
        """
        with self._locked(self.path.with_name(self.path.name + ".replay-lock"), blocking=False) as got:
            if not got:
                yield None
                return
            with self._locked():
                if not self.replaying_path.exists() and self.path.exists():
                    os.replace(self.path, self.replaying_path)
                    self._fsync_dir()
            lines = [line for line in self._read_lines(self.replaying_path) if line.strip()]
            yield lines
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.replaying_path)
            self._fsync_dir()

    def drop_where(self, condition: Callable[[Dict[str, Any]], bool]) -> int:
        """Removes the spooled requests for which `condition` is true; unreadable lines stay.

        Returns:
            The number of requests removed.
        """
        removed = 0
        with self._locked():
            for path in (self.path, self.replaying_path):
                lines = self._read_lines(path)
                kept = [line for line in lines if not _matches(line, condition)]
                removed += len(lines) - len(kept)
                if len(kept) != len(lines):
                    _rewrite(path, kept)
        return removed

    def drop_older_than(self, cutoff: datetime) -> int:
        """Removes spooled requests made before `cutoff` (naive or aware UTC); see `drop_where`."""
        return self.drop_where(lambda record: to_utc(record["created_at"]) < to_utc(cutoff))

    def reject(self, line: str) -> None:
        """Keeps an unreadable line aside in the `.rejected` file instead of dropping it."""
        fd = os.open(self.rejected_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
        try:
            os.write(fd, (line.rstrip("\n") + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
