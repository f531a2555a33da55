"""The whole production profile, started once for the scale tests (deploy/prod.py).

PostgreSQL, Redis, the action server, the outbox worker, the demo receiver, two Rasa replicas
and nginx run on their own 61xx ports with a throw-away state folder, so the tests neither
disturb nor depend on a `make run-prod` or `make run` going on at the same time. Every secret is
generated for the run. The folder (logs included) is kept when a test fails.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from deploy.prod import Profile, Settings
from scripts.model_files import current_model

ALLOWED_ORIGIN = "https://clinic.example"


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
        receiver_port=6199,
        allowed_origins=[ALLOWED_ORIGIN],
        rate="10r/s",
        burst=20,
        max_conn=20,
        pg_password=secrets.token_urlsafe(18),
        redis_password=secrets.token_urlsafe(18),
        webhook_secret=secrets.token_hex(32),
    )


@pytest.fixture(scope="session")
def profile(request: pytest.FixtureRequest) -> Iterator[Profile]:
    model = Path(os.environ.get("BTS_SCALE_MODEL") or current_model())
    if not model.exists():
        pytest.fail(f"no trained model {model.name}: run `make train` first")
    state = Path(tempfile.mkdtemp(prefix="bts-scale-"))
    running = Profile(scale_settings(state, model), log=print)
    failed_before = request.session.testsfailed
    try:
        running.start_all()
    except BaseException:
        running.stop_all()
        print(f"\nthe profile did not start; state and logs kept in {state}")
        raise
    try:
        yield running
    finally:
        running.stop_all()
        if request.session.testsfailed == failed_before:
            shutil.rmtree(state, ignore_errors=True)
        else:
            print(f"\nscale test state and logs kept in {state}")
