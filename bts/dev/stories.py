"""Runs the conversation tests and fails on any prediction error.

`rasa test core --fail-on-prediction-errors` checks every predicted action, but it does not fail
when the NLU picks another intent or FAQ topic than a story's `intent:` says (and for FAQ
questions the action is the generic `utter_faq`). So this script also parses every user message
of the test stories with the same model and fails unless the intent, and for `faq/<topic>` the
ResponseSelector's topic, match.

Usage:
    python -m bts.dev.stories   (make stories)
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

import yaml

from bts.dev.model_files import ROOT, current_model

STORIES = ROOT / "tests" / "test_stories.yml"
OUT = ROOT / "results" / "core"


def user_steps(stories_file: Path) -> List[Tuple[str, str, str]]:
    """(story name, user text, expected intent) for every user step with a text."""
    stories = yaml.safe_load(stories_file.read_text())["stories"]
    return [
        (story["story"], step["user"].strip(), step["intent"])
        for story in stories
        for step in story["steps"]
        if "user" in step and not step["user"].strip().startswith("/")
    ]


def predicted_label(parse: Dict[str, Any]) -> str:
    """The intent, or `faq/<topic>` for FAQ questions, that the model chose."""
    intent = parse["intent"]["name"]
    if intent == "faq":
        response = parse.get("response_selector", {}).get("faq", {}).get("response", {})
        return response.get("intent_response_key") or intent
    return intent


def check_nlu(model: Path) -> List[str]:
    """Parses every user step and returns the mismatches."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    steps = user_steps(STORIES)

    async def parse_all() -> List[Dict[str, Any]]:
        return [await agent.parse_message(text) for _, text, _ in steps]

    mismatches = []
    for (story, text, expected), parse in zip(steps, asyncio.run(parse_all()), strict=True):
        got = predicted_label(parse)
        if got != expected:
            mismatches.append(f"  {story}: {text!r} expected {expected}, got {got}")
    print(f"User messages of the test stories understood as written: "
          f"{len(steps) - len(mismatches)}/{len(steps)}")
    return mismatches


def main() -> int:
    """Command-line entry point; returns the exit code."""
    model = current_model()
    if not model.exists():
        print(f"error: no trained model {model.name}; run `make train`.", file=sys.stderr)
        return 1
    result = subprocess.run(
        [sys.executable, "-m", "rasa", "test", "core", "--stories", str(STORIES),
         "--model", str(model), "--out", str(OUT), "--fail-on-prediction-errors"],
        cwd=ROOT,
    )
    if result.returncode != 0:
        failed = OUT / "failed_test_stories.yml"
        if failed.exists():
            print(failed.read_text()[-6000:], file=sys.stderr)
        return result.returncode
    mismatches = check_nlu(model)
    if mismatches:
        print("FAILED: the model understood these test-story messages differently:", file=sys.stderr)
        print("\n".join(mismatches), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
