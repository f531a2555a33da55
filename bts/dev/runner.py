"""Starts the whole product on one computer (`make run`) and stops it cleanly on Ctrl-C.

Every service runs in its own process group; the runner waits until each one answers on its
readiness URL, prints where to find it, and on Ctrl-C (or if any service dies) stops them all.
Each run makes its own secrets (the action server's token, the socket.io session key) unless
they are set, creates files readable by the owner only, and writes each service's output to
`var/log/<service>.log`, rotated daily and kept `BTS_LOG_RETENTION_DAYS` days (default 14).

Usage:
    python -m bts.dev.runner
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional

from bts import env
from bts.dev.logs import pump_to_log, secure_tree, sweep_old_logs
from bts.dev.model_files import ROOT, current_model
from bts.retention import DEFAULT_LOG_RETENTION_DAYS

READY_TIMEOUT_S = 180
STOP_GRACE_S = 10


def run_secrets(environ: Mapping[str, str]) -> Dict[str, str]:
    """Secrets shared by the processes of one run: those set in the environment, others made now.

    Without a configured clinic webhook, requests go to the local demo receiver, so that the
    whole booking path can be seen on one machine; it and the senders share a secret of the run.
    """
    made = {
        "BTS_PROFILE": environ.get("BTS_PROFILE") or "dev",
        "BTS_ACTION_TOKEN": environ.get("BTS_ACTION_TOKEN") or secrets.token_urlsafe(32),
        "BTS_SESSION_SECRET": environ.get("BTS_SESSION_SECRET") or secrets.token_urlsafe(48),
        # Opens the demo receiver's page (it shows patient data): printed once, in its login link.
        "BTS_RECEIVER_TOKEN": environ.get("BTS_RECEIVER_TOKEN") or secrets.token_urlsafe(24),
        # Rasa pulls promoted models with it when BTS_LEARNING_LIVE is on (bts.learning).
        "BTS_MODEL_SERVER_TOKEN": environ.get("BTS_MODEL_SERVER_TOKEN") or secrets.token_urlsafe(32),
    }
    if not environ.get("BTS_WEBHOOK_URL"):
        port = environ.get("BTS_RECEIVER_PORT", "8099")
        made["BTS_WEBHOOK_URL"] = f"http://localhost:{port}/webhook"
        made["BTS_WEBHOOK_SECRET"] = environ.get("BTS_WEBHOOK_SECRET") or secrets.token_hex(32)
    return made


@dataclass
class Service:
    """A process to start.

    Attributes:
        name: Short name used in messages and log file names.
        command: The command line.
        ready_url: URL that answers (any HTTP status) once the service is ready.
        shows: What to print when it is ready (URLs for people).
    """

    name: str
    command: List[str]
    ready_url: str
    shows: str


def services(python: str, model: Path, environ: Mapping[str, str]) -> List[Service]:
    """The services of the product, in start order.

    Args:
        python: The virtual environment's interpreter.
        model: The trained model to serve.
        environ: The environment (ports, origins).

    Returns:
        The services.
    """
    rasa_port = environ.get("BTS_RASA_PORT", "5005")
    actions_port = environ.get("BTS_ACTIONS_PORT", "5055")
    console_port = environ.get("CONSOLE_PORT", "8090")
    receiver_port = environ.get("BTS_RECEIVER_PORT", "8099")
    worker_port = environ.get("BTS_WORKER_HEALTH_PORT", "8098")
    widget_port = environ.get("BTS_WIDGET_PORT", "8080")
    widget_origin = environ.get("BTS_WIDGET_ORIGIN", f"http://localhost:{widget_port}")
    # The Rasa URL as the visitor's browser reaches it (the widget connects there).
    rasa_public_url = environ.get("BTS_RASA_PUBLIC_URL", f"http://localhost:{rasa_port}")
    endpoints, learning = "endpoints.yml", []
    if environ.get("BTS_LEARNING_LIVE", "").strip().lower() in ("1", "true", "yes", "on"):
        from bts.learning import model_server, workspace

        models_port = environ.get("BTS_MODEL_SERVER_PORT", "5006")
        target = workspace.learning_dir(ROOT, environ) / "endpoints.yml"
        endpoints = str(model_server.endpoints_with_models(ROOT / "endpoints.yml", target, int(models_port)))
        learning = [Service(
            name="models",
            command=[python, "-m", "bts.learning.model_server", "--host", "127.0.0.1", "--port", models_port],
            ready_url=f"http://127.0.0.1:{models_port}/",
            shows=f"Model server      http://127.0.0.1:{models_port}/model  (promoted models, token only)",
        )]
    return learning + [
        Service(
            name="actions",
            command=[
                python, "-m", "bts.runtime.action_server", "--host", "127.0.0.1", "--port", actions_port,
            ],
            ready_url=f"http://localhost:{actions_port}/health",
            shows=f"Action server     http://localhost:{actions_port}/health",
        ),
        Service(
            name="rasa",
            command=[
                python, "-m", "bts.runtime.server",
                "--model", str(model),
                "--interface", environ.get("BTS_RASA_HOST", "127.0.0.1"),
                "--port", rasa_port,
                "--endpoints", endpoints,
                "--credentials", "credentials.yml",
                "--cors", widget_origin,
            ],
            ready_url=f"http://localhost:{rasa_port}/webhooks/rest/",
            shows=(
                f"Rasa REST channel http://localhost:{rasa_port}/webhooks/rest/webhook\n"
                f"Rasa socket.io    http://localhost:{rasa_port}/socket.io/"
            ),
        ),
        Service(
            name="widget",
            command=[
                python, "-m", "bts.widget_server", "--port", widget_port, "--rasa-url", rasa_public_url,
                "--quiet",
            ],
            ready_url=f"http://localhost:{widget_port}/healthz",
            shows=f"Widget demo page  http://localhost:{widget_port}/  (the clinic's website with the chat)",
        ),
        Service(
            name="receiver",
            command=[python, "-m", "bts.booking.receiver", "--port", receiver_port],
            ready_url=f"http://localhost:{receiver_port}/health",
            shows=(
                f"Demo receiver     http://localhost:{receiver_port}/login?token="
                f"{environ.get('BTS_RECEIVER_TOKEN', '')}  (what the clinic receives)"
            ),
        ),
        Service(
            name="worker",
            command=[python, "-m", "bts.booking.worker", "--health-port", worker_port],
            ready_url=f"http://localhost:{worker_port}/health",
            shows=f"Outbox worker     http://localhost:{worker_port}/health",
        ),
        # No port of its own: it counts as ready with the worker, and a crash still stops `make run`.
        Service(name="retention", command=[python, "-m", "bts.retention", "--loop"],
                ready_url=f"http://localhost:{worker_port}/health", shows="Retention purge   hourly"),
        Service(
            name="console",
            command=[
                str(ROOT / ".venv-console" / "bin" / "python"), "-m", "console", "serve",
                "--port", console_port,
            ],
            ready_url=f"http://localhost:{console_port}/healthz",
            shows=(
                f"Staff console     http://localhost:{console_port}/  "
                "(first account: make console-user NAME=alice ROLE=admin)"
            ),
        ),
    ]


def is_ready(url: str) -> bool:
    """True once `url` answers with any HTTP status."""
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def stop_all(processes: Dict[str, subprocess.Popen]) -> None:
    """Sends SIGTERM to every process group, then SIGKILL to those still running."""
    for proc in processes.values():
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + STOP_GRACE_S
    for name, proc in processes.items():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        print(f"    stopped {name}")


def start(
    service: Service, environ: Dict[str, str], log_dir: Path, retention_days: int
) -> subprocess.Popen:
    """Starts one service with its output going to its rotated log file."""
    proc = subprocess.Popen(
        service.command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )
    assert proc.stdout is not None
    pump_to_log(proc.stdout, log_dir / f"{service.name}.log", retention_days)
    return proc


def main(argv: Optional[List[str]] = None) -> int:
    """Command-line entry point; returns the exit code."""
    model = current_model()
    if not model.exists():
        print(f"error: no trained model {model.name}; run `make run` (it trains first).", file=sys.stderr)
        return 1
    try:
        retention_days = env.whole(
            os.environ, "BTS_LOG_RETENTION_DAYS", DEFAULT_LOG_RETENTION_DAYS, minimum=1
        )
    except env.SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    # Conversations, bookings and logs hold health information: owner-only from the start.
    os.umask(0o077)
    var = ROOT / "var"
    log_dir = var / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    secure_tree(var)
    sweep_old_logs(log_dir, retention_days)
    environ = {**os.environ, **run_secrets(os.environ)}
    processes: Dict[str, subprocess.Popen] = {}
    started = time.monotonic()

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    # Also SIGINT: a shell that starts `make run` in the background makes Python ignore it.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    planned = services(sys.executable, model, environ)
    try:
        for service in planned:
            print(f"==> Starting {service.name} (log: var/log/{service.name}.log)")
            processes[service.name] = start(service, environ, log_dir, retention_days)
        waiting = {s.name: s for s in planned}
        deadline = time.monotonic() + READY_TIMEOUT_S
        while waiting:
            for name, service in list(waiting.items()):
                if processes[name].poll() is not None:
                    print(f"error: {name} exited with code {processes[name].returncode}; "
                          f"see var/log/{name}.log", file=sys.stderr)
                    return 1
                if is_ready(service.ready_url):
                    print(f"    {name} ready after {time.monotonic() - started:.1f} s")
                    del waiting[name]
            if time.monotonic() > deadline:
                print(f"error: not ready after {READY_TIMEOUT_S} s: {', '.join(waiting)}", file=sys.stderr)
                return 1
            if waiting:
                time.sleep(0.5)
        print(f"\nBorder Therapy Services assistant is ready ({time.monotonic() - started:.1f} s):")
        for service in planned:
            print("  " + service.shows.replace("\n", "\n  "))
        print("Press Ctrl-C to stop everything.\n")
        while True:
            for name, proc in processes.items():
                if proc.poll() is not None:
                    print(f"error: {name} stopped unexpectedly (code {proc.returncode}); "
                          f"see var/log/{name}.log", file=sys.stderr)
                    return 1
            time.sleep(1)
    except KeyboardInterrupt:
        print("\n==> Stopping")
        return 0
    finally:
        stop_all(processes)


if __name__ == "__main__":
    sys.exit(main())
