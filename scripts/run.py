"""Starts the whole product on this machine and stops it cleanly on Ctrl-C.

Every service runs in its own process group; the script waits until each one answers on its
readiness URL, prints where to find it, and on Ctrl-C (or if any service dies) stops them all.

Usage:
    python scripts/run.py
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
from typing import Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.model_files import ROOT, current_model  # noqa: E402

READY_TIMEOUT_S = 180
STOP_GRACE_S = 10
# Used only when no clinic webhook is configured: the demo receiver and the senders share it.
_DEMO_SECRET = secrets.token_hex(32)
# Opens the demo receiver's page (it shows patient data): printed once, in its login link.
_RECEIVER_TOKEN = os.environ.get("BTS_RECEIVER_TOKEN") or secrets.token_urlsafe(24)


def delivery_env() -> Dict[str, str]:
    """Webhook settings shared by the action server, the outbox worker and the demo receiver.

    Without a configured clinic webhook, requests go to the local demo receiver, so that the
    whole booking path can be seen on one machine.
    """
    if os.environ.get("BTS_WEBHOOK_URL"):
        return {}
    port = os.environ.get("BTS_RECEIVER_PORT", "8099")
    return {
        "BTS_WEBHOOK_URL": f"http://localhost:{port}/webhook",
        "BTS_WEBHOOK_SECRET": os.environ.get("BTS_WEBHOOK_SECRET") or _DEMO_SECRET,
    }


@dataclass
class Service:
    """A process to start.

    Attributes:
        name: Short name used in messages and log file names.
        command: The command line.
        ready_url: URL that answers (any HTTP status) once the service is ready.
        shows: What to print when it is ready (URLs for people).
        env: Extra environment variables.
    """

    name: str
    command: List[str]
    ready_url: str
    shows: str
    env: Optional[Dict[str, str]] = None


def services(python: str, model: Path) -> List[Service]:
    """The services of the product, in start order.

    Args:
        python: The virtual environment's interpreter.
        model: The trained model to serve.

    Returns:
        The services.
    """
    rasa_port = os.environ.get("BTS_RASA_PORT", "5005")
    actions_port = os.environ.get("BTS_ACTIONS_PORT", "5055")
    console_port = os.environ.get("CONSOLE_PORT", "8090")
    receiver_port = os.environ.get("BTS_RECEIVER_PORT", "8099")
    worker_port = os.environ.get("BTS_WORKER_HEALTH_PORT", "8098")
    widget_port = os.environ.get("BTS_WIDGET_PORT", "8080")
    # The Rasa URL as the visitor's browser reaches it (the widget connects there).
    rasa_public_url = os.environ.get("BTS_RASA_PUBLIC_URL", f"http://localhost:{rasa_port}")
    return [
        Service(
            name="actions",
            command=[python, "-m", "rasa_sdk", "--actions", "actions", "--port", actions_port],
            ready_url=f"http://localhost:{actions_port}/health",
            shows=f"Action server     http://localhost:{actions_port}/health",
            env=delivery_env(),
        ),
        Service(
            name="rasa",
            command=[
                python, "-m", "rasa", "run",
                "--model", str(model),
                "--port", rasa_port,
                "--endpoints", "endpoints.yml",
                "--credentials", "credentials.yml",
                "--cors", os.environ.get("BTS_WIDGET_ORIGIN", f"http://localhost:{widget_port}"),
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
                python, "widget/serve.py", "--port", widget_port, "--rasa-url", rasa_public_url, "--quiet",
            ],
            ready_url=f"http://localhost:{widget_port}/healthz",
            shows=f"Widget demo page  http://localhost:{widget_port}/  (the clinic's website with the chat)",
        ),
        Service(
            name="receiver",
            command=[python, "-m", "bts.booking.receiver", "--port", receiver_port],
            ready_url=f"http://localhost:{receiver_port}/health",
            shows=f"Demo receiver     http://localhost:{receiver_port}/login?token={_RECEIVER_TOKEN}  "
            "(what the clinic receives)",
            env={**delivery_env(), "BTS_RECEIVER_TOKEN": _RECEIVER_TOKEN},
        ),
        Service(
            name="worker",
            command=[python, "-m", "bts.booking.worker", "--health-port", worker_port],
            ready_url=f"http://localhost:{worker_port}/health",
            shows=f"Outbox worker     http://localhost:{worker_port}/health",
            env=delivery_env(),
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


def main() -> int:
    """Command-line entry point; returns the exit code."""
    model = current_model()
    if not model.exists():
        print(f"error: no trained model {model.name}; run `make run` (it trains first).", file=sys.stderr)
        return 1
    log_dir = ROOT / "var" / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    processes: Dict[str, subprocess.Popen] = {}
    started = time.monotonic()

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    # Also SIGINT: a shell that starts `make run` in the background makes Python ignore it.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        for service in services(sys.executable, model):
            log = open(log_dir / f"{service.name}.log", "ab")
            print(f"==> Starting {service.name} (log: var/log/{service.name}.log)")
            processes[service.name] = subprocess.Popen(
                service.command,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(service.env or {})},
                start_new_session=True,
            )
        waiting = {s.name: s for s in services(sys.executable, model)}
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
        for service in services(sys.executable, model):
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
