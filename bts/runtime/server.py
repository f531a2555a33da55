"""The Rasa server of the assistant: applies our runtime patches, then runs Rasa's own `rasa run`.

Usage:
    python -m bts.runtime.server <rasa run arguments>
    python -m bts.runtime.server --model models/bts-....tar.gz --port 5005 \
        --endpoints endpoints.yml --credentials credentials.yml --cors http://localhost:8080

Without `BTS_ALLOWED_ORIGINS`, the origins given to `--cors` are also the pages whose sockets the
socket.io channel accepts.
"""

from __future__ import annotations

import os
import sys
from typing import List, MutableMapping, Optional, Sequence

from bts.runtime.channels.socketio import ORIGINS_ENV
from bts.runtime.patches import PatchRefused, apply_all


def cors_origins(args: Sequence[str]) -> List[str]:
    """The values given to `--cors` on a `rasa run` command line."""
    origins: List[str] = []
    taking = False
    for arg in args:
        if arg == "--cors":
            taking = True
        elif arg.startswith("--cors="):
            origins.append(arg.split("=", 1)[1])
            taking = False
        elif arg.startswith("-"):
            taking = False
        elif taking:
            origins.append(arg)
    return [o for o in origins if o != "*"]


def prepare(args: Sequence[str], environ: MutableMapping[str, str]) -> List[str]:
    """Applies the patches and returns the argument vector for Rasa's command line.

    Raises:
        PatchRefused: If a patch does not fit the installed Rasa.
    """
    apply_all()
    if not environ.get(ORIGINS_ENV, "").strip():
        origins = cors_origins(args)
        if origins:
            environ[ORIGINS_ENV] = ",".join(origins)
    return ["rasa", "run", *args]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command-line entry point; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        sys.argv = prepare(args, os.environ)
    except PatchRefused as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from rasa.__main__ import main as rasa_main

    rasa_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
