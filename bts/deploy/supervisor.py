"""Starts supervisord on the rendered configuration and talks to it over its Unix socket (XML-RPC)."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import time
import xmlrpc.client
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

from bts.deploy.layout import open_log
from bts.deploy.render import binary
from bts.deploy.settings import ProfileError

STOP_TIMEOUT_S = 90
# States of a process that is not coming up again by itself (EXITED is followed by a restart).
GAVE_UP = ("FATAL", "STOPPED")


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(30)
        sock.connect(self.path)
        self.sock = sock


class _UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        return _UnixConnection(self.path)


class Supervisor:
    """One supervisord process of the profile.

    Args:
        conf: The rendered supervisord.conf.
        socket_path: Its Unix socket (from the same configuration).
        log_file: Where supervisord's own start-up output goes.
    """

    def __init__(self, conf: Path, socket_path: Path, log_file: Path) -> None:
        self.conf = conf
        self.socket_path = socket_path
        self.log_file = log_file
        self.proc: Optional[subprocess.Popen] = None

    def _rpc(self) -> Any:
        return xmlrpc.client.ServerProxy("http://localhost", transport=_UnixTransport(str(self.socket_path)))

    def start(self, env: Mapping[str, str], timeout: float = 30) -> None:
        """Starts supervisord in the foreground of its own session; returns once it answers.

        Raises:
            ProfileError: When it exits or does not answer in time.
        """
        with open_log(self.log_file) as handle:
            # supervisord's own `umask` setting applies only when it daemonizes: its log files and
            # every process it starts get this one.
            self.proc = subprocess.Popen([binary("supervisord"), "-c", str(self.conf)], env=dict(env),
                                         stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
                                         umask=0o077)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = self.log_file.read_text(errors="replace")[-2000:]
                raise ProfileError(f"supervisord exited with code {self.proc.returncode}:\n{tail}")
            try:
                if self._rpc().supervisor.getState()["statename"] == "RUNNING":
                    return
            except (OSError, xmlrpc.client.Error):
                pass
            time.sleep(0.2)
        raise ProfileError(f"supervisord did not answer within {timeout:.0f} s; see {self.log_file}")

    @property
    def running(self) -> bool:
        """True while supervisord itself runs."""
        return self.proc is not None and self.proc.poll() is None

    def info(self, name: str) -> Dict[str, Any]:
        """Supervisord's record of a process: `statename`, `pid`, `exitstatus`, ..."""
        return dict(self._rpc().supervisor.getProcessInfo(name))

    def states(self) -> Dict[str, str]:
        """Every process's state (RUNNING, STARTING, BACKOFF, STOPPED, FATAL, ...)."""
        return {p["name"]: p["statename"] for p in self._rpc().supervisor.getAllProcessInfo()}

    def start_process(self, name: str) -> None:
        """Asks supervisord to start `name` without waiting (readiness is checked by the caller)."""
        try:
            self._rpc().supervisor.startProcess(name, False)
        except xmlrpc.client.Fault as fault:
            if "ALREADY_STARTED" not in fault.faultString:
                raise ProfileError(f"supervisord could not start {name}: {fault.faultString}") from fault

    def stop_process(self, name: str) -> None:
        """Stops `name` and waits until it has stopped."""
        try:
            self._rpc().supervisor.stopProcess(name, True)
        except xmlrpc.client.Fault as fault:
            if "NOT_RUNNING" not in fault.faultString:
                raise ProfileError(f"supervisord could not stop {name}: {fault.faultString}") from fault

    def pid(self, name: str) -> int:
        """The process id of `name` (0 when it does not run)."""
        return int(self.info(name)["pid"])

    def signal(self, name: str, sig: int) -> None:
        """Sends `sig` to the process itself, as a crash or an operator would."""
        pid = self.pid(name)
        if not pid:
            raise ProfileError(f"{name} is not running")
        os.kill(pid, sig)

    def stop(self) -> None:
        """Stops every process (in reverse start order) and supervisord itself."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
