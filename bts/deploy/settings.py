"""Settings of the production profile, read from the environment only (deploy/README.md lists them)."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Mapping, Optional

from bts import env as envvars
from bts.env import SettingsError

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"

_RATE = re.compile(r"^[1-9][0-9]*r/[sm]$")
_SIZE = re.compile(r"^[1-9][0-9]*[kKmM]?$")
_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$")
_LOG_SIZE = re.compile(r"^[1-9][0-9]*(KB|MB|GB)$")
_WEBHOOK = re.compile(r"^https?://[^\s\"'{};]+$")

# How TensorFlow runs in a replica: one process per core, so more threads only contend, and
# oneDNN's kernels are slower and larger on Rasa's small matrices (docs/benchmark.md).
REPLICA_TUNING = {
    "TF_INTRA_OP_PARALLELISM_THREADS": "1",
    "TF_INTER_OP_PARALLELISM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "TF_ENABLE_ONEDNN_OPTS": "0",
}


class ProfileError(RuntimeError):
    """A service could not be set up or did not start; the message says which and why."""


def _whole(env: Mapping[str, str], key: str, default: int, minimum: int = 0, maximum: int = 65535) -> int:
    value = envvars.whole(env, key, default, minimum)
    if value > maximum:
        raise SettingsError(f"{key}: expected a whole number from {minimum} to {maximum}, got {value}")
    return value


def _matching(env: Mapping[str, str], key: str, default: str, pattern: re.Pattern, what: str) -> str:
    raw = envvars.text(env, key) or default
    if not pattern.match(raw):
        raise SettingsError(f"{key}: expected {what}, got {raw!r}")
    return raw


def parse_origins(raw: str) -> List[str]:
    """Reads BTS_PROD_ALLOWED_ORIGINS: origins separated by commas or spaces.

    Args:
        raw: The variable's value.

    Returns:
        The origins, lower-cased, without duplicates.

    Raises:
        SettingsError: For anything that is not exactly `scheme://host[:port]` (no `*`, paths,
            quotes or trailing slashes), so that the nginx map cannot be widened or broken.
    """
    origins: List[str] = []
    for item in re.split(r"[,\s]+", raw.strip()):
        if not item:
            continue
        if not _ORIGIN.match(item):
            raise SettingsError(
                f"BTS_PROD_ALLOWED_ORIGINS: {item!r} is not an origin like https://www.example.com "
                "(scheme, host and optional port; no path, no trailing slash, no wildcard)"
            )
        if item.lower() not in origins:
            origins.append(item.lower())
    return origins


def parse_cidrs(raw: str) -> List[str]:
    """Reads BTS_PROD_REAL_IP_FROM: addresses or networks separated by commas or spaces."""
    cidrs = []
    for item in re.split(r"[,\s]+", raw.strip()):
        if item:
            try:
                cidrs.append(str(ipaddress.ip_network(item, strict=False)))
            except ValueError as exc:
                raise SettingsError(f"BTS_PROD_REAL_IP_FROM: {item!r} is not an address or network") from exc
    return cidrs


@dataclass
class Settings:
    """What the profile runs where.

    Attributes:
        state_dir: Data, logs and rendered configuration (`BTS_PROD_DIR`, var/prod).
        model: The trained model the replicas serve (`BTS_PROD_MODEL`; deploy/start.sh sets it).
        replicas: Rasa servers (`BTS_PROD_REPLICAS`, 2).
        public_addr: Address nginx listens on (`BTS_PROD_PUBLIC_ADDR`, 0.0.0.0).
        https_port: nginx HTTPS port (`BTS_PROD_HTTPS_PORT`, 6443).
        http_port: Port that redirects to HTTPS (`BTS_PROD_HTTP_PORT`, 6480; 0 = none).
        server_name: Host name of the certificate and of nginx (`BTS_PROD_SERVER_NAME`).
        rasa_base_port: First replica's port on 127.0.0.1; the others follow (`BTS_PROD_RASA_PORT`).
        actions_port: Action server port on 127.0.0.1 (`BTS_PROD_ACTIONS_PORT`, 6055).
        pg_port: PostgreSQL port on 127.0.0.1 (`BTS_PROD_PG_PORT`, 6432).
        redis_port: Redis port on 127.0.0.1 (`BTS_PROD_REDIS_PORT`, 6380).
        worker_port: Outbox worker health port (`BTS_PROD_WORKER_PORT`, 6098).
        console_https_port: nginx port of the staff console (`BTS_PROD_CONSOLE_PORT`, 6444).
        console_port: The console's own port on 127.0.0.1 (`BTS_PROD_CONSOLE_INTERNAL_PORT`, 6090).
        console: Whether the console runs (`BTS_PROD_CONSOLE`: auto = when .venv-console exists).
        allowed_origins: Origins allowed to open socket.io (`BTS_PROD_ALLOWED_ORIGINS`).
        rate: Requests per client address (`BTS_PROD_RATE_LIMIT`, 10r/s).
        burst: Requests allowed above the rate at once (`BTS_PROD_RATE_BURST`, 40).
        max_body: Request body cap, socket.io long-polling included (`BTS_PROD_MAX_BODY`, 16k).
        max_conn: Open connections per client address (`BTS_PROD_MAX_CONN`, 20).
        max_sockets: Open WebSockets per client address (`BTS_PROD_MAX_SOCKETS`, 8).
        real_ip_from: Trusted proxies whose X-Forwarded-For is believed (`BTS_PROD_REAL_IP_FROM`).
        tls_cert: Certificate (`BTS_PROD_TLS_CERT`; default a self-signed one made here).
        tls_key: Its key (`BTS_PROD_TLS_KEY`).
        lock_lifetime_s: How long a crashed replica's conversation lock blocks the conversation
            (`BTS_PROD_LOCK_LIFETIME_S`, 20; Rasa's TICKET_LOCK_LIFETIME).
        log_max_bytes: Size at which supervisord rotates a log (`BTS_PROD_LOG_MAX_BYTES`, 10MB).
        log_backups: Rotated logs kept per process (`BTS_PROD_LOG_BACKUPS`, 5).
        pg_db: Database of the tracker store, the booking and the console tables (`bts`).
        pg_user: The applications' role: data only, no DDL, no TRUNCATE (`bts`).
        pg_owner: Owner of the tables, used by migrations only (`bts_owner`).
        pg_password: `BTS_PG_PASSWORD` (required), the applications' role's password.
        pg_owner_password: The owner's password, new at every start and never stored.
        redis_password: `BTS_REDIS_PASSWORD` (required).
        action_token: Shared secret between Rasa and the action server (`BTS_ACTION_TOKEN`;
            new at every start when unset).
        session_secret: Signs the widget's session ids, the same on every replica
            (`BTS_SESSION_SECRET`; new at every start when unset, which ends open chats).
        webhook_url: `BTS_WEBHOOK_URL`, where bookings go (this or `BTS_SMTP_HOST` is required).
        webhook_secret: `BTS_WEBHOOK_SECRET`, required with a webhook.
        smtp_host: `BTS_SMTP_HOST`, e-mail delivery of bookings.
        console_secret: `CONSOLE_SECRET_KEY` (unset: sessions end when the console restarts).
        credentials: Rasa credentials file (`BTS_PROD_CREDENTIALS`, the project's credentials.yml).
    """

    state_dir: Path
    model: Optional[Path] = None
    replicas: int = 2
    public_addr: str = "0.0.0.0"
    https_port: int = 6443
    http_port: int = 6480
    server_name: str = "localhost"
    rasa_base_port: int = 6005
    actions_port: int = 6055
    pg_port: int = 6432
    redis_port: int = 6380
    worker_port: int = 6098
    console_https_port: int = 6444
    console_port: int = 6090
    console: bool = False
    allowed_origins: List[str] = field(default_factory=list)
    rate: str = "10r/s"
    burst: int = 40
    max_body: str = "16k"
    max_conn: int = 20
    max_sockets: int = 8
    real_ip_from: List[str] = field(default_factory=list)
    tls_cert: Optional[Path] = None
    tls_key: Optional[Path] = None
    lock_lifetime_s: int = 20
    log_max_bytes: str = "10MB"
    log_backups: int = 5
    pg_db: str = "bts"
    pg_user: str = "bts"
    pg_owner: str = "bts_owner"
    pg_password: str = field(default="", repr=False)
    pg_owner_password: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    redis_password: str = field(default="", repr=False)
    action_token: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    session_secret: str = field(default_factory=lambda: secrets.token_urlsafe(48), repr=False)
    webhook_url: str = ""
    webhook_secret: str = field(default="", repr=False)
    smtp_host: str = ""
    console_secret: str = field(default="", repr=False)
    credentials: Path = ROOT / "credentials.yml"

    @property
    def rasa_ports(self) -> List[int]:
        """The replicas' ports."""
        return [self.rasa_base_port + i for i in range(self.replicas)]

    @property
    def log_dir(self) -> Path:
        """Where every process logs (0700; supervisord rotates the files)."""
        return self.state_dir / "log"

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> Settings:
        """Reads the settings from the environment (see the attributes for the names).

        Raises:
            SettingsError: A value is malformed, a required secret is missing, or bookings
                would have nowhere to go.
        """
        env = os.environ if env is None else env
        missing = [k for k in ("BTS_PG_PASSWORD", "BTS_REDIS_PASSWORD") if not envvars.text(env, k)]
        if missing:
            raise SettingsError(
                "set " + " and ".join(missing) + " in the environment first (secrets are never "
                "stored in the repository), e.g.\n"
                "    export BTS_PG_PASSWORD=$(openssl rand -hex 24)\n"
                "    export BTS_REDIS_PASSWORD=$(openssl rand -hex 24)"
            )
        webhook_url = envvars.text(env, "BTS_WEBHOOK_URL")
        webhook_secret = envvars.text(env, "BTS_WEBHOOK_SECRET")
        smtp_host = envvars.text(env, "BTS_SMTP_HOST")
        if not webhook_url and not smtp_host:
            raise SettingsError(
                "bookings would go nowhere: set BTS_WEBHOOK_URL (and BTS_WEBHOOK_SECRET) or BTS_SMTP_HOST "
                "(docs/booking-integration.md); the production profile never uses the demo receiver"
            )
        if webhook_url and not _WEBHOOK.match(webhook_url):
            raise SettingsError(f"BTS_WEBHOOK_URL: expected an http(s) URL, got {webhook_url!r}")
        if webhook_url and len(webhook_secret) < 16:
            raise SettingsError("BTS_WEBHOOK_SECRET: the webhook needs a secret of at least 16 characters "
                                "to sign bookings")
        cert, key = envvars.text(env, "BTS_PROD_TLS_CERT"), envvars.text(env, "BTS_PROD_TLS_KEY")
        if bool(cert) != bool(key):
            raise SettingsError("BTS_PROD_TLS_CERT and BTS_PROD_TLS_KEY must be set together")
        model = envvars.text(env, "BTS_PROD_MODEL")
        console_mode = envvars.text(env, "BTS_PROD_CONSOLE", "auto").lower()
        if console_mode not in ("auto", "on", "off"):
            raise SettingsError(f"BTS_PROD_CONSOLE: expected auto, on or off, got {console_mode!r}")
        console_https_port = _whole(env, "BTS_PROD_CONSOLE_PORT", 6444)
        has_console_env = console_python().exists()
        if console_mode == "on" and not has_console_env:
            raise SettingsError(f"BTS_PROD_CONSOLE=on but {console_python()} is missing: "
                                "run `make console-venv`")
        try:
            public_addr = str(ipaddress.ip_address(envvars.text(env, "BTS_PROD_PUBLIC_ADDR") or "0.0.0.0"))
        except ValueError as exc:
            raise SettingsError(f"BTS_PROD_PUBLIC_ADDR: {exc}") from exc
        settings = cls(
            state_dir=envvars.path(env, "BTS_PROD_DIR", ROOT / "var" / "prod", ROOT),
            model=Path(model) if model else None,
            replicas=_whole(env, "BTS_PROD_REPLICAS", 2, minimum=1, maximum=16),
            public_addr=public_addr,
            https_port=_whole(env, "BTS_PROD_HTTPS_PORT", 6443, minimum=1),
            http_port=_whole(env, "BTS_PROD_HTTP_PORT", 6480),
            server_name=_matching(env, "BTS_PROD_SERVER_NAME", "localhost", _HOSTNAME, "a host name"),
            rasa_base_port=_whole(env, "BTS_PROD_RASA_PORT", 6005, minimum=1),
            actions_port=_whole(env, "BTS_PROD_ACTIONS_PORT", 6055, minimum=1),
            pg_port=_whole(env, "BTS_PROD_PG_PORT", 6432, minimum=1),
            redis_port=_whole(env, "BTS_PROD_REDIS_PORT", 6380, minimum=1),
            worker_port=_whole(env, "BTS_PROD_WORKER_PORT", 6098, minimum=1),
            console_https_port=console_https_port,
            console_port=_whole(env, "BTS_PROD_CONSOLE_INTERNAL_PORT", 6090, minimum=1),
            console=console_mode != "off" and has_console_env and console_https_port > 0,
            allowed_origins=parse_origins(envvars.text(env, "BTS_PROD_ALLOWED_ORIGINS")),
            rate=_matching(env, "BTS_PROD_RATE_LIMIT", "10r/s", _RATE, "a rate like 10r/s or 300r/m"),
            burst=_whole(env, "BTS_PROD_RATE_BURST", 40),
            max_body=_matching(env, "BTS_PROD_MAX_BODY", "16k", _SIZE, "a size like 16k or 1m"),
            max_conn=_whole(env, "BTS_PROD_MAX_CONN", 20, minimum=1),
            max_sockets=_whole(env, "BTS_PROD_MAX_SOCKETS", 8, minimum=1),
            real_ip_from=parse_cidrs(envvars.text(env, "BTS_PROD_REAL_IP_FROM")),
            tls_cert=Path(cert) if cert else None,
            tls_key=Path(key) if key else None,
            lock_lifetime_s=_whole(env, "BTS_PROD_LOCK_LIFETIME_S", 20, minimum=5, maximum=3600),
            log_max_bytes=_matching(env, "BTS_PROD_LOG_MAX_BYTES", "10MB", _LOG_SIZE, "a size like 10MB"),
            log_backups=_whole(env, "BTS_PROD_LOG_BACKUPS", 5, maximum=1000),
            pg_password=envvars.text(env, "BTS_PG_PASSWORD"),
            redis_password=envvars.text(env, "BTS_REDIS_PASSWORD"),
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            smtp_host=smtp_host,
            console_secret=envvars.text(env, "CONSOLE_SECRET_KEY"),
            credentials=envvars.path(env, "BTS_PROD_CREDENTIALS", ROOT / "credentials.yml", ROOT),
        )
        session_secret = envvars.text(env, "BTS_SESSION_SECRET")
        if session_secret:
            if len(session_secret) < 32:
                raise SettingsError("BTS_SESSION_SECRET: expected at least 32 characters")
            settings.session_secret = session_secret
        token = envvars.text(env, "BTS_ACTION_TOKEN")
        if token:
            if len(token) < 24:
                raise SettingsError("BTS_ACTION_TOKEN: expected at least 24 characters (or leave it unset "
                                    "for a new one at every start)")
            settings.action_token = token
        return settings


def console_python() -> Path:
    """The staff console's interpreter (its own environment: Rasa pins older libraries)."""
    return ROOT / ".venv-console" / "bin" / "python"
