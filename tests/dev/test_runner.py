"""The dev runner (`make run`): per-run secrets, how each server starts, private and rotated logs."""

from __future__ import annotations

import io
import os
import stat
import time
from pathlib import Path

from bts.dev import logs, runner


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_each_run_makes_its_own_secrets_unless_they_are_set() -> None:
    first, second = runner.run_secrets({}), runner.run_secrets({})
    assert first["BTS_PROFILE"] == "dev"
    assert len(first["BTS_ACTION_TOKEN"]) >= 32 and first["BTS_ACTION_TOKEN"] != second["BTS_ACTION_TOKEN"]
    assert len(first["BTS_SESSION_SECRET"]) >= 32
    assert first["BTS_WEBHOOK_URL"] == "http://localhost:8099/webhook"
    given = runner.run_secrets({"BTS_ACTION_TOKEN": "a" * 40, "BTS_WEBHOOK_URL": "https://clinic.example/h"})
    assert given["BTS_ACTION_TOKEN"] == "a" * 40 and "BTS_WEBHOOK_URL" not in given


def test_servers_start_through_our_entry_points_on_loopback() -> None:
    commands = {s.name: s.command for s in runner.services("py", Path("m.tar.gz"), {})}
    assert commands["actions"] == ["py", "-m", "bts.runtime.action_server", "--host", "127.0.0.1",
                                   "--port", "5055"]
    rasa = commands["rasa"]
    assert rasa[:3] == ["py", "-m", "bts.runtime.server"]
    assert rasa[rasa.index("--interface") + 1] == "127.0.0.1"
    assert rasa[rasa.index("--cors") + 1] == "http://localhost:8080"
    assert commands["widget"][:3] == ["py", "-m", "bts.widget_server"]


def test_var_becomes_private_to_its_owner(tmp_path: Path) -> None:
    var = tmp_path / "var"
    (var / "log").mkdir(parents=True)
    for name in ("bts.db", "bts.db-wal", "log/rasa.log"):
        (var / name).write_text("patient data")
        os.chmod(var / name, 0o644)
    os.chmod(var, 0o755)
    logs.secure_tree(var)
    assert mode(var) == 0o700 and mode(var / "log") == 0o700
    assert {mode(var / n) for n in ("bts.db", "bts.db-wal", "log/rasa.log")} == {0o600}


def test_output_goes_to_a_private_log_file(tmp_path: Path) -> None:
    log = tmp_path / "rasa.log"
    thread = logs.pump_to_log(io.BytesIO(b"started\nbad byte \xff\n"), log, retention_days=3)
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert log.read_text(encoding="utf-8") == "started\nbad byte \ufffd\n"
    assert mode(log) == 0o600


def test_rotated_logs_are_kept_for_the_retention_period_only(tmp_path: Path) -> None:
    log = tmp_path / "rasa.log"
    for day in range(1, 7):
        (tmp_path / f"rasa.log.2026-11-0{day}").write_text("old")
    handler = logs.rotating_handler(log, retention_days=3)
    handler.doRollover()
    handler.close()
    kept = sorted(p.name for p in tmp_path.glob("rasa.log.*"))
    assert len(kept) == 3 and "rasa.log.2026-11-01" not in kept


def test_logs_older_than_the_retention_period_are_deleted_at_start(tmp_path: Path) -> None:
    old, recent = tmp_path / "worker.log.2026-01-01", tmp_path / "worker.log"
    old.write_text("old")
    recent.write_text("recent")
    now = time.time()
    os.utime(old, (now - 20 * 86400, now - 20 * 86400))
    logs.sweep_old_logs(tmp_path, retention_days=14, now=now)
    assert not old.exists() and recent.exists()
