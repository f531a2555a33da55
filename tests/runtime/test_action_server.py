"""The action server answers only Rasa: requests without the shared token are refused."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import aiohttp
import pytest

from bts.env import SettingsError
from bts.runtime import action_server
from tests.runtime.fake_actions import ActionSubmitBooking
from tests.runtime.serving import serving

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "t" * 40
FORGED: Dict[str, Any] = {
    "next_action": "action_submit_booking",
    "sender_id": "another-patients-conversation",
    "tracker": {"sender_id": "x", "slots": {"booking_phone": "not-a-phone 0000", "booking_confirmed": True},
                "latest_message": {}, "events": [], "paused": False, "followup_action": None,
                "active_loop": {}, "latest_action_name": None},
    "domain": {},
    "version": "3.6.21",
}


def requests(calls: List[Tuple[str, str, Optional[str], Any]]) -> List[Tuple[int, Any]]:
    app = action_server.create_app(TOKEN, "tests.runtime.fake_actions")

    async def scenario() -> List[Tuple[int, Any]]:
        answers = []
        async with serving(app) as url, aiohttp.ClientSession() as http:
            for method, path, token, body in calls:
                headers = {"X-BTS-Action-Token": token} if token is not None else {}
                async with http.request(method, url + path, json=body, headers=headers) as reply:
                    answers.append((reply.status, await reply.json()))
        return answers

    return asyncio.run(scenario())


def test_a_forged_action_call_without_the_token_runs_nothing() -> None:
    ActionSubmitBooking.runs.clear()
    answers = requests([
        ("POST", "/webhook", None, FORGED),
        ("POST", "/webhook", "", FORGED),
        ("POST", "/webhook", "t" * 39 + "u", FORGED),
        ("GET", "/actions", None, None),
    ])
    assert [status for status, _ in answers] == [401, 401, 401, 401]
    assert ActionSubmitBooking.runs == []


def test_rasa_with_the_token_is_served_and_health_is_open() -> None:
    ActionSubmitBooking.runs.clear()
    answers = requests([
        ("POST", "/webhook", TOKEN, FORGED),
        ("GET", "/actions", TOKEN, None),
        ("GET", "/health", None, None),
    ])
    assert [status for status, _ in answers] == [200, 200, 200]
    assert {"name": "action_submit_booking"} in answers[1][1]
    assert len(ActionSubmitBooking.runs) == 1


def test_a_failing_action_answers_without_echoing_the_slots() -> None:
    body: Dict[str, Any] = {**FORGED, "tracker": {**FORGED["tracker"], "slots": {
        "booking_phone": "5755550142", "explode": True}}}
    [(status, answer)] = requests([("POST", "/webhook", TOKEN, body)])
    assert status == 500
    assert "5755550142" not in str(answer)


def test_the_token_must_be_set_and_long() -> None:
    with pytest.raises(SettingsError, match="BTS_ACTION_TOKEN is not set"):
        action_server.token_from_env({})
    with pytest.raises(SettingsError, match="at least 32 characters"):
        action_server.token_from_env({"BTS_ACTION_TOKEN": "secret"})
    assert action_server.token_from_env({"BTS_ACTION_TOKEN": f" {TOKEN} "}) == TOKEN


def test_it_refuses_to_start_without_a_token_and_listens_on_loopback_by_default(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "bts.runtime.action_server", "--port", "1"], cwd=ROOT,
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 2
    assert "BTS_ACTION_TOKEN is not set" in out.stderr
    assert action_server.build_parser().parse_args([]).host == "127.0.0.1"
