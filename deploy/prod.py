"""Production profile: PostgreSQL, Redis, two or more Rasa replicas, the action server and nginx.

Everything runs on this machine from Debian packages (deploy/install.sh installs them) and keeps
its state under var/prod/ (or BTS_PROD_DIR). Only nginx listens on a public address: HTTPS with
per-conversation routing to the replicas, an origin allow-list for socket.io, a per-client rate
limit and a request size cap. The replicas, the action server, PostgreSQL and Redis listen on
127.0.0.1 only. Secrets come from the environment (BTS_PG_PASSWORD, BTS_REDIS_PASSWORD, and the
webhook/SMTP settings of actions/config.py); see deploy/README.md.

Usage:
    python deploy/prod.py run      # start everything, print the URLs; Ctrl-C stops it all
    python deploy/prod.py check    # render the configuration and let nginx test it

The `Profile` class is also used by scripts/bench.py and tests/scale/.
"""

from __future__ import annotations

import argparse
import glob
import ipaddress
import os
import pwd
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Dict, List, Mapping, Optional

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.model_files import current_model  # noqa: E402

DEPLOY = ROOT / "deploy"
NGINX_TEMPLATE = DEPLOY / "nginx.conf.template"
ENDPOINTS = DEPLOY / "endpoints.prod.yml"
READY_TIMEOUT_S = 240
STOP_GRACE_S = 15

_RATE = re.compile(r"^[1-9][0-9]*r/[sm]$")
_SIZE = re.compile(r"^[1-9][0-9]*[kKmM]?$")
_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$")
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class ProfileError(RuntimeError):
    """A setting cannot be used or a service did not start; the message says which and why."""


def _env_int(env: Mapping[str, str], key: str, default: int, minimum: int = 0, maximum: int = 65535) -> int:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not minimum <= int(raw) <= maximum:
        raise ProfileError(f"{key}: expected a whole number from {minimum} to {maximum}, got {raw!r}")
    return int(raw)


def _env_match(env: Mapping[str, str], key: str, default: str, pattern: re.Pattern, what: str) -> str:
    raw = env.get(key, "").strip() or default
    if not pattern.match(raw):
        raise ProfileError(f"{key}: expected {what}, got {raw!r}")
    return raw


def parse_origins(raw: str) -> List[str]:
    """Reads BTS_PROD_ALLOWED_ORIGINS: origins separated by commas or spaces.

    Args:
        raw: The variable's value.

    Returns:
        The origins, lower-cased, without duplicates.

    Raises:
        ProfileError: For anything that is not exactly `scheme://host[:port]` (no `*`, paths,
            quotes or trailing slashes), so that the nginx map cannot be widened or broken.
    """
    origins: List[str] = []
    for item in re.split(r"[,\s]+", raw.strip()):
        if not item:
            continue
        if not _ORIGIN.match(item):
            raise ProfileError(
                f"BTS_PROD_ALLOWED_ORIGINS: {item!r} is not an origin like https://www.example.com "
                "(scheme, host and optional port; no path, no trailing slash, no wildcard)"
            )
        if item.lower() not in origins:
            origins.append(item.lower())
    return origins


def _parse_cidrs(raw: str) -> List[str]:
    cidrs = []
    for item in re.split(r"[,\s]+", raw.strip()):
        if item:
            try:
                cidrs.append(str(ipaddress.ip_network(item, strict=False)))
            except ValueError as exc:
                raise ProfileError(f"BTS_PROD_REAL_IP_FROM: {item!r} is not an address or network") from exc
    return cidrs



# How TensorFlow runs in a replica. Each replica is one process on one core: more threads only
# contend. TensorFlow's oneDNN kernels are slower on Rasa's tiny matrices (NLU parse p50 10.5 vs
# 11.5-14 ms, `bench.py nlu-parse`) and cost memory: 150 MB and 15 MB per replica on the two
# models measured (the wider the NLU layers, the more).
REPLICA_TUNING = {
    "TF_INTRA_OP_PARALLELISM_THREADS": "1",
    "TF_INTER_OP_PARALLELISM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "TF_ENABLE_ONEDNN_OPTS": "0",
}

@dataclass
class Settings:
    """Settings of the profile, read from the environment by `from_env`.

    Attributes:
        state_dir: Where data, logs and rendered configuration live (`BTS_PROD_DIR`, var/prod).
        model: The trained model the replicas serve (`BTS_PROD_MODEL`, default the current one).
        replicas: Number of Rasa servers (`BTS_PROD_REPLICAS`, 2).
        public_addr: Address nginx listens on (`BTS_PROD_PUBLIC_ADDR`, 0.0.0.0).
        https_port: nginx HTTPS port (`BTS_PROD_HTTPS_PORT`, 6443).
        http_port: Port that redirects to HTTPS (`BTS_PROD_HTTP_PORT`, 6480; 0 = none).
        server_name: Host name of the certificate and of nginx (`BTS_PROD_SERVER_NAME`).
        rasa_base_port: First replica's port on 127.0.0.1; the others follow (`BTS_PROD_RASA_PORT`).
        actions_port: Action server port on 127.0.0.1 (`BTS_PROD_ACTIONS_PORT`, 6055).
        pg_port: PostgreSQL port on 127.0.0.1 (`BTS_PROD_PG_PORT`, 6432).
        redis_port: Redis port on 127.0.0.1 (`BTS_PROD_REDIS_PORT`, 6380).
        worker_port: Outbox worker health port (`BTS_PROD_WORKER_PORT`, 6098).
        receiver_port: Demo receiver port, used when no BTS_WEBHOOK_URL is set
            (`BTS_PROD_RECEIVER_PORT`, 6099).
        allowed_origins: Origins allowed to open socket.io (`BTS_PROD_ALLOWED_ORIGINS`).
        rate: Requests per client address (`BTS_PROD_RATE_LIMIT`, 10r/s).
        burst: Requests allowed above the rate at once (`BTS_PROD_RATE_BURST`, 40).
        max_body: Request body cap (`BTS_PROD_MAX_BODY`, 16k).
        max_conn: Open connections per client address (`BTS_PROD_MAX_CONN`, 20).
        real_ip_from: Trusted proxies whose X-Forwarded-For is believed (`BTS_PROD_REAL_IP_FROM`).
        tls_cert: Certificate (`BTS_PROD_TLS_CERT`; default a self-signed one made here).
        tls_key: Its key (`BTS_PROD_TLS_KEY`).
        lock_lifetime_s: How long a crashed replica's conversation lock blocks the conversation
            (`BTS_PROD_LOCK_LIFETIME_S`, 20; Rasa's TICKET_LOCK_LIFETIME).
        pg_db: Database of the tracker store and the booking tables (`bts`).
        pg_user: Its owner (`bts`).
        pg_password: `BTS_PG_PASSWORD` (required).
        redis_password: `BTS_REDIS_PASSWORD` (required).
        webhook_url: `BTS_WEBHOOK_URL`; empty means the local demo receiver.
        webhook_secret: `BTS_WEBHOOK_SECRET`; a fresh one per start for the demo receiver.
        credentials: Rasa credentials file (`BTS_PROD_CREDENTIALS`, the project's credentials.yml).
    """

    state_dir: Path
    model: Path
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
    receiver_port: int = 6099
    allowed_origins: List[str] = field(default_factory=list)
    rate: str = "10r/s"
    burst: int = 40
    max_body: str = "16k"
    max_conn: int = 20
    real_ip_from: List[str] = field(default_factory=list)
    tls_cert: Optional[Path] = None
    tls_key: Optional[Path] = None
    lock_lifetime_s: int = 20
    pg_db: str = "bts"
    pg_user: str = "bts"
    pg_password: str = field(default="", repr=False)
    redis_password: str = field(default="", repr=False)
    webhook_url: str = ""
    webhook_secret: str = field(default="", repr=False)
    credentials: Path = ROOT / "credentials.yml"

    @property
    def rasa_ports(self) -> List[int]:
        """The replicas' ports."""
        return [self.rasa_base_port + i for i in range(self.replicas)]

    @property
    def uses_demo_receiver(self) -> bool:
        """True when bookings go to the local demo receiver (no clinic webhook configured)."""
        return not self.webhook_url

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> Settings:
        """Reads the settings from the environment (see the attributes for the names).

        Raises:
            ProfileError: A value is malformed or a required secret is missing.
        """
        env = os.environ if env is None else env
        missing = [k for k in ("BTS_PG_PASSWORD", "BTS_REDIS_PASSWORD") if not env.get(k)]
        if missing:
            raise ProfileError(
                "set " + " and ".join(missing) + " in the environment first (secrets are never "
                "stored in the repository), e.g.\n"
                "    export BTS_PG_PASSWORD=$(openssl rand -hex 24)\n"
                "    export BTS_REDIS_PASSWORD=$(openssl rand -hex 24)\n"
                "or put them in .env (see deploy/README.md)"
            )
        state = Path(env.get("BTS_PROD_DIR", "").strip() or ROOT / "var" / "prod")
        if not state.is_absolute():
            state = ROOT / state
        model = Path(env.get("BTS_PROD_MODEL", "").strip() or current_model())
        cert, key = env.get("BTS_PROD_TLS_CERT", "").strip(), env.get("BTS_PROD_TLS_KEY", "").strip()
        if bool(cert) != bool(key):
            raise ProfileError("BTS_PROD_TLS_CERT and BTS_PROD_TLS_KEY must be set together")
        webhook_url = env.get("BTS_WEBHOOK_URL", "").strip()
        webhook_secret = env.get("BTS_WEBHOOK_SECRET", "").strip()
        if not webhook_url:
            webhook_secret = webhook_secret or secrets.token_hex(32)
        return cls(
            state_dir=state,
            model=model,
            replicas=_env_int(env, "BTS_PROD_REPLICAS", 2, minimum=1, maximum=16),
            public_addr=str(ipaddress.ip_address(env.get("BTS_PROD_PUBLIC_ADDR", "").strip() or "0.0.0.0")),
            https_port=_env_int(env, "BTS_PROD_HTTPS_PORT", 6443, minimum=1),
            http_port=_env_int(env, "BTS_PROD_HTTP_PORT", 6480),
            server_name=_env_match(env, "BTS_PROD_SERVER_NAME", "localhost", _HOSTNAME, "a host name"),
            rasa_base_port=_env_int(env, "BTS_PROD_RASA_PORT", 6005, minimum=1),
            actions_port=_env_int(env, "BTS_PROD_ACTIONS_PORT", 6055, minimum=1),
            pg_port=_env_int(env, "BTS_PROD_PG_PORT", 6432, minimum=1),
            redis_port=_env_int(env, "BTS_PROD_REDIS_PORT", 6380, minimum=1),
            worker_port=_env_int(env, "BTS_PROD_WORKER_PORT", 6098, minimum=1),
            receiver_port=_env_int(env, "BTS_PROD_RECEIVER_PORT", 6099, minimum=1),
            allowed_origins=parse_origins(env.get("BTS_PROD_ALLOWED_ORIGINS", "")),
            rate=_env_match(env, "BTS_PROD_RATE_LIMIT", "10r/s", _RATE, "a rate like 10r/s or 300r/m"),
            burst=_env_int(env, "BTS_PROD_RATE_BURST", 40, maximum=65535),
            max_body=_env_match(env, "BTS_PROD_MAX_BODY", "16k", _SIZE, "a size like 16k or 1m"),
            max_conn=_env_int(env, "BTS_PROD_MAX_CONN", 20, minimum=1, maximum=65535),
            real_ip_from=_parse_cidrs(env.get("BTS_PROD_REAL_IP_FROM", "")),
            tls_cert=Path(cert) if cert else None,
            tls_key=Path(key) if key else None,
            lock_lifetime_s=_env_int(env, "BTS_PROD_LOCK_LIFETIME_S", 20, minimum=5, maximum=3600),
            pg_password=env["BTS_PG_PASSWORD"],
            redis_password=env["BTS_REDIS_PASSWORD"],
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            credentials=Path(env.get("BTS_PROD_CREDENTIALS", "").strip() or ROOT / "credentials.yml"),
        )


def _service_user(name: str) -> Optional[pwd.struct_passwd]:
    """The account a service runs as when we are root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(name)
    except KeyError as exc:
        raise ProfileError(f"user {name!r} is missing; run deploy/install.sh") from exc


def _pg_bindir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    if not candidates:
        raise ProfileError("PostgreSQL server binaries not found; run deploy/install.sh")
    return Path(candidates[-1]).parent


def _which(name: str, fallback: str) -> str:
    found = shutil.which(name) or (fallback if os.path.exists(fallback) else None)
    if not found:
        raise ProfileError(f"{name} not found; run deploy/install.sh")
    return found


def render_template(template: str, values: Mapping[str, str]) -> str:
    """Replaces every `{{NAME}}` in `template`.

    Raises:
        ProfileError: A placeholder has no value, or a value was never used.
    """
    used = set()

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name not in values:
            raise ProfileError(f"nginx template: no value for {{{{{name}}}}}")
        used.add(name)
        return values[name]

    text = re.sub(r"\{\{([A-Z_]+)\}\}", replace, template)
    unused = set(values) - used
    if unused:
        raise ProfileError(f"nginx template: unused values {sorted(unused)}")
    return text


def _http_ok(url: str, context: Optional[ssl.SSLContext] = None) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2, context=context):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


class Profile:
    """Sets up, starts and stops the services of the production profile.

    Args:
        settings: What to run where.
        log: Called with progress messages.
    """

    def __init__(self, settings: Settings, log: Callable[[str], None] = print) -> None:
        self.s = settings
        self.log = log
        self.procs: Dict[str, subprocess.Popen] = {}
        self._logs: Dict[str, IO[bytes]] = {}
        state = settings.state_dir
        self.pg_data = state / "pg" / "data"
        self.pg_socket_dir = state / "pg" / "run"
        self.redis_dir = state / "redis"
        self.nginx_dir = state / "nginx"
        self.tls_dir = state / "tls"
        self.log_dir = state / "log"
        self.receiver_file = state / "demo_receiver" / "received.json"
        self.spool_file = state / "spool" / "bookings.jsonl"
        self.nginx_conf = self.nginx_dir / "nginx.conf"

    # ---- paths and environment ------------------------------------------------------------------

    @property
    def cert_path(self) -> Path:
        """The TLS certificate nginx serves (clients of a local profile trust this file)."""
        return self.s.tls_cert or self.tls_dir / "cert.pem"

    @property
    def key_path(self) -> Path:
        """The certificate's private key."""
        return self.s.tls_key or self.tls_dir / "key.pem"

    @property
    def public_url(self) -> str:
        """The HTTPS base URL of nginx as seen from this machine."""
        host = "localhost" if self.s.public_addr in ("0.0.0.0", "127.0.0.1") else self.s.public_addr
        return f"https://{host}:{self.s.https_port}"

    def database_url(self, db: Optional[str] = None) -> str:
        """SQLAlchemy URL of the project database (tracker store and booking tables)."""
        password = urllib.parse.quote(self.s.pg_password, safe="")
        return f"postgresql://{self.s.pg_user}:{password}@127.0.0.1:{self.s.pg_port}/{db or self.s.pg_db}"

    def service_env(self, db: Optional[str] = None) -> Dict[str, str]:
        """Environment of the Python services: endpoints.prod.yml's variables and the actions' settings."""
        env = dict(os.environ)
        env.update(
            {
                "PYTHONPATH": str(ROOT),
                "TF_CPP_MIN_LOG_LEVEL": "2",
                "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
                "RASA_TELEMETRY_ENABLED": "false",
                "BTS_ACTION_ENDPOINT_URL": f"http://127.0.0.1:{self.s.actions_port}/webhook",
                "BTS_PG_HOST": "127.0.0.1",
                "BTS_PG_PORT": str(self.s.pg_port),
                "BTS_PG_DB": db or self.s.pg_db,
                "BTS_PG_USER": self.s.pg_user,
                "BTS_PG_PASSWORD": self.s.pg_password,
                "BTS_REDIS_HOST": "127.0.0.1",
                "BTS_REDIS_PORT": str(self.s.redis_port),
                "BTS_REDIS_PASSWORD": self.s.redis_password,
                "BTS_DATABASE_URL": self.database_url(db),
                "BTS_SPOOL_FILE": str(self.spool_file),
                "TICKET_LOCK_LIFETIME": str(self.s.lock_lifetime_s),
                **REPLICA_TUNING,
                # The action server binds to 127.0.0.1 (rasa_sdk reads SANIC_HOST).
                "SANIC_HOST": "127.0.0.1",
            }
        )
        if self.s.webhook_url:
            env["BTS_WEBHOOK_URL"] = self.s.webhook_url
        else:
            env["BTS_WEBHOOK_URL"] = f"http://127.0.0.1:{self.s.receiver_port}/webhook"
        env["BTS_WEBHOOK_SECRET"] = self.s.webhook_secret
        return env

    # ---- one-time set-up ------------------------------------------------------------------------

    def prepare(self) -> None:
        """Creates the state folders, the TLS certificate, the PostgreSQL cluster and the configs."""
        state = self.s.state_dir
        state.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            for ancestor in state.resolve().parents:
                if not ancestor.stat().st_mode & 0o001:
                    raise ProfileError(
                        f"{ancestor} is not searchable by other users, so PostgreSQL and Redis (which run "
                        f"as their own users) cannot reach {state}; choose another BTS_PROD_DIR or "
                        f"chmod o+x {ancestor}"
                    )
        # The service accounts (postgres, redis, www-data) traverse into their own folders but
        # may list nothing else; logs, keys, bookings and the spool are for root only.
        state.chmod(0o711)
        for folder in (self.log_dir, self.tls_dir, self.nginx_dir / "tmp", self.receiver_file.parent,
                       self.spool_file.parent):
            folder.mkdir(parents=True, exist_ok=True)
        for folder in (self.log_dir, self.tls_dir, self.receiver_file.parent, self.spool_file.parent):
            folder.chmod(0o700)
        if not self.s.tls_cert:
            self._make_certificate()
        self._init_postgres()
        self._write_redis_conf()
        self.render_nginx()

    def _make_certificate(self) -> None:
        cert, key = self.tls_dir / "cert.pem", self.tls_dir / "key.pem"
        if cert.exists() and key.exists():
            still_valid = subprocess.run(
                ["openssl", "x509", "-checkend", str(7 * 86400), "-noout", "-in", str(cert)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ).returncode == 0
            if still_valid:
                return
        self.log(f"==> Making a self-signed TLS certificate for {self.s.server_name}")
        san = f"DNS:{self.s.server_name},DNS:localhost,IP:127.0.0.1"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-days", "365", "-subj", f"/CN={self.s.server_name}",
             "-addext", f"subjectAltName={san}", "-keyout", str(key), "-out", str(cert)],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        key.chmod(0o600)

    def _run_as(self, user: str, command: List[str], **kwargs: object) -> subprocess.CompletedProcess:
        account = _service_user(user)
        extra: Dict[str, object] = {}
        if account:
            extra = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": [],
                     "env": {**os.environ, "HOME": account.pw_dir, "USER": user}}
        return subprocess.run(command, cwd="/", **extra, **kwargs)  # type: ignore[call-overload]

    def _chown(self, path: Path, user: str) -> None:
        account = _service_user(user)
        if account:
            os.chown(path, account.pw_uid, account.pw_gid)

    def _init_postgres(self) -> None:
        pg_root = self.pg_data.parent
        pg_root.mkdir(parents=True, exist_ok=True)
        self.pg_socket_dir.mkdir(parents=True, exist_ok=True)
        for folder in (pg_root, self.pg_socket_dir):
            self._chown(folder, "postgres")
            folder.chmod(0o700)
        if (self.pg_data / "PG_VERSION").exists():
            return
        self.log(f"==> Creating the PostgreSQL cluster in {self.pg_data}")
        result = self._run_as(
            "postgres",
            [str(_pg_bindir() / "initdb"), "-D", str(self.pg_data), "-U", "postgres", "-E", "UTF8",
             "--locale=C", "--auth-local=peer", "--auth-host=scram-sha-256"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        if result.returncode != 0:
            raise ProfileError(f"initdb failed:\n{result.stdout}")

    def _write_redis_conf(self) -> None:
        self.redis_dir.mkdir(parents=True, exist_ok=True)
        self._chown(self.redis_dir, "redis")
        self.redis_dir.chmod(0o700)
        conf = self.redis_dir / "redis.conf"
        # The password is in this file (mode 0600), not on a command line that `ps` shows.
        text = "\n".join([
            "# Written by deploy/prod.py at every start; edit deploy/prod.py instead.",
            "bind 127.0.0.1",
            f"port {self.s.redis_port}",
            "protected-mode yes",
            f"requirepass {self.s.redis_password}",
            f"dir {self.redis_dir}",
            # Locks live seconds: nothing worth persisting.
            'save ""',
            "appendonly no",
            "daemonize no",
            'logfile ""',
            "maxmemory 128mb",
            "maxmemory-policy noeviction",
            "",
        ])
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        conf.chmod(0o600)
        self._chown(conf, "redis")

    def render_nginx(self) -> Path:
        """Writes var/prod/nginx/nginx.conf from deploy/nginx.conf.template."""
        servers = "\n".join(
            f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" for port in self.s.rasa_ports
        )
        origin_map = "\n".join(f'        "{origin}" 1;' for origin in self.s.allowed_origins)
        real_ip_lines = [f"    set_real_ip_from {cidr};" for cidr in self.s.real_ip_from]
        if real_ip_lines:
            real_ip_lines += ["    real_ip_header X-Forwarded-For;", "    real_ip_recursive on;"]
        real_ip = "\n".join(real_ip_lines)
        redirect = ""
        if self.s.http_port:
            redirect = (
                "    server {\n"
                f"        listen {self.s.public_addr}:{self.s.http_port};\n"
                f"        server_name {self.s.server_name};\n"
                f"        return 301 https://$host:{self.s.https_port}$request_uri;\n"
                "    }"
            )
        user = "# (not root: no user directive)"
        if os.geteuid() == 0 and _has_user("www-data"):
            user = "user www-data;"
        text = render_template(
            NGINX_TEMPLATE.read_text(),
            {
                "USER_DIRECTIVE": user,
                "STATE_DIR": str(self.s.state_dir),
                "LOG_DIR": str(self.log_dir),
                "REAL_IP": real_ip or "    # (none)",
                "MAX_BODY": self.s.max_body,
                "RATE": self.s.rate,
                "BURST": str(self.s.burst),
                "MAX_CONN": str(self.s.max_conn),
                "ORIGIN_MAP": origin_map or "        # (no origin allowed: set BTS_PROD_ALLOWED_ORIGINS)",
                "UPSTREAM_SERVERS": servers,
                "PUBLIC_ADDR": self.s.public_addr,
                "HTTPS_PORT": str(self.s.https_port),
                "SERVER_NAME": self.s.server_name,
                "TLS_CERT": str(self.cert_path),
                "TLS_KEY": str(self.key_path),
                "HTTP_REDIRECT_SERVER": redirect,
            },
        )
        self.nginx_dir.mkdir(parents=True, exist_ok=True)
        self.nginx_conf.write_text(text)
        return self.nginx_conf

    def check_nginx(self) -> str:
        """Runs `nginx -t` on the rendered configuration; returns its output.

        Raises:
            ProfileError: When nginx rejects the configuration.
        """
        result = subprocess.run(
            [_which("nginx", "/usr/sbin/nginx"), "-t", "-p", str(self.nginx_dir), "-c", str(self.nginx_conf)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        if result.returncode != 0:
            raise ProfileError(f"nginx rejected {self.nginx_conf}:\n{result.stdout}")
        return result.stdout

    # ---- processes --------------------------------------------------------------------------------

    def _spawn(self, name: str, command: List[str], env: Optional[Dict[str, str]] = None,
               user: Optional[str] = None) -> subprocess.Popen:
        if name in self.procs and self.procs[name].poll() is None:
            raise ProfileError(f"{name} is already running")
        log = self._logs.get(name)
        if log is None or log.closed:
            log = open(self.log_dir / f"{name}.log", "ab")
            self._logs[name] = log
        kwargs: Dict[str, object] = {}
        account = _service_user(user) if user else None
        env = dict(env if env is not None else os.environ)
        if account:
            kwargs = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
            env.update({"HOME": account.pw_dir, "USER": account.pw_name})
        proc = subprocess.Popen(  # type: ignore[call-overload]
            command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env,
            start_new_session=True, **kwargs,
        )
        self.procs[name] = proc
        return proc

    def _wait(self, name: str, ready: Callable[[], bool], timeout: float = READY_TIMEOUT_S) -> float:
        started = time.monotonic()
        deadline = started + timeout
        while time.monotonic() < deadline:
            proc = self.procs[name]
            if proc.poll() is not None:
                tail = (self.log_dir / f"{name}.log").read_text(errors="replace")[-3000:]
                raise ProfileError(f"{name} exited with code {proc.returncode}; its log ends:\n{tail}")
            if ready():
                return time.monotonic() - started
            time.sleep(0.2)
        raise ProfileError(f"{name} not ready after {timeout:.0f} s; see {self.log_dir / (name + '.log')}")

    def _psql(self, sql: str, db: str = "postgres") -> str:
        result = self._run_as(
            "postgres",
            [str(_pg_bindir() / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At",
             "-h", str(self.pg_socket_dir), "-p", str(self.s.pg_port), "-U", "postgres", "-d", db],
            input=sql, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60,
        )
        if result.returncode != 0:
            raise ProfileError(f"psql failed: {result.stderr.strip()}")
        return result.stdout

    def start_postgres(self) -> None:
        """Starts PostgreSQL on 127.0.0.1 and makes sure the role and database exist."""
        self.log(f"==> Starting PostgreSQL on 127.0.0.1:{self.s.pg_port}")
        self._spawn(
            "postgres",
            [str(_pg_bindir() / "postgres"), "-D", str(self.pg_data), "-p", str(self.s.pg_port),
             "-k", str(self.pg_socket_dir), "-c", "listen_addresses=127.0.0.1",
             "-c", "max_connections=200", "-c", "password_encryption=scram-sha-256",
             "-c", "shared_buffers=128MB", "-c", "log_min_messages=warning",
             "-c", "log_line_prefix=%m [%p] %q%u@%d "],
            user="postgres",
        )

        def answers() -> bool:
            try:
                self._psql("SELECT 1;")
                return True
            except (ProfileError, subprocess.TimeoutExpired):
                return False

        self._wait("postgres", answers, timeout=60)
        self.ensure_database(self.s.pg_db)

    def ensure_database(self, db: str) -> None:
        """Creates the role (password from the environment, set again at every start) and `db`."""
        if not _DB_NAME.match(db) or not _DB_NAME.match(self.s.pg_user):
            raise ProfileError(f"bad database or user name: {db!r}, {self.s.pg_user!r}")
        password = self.s.pg_password.replace("'", "''")
        user = self.s.pg_user
        self._psql(
            f"SELECT 'CREATE ROLE {user} LOGIN' WHERE NOT EXISTS "
            f"(SELECT FROM pg_roles WHERE rolname = '{user}')\\gexec\n"
            f"ALTER ROLE {user} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '{password}';\n"
            f"SELECT 'CREATE DATABASE {db} OWNER {user} ENCODING ''UTF8''' WHERE NOT EXISTS "
            f"(SELECT FROM pg_database WHERE datname = '{db}')\\gexec\n"
        )

    def drop_database(self, db: str) -> None:
        """Drops `db` if it exists (benchmark and test databases)."""
        if not _DB_NAME.match(db) or db == self.s.pg_db:
            raise ProfileError(f"refusing to drop {db!r}")
        self._psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE);")

    def start_redis(self) -> None:
        """Starts Redis (the lock store) on 127.0.0.1 with a password."""
        self.log(f"==> Starting Redis on 127.0.0.1:{self.s.redis_port}")
        self._write_redis_conf()
        self._spawn("redis", [_which("redis-server", "/usr/bin/redis-server"),
                              str(self.redis_dir / "redis.conf")], user="redis")

        def answers() -> bool:
            import redis

            try:
                return bool(redis.Redis(host="127.0.0.1", port=self.s.redis_port,
                                        password=self.s.redis_password, socket_timeout=2).ping())
            except redis.RedisError:
                return False

        self._wait("redis", answers, timeout=30)

    def start_actions(self) -> None:
        """Starts the action server on 127.0.0.1."""
        self.log(f"==> Starting the action server on 127.0.0.1:{self.s.actions_port}")
        self._spawn("actions", [sys.executable, "-m", "rasa_sdk", "--actions", "actions",
                                "--port", str(self.s.actions_port)], env=self.service_env())
        self._wait("actions", lambda: _http_ok(f"http://127.0.0.1:{self.s.actions_port}/health"))

    def rasa_command(self, port: int, model: Optional[Path] = None,
                     endpoints: Optional[Path] = None) -> List[str]:
        """The command line of one Rasa replica (HTTP API off, 127.0.0.1 only)."""
        return [
            sys.executable, "-m", "rasa", "run",
            "--model", str(model or self.s.model),
            "--interface", "127.0.0.1",
            "--port", str(port),
            "--endpoints", str(endpoints or ENDPOINTS),
            "--credentials", str(self.s.credentials),
        ]

    def start_rasa(self, index: int, wait: bool = True, model: Optional[Path] = None,
                   db: Optional[str] = None, extra_env: Optional[Dict[str, str]] = None,
                   endpoints: Optional[Path] = None) -> float:
        """Starts replica `index` (0-based); returns the seconds until it answered (0 if not waited)."""
        port = self.s.rasa_ports[index]
        name = f"rasa-{index + 1}"
        self.log(f"==> Starting Rasa replica {index + 1} on 127.0.0.1:{port}")
        env = self.service_env(db)
        env.update(extra_env or {})
        self._spawn(name, self.rasa_command(port, model, endpoints), env=env)
        if not wait:
            return 0.0
        return self.wait_rasa(index)

    def wait_rasa(self, index: int, timeout: float = READY_TIMEOUT_S) -> float:
        """Waits until replica `index` answers; returns the seconds waited."""
        port = self.s.rasa_ports[index]
        return self._wait(f"rasa-{index + 1}", lambda: _http_ok(f"http://127.0.0.1:{port}/webhooks/rest/"),
                          timeout)

    def kill_rasa(self, index: int, sig: int = signal.SIGKILL) -> None:
        """Stops replica `index` abruptly (SIGKILL: a crash) or gracefully (SIGTERM)."""
        name = f"rasa-{index + 1}"
        proc = self.procs.get(name)
        if proc and proc.poll() is None:
            self.log(f"==> Stopping Rasa replica {index + 1} with signal {signal.Signals(sig).name}")
            os.killpg(proc.pid, sig)
            proc.wait(timeout=STOP_GRACE_S)

    def start_worker(self) -> None:
        """Starts the outbox worker (health on 127.0.0.1)."""
        self.log(f"==> Starting the outbox worker (health on 127.0.0.1:{self.s.worker_port})")
        self._spawn("worker", [sys.executable, "scripts/outbox_worker.py", "--health-port",
                               str(self.s.worker_port)], env=self.service_env())
        self._wait("worker", lambda: _http_ok(f"http://127.0.0.1:{self.s.worker_port}/health"))

    def start_receiver(self) -> None:
        """Starts the demo receiver on 127.0.0.1 (only when no clinic webhook is configured)."""
        self.log(f"==> Starting the demo receiver on 127.0.0.1:{self.s.receiver_port}")
        self._spawn("receiver", [sys.executable, "scripts/demo_receiver.py",
                                 "--port", str(self.s.receiver_port),
                                 "--data-file", str(self.receiver_file)], env=self.service_env())
        self._wait("receiver", lambda: _http_ok(f"http://127.0.0.1:{self.s.receiver_port}/health"))

    def ssl_context(self) -> ssl.SSLContext:
        """A client TLS context that trusts the profile's certificate."""
        return ssl.create_default_context(cafile=str(self.cert_path))

    def start_nginx(self) -> None:
        """Tests the rendered configuration, then starts nginx in the foreground of its group."""
        self.log(f"==> Starting nginx on {self.s.public_addr}:{self.s.https_port} (TLS)")
        self.check_nginx()
        self._spawn("nginx", [_which("nginx", "/usr/sbin/nginx"), "-p", str(self.nginx_dir),
                              "-c", str(self.nginx_conf), "-g", "daemon off;"])
        context = self.ssl_context()
        self._wait("nginx", lambda: _http_ok(f"https://127.0.0.1:{self.s.https_port}/healthz", context), 30)

    def start_all(self) -> None:
        """Prepares and starts every service, in dependency order."""
        if not self.s.model.exists():
            raise ProfileError(f"no trained model {self.s.model}; run `make train` first")
        self.prepare()
        self.start_postgres()
        self.start_redis()
        if self.s.uses_demo_receiver:
            self.start_receiver()
        self.start_actions()
        self.start_worker()
        # Replicas load the model one after the other: on two cores, loading them together is
        # not faster and makes each one slower to answer its first message.
        for index in range(self.s.replicas):
            took = self.start_rasa(index)
            self.log(f"    replica {index + 1} ready after {took:.1f} s")
        self.start_nginx()

    def stop(self, name: str) -> None:
        """Stops one service gracefully (SIGTERM; SIGINT for PostgreSQL), SIGKILL after a grace time."""
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        if proc.poll() is None:
            try:
                # PostgreSQL: SIGINT is "fast" shutdown (SIGTERM waits for clients to leave).
                os.killpg(proc.pid, signal.SIGINT if name == "postgres" else signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def dead(self) -> List[str]:
        """Names of services that have exited."""
        return [name for name, proc in self.procs.items() if proc.poll() is not None]

    def stop_all(self) -> None:
        """Stops every service: nginx and Rasa first, PostgreSQL last (fast shutdown)."""
        order = ["nginx"] + sorted(n for n in self.procs if n.startswith("rasa-")) + [
            "worker", "actions", "receiver", "redis", "postgres"]
        for name in order + [n for n in self.procs if n not in order]:
            self.stop(name)
        for handle in self._logs.values():
            handle.close()
        self.procs.clear()


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _run(settings: Settings) -> int:
    profile = Profile(settings)

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    started = time.monotonic()
    try:
        profile.start_all()
        s = settings
        print(f"\nProduction profile is ready ({time.monotonic() - started:.1f} s):")
        print(f"  REST      {profile.public_url}/webhooks/rest/webhook?sender=<conversation id>")
        origins = ", ".join(s.allowed_origins) or "none: set BTS_PROD_ALLOWED_ORIGINS"
        print(f"  socket.io {profile.public_url}/socket.io/  (origins: {origins})")
        print(f"  replicas  {', '.join(f'127.0.0.1:{p}' for p in s.rasa_ports)} (HTTP API off)")
        print(f"  actions   127.0.0.1:{s.actions_port}   PostgreSQL 127.0.0.1:{s.pg_port}   "
              f"Redis 127.0.0.1:{s.redis_port}")
        if s.uses_demo_receiver:
            print(f"  bookings  http://127.0.0.1:{s.receiver_port}/ (demo receiver; set BTS_WEBHOOK_URL "
                  "for the clinic's)")
        if not s.tls_cert:
            print(f"  TLS       self-signed {profile.cert_path} (set BTS_PROD_TLS_CERT/KEY for a real one)")
        print(f"  logs      {profile.log_dir}/")
        print("Press Ctrl-C to stop everything.\n")
        while True:
            dead = profile.dead()
            if dead:
                print(f"error: {', '.join(dead)} stopped unexpectedly; see {profile.log_dir}/",
                      file=sys.stderr)
                return 1
            time.sleep(1)
    except KeyboardInterrupt:
        print("\n==> Stopping")
        return 0
    except ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        profile.stop_all()


def _check(settings: Settings) -> int:
    profile = Profile(settings)
    profile.tls_dir.mkdir(parents=True, exist_ok=True)
    profile.log_dir.mkdir(parents=True, exist_ok=True)
    (profile.nginx_dir / "tmp").mkdir(parents=True, exist_ok=True)
    if not settings.tls_cert:
        profile._make_certificate()
    path = profile.render_nginx()
    print(profile.check_nginx().strip())
    print(f"rendered {path}")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["run", "check"], help="run: start everything; check: nginx -t")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "check":
        try:
            return _check(settings)
        except ProfileError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return _run(settings)


if __name__ == "__main__":
    sys.exit(main())
