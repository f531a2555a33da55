"""Sets up the production profile and starts its processes under supervisord, in dependency order.

supervisord restarts any process that dies and rotates every log; this module only prepares the
files, brings the database to the newest schema, and starts the processes one after the other,
each once the one before answers.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Dict, List, Optional

from bts.deploy import layout as files
from bts.deploy import postgres, render
from bts.deploy.layout import Layout
from bts.deploy.settings import ProfileError, Settings
from bts.deploy.supervisor import GAVE_UP, Supervisor

READY_TIMEOUT_S = 240


def http_answers(url: str, context: Optional[ssl.SSLContext] = None) -> bool:
    """True when `url` gives any HTTP answer (an error status included)."""
    try:
        with urllib.request.urlopen(url, timeout=2, context=context):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def _tail(log: Path, chars: int = 3000) -> str:
    try:
        return log.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


class Profile:
    """The production profile on one host.

    Args:
        settings: What to run where.
        log: Called with progress messages.
    """

    def __init__(self, settings: Settings, log: Callable[[str], None] = print) -> None:
        self.s = settings
        self.log = log
        self.layout = Layout(settings.state_dir)
        self.programs = render.programs(settings, self.layout)
        self.supervisor = Supervisor(self.layout.supervisor_conf,
                                     self.layout.supervisor_dir / "supervisor.sock",
                                     self.layout.log_dir / "supervisord-start.log")

    # ---- where things are ----------------------------------------------------------------------

    @property
    def log_dir(self) -> Path:
        """Every process's log."""
        return self.layout.log_dir

    @property
    def cert_path(self) -> Path:
        """The certificate nginx serves."""
        return files.cert_path(self.s, self.layout)

    @property
    def key_path(self) -> Path:
        """Its private key."""
        return files.key_path(self.s, self.layout)

    @property
    def public_url(self) -> str:
        """Nginx's HTTPS base URL as seen from the host itself."""
        host = "localhost" if self.s.public_addr in ("0.0.0.0", "127.0.0.1") else self.s.public_addr
        return f"https://{host}:{self.s.https_port}"

    def database_url(self, db: Optional[str] = None) -> str:
        """SQLAlchemy URL of the project database, as the applications' role."""
        return files.database_url(self.s, db)

    def ssl_context(self) -> ssl.SSLContext:
        """A client TLS context that trusts the profile's certificate."""
        return ssl.create_default_context(cafile=str(self.cert_path))

    def program_names(self) -> List[str]:
        """The processes supervisord runs, in start order."""
        return [program.name for program in self.programs]

    # ---- set-up --------------------------------------------------------------------------------

    def render(self) -> None:
        """Writes nginx.conf and supervisord.conf (0600) and lets nginx test its configuration."""
        render.write_private(self.layout.nginx_conf, render.nginx_conf(self.s, self.layout))
        render.write_private(self.layout.supervisor_conf,
                             render.supervisord_conf(self.s, self.layout, self.programs))
        self.check_nginx()

    def check_nginx(self) -> str:
        """Runs `nginx -t` on the rendered configuration; returns its output.

        Raises:
            ProfileError: When nginx rejects it.
        """
        result = subprocess.run(
            [render.binary("nginx"), "-t", "-p", str(self.layout.nginx_dir),
             "-c", str(self.layout.nginx_conf)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        if result.returncode != 0:
            raise ProfileError(f"nginx rejected {self.layout.nginx_conf}:\n{result.stdout}")
        return result.stdout

    def prepare(self) -> None:
        """Creates the folders, the certificate, the PostgreSQL cluster and every configuration.

        Raises:
            ProfileError: A program is not installed, or a set-up step failed.
        """
        missing = render.missing_programs(self.programs) + render.missing_programs(
            [render.Program("supervisord", [render.binary("supervisord")])])
        if missing:
            raise ProfileError(f"not installed: {', '.join(missing)}; run deploy/install.sh")
        files.make_folders(self.s, self.layout)
        if not self.s.tls_cert:
            files.make_certificate(self.s, self.layout, self.log)
        postgres.init_cluster(self.layout, self.log)
        self.layout.redis_dir.mkdir(parents=True, exist_ok=True)
        self.layout.redis_dir.chmod(0o700)
        redis_user = render.service_user("redis")
        if redis_user:
            shutil.chown(self.layout.redis_dir, redis_user, redis_user)
        render.write_private(self.layout.redis_dir / "redis.conf", render.redis_conf(self.s, self.layout),
                             owner=redis_user)
        self.render()

    # ---- processes -------------------------------------------------------------------------------

    def readiness(self, name: str) -> Callable[[], bool]:
        """How to tell that process `name` does its job."""
        s = self.s
        if name == "postgres":
            return lambda: postgres.answers(s, self.layout)
        if name == "redis":
            return self._redis_answers
        if name == "actions":
            return lambda: http_answers(f"http://127.0.0.1:{s.actions_port}/health")
        if name == "worker":
            return lambda: http_answers(f"http://127.0.0.1:{s.worker_port}/health")
        if name == "console":
            return lambda: http_answers(f"http://127.0.0.1:{s.console_port}/login")
        if name.startswith("rasa-"):
            port = s.rasa_ports[int(name.split("-")[1]) - 1]
            return lambda: http_answers(f"http://127.0.0.1:{port}/webhooks/rest/")
        if name == "nginx":
            return lambda: http_answers(f"https://127.0.0.1:{s.https_port}/healthz", self.ssl_context())
        return lambda: self.supervisor.info(name)["statename"] == "RUNNING"

    def _redis_answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(host="127.0.0.1", port=self.s.redis_port, password=self.s.redis_password,
                                    socket_timeout=2).ping())
        except redis.RedisError:
            return False

    def wait_ready(self, name: str, timeout: float = READY_TIMEOUT_S) -> float:
        """Waits until `name` answers; returns the seconds waited.

        Raises:
            ProfileError: supervisord gave up on it, or it did not answer in time.
        """
        ready = self.readiness(name)
        started = time.monotonic()
        log = self.log_dir / f"{name}.log"
        while time.monotonic() < started + timeout:
            state = self.supervisor.info(name)["statename"]
            if state in GAVE_UP:
                raise ProfileError(f"{name} is {state}; {log} ends:\n{_tail(log)}")
            if state in ("STARTING", "RUNNING") and ready():
                return time.monotonic() - started
            time.sleep(0.2)
        # A process that fails after its first seconds is restarted again and again, never FATAL.
        raise ProfileError(f"{name} not ready after {timeout:.0f} s; {log} ends:\n{_tail(log)}")

    def start(self, name: str, timeout: float = READY_TIMEOUT_S) -> float:
        """Starts `name` under supervisord and waits until it answers; returns the seconds it took."""
        self.log(f"==> Starting {name}")
        self.supervisor.start_process(name)
        return self.wait_ready(name, timeout)

    def start_base(self, databases: Optional[List[str]] = None) -> None:
        """Supervisord with PostgreSQL and Redis; the roles and the migrated databases."""
        self.prepare()
        self.supervisor.start(render.service_env(self.s, self.layout))
        self.wait_ready("postgres", 60)
        self.wait_ready("redis", 30)
        postgres.ensure_roles(self.s, self.layout)
        for db in databases or [self.s.pg_db]:
            self.prepare_database(db)

    def prepare_database(self, db: str, endpoints: Optional[Path] = None) -> None:
        """Creates `db` if needed and brings its tables to the newest schema."""
        postgres.ensure_database(self.s, self.layout, db)
        postgres.migrate(self.s, self.layout, db, endpoints or render.ENDPOINTS, self.log)

    def drop_database(self, db: str) -> None:
        """Drops a benchmark or test database."""
        postgres.drop_database(self.s, self.layout, db)

    def start_all(self) -> None:
        """Prepares and starts every process, in dependency order."""
        if self.s.model is None or not self.s.model.exists():
            raise ProfileError(f"no trained model {self.s.model}; run `make train` first")
        self.start_base()
        # Replicas load the model one after the other: on two cores, loading them together is
        # not faster and makes each one slower to answer its first message.
        for name in self.program_names():
            if name not in ("postgres", "redis"):
                took = self.start(name)
                self.log(f"    {name} ready after {took:.1f} s")

    def kill(self, name: str, sig: int) -> None:
        """Sends `sig` to a process (SIGKILL: a crash, which supervisord answers with a restart)."""
        self.log(f"==> Sending signal {sig} to {name}")
        self.supervisor.signal(name, sig)

    def states(self) -> Dict[str, str]:
        """Every process's state in supervisord."""
        return self.supervisor.states()

    def stop_all(self) -> None:
        """Stops every process and supervisord."""
        self.supervisor.stop()
