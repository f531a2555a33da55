"""Scores the trained model on real patients' messages by what the patient would see.

Each message of `tests/realpatients/{dev,test}.yml` carries the replies that answer it right
(`expect`) and the replies that are safe though not the answer (`safe`, e.g. "I can't advise on
medicines: ask your doctor or pharmacist" for a question about a drug the clinic does not
cover). The model's parse becomes the reply a patient gets:

* `faq` becomes the ResponseSelector's answer (`faq/<topic>`);
* `nlu_fallback` becomes "did you mean" buttons: the likeliest topics of the model's own ranking
  (the FAQ topics from the selector's ranking), which count as safe when they include an expected
  or a safe reply, and as unhelpful otherwise;
* any other intent becomes the reply its rule gives (e.g. `ask_diagnosis`: "I can't tell what is
  causing your symptoms").

Outcomes: "right", "safe", "unhelpful" (an honest fallback or scope statement that does not offer
the topic) and "wrong" (a confident answer about something else: the one that misleads). The urgent
reply to a message that is not an emergency counts as safe (over-cautious, not misleading) and is
reported on its own line. Only the
test part is held to the targets; the development part is for choosing options.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence

import yaml

ROOT = Path(__file__).resolve().parents[2]
SETS = ROOT / "tests" / "realpatients"
RESULTS = ROOT / "results" / "realpatients"
PARTS = ("dev", "test")

FALLBACK = "nlu_fallback"
RED_FLAG = "red_flag"
OUTCOMES = ("right", "safe", "unhelpful", "wrong")
# Intents never offered as "did you mean" buttons (they are not topics, or must never be guessed).
NOT_OFFERED = {
    FALLBACK, "out_of_scope", RED_FLAG, "greet", "goodbye", "thanks", "what_can_you_do", "ask_diagnosis",
    "describe_back_pain",
}
OFFERED = 3

MIN_RIGHT_OR_SAFE = 0.90
MAX_WRONG = 0.02


@dataclass(frozen=True)
class Case:
    """One labelled real message."""

    text: str
    topic: str
    expect: Sequence[str]
    safe: Sequence[str]
    source: str


@dataclass(frozen=True)
class Verdict:
    """What the patient got for one message, and how good that is."""

    text: str
    topic: str
    reply: str
    confidence: float
    offered: Sequence[str]
    outcome: str


def load_cases(part: str, folder: Path = SETS) -> List[Case]:
    """Reads one part of the set.

    Args:
        part: "dev" or "test".
        folder: Where the set lives.

    Returns:
        The labelled messages, in file order.
    """
    data = yaml.safe_load((folder / f"{part}.yml").read_text(encoding="utf-8"))
    return [
        Case(
            text=m["text"],
            topic=m["topic"],
            expect=tuple(m["expect"]),
            safe=tuple(m.get("safe") or ()),
            source=m["source"],
        )
        for m in data["messages"]
    ]


def offered_topics(parse: Dict[str, Any], limit: int = OFFERED) -> List[str]:
    """The topics a "did you mean" reply offers for this parse, likeliest first.

    Args:
        parse: Rasa's NLU result (intent ranking, response selector output).
        limit: How many buttons at most.

    Returns:
        Intent names and `faq/<topic>` keys.
    """
    faq = parse.get("response_selector", {}).get("faq", {}).get("ranking") or []
    chosen: List[str] = []
    for item in parse.get("intent_ranking") or []:
        name = item.get("name")
        if not name or name in NOT_OFFERED:
            continue
        keys = [r.get("intent_response_key", "") for r in faq[:limit]] if name == "faq" else [name]
        chosen += [k for k in keys if k and k not in chosen]
        if len(chosen) >= limit:
            break
    return chosen[:limit]


def reply_of(parse: Dict[str, Any]) -> tuple[str, float]:
    """The reply the patient gets: an intent's reply, or `faq/<topic>` for FAQ answers.

    Args:
        parse: Rasa's NLU result.

    Returns:
        (reply key, confidence of the intent or, for FAQ answers, of the selected answer).
    """
    intent = parse.get("intent") or {}
    name = intent.get("name") or FALLBACK
    confidence = float(intent.get("confidence") or 0.0)
    if name != "faq":
        return name, confidence
    response = parse.get("response_selector", {}).get("faq", {}).get("response") or {}
    key = response.get("intent_response_key") or "faq"
    return key, float(response.get("confidence") or 0.0)


def judge(case: Case, parse: Dict[str, Any]) -> Verdict:
    """Sorts the reply to one message into right, safe, unhelpful or wrong.

    Args:
        case: The labelled message.
        parse: Rasa's NLU result for its text.

    Returns:
        The verdict.
    """
    reply, confidence = reply_of(parse)
    offered: List[str] = []
    if reply in case.expect:
        outcome = "right"
    elif reply in case.safe:
        outcome = "safe"
    elif reply == RED_FLAG:
        # The urgent reply ("get checked by a doctor now") to a medical message that is not an
        # emergency is over-cautious, not misleading; the report counts these separately.
        outcome = "safe"
    elif reply == FALLBACK:
        offered = offered_topics(parse)
        outcome = "safe" if set(offered) & (set(case.expect) | set(case.safe)) else "unhelpful"
    elif reply == "out_of_scope":
        outcome = "unhelpful"
    else:
        outcome = "wrong"
    return Verdict(case.text, case.topic, reply, round(confidence, 3), tuple(offered), outcome)


def table(verdicts: Sequence[Verdict]) -> str:
    """A Markdown table of outcomes per topic, with a total row."""
    by_topic: Dict[str, Counter] = defaultdict(Counter)
    for v in verdicts:
        by_topic[v.topic][v.outcome] += 1
    lines = ["| topic | n | right | safe | unhelpful | wrong |", "|---|---|---|---|---|---|"]
    total: Counter = Counter()
    for topic in sorted(by_topic):
        counts = by_topic[topic]
        total.update(counts)
        cells = " | ".join(str(counts[o]) for o in OUTCOMES)
        lines.append(f"| {topic} | {sum(counts.values())} | {cells} |")
    n = max(sum(total.values()), 1)
    lines.append(
        f"| **all** | {sum(total.values())} | "
        + " | ".join(f"{total[o]} ({total[o] / n:.0%})" for o in OUTCOMES)
        + " |"
    )
    return "\n".join(lines)


def rates(verdicts: Sequence[Verdict]) -> Dict[str, float]:
    """Shares of right-or-safe and wrong replies, red flags answered urgently, urgent replies to others."""
    n = max(len(verdicts), 1)
    counts = Counter(v.outcome for v in verdicts)
    red = [v for v in verdicts if v.topic == RED_FLAG]
    over_urgent = sum(v.reply == RED_FLAG for v in verdicts if v.topic != RED_FLAG)
    return {
        "urgent_not_red_flag": over_urgent / n,
        "right_or_safe": (counts["right"] + counts["safe"]) / n,
        "wrong": counts["wrong"] / n,
        "red_flags_urgent": (sum(v.reply == RED_FLAG for v in red) / len(red)) if red else 1.0,
    }


def failures(verdicts: Sequence[Verdict], enforce: str) -> List[str]:
    """The targets a part misses.

    Args:
        verdicts: The test part's verdicts.
        enforce: "all" (every target) or "red-flags" (only the urgent reply to red flags).

    Returns:
        One message per missed target.
    """
    r = rates(verdicts)
    missed = []
    if r["red_flags_urgent"] < 1.0:
        missed.append(f"red flags with the urgent reply {r['red_flags_urgent']:.0%} < 100%")
    if enforce == "all":
        if r["right_or_safe"] < MIN_RIGHT_OR_SAFE:
            missed.append(f"right or safe {r['right_or_safe']:.1%} < {MIN_RIGHT_OR_SAFE:.0%}")
        if r["wrong"] > MAX_WRONG:
            missed.append(f"wrong confident answers {r['wrong']:.1%} > {MAX_WRONG:.0%}")
    return missed


def worst(verdicts: Iterable[Verdict], limit: int = 10) -> List[Verdict]:
    """The most confident wrong answers, then unhelpful ones."""
    ranked = sorted(
        (v for v in verdicts if v.outcome in ("wrong", "unhelpful")),
        key=lambda v: (v.outcome != "wrong", -v.confidence),
    )
    return ranked[:limit]


def parse_all(model: Path, texts: Sequence[str]) -> List[Dict[str, Any]]:
    """Runs the trained model's NLU over `texts`."""
    import structlog
    from rasa.core.agent import Agent

    # Rasa logs every parse, with its text, at debug level; the report is what matters here.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    agent = Agent.load(str(model))

    async def run() -> List[Dict[str, Any]]:
        return [await agent.parse_message(text) for text in texts]

    return asyncio.run(run())


def evaluate(model: Path, parts: Sequence[str] = PARTS) -> Dict[str, List[Verdict]]:
    """Judges every message of the given parts with the model.

    Args:
        model: Trained model archive.
        parts: Which parts of the set.

    Returns:
        Verdicts per part.
    """
    cases = {part: load_cases(part) for part in parts}
    texts = [c.text for part in parts for c in cases[part]]
    parses = iter(parse_all(model, texts))
    return {part: [judge(c, next(parses)) for c in cases[part]] for part in parts}


def report(results: Dict[str, List[Verdict]], out: Optional[Path] = RESULTS) -> str:
    """Builds the printed report and writes every verdict to `out` as JSON."""
    lines = []
    for part, verdicts in results.items():
        r = rates(verdicts)
        lines += [
            f"\nReal patients, {part} part ({len(verdicts)} messages): "
            f"right or safe {r['right_or_safe']:.1%}, wrong confident {r['wrong']:.1%}, "
            f"red flags urgent {r['red_flags_urgent']:.0%}, "
            f"urgent reply to a message that is not a red flag {r['urgent_not_red_flag']:.1%}",
            table(verdicts),
            "Worst misses:",
        ]
        lines += [
            f"  [{v.outcome}] {v.topic}: {v.text[:90]!r} -> {v.reply} ({v.confidence:.2f})"
            + (f" offered {list(v.offered)}" if v.offered else "")
            for v in worst(verdicts)
        ]
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{part}.json").write_text(json.dumps([asdict(v) for v in verdicts], indent=1))
    return "\n".join(lines)


def main(default_model: Path, argv: Optional[Sequence[str]] = None) -> int:
    """Command-line entry point; returns the exit code.

    Args:
        default_model: The model to score unless `--model` names another.
        argv: Command-line arguments (default: `sys.argv`).
    """
    parser = argparse.ArgumentParser(description="Scores the trained model on real patients' messages.")
    parser.add_argument("--model", type=Path, help="model archive (default: the one for the current inputs)")
    parser.add_argument("--part", choices=PARTS, action="append", help="only this part (repeatable)")
    parser.add_argument(
        "--enforce",
        choices=("all", "red-flags"),
        default="all",
        help="which targets fail the run on the test part (default: all)",
    )
    args = parser.parse_args(argv)
    model = args.model or default_model
    if not model.exists():
        print(f"error: no trained model {model}; run `make train`.", file=sys.stderr)
        return 1
    results = evaluate(model, args.part or PARTS)
    print(report(results))
    missed = failures(results["test"], args.enforce) if "test" in results else []
    if missed:
        print("\nFAILED on the test part: " + "; ".join(missed), file=sys.stderr)
        return 1
    return 0
