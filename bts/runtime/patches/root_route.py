"""Answers `GET /` without Rasa's exact version, which only helps someone looking for a known hole.

Rasa's `add_root_route` answers "Hello from Rasa: 3.6.21"; this one answers "Hello from Rasa".
"""

from __future__ import annotations

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bts.runtime.patches import require_rasa

GREETING = "Hello from Rasa"


def add_root_route(app: Sanic) -> None:
    """Adds the `/` route, answering without the version."""

    @app.get("/")
    async def hello(request: Request) -> HTTPResponse:
        return response.text(GREETING)


def apply() -> None:
    """Replaces Rasa's root route for every app created afterwards (idempotent)."""
    require_rasa(__name__)
    import rasa.server

    rasa.server.add_root_route = add_root_route
