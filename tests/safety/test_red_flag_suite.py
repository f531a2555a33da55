"""The red-flag suite through the whole trained NLU model (classifier + rule-based matcher).

Every red-flag phrasing must come out as `red_flag`; at least 95% of the near-misses must not.
`tests/components/test_red_flags.py` runs the same suite against the matcher alone.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml

from scripts.model_files import current_model

SUITE = yaml.safe_load((Path(__file__).parent / "red_flag_cases.yml").read_text())
NEAR_MISS_BAR = 0.95


@pytest.fixture(scope="module")
def parsed() -> Dict[str, Dict[str, Any]]:
    from rasa.core.agent import Agent

    model = current_model()
    if not model.exists():
        pytest.fail(f"no trained model {model.name}: run `make train` first")
    agent = Agent.load(str(model))
    texts = [c["text"] for c in SUITE["red_flags"]] + [c["text"] for c in SUITE["near_misses"]]

    async def parse_all() -> List[Dict[str, Any]]:
        return [await agent.parse_message(text) for text in texts]

    return dict(zip(texts, asyncio.run(parse_all()), strict=True))


def test_the_suite_is_big_enough() -> None:
    assert len(SUITE["red_flags"]) >= 60
    assert len(SUITE["near_misses"]) >= 30


def test_every_red_flag_is_detected(parsed: Dict[str, Dict[str, Any]]) -> None:
    missed = [
        f"{case['category']}: {case['text']!r} -> {parsed[case['text']]['intent']['name']}"
        for case in SUITE["red_flags"]
        if parsed[case["text"]]["intent"]["name"] != "red_flag"
    ]
    total = len(SUITE["red_flags"])
    print(f"\nred flags detected: {total - len(missed)}/{total}")
    assert not missed, "missed red flags:\n" + "\n".join(missed)


def test_near_misses_are_not_flagged(parsed: Dict[str, Dict[str, Any]]) -> None:
    flagged = [
        case["text"]
        for case in SUITE["near_misses"]
        if parsed[case["text"]]["intent"]["name"] == "red_flag"
    ]
    total = len(SUITE["near_misses"])
    rate = 1 - len(flagged) / total
    print(f"\nnear-misses not flagged: {total - len(flagged)}/{total} ({rate:.1%})")
    assert rate >= NEAR_MISS_BAR, "flagged near-misses:\n" + "\n".join(flagged)


def test_rule_matches_name_their_category(parsed: Dict[str, Dict[str, Any]]) -> None:
    # The staff console filters on the category; matcher hits must carry it as an entity.
    for case in SUITE["red_flags"]:
        values = [e["value"] for e in parsed[case["text"]]["entities"] if e["entity"] == "red_flag"]
        assert not values or all(isinstance(v, str) and v for v in values)
