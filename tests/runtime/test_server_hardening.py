"""The patches that harden Rasa's server: no version on `GET /`, no patient text in logs."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import aiohttp
import rasa
import rasa.core.run

from bts.runtime.patches import log_redaction, root_route
from tests.runtime.serving import serving

ROOT = Path(__file__).resolve().parents[2]


def test_get_root_does_not_tell_rasas_version() -> None:
    root_route.apply()
    app = rasa.core.run._create_app_without_api()

    async def fetch() -> str:
        async with serving(app) as url, aiohttp.ClientSession() as client:
            async with client.get(f"{url}/") as reply:
                assert reply.status == 200
                return await reply.text()

    body = asyncio.run(fetch())
    assert body == "Hello from Rasa"
    assert rasa.__version__ not in body


def test_redaction_replaces_every_patient_field() -> None:
    entry = {"event": "processor.message.parse", "parse_data_text": "call me at 575-555-0142",
             "text": "x", "user_message": "y", "sender_id": "abc"}
    assert log_redaction.redact(entry) == {
        "event": "processor.message.parse", "parse_data_text": "[redacted]", "text": "[redacted]",
        "user_message": "[redacted]", "sender_id": "abc",
    }


def test_an_exception_logged_by_rasa_shows_neither_the_text_nor_local_variables(tmp_path: Path) -> None:
    # Rasa's REST channel logs failures with the text, and its JSON tracebacks carry every local.
    code = (
        "import logging, structlog\n"
        "from bts.runtime.patches import log_redaction\n"
        "log_redaction.apply()\n"
        "from rasa.utils.log_utils import configure_structlog\n"
        "configure_structlog(logging.INFO)\n"
        "def handle(text):\n"
        "    phone = text.split()[-1]\n"
        "    raise UnicodeEncodeError('utf-8', text, 0, 1, 'surrogates not allowed')\n"
        "try:\n"
        "    handle('my number is 5755550142')\n"
        "except Exception:\n"
        "    structlog.get_logger().exception('rest.message.received.failure',\n"
        "                                     text='my number is 5755550142')\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env,
                         check=True)
    logged = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert [entry["event"] for entry in logged] == ["rest.message.received.failure"]
    assert logged[0]["text"] == "[redacted]"
    assert "5755550142" not in out.stdout + out.stderr
    assert "UnicodeEncodeError" in out.stdout  # the failure itself is still logged
