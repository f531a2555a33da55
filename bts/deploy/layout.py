"""Where the profile keeps its state, and the folders and certificate it needs before starting."""

from __future__ import annotations

import os
import subprocess
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Optional

from bts.deploy.settings import ProfileError, Settings


@dataclass(frozen=True)
class Layout:
    """Paths under the state folder (`BTS_PROD_DIR`)."""

    state: Path

    @property
    def log_dir(self) -> Path:
        """Every process's log, rotated by supervisord (0700, files 0600)."""
        return self.state / "log"

    @property
    def pg_data(self) -> Path:
        """The PostgreSQL cluster."""
        return self.state / "pg" / "data"

    @property
    def pg_socket_dir(self) -> Path:
        """PostgreSQL's Unix socket (peer authentication for the superuser)."""
        return self.state / "pg" / "run"

    @property
    def redis_dir(self) -> Path:
        """Redis's configuration (with its password, 0600) and working folder."""
        return self.state / "redis"

    @property
    def nginx_dir(self) -> Path:
        """Nginx's rendered configuration, pid and temporary files."""
        return self.state / "nginx"

    @property
    def nginx_conf(self) -> Path:
        """The rendered nginx configuration."""
        return self.nginx_dir / "nginx.conf"

    @property
    def supervisor_dir(self) -> Path:
        """Supervisord's rendered configuration, socket and pid file (0700)."""
        return self.state / "supervisor"

    @property
    def supervisor_conf(self) -> Path:
        """The rendered supervisord configuration."""
        return self.supervisor_dir / "supervisord.conf"

    @property
    def tls_dir(self) -> Path:
        """The self-signed certificate, when no real one is configured."""
        return self.state / "tls"

    @property
    def spool_file(self) -> Path:
        """Bookings written while the database is down (docs/booking-integration.md)."""
        return self.state / "spool" / "bookings.jsonl"

    def private_folders(self) -> list[Path]:
        """Folders only root may enter: logs, keys, the spool, supervisord's socket."""
        return [self.log_dir, self.tls_dir, self.spool_file.parent, self.supervisor_dir]


def open_log(path: Path) -> BinaryIO:
    """Opens a log file for appending, readable by its owner only (logs can hold health data)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "ab")


def cert_path(settings: Settings, layout: Layout) -> Path:
    """The TLS certificate nginx serves (clients of a local profile trust this file)."""
    return settings.tls_cert or layout.tls_dir / "cert.pem"


def key_path(settings: Settings, layout: Layout) -> Path:
    """The certificate's private key."""
    return settings.tls_key or layout.tls_dir / "key.pem"


def database_url(settings: Settings, db: Optional[str] = None, owner: bool = False, driver: str = "") -> str:
    """URL of the project database, as the applications' role or as the owner.

    Args:
        settings: The profile's settings.
        db: The database (default: the project's).
        owner: As the tables' owner instead of the applications' role.
        driver: SQLAlchemy's driver name (`psycopg2`): the console's SQLAlchemy 2 would pick
            another default than Rasa's SQLAlchemy 1.4.
    """
    user = settings.pg_owner if owner else settings.pg_user
    secret = settings.pg_owner_password if owner else settings.pg_password
    password = urllib.parse.quote(secret, safe="")
    scheme = f"postgresql+{driver}" if driver else "postgresql"
    return f"{scheme}://{user}:{password}@127.0.0.1:{settings.pg_port}/{db or settings.pg_db}"


def make_folders(settings: Settings, layout: Layout) -> None:
    """Creates the state folders with their modes (0711 for the state, 0700 for private ones).

    Raises:
        ProfileError: When run as root and an ancestor of the state folder is closed to the
            service accounts (PostgreSQL and Redis run as their own users).
    """
    state = layout.state
    state.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        for ancestor in state.resolve().parents:
            if not ancestor.stat().st_mode & 0o001:
                raise ProfileError(
                    f"{ancestor} is not searchable by other users, so PostgreSQL and Redis (which run "
                    f"as their own users) cannot reach {state}; choose another BTS_PROD_DIR or "
                    f"chmod o+x {ancestor}"
                )
    # The service accounts traverse into their own folders but may list nothing else.
    state.chmod(0o711)
    (layout.nginx_dir / "tmp").mkdir(parents=True, exist_ok=True)
    for folder in layout.private_folders():
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)


def make_certificate(settings: Settings, layout: Layout, log: Callable[[str], None]) -> None:
    """Makes a self-signed certificate for the server name unless a valid one is there."""
    cert, key = layout.tls_dir / "cert.pem", layout.tls_dir / "key.pem"
    if cert.exists() and key.exists():
        still_valid = subprocess.run(
            ["openssl", "x509", "-checkend", str(7 * 86400), "-noout", "-in", str(cert)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ).returncode == 0
        if still_valid:
            return
    log(f"==> Making a self-signed TLS certificate for {settings.server_name}")
    san = f"DNS:{settings.server_name},DNS:localhost,IP:127.0.0.1"
    old_umask = os.umask(0o077)
    try:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-days", "365", "-subj", f"/CN={settings.server_name}",
             "-addext", f"subjectAltName={san}", "-keyout", str(key), "-out", str(cert)],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
    finally:
        os.umask(old_umask)
    key.chmod(0o600)
    cert.chmod(0o644)
