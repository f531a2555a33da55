"""The dev runner's log files: owner-only, rotated daily, deleted after a retention period."""

from __future__ import annotations

import logging
import logging.handlers
import os
import threading
import time
from pathlib import Path
from typing import IO


def secure_tree(root: Path) -> None:
    """Makes `root` and every folder below it 0700 and every file 0600 (they hold patient data)."""
    if not root.exists():
        return
    os.chmod(root, 0o700)
    for path in root.rglob("*"):
        if path.is_symlink():
            continue
        os.chmod(path, 0o700 if path.is_dir() else 0o600)


def sweep_old_logs(log_dir: Path, retention_days: int, now: float = 0.0) -> None:
    """Deletes log files (current or rotated) last written more than `retention_days` days ago."""
    limit = (now or time.time()) - retention_days * 86400
    for path in log_dir.glob("*.log*"):
        if path.is_file() and path.stat().st_mtime < limit:
            path.unlink()


def rotating_handler(path: Path, retention_days: int) -> logging.handlers.TimedRotatingFileHandler:
    """A handler writing lines to `path`, rotated at midnight, keeping `retention_days` old files."""
    handler = logging.handlers.TimedRotatingFileHandler(
        path, when="midnight", backupCount=retention_days, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(message)s"))
    os.chmod(path, 0o600)
    return handler


def pump_to_log(stream: IO[bytes], path: Path, retention_days: int) -> threading.Thread:
    """Copies a process's output, line by line, into its rotated log file (in a daemon thread)."""
    handler = rotating_handler(path, retention_days)

    def pump() -> None:
        try:
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", errors="replace").rstrip("\n")
                handler.emit(logging.LogRecord(path.stem, logging.INFO, "", 0, line, None, None))
        finally:
            handler.close()

    thread = threading.Thread(target=pump, name=f"log-{path.stem}", daemon=True)
    thread.start()
    return thread
