"""Runs a Sanic app inside a test's event loop on a free port."""

from __future__ import annotations

import contextlib
import socket
from typing import AsyncIterator

from sanic import Sanic

# Rasa and rasa_sdk give their apps fixed names; tests create them more than once.
Sanic.test_mode = True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def serving(app: Sanic) -> AsyncIterator[str]:
    """Serves `app` on 127.0.0.1 until the block ends; yields its base URL."""
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True,
                                     access_log=False)
    assert server is not None
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await server.before_stop()
        server.close()
        await server.wait_closed()
        await server.after_stop()
