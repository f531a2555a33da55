"""A throw-away PostgreSQL cluster in a temporary directory, for tests that need a real server.

Skipped when the PostgreSQL server binaries are not installed. As root, the server runs as the
`postgres` user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from typing import Any, Iterator, List, Optional

import psycopg2
import pytest

from tests.faults.harness import free_port


def _pg_bin() -> Optional[str]:
    found = shutil.which("pg_ctl")
    if found:
        return os.path.dirname(os.path.realpath(found))
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return os.path.dirname(candidates[-1]) if candidates else None


class Postgres:
    """A temporary PostgreSQL cluster with a superuser `bts` and trust authentication."""

    def __init__(self, bindir: str) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="bts-pg-")
        self.data = os.path.join(self.dir, "data")
        self.prefix: List[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", self.data, "-A", "trust", "-U", "bts", "--no-sync", "-E", "UTF8")
        self.start()
        with self.connect("postgres") as conn:
            conn.cursor().execute("SELECT 1")

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.prefix, os.path.join(self.bindir, tool), *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "server.log"), "-w", "-o", options,
                  "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def connect(self, database: str) -> Any:
        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="bts", dbname=database)
        conn.autocommit = True
        return conn

    def new_database(self, name: str) -> str:
        conn = self.connect("postgres")
        try:
            conn.cursor().execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return f"postgresql://bts@127.0.0.1:{self.port}/{name}"

    def destroy(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    bindir = _pg_bin()
    if bindir is None or not os.path.exists(os.path.join(bindir, "initdb")):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    if os.geteuid() == 0 and (shutil.which("runuser") is None or not _has_user("postgres")):
        pytest.skip("running as root without a postgres user to run the server as")
    server = Postgres(bindir)
    yield server
    server.destroy()


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False
