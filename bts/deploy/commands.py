"""The command line of every process the production profile starts: the one place to change them.

Every command reads its settings from the environment that supervisord passes on (see
`render.service_env`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List

PYTHON = sys.executable


def rasa(port: int, model: Path, endpoints: Path, credentials: Path) -> List[str]:
    """One Rasa replica: REST and socket.io channels on 127.0.0.1, HTTP API off."""
    args = ["--model", str(model), "--interface", "127.0.0.1", "--port", str(port),
            "--endpoints", str(endpoints), "--credentials", str(credentials)]
    # The entry point applies our runtime patches and runs `rasa run` with these arguments; without
    # --enable-api, Rasa's HTTP API is off.
    return [PYTHON, "-m", "bts.runtime.server", *args]


def actions(port: int) -> List[str]:
    """The action server on 127.0.0.1; it refuses requests without `X-BTS-Action-Token`."""
    return [PYTHON, "-m", "bts.runtime.action_server", "--host", "127.0.0.1", "--port", str(port)]


def worker(health_port: int) -> List[str]:
    """The outbox worker, with its health endpoint on 127.0.0.1."""
    return [PYTHON, "-m", "bts.booking.worker", "--health-port", str(health_port)]


def retention() -> List[str]:
    """The hourly purge of every store."""
    return [PYTHON, "-m", "bts.retention", "--loop"]


def migrations(endpoints: Path) -> List[List[str]]:
    """Commands that create or upgrade the tables, run in order as the tables' owner.

    Rasa's tracker store tables come last, from the store that `endpoints` names, so that they
    exist before a replica (which may not create tables) starts.
    """
    tracker = [PYTHON, "-m", "bts.deploy.schema", "--endpoints", str(endpoints)]
    return [[PYTHON, "-m", "bts.db", "upgrade"], tracker]


def console(python: Path) -> List[str]:
    """The staff console (its own environment), on the host and port of CONSOLE_HOST/CONSOLE_PORT."""
    return [str(python), "-m", "console", "serve"]


def receiver(port: int, data_file: Path) -> List[str]:
    """The demo receiver: a stand-in for the clinic's webhook in tests, never part of the profile."""
    return [PYTHON, "-m", "bts.booking.receiver", "--port", str(port), "--data-file", str(data_file)]
