"""The red-flag suite through the whole trained NLU model (classifier + rule-based matcher).

Every red-flag phrasing must come out as `red_flag`; at least 95% of the near-misses must not.
Each suite file is checked on its own: English (`red_flag_cases.yml`) and Spanish/Spanglish
(`red_flag_cases_es.yml`). `tests/components/test_red_flags.py` runs the English suite against
the matcher alone.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml

from scripts.model_files import current_model

SUITES = {
    path.stem: yaml.safe_load(path.read_text(encoding="utf-8"))
    for path in sorted(Path(__file__).parent.glob("red_flag_cases*.yml"))
}
NEAR_MISS_BAR = 0.95


@pytest.fixture(scope="module")
def parsed() -> Dict[str, Dict[str, Any]]:
    from rasa.core.agent import Agent

    model = current_model()
    if not model.exists():
        pytest.fail(f"no trained model {model.name}: run `make train` first")
    agent = Agent.load(str(model))
    texts = [
        case["text"]
        for suite in SUITES.values()
        for case in suite["red_flags"] + suite["near_misses"]
    ]

    async def parse_all() -> List[Dict[str, Any]]:
        return [await agent.parse_message(text) for text in texts]

    return dict(zip(texts, asyncio.run(parse_all()), strict=True))


def test_both_languages_have_a_suite() -> None:
    assert set(SUITES) == {"red_flag_cases", "red_flag_cases_es"}


@pytest.mark.parametrize("name", sorted(SUITES))
def test_the_suite_is_big_enough(name: str) -> None:
    assert len(SUITES[name]["red_flags"]) >= 60
    assert len(SUITES[name]["near_misses"]) >= 30


@pytest.mark.parametrize("name", sorted(SUITES))
def test_every_red_flag_is_detected(name: str, parsed: Dict[str, Dict[str, Any]]) -> None:
    suite = SUITES[name]
    missed = [
        f"{case['category']}: {case['text']!r} -> {parsed[case['text']]['intent']['name']}"
        for case in suite["red_flags"]
        if parsed[case["text"]]["intent"]["name"] != "red_flag"
    ]
    total = len(suite["red_flags"])
    print(f"\n{name}: red flags detected: {total - len(missed)}/{total}")
    assert not missed, "missed red flags:\n" + "\n".join(missed)


@pytest.mark.parametrize("name", sorted(SUITES))
def test_near_misses_are_not_flagged(name: str, parsed: Dict[str, Dict[str, Any]]) -> None:
    suite = SUITES[name]
    flagged = [
        case["text"]
        for case in suite["near_misses"]
        if parsed[case["text"]]["intent"]["name"] == "red_flag"
    ]
    total = len(suite["near_misses"])
    rate = 1 - len(flagged) / total
    print(f"\n{name}: near-misses not flagged: {total - len(flagged)}/{total} ({rate:.1%})")
    assert rate >= NEAR_MISS_BAR, "flagged near-misses:\n" + "\n".join(flagged)


def test_rule_matches_name_their_category(parsed: Dict[str, Dict[str, Any]]) -> None:
    # The staff console filters on the category; matcher hits must carry it as an entity.
    for case in [case for suite in SUITES.values() for case in suite["red_flags"]]:
        values = [e["value"] for e in parsed[case["text"]]["entities"] if e["entity"] == "red_flag"]
        assert case["category"] in values, f"{case['text']!r}: rules found {values}, not {case['category']}"
