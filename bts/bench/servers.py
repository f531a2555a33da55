"""The servers the benchmark measures.

The production profile's services run on the benchmark's own ports; the Rasa servers are started
and stopped by the benchmark itself (a different model and environment each time).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from pathlib import Path
from typing import Dict, List, Mapping, Optional

from bts.deploy import commands
from bts.deploy.layout import open_log
from bts.deploy.profile import Profile, http_answers
from bts.deploy.render import service_env
from bts.deploy.settings import ROOT, Settings

BASE_PORT = 6200


def bench_settings(state: Path, replicas: int = 2) -> Settings:
    """The profile of the benchmark: ports 62xx, no limits that would measure nginx instead of Rasa.

    Its Rasa servers are not supervisord's (no model here): the benchmark starts them itself.
    """
    return Settings(
        state_dir=state,
        model=None,
        replicas=replicas,
        public_addr="127.0.0.1",
        https_port=BASE_PORT + 43,
        http_port=0,
        rasa_base_port=BASE_PORT + 5,
        actions_port=BASE_PORT + 55,
        pg_port=BASE_PORT + 32,
        redis_port=BASE_PORT + 79,
        worker_port=BASE_PORT + 98,
        console=False,
        rate="100000r/s",
        burst=10000,
        max_conn=10000,
        max_sockets=10000,
        pg_password=secrets.token_hex(16),
        redis_password=secrets.token_hex(16),
        # Bookings are not part of the benchmark's questions; nothing listens here.
        webhook_url=f"http://127.0.0.1:{BASE_PORT + 99}/webhook",
        webhook_secret=secrets.token_hex(16),
    )


def start_profile(profile: Profile) -> None:
    """PostgreSQL, Redis and the action server of the benchmark's profile."""
    profile.start_base()
    profile.start("actions")


def rasa_command(profile: Profile, port: int, model: Path, endpoints: Path, stock: bool) -> List[str]:
    """Stock runs Rasa's own `rasa run`; ours the command of the production profile."""
    command = commands.rasa(port, model, endpoints, profile.s.credentials)
    if stock:
        first = command.index("--model")
        return [commands.PYTHON, "-m", "rasa", "run", *command[first:]]
    return command


class RasaServer:
    """One Rasa server process, with its log in the profile's log folder.

    Args:
        profile: The profile whose PostgreSQL, Redis and action server it uses.
        index: Which replica port (0-based).
        db: Its database (see `Profile.prepare_database`).
        model: The model it serves.
        endpoints: Its endpoints file.
        stock: Rasa's own server, else ours.
        extra_env: Environment on top of the profile's (TensorFlow threads).
    """

    def __init__(self, profile: Profile, index: int, db: str, model: Path, endpoints: Path, stock: bool,
                 extra_env: Optional[Mapping[str, str]] = None) -> None:
        self.port = profile.s.rasa_ports[index]
        self.log_file = profile.log_dir / f"bench-rasa-{index + 1}.log"
        env: Dict[str, str] = service_env(profile.s, profile.layout, db=db)
        env.update(extra_env or {})
        command = rasa_command(profile, self.port, model, endpoints, stock)
        with open_log(self.log_file) as handle:
            self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.proc.pid

    def wait_http(self, timeout: float = 240) -> float:
        """Waits until the server's HTTP port answers; returns the seconds waited.

        Raises:
            RuntimeError: When it exits or does not answer in time.
        """
        started = time.monotonic()
        while time.monotonic() < started + timeout:
            if self.proc.poll() is not None:
                tail = self.log_file.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"Rasa exited with code {self.proc.returncode}; its log ends:\n{tail}")
            if http_answers(f"http://127.0.0.1:{self.port}/webhooks/rest/"):
                return time.monotonic() - started
            time.sleep(0.2)
        raise RuntimeError(f"Rasa not ready after {timeout:.0f} s; see {self.log_file}")

    def stop(self) -> None:
        """Stops the server (SIGTERM, then SIGKILL after 15 s)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
