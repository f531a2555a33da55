"""The whole production profile, started once for the scale tests (bts/deploy under supervisord).

PostgreSQL, Redis, the action server, the outbox worker, the purge, two Rasa replicas, nginx and
(when .venv-console exists) the staff console run on their own 61xx ports with a throw-away state
folder, so the tests neither disturb nor depend on a `make run-prod` or `make run` going on at the
same time. Bookings go to a demo receiver that stands in for the clinic's webhook. Every secret is
generated for the run. The folder (logs included) is kept when a test fails.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from bts.deploy import commands
from bts.deploy.profile import Profile
from bts.deploy.settings import ROOT, Settings, console_python
from scripts.model_files import current_model

ALLOWED_ORIGIN = "https://clinic.example"
RECEIVER_PORT = 6199


def scale_settings(state: Path, model: Path) -> Settings:
    """The profile of the scale tests: two replicas, TLS on 127.0.0.1:6143."""
    return Settings(
        state_dir=state,
        model=model,
        replicas=2,
        public_addr="127.0.0.1",
        https_port=6143,
        http_port=6180,
        rasa_base_port=6105,
        actions_port=6155,
        pg_port=6132,
        redis_port=6181,
        worker_port=6198,
        console_https_port=6144,
        console_port=6190,
        console=console_python().exists(),
        allowed_origins=[ALLOWED_ORIGIN],
        rate="10r/s",
        burst=20,
        max_conn=20,
        max_sockets=4,
        pg_password=secrets.token_urlsafe(18),
        redis_password=secrets.token_urlsafe(18),
        webhook_url=f"http://127.0.0.1:{RECEIVER_PORT}/webhook",
        webhook_secret=secrets.token_hex(32),
        console_secret=secrets.token_urlsafe(48),
    )


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    """Polls `url` until it answers; fails when `proc` exits or the deadline passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the demo receiver exited with {proc.returncode}"
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"{url} did not answer within {timeout:.0f} s")


@pytest.fixture(scope="session")
def receiver_token() -> str:
    return secrets.token_urlsafe(24)


@pytest.fixture(scope="session")
def profile(request: pytest.FixtureRequest, receiver_token: str) -> Iterator[Profile]:
    model = Path(os.environ.get("BTS_SCALE_MODEL") or current_model())
    if not model.exists():
        pytest.fail(f"no trained model {model.name}: run `make train` first")
    state = Path(tempfile.mkdtemp(prefix="bts-scale-"))
    running = Profile(scale_settings(state, model), log=print)
    # The clinic's side: the demo receiver, started by the test and never by the profile.
    receiver_log = open(state / "receiver.log", "ab")  # noqa: SIM115
    receiver = subprocess.Popen(
        commands.receiver(RECEIVER_PORT, state / "received.json"), cwd=ROOT, stdout=receiver_log,
        stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "BTS_WEBHOOK_SECRET": running.s.webhook_secret,
             "BTS_RECEIVER_TOKEN": receiver_token},
    )
    failed_before = request.session.testsfailed
    try:
        wait_for(f"http://127.0.0.1:{RECEIVER_PORT}/health", receiver)
        running.start_all()
    except BaseException:
        running.stop_all()
        os.killpg(receiver.pid, signal.SIGTERM)
        print(f"\nthe profile did not start; state and logs kept in {state}")
        raise
    try:
        yield running
    finally:
        running.stop_all()
        os.killpg(receiver.pid, signal.SIGTERM)
        receiver.wait(timeout=15)
        receiver_log.close()
        if request.session.testsfailed == failed_before:
            shutil.rmtree(state, ignore_errors=True)
        else:
            print(f"\nscale test state and logs kept in {state}")
