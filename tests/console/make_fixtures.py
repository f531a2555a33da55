"""Produces tracker fixtures for the staff console with a REAL Rasa run.

Starts the project's action server and Rasa server (from the Rasa virtual environment `.venv`,
with the trained model) on their own ports with a temporary SQLite tracker store, sends a small
set of scripted conversations over the REST channel, stops the servers and leaves the SQLite file
behind. Nothing here is hand-written tracker JSON: every event in the file was written by Rasa.

The test suite calls `generate()` at test time (no database goes into git). By hand:

    .venv-console/bin/python tests/console/make_fixtures.py --db /tmp/fixtures.db

Environment: BTS_CONSOLE_FIXTURE_RASA_PORT, BTS_CONSOLE_FIXTURE_ACTIONS_PORT (default: free ports
picked at start, so a server someone else runs on the same host is never used by mistake),
BTS_CONSOLE_TEST_MODEL (a model file; default: the model for the current training data, else the
newest one in models/).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

ROOT = Path(__file__).resolve().parents[2]
RASA_PYTHON = ROOT / ".venv" / "bin" / "python"
READY_TIMEOUT_S = 300

# Scripted conversations: sender id -> patient messages, sent in order.
SCRIPTS: Dict[str, List[str]] = {
    "fixture-greeting": ["hello", "what can you do?", "thanks", "bye"],
    "fixture-faq": ["hi", "what is sciatica?", "how long does sciatica last", "what are your opening hours"],
    "fixture-red-flag": ["hi", "I can't control my bladder"],
    "fixture-fallback": ["hi", "xqzt blorf vrrmm kkkj"],
    "fixture-out-of-scope": ["hi", "can you order me a pepperoni pizza"],
    "fixture-xss": ["<script>alert(1)</script> my back hurts", "<img src=x onerror=alert(1)>"],
    "fixture-contact": ["my number is 575-555-0199 and my email is jane.doe@example.com, when are you open?"],
}

# Answers for a booking form, by requested slot (used only when the domain has a booking flow).
BOOKING_ANSWERS: Dict[str, str] = {
    "booking_name": "Jane Example",
    "booking_phone": "+15755550123",
    "booking_email": "jane@example.com",
    "booking_time": "next Tuesday at 10 am",
    "booking_reason": "sciatica in my left leg",
    "booking_patient_type": "new patient",
    "booking_insurance": "Medicare",
    "booking_confirmed": "Yes, send it",
}
BOOKING_SENDER = "fixture-booking"


def find_model() -> Optional[Path]:
    """The model to serve: BTS_CONSOLE_TEST_MODEL, the current one, or the newest; None if none."""
    explicit = os.environ.get("BTS_CONSOLE_TEST_MODEL")
    if explicit:
        return Path(explicit) if Path(explicit).exists() else None
    try:
        from bts.dev.model_files import current_model  # stdlib only, importable from any venv

        current = current_model()
        if current.exists():
            return current
    except Exception:  # noqa: BLE001 - fall back to the newest model below
        pass
    models = sorted((ROOT / "models").glob("bts-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def unavailable_reason() -> Optional[str]:
    """Why a real Rasa run is not possible here, or None when it is."""
    if not RASA_PYTHON.exists():
        return "the Rasa virtual environment .venv is missing (make venv)"
    if find_model() is None:
        return "no trained model in models/ (make train)"
    return None


def domain_has_booking_flow() -> bool:
    """True once the domain declares the `booking_reference` slot (the booking issue)."""
    text = (ROOT / "domain.yml").read_text(encoding="utf-8")
    return "booking_reference:" in text


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port(name: str) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else free_port()


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read() or b"null")


def _post(url: str, payload: Dict[str, Any], timeout: float = 60) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def servers(db: Path, workdir: Path, model: Path) -> Iterator[str]:
    """Runs the action server and Rasa (REST channel + HTTP API on localhost) on `db`.

    Yields:
        The base URL of the Rasa server.
    """
    rasa_port, actions_port = (
        _port("BTS_CONSOLE_FIXTURE_RASA_PORT"),
        _port("BTS_CONSOLE_FIXTURE_ACTIONS_PORT"),
    )
    for port in (rasa_port, actions_port):
        if _answers(f"http://127.0.0.1:{port}/"):
            raise RuntimeError(f"port {port} is already in use by another server")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "RASA_TELEMETRY_ENABLED": "false",
        "BTS_DATABASE_URL": f"sqlite:///{db}",
        # The action server refuses calls without this token; dev makes the channels' secrets.
        "BTS_ACTION_TOKEN": secrets.token_urlsafe(32),
        "BTS_PROFILE": "dev",
    }
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text(
        f'action_endpoint:\n  url: "http://localhost:{actions_port}/webhook"\n'
        "  headers:\n    X-BTS-Action-Token: ${BTS_ACTION_TOKEN}\n"
        f'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "{db}"\n',
        encoding="utf-8",
    )
    commands = {
        "actions": [str(RASA_PYTHON), "-m", "bts.runtime.action_server", "--port", str(actions_port)],
        "rasa": [
            str(RASA_PYTHON),
            "-m",
            "rasa",
            "run",
            "--model",
            str(model),
            "--port",
            str(rasa_port),
            "--endpoints",
            str(endpoints),
            "--credentials",
            str(ROOT / "credentials.yml"),
            "--enable-api",
            "--interface",
            "127.0.0.1",
        ],
    }
    ready = {
        "actions": f"http://127.0.0.1:{actions_port}/health",
        "rasa": f"http://127.0.0.1:{rasa_port}/webhooks/rest/",
    }
    procs: Dict[str, subprocess.Popen] = {}
    try:
        for name in ("actions", "rasa"):
            log = open(workdir / f"{name}.log", "ab")
            procs[name] = subprocess.Popen(
                commands[name],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            deadline = time.monotonic() + READY_TIMEOUT_S
            while not _answers(ready[name]):
                if procs[name].poll() is not None:
                    tail = (workdir / f"{name}.log").read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"{name} exited during start-up:\n{tail}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} not ready after {READY_TIMEOUT_S} s")
                time.sleep(0.5)
            time.sleep(0.5)
            if procs[name].poll() is not None:  # e.g. its port was taken meanwhile
                raise RuntimeError(f"{name} exited right after start-up; see {workdir / (name + '.log')}")
        yield f"http://127.0.0.1:{rasa_port}"
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def run_booking(base: str, sender: str, max_turns: int = 15) -> bool:
    """Walks a booking form by answering each requested slot; True once a reference was set."""
    send = f"{base}/webhooks/rest/webhook"
    _post(send, {"sender": sender, "message": "I'd like to book an appointment"})
    for _ in range(max_turns):
        tracker = _get(f"{base}/conversations/{sender}/tracker")
        slots = tracker.get("slots", {})
        if slots.get("booking_reference"):
            return True
        requested = slots.get("requested_slot")
        answer = BOOKING_ANSWERS.get(str(requested), "yes") if requested else "yes"
        _post(send, {"sender": sender, "message": answer})
    return bool(_get(f"{base}/conversations/{sender}/tracker").get("slots", {}).get("booking_reference"))


def generate(db: Path, workdir: Optional[Path] = None) -> Dict[str, Any]:
    """Runs the scripted conversations through real servers into the SQLite file `db`.

    Returns:
        {"senders": [...], "booking": bool (a booking conversation completed), "model": name}.
    """
    reason = unavailable_reason()
    if reason:
        raise RuntimeError(reason)
    model = find_model()
    assert model is not None
    workdir = workdir or db.parent
    db.parent.mkdir(parents=True, exist_ok=True)
    booked = False
    with servers(db, workdir, model) as base:
        send = f"{base}/webhooks/rest/webhook"
        for sender, messages in SCRIPTS.items():
            for message in messages:
                _post(send, {"sender": sender, "message": message})
        if domain_has_booking_flow():
            booked = run_booking(base, BOOKING_SENDER)
    return {"senders": list(SCRIPTS), "booking": booked, "model": model.name}


def main(argv: Optional[List[str]] = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True, help="SQLite file to write (created)")
    args = parser.parse_args(argv)
    result = generate(args.db.resolve())
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
