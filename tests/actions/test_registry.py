"""The action server serves exactly the custom actions the domain lists."""

from __future__ import annotations

from pathlib import Path

import yaml
from rasa_sdk.executor import ActionExecutor

ROOT = Path(__file__).resolve().parents[2]


def test_every_domain_action_is_served_and_nothing_else() -> None:
    executor = ActionExecutor()
    executor.register_package("actions")
    domain_actions = set(yaml.safe_load((ROOT / "domain.yml").read_text())["actions"])
    assert set(executor.actions) == domain_actions
