"""A throw-away PostgreSQL cluster for the console tests (as root, the server runs as `postgres`)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from typing import List, Optional


def server_binaries() -> Optional[str]:
    """The folder of initdb and pg_ctl, or None when PostgreSQL's server is not installed."""
    found = shutil.which("pg_ctl")
    candidates = [os.path.dirname(os.path.realpath(found))] if found else []
    candidates += sorted(os.path.dirname(p) for p in glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    for bindir in candidates:
        if os.path.exists(os.path.join(bindir, "initdb")):
            return bindir
    return None


def can_run() -> Optional[str]:
    """None if a cluster can be started here, otherwise why not."""
    if server_binaries() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a postgres user to run the server as"
        if shutil.which("runuser") is None:
            return "running as root without runuser"
    return None


class Cluster:
    """initdb + pg_ctl in a temporary folder; superuser `bts` with trust authentication."""

    def __init__(self) -> None:
        bindir = server_binaries()
        assert bindir, "no PostgreSQL server binaries"
        self.bindir = bindir
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.dir = tempfile.mkdtemp(prefix="bts-console-pg-")
        self.prefix: List[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]
        data = os.path.join(self.dir, "data")
        self._run("initdb", "-D", data, "-A", "trust", "-U", "bts", "--no-sync", "-E", "UTF8")
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = os.path.join(self.dir, "server.log")
        self._run("pg_ctl", "-D", data, "-l", log, "-w", "-o", options, "start")
        self.data = data

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.prefix, os.path.join(self.bindir, tool), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
        )

    @property
    def url(self) -> str:
        return f"postgresql://bts@127.0.0.1:{self.port}/postgres"

    def destroy(self) -> None:
        try:
            self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
