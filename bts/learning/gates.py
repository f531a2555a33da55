"""The gates a candidate model must pass before it may go live, and its before/after report.

The checks are those `make test` makes of a model: the held-out NLU sets (accuracy and macro-F1
of intents and FAQ topics at the bar of `bts.dev.evaluate_nlu`), the red-flag suites (every red
flag detected, near-misses at the suite's bar), the conversation tests' messages (as
`bts.dev.stories` parses them) and the corrections themselves: most of them must now get their
label, and none may take a message the assistant treats as a red flag away from `red_flag`.
`evaluate` works on any two parse functions, so the decision is tested without training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Sequence, Tuple

import yaml

from bts.learning.workspace import ROOT

Parse = Callable[[Sequence[str]], List[str]]

MIN_SCORE = 0.95  # bts.dev.evaluate_nlu's bar
NEAR_MISS_BAR = 0.95  # tests/safety/test_red_flag_suite.py
FIXED_BAR = 0.80
# A candidate may not lose more than this on a held-out set, even while above the bar.
HELDOUT_TOLERANCE = 0.01
RED_FLAG = "red_flag"


def holdouts(root: Path = ROOT) -> Dict[str, List[Tuple[str, str]]]:
    """Held-out set name -> (text, label) pairs."""
    out: Dict[str, List[Tuple[str, str]]] = {}
    for path in sorted((root / "tests" / "nlu").glob("holdout*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        pairs = []
        for block in doc.get("nlu") or []:
            for line in str(block.get("examples", "")).splitlines():
                text = line.strip()[1:].strip() if line.strip().startswith("-") else ""
                if text:
                    pairs.append((text, str(block["intent"])))
        out[path.stem] = pairs
    return out


def red_flag_suites(root: Path = ROOT) -> Dict[str, Dict[str, List[str]]]:
    """Suite name -> {"red_flags": texts, "near_misses": texts}."""
    out = {}
    for path in sorted((root / "tests" / "safety").glob("red_flag_cases*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        out[path.stem] = {k: [c["text"] for c in doc.get(k) or []] for k in ("red_flags", "near_misses")}
    return out


def story_steps(root: Path = ROOT) -> List[Tuple[str, str]]:
    """(text, label) of every typed user step of the conversation tests."""
    stories = yaml.safe_load((root / "tests" / "test_stories.yml").read_text(encoding="utf-8"))
    return [
        (str(step["user"]).strip(), str(step["intent"]))
        for story in stories["stories"]
        for step in story["steps"]
        if "user" in step and not str(step["user"]).strip().startswith("/")
    ]


def intent_of(label: str) -> str:
    """The intent of a label (`faq` for `faq/<topic>`)."""
    return label.split("/", 1)[0]


def scores(pairs: Sequence[Tuple[str, str]], predicted: Sequence[str]) -> Dict[str, float]:
    """Accuracy and macro-F1 of intents (FAQ as one intent) and of FAQ topics (on FAQ examples)."""

    def acc_f1(gold: List[str], got: List[str]) -> Tuple[float, float]:
        if not gold:
            return 1.0, 1.0
        accuracy = sum(a == b for a, b in zip(gold, got, strict=True)) / len(gold)
        f1s = []
        for label in set(gold):
            tp = sum(a == b == label for a, b in zip(gold, got, strict=True))
            fp = sum(b == label and a != label for a, b in zip(gold, got, strict=True))
            fn = sum(a == label and b != label for a, b in zip(gold, got, strict=True))
            f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
        return accuracy, sum(f1s) / len(f1s)

    gold = [label for _, label in pairs]
    intent_acc, intent_f1 = acc_f1([intent_of(g) for g in gold], [intent_of(p) for p in predicted])
    faq = [(g, p) for g, p in zip(gold, predicted, strict=True) if g.startswith("faq/")]
    faq_acc, faq_f1 = acc_f1([g for g, _ in faq], [p for _, p in faq])
    return {"intent_accuracy": intent_acc, "intent_f1": intent_f1, "faq_accuracy": faq_acc, "faq_f1": faq_f1}


def per_label(
    pairs: Sequence[Tuple[str, str]], before: Sequence[str], after: Sequence[str]
) -> Dict[str, Dict[str, Any]]:
    """Per gold label: examples, right before, right after."""
    out: Dict[str, Dict[str, Any]] = {}
    for (_, gold), b, a in zip(pairs, before, after, strict=True):
        row = out.setdefault(gold, {"n": 0, "before": 0, "after": 0})
        row["n"] += 1
        row["before"] += b == gold
        row["after"] += a == gold
    return dict(sorted(out.items()))


def evaluate(
    before: Parse,
    after: Parse,
    corrections: Iterable[Mapping[str, Any]],
    heldout_sets: Mapping[str, Sequence[Tuple[str, str]]],
    suites: Mapping[str, Mapping[str, Sequence[str]]],
    steps: Sequence[Tuple[str, str]],
) -> Dict[str, Any]:
    """Runs every check with the live model (`before`) and the candidate (`after`).

    Args:
        before: Texts -> labels the live model predicts (`faq/<topic>` for FAQ questions).
        after: The same for the candidate.
        corrections: Confirmed corrections, each with `text` (de-identified) and `label`.
        heldout_sets: From `holdouts`.
        suites: From `red_flag_suites`.
        steps: From `story_steps`.

    Returns:
        The report: per check its numbers, and `gates` (name -> passed, why) and `passed`.
    """
    corrections = list(corrections)
    gates: Dict[str, Dict[str, Any]] = {}

    heldout: Dict[str, Any] = {}
    held_why: List[str] = []
    for name, pairs in heldout_sets.items():
        texts = [t for t, _ in pairs]
        b, a = before(texts), after(texts)
        sb, sa_ = scores(pairs, b), scores(pairs, a)
        heldout[name] = {"before": sb, "after": sa_, "per_label": per_label(pairs, b, a)}
        for key, value in sa_.items():
            if value < MIN_SCORE:
                held_why.append(f"{name} {key} {value:.3f} < {MIN_SCORE:.2f}")
            elif value < sb[key] - HELDOUT_TOLERANCE:
                held_why.append(f"{name} {key} fell from {sb[key]:.3f} to {value:.3f}")
    gates["heldout"] = {"passed": not held_why, "why": "; ".join(held_why)}

    texts = [c["text"] for c in corrections]
    b, a = before(texts), after(texts)
    rows = [
        {"id": c.get("id"), "text": c["text"], "label": c["label"], "before": x, "after": y}
        for c, x, y in zip(corrections, b, a, strict=True)
    ]
    fixed = sum(r["after"] == r["label"] for r in rows)
    share = fixed / len(rows) if rows else 0.0
    gates["corrections"] = {
        "passed": bool(rows) and share >= FIXED_BAR,
        "why": f"{fixed}/{len(rows)} corrected messages get their label (bar {FIXED_BAR:.0%})",
    }

    red: Dict[str, Any] = {}
    red_why = []
    for name, suite in suites.items():
        flags = list(suite["red_flags"])
        near = list(suite["near_misses"])
        got = after(flags + near)
        missed = [t for t, p in zip(flags, got[: len(flags)], strict=True) if p != RED_FLAG]
        flagged = sum(p == RED_FLAG for p in got[len(flags) :])
        rate = 1 - flagged / len(near) if near else 1.0
        red[name] = {
            "detected": len(flags) - len(missed),
            "total": len(flags),
            "missed": missed,
            "near_misses_ok": rate,
        }
        if missed:
            red_why.append(f"{name}: {len(missed)} red flags missed")
        if rate < NEAR_MISS_BAR:
            red_why.append(f"{name}: near-misses not flagged {rate:.1%} < {NEAR_MISS_BAR:.0%}")
    suite_texts = {t for s in suites.values() for t in s["red_flags"]}
    relabelled = [
        r["text"]
        for r in rows
        if r["label"] != RED_FLAG and (RED_FLAG in (r["before"], r["after"]) or r["text"] in suite_texts)
    ]
    if relabelled:
        red_why.append(f"{len(relabelled)} corrections label a red-flag message as something else")
    red["relabelled"] = relabelled
    gates["red_flags"] = {"passed": not red_why, "why": "; ".join(red_why)}

    got = after([t for t, _ in steps])
    mismatches = [
        {"text": t, "expected": e, "got": g} for (t, e), g in zip(steps, got, strict=True) if g != e
    ]
    gates["stories"] = {
        "passed": not mismatches,
        "why": f"{len(steps) - len(mismatches)}/{len(steps)} conversation-test messages understood",
    }
    return {
        "heldout": heldout,
        "corrections": rows,
        "red_flags": red,
        "stories": {"mismatches": mismatches, "total": len(steps)},
        "gates": gates,
        "passed": all(g["passed"] for g in gates.values()),
    }


def failed_gates(report: Mapping[str, Any]) -> List[str]:
    """Names of the gates a report did not pass; every gate counts as failed in an empty report."""
    gates = report.get("gates") or {}
    required = ("heldout", "corrections", "red_flags", "stories")
    return [name for name in required if not (gates.get(name) or {}).get("passed")]


def model_parser(model: Path) -> Parse:
    """A parse function over a trained model (loads Rasa; the job's environment only)."""
    import asyncio

    from rasa.core.agent import Agent

    agent = Agent.load(str(model))

    def label(parse: Dict[str, Any]) -> str:
        intent = parse["intent"]["name"]
        if intent == "faq":
            response = parse.get("response_selector", {}).get("faq", {}).get("response", {})
            return response.get("intent_response_key") or intent
        return str(intent)

    def parse_all(texts: Sequence[str]) -> List[str]:
        async def run() -> List[str]:
            return [label(await agent.parse_message(t)) for t in texts]

        return asyncio.run(run())

    return parse_all
