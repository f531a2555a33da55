"""`python -m bts.deploy run|check`: start the production profile, or only test its configuration.

run     start everything under supervisord, print the URLs; Ctrl-C or SIGTERM stops it all
check   render the configuration and let nginx test it, starting nothing
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from typing import List, Optional

from bts.deploy import layout as files
from bts.deploy.profile import Profile
from bts.deploy.settings import ProfileError, Settings
from bts.env import SettingsError


def _print_urls(profile: Profile, took: float) -> None:
    s = profile.s
    print(f"\nProduction profile is ready ({took:.1f} s), under supervisord:")
    print(f"  REST      {profile.public_url}/webhooks/rest/webhook  (header X-BTS-Sender: <conversation id>)")
    origins = ", ".join(s.allowed_origins) or "none: set BTS_PROD_ALLOWED_ORIGINS"
    print(f"  socket.io {profile.public_url}/socket.io/  (origins: {origins})")
    if s.console:
        print(f"  console   https://localhost:{s.console_https_port}/")
    print(f"  replicas  {', '.join(f'127.0.0.1:{p}' for p in s.rasa_ports)} (HTTP API off)")
    print(f"  bookings  {s.webhook_url or 'e-mail to the front desk (BTS_SMTP_*)'}")
    if not s.tls_cert:
        print(f"  TLS       self-signed {profile.cert_path} (set BTS_PROD_TLS_CERT/KEY for a real one)")
    print(f"  logs      {profile.log_dir}/ (rotated by supervisord)")
    print("Press Ctrl-C to stop everything.\n")


def run(settings: Settings) -> int:
    """Starts the profile and keeps it running until Ctrl-C or SIGTERM."""
    profile = Profile(settings)

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    started = time.monotonic()
    try:
        profile.start_all()
        _print_urls(profile, time.monotonic() - started)
        # supervisord restarts what dies; this process only waits for supervisord itself.
        while profile.supervisor.running:
            time.sleep(1)
        print(f"error: supervisord stopped; see {profile.log_dir}/supervisord.log", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\n==> Stopping")
        return 0
    except ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        profile.stop_all()


def check(settings: Settings) -> int:
    """Renders the configuration and runs `nginx -t`."""
    profile = Profile(settings)
    files.make_folders(settings, profile.layout)
    if not settings.tls_cert:
        files.make_certificate(settings, profile.layout, print)
    profile.render()
    print(profile.check_nginx().strip())
    print(f"rendered {profile.layout.nginx_conf} and {profile.layout.supervisor_conf}")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m bts.deploy", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["run", "check"])
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        return run(settings) if args.command == "run" else check(settings)
    except ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
