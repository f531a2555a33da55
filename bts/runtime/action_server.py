"""The action server: rasa_sdk's app serving `actions/`, for Rasa only.

It listens on 127.0.0.1 unless told otherwise and refuses (401) every request but `GET /health`
without the header `X-BTS-Action-Token` equal to `BTS_ACTION_TOKEN` (Rasa sends it, see
endpoints.yml), so nobody else can run actions such as submitting a booking. Errors answer
without echoing the request, which holds the conversation's slots.

Usage:
    BTS_ACTION_TOKEN=... python -m bts.runtime.action_server --host 127.0.0.1 --port 5055
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os
import sys
from typing import Mapping, Optional, Sequence

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bts import env

logger = logging.getLogger(__name__)

TOKEN_ENV = "BTS_ACTION_TOKEN"
TOKEN_HEADER = "X-BTS-Action-Token"
MIN_TOKEN_CHARS = 32
OPEN_PATHS = frozenset({"/health"})


def token_from_env(environ: Optional[Mapping[str, str]] = None) -> str:
    """The shared token; refuses a missing or short one.

    Raises:
        bts.env.SettingsError: With what to set.
    """
    token = env.text(os.environ if environ is None else environ, TOKEN_ENV)
    if not token:
        raise env.SettingsError(
            f"{TOKEN_ENV} is not set: the action server only answers Rasa, which sends this token "
            f"(endpoints.yml). `make run` makes one per run; otherwise generate one with "
            f"`python3 -c \"import secrets; print(secrets.token_urlsafe(32))\"` and give it to both."
        )
    if len(token) < MIN_TOKEN_CHARS:
        raise env.SettingsError(f"{TOKEN_ENV}: at least {MIN_TOKEN_CHARS} characters")
    return token


def protect(app: Sanic, token: str) -> None:
    """Makes `app` refuse requests without the token (compared in constant time)."""
    expected = token.encode()

    @app.on_request
    async def require_token(request: Request) -> Optional[HTTPResponse]:
        if request.path in OPEN_PATHS and request.method in ("GET", "HEAD"):
            return None
        given = request.headers.get(TOKEN_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            return response.json({"error": "unauthorized"}, status=401)
        return None

    async def answer_without_the_request(request: Request, exception: Exception) -> HTTPResponse:
        logger.error("An action failed: %s.", type(exception).__name__)
        return response.json({"error": "the action failed"}, status=500)

    app.error_handler.add(Exception, answer_without_the_request)


def create_app(token: str, actions: str = "actions") -> Sanic:
    """rasa_sdk's app for `actions`, protected by `token`, without CORS (only Rasa calls it)."""
    from rasa_sdk.endpoint import create_app as create_sdk_app

    app = create_sdk_app(actions, cors_origins=None)
    protect(app, token)
    return app


def build_parser() -> argparse.ArgumentParser:
    """The command line: where to listen (loopback unless told otherwise) and what to serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--actions", default="actions", help="package of the actions (default actions)")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command-line entry point; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        token = token_from_env()
    except env.SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from rasa_sdk import utils

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    utils.update_sanic_log_level()
    app = create_app(token, args.actions)
    logger.info("Action server on http://%s:%d", args.host, args.port)
    app.run(args.host, args.port, workers=1, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
