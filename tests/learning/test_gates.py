"""The gates' decision, with fake parses of the live model and the candidate."""

from __future__ import annotations

from typing import Dict, List, Sequence

from bts.learning import gates

HELDOUT = {
    "holdout": [
        ("what is sciatica", "faq/what_is_sciatica"),
        ("hi there", "greet"),
        ("how long does it last", "faq/duration"),
    ]
}
SUITES = {"red_flag_cases": {"red_flags": ["i cant feel my groin"], "near_misses": ["my groin is fine"]}}
STEPS = [("hello", "greet")]
TRUTH = dict(
    HELDOUT["holdout"],
    hello="greet",
    **{"i cant feel my groin": "red_flag", "my groin is fine": "out_of_scope"},
)


def parser(changes: Dict[str, str]):  # type: ignore[no-untyped-def]
    def parse(texts: Sequence[str]) -> List[str]:
        return [changes.get(t, TRUTH.get(t, "nlu_fallback")) for t in texts]

    return parse


def corrections(*pairs: tuple) -> List[dict]:
    return [{"id": i, "text": t, "label": label} for i, (t, label) in enumerate(pairs)]


def test_a_good_candidate_passes_every_gate() -> None:
    fixes = corrections(("sciatic nerve thing?", "faq/what_is_sciatica"), ("yo", "greet"))
    report = gates.evaluate(
        parser({}),
        parser({"sciatic nerve thing?": "faq/what_is_sciatica", "yo": "greet"}),
        fixes,
        HELDOUT,
        SUITES,
        STEPS,
    )
    assert gates.failed_gates(report) == [] and report["passed"]
    assert [(r["before"], r["after"]) for r in report["corrections"]] == [
        ("nlu_fallback", "faq/what_is_sciatica"),
        ("nlu_fallback", "greet"),
    ]


def test_fixing_too_few_corrections_fails() -> None:
    fixes = corrections(("a", "greet"), ("b", "greet"), ("c", "greet"), ("d", "greet"), ("e", "greet"))
    report = gates.evaluate(
        parser({}), parser({"a": "greet", "b": "greet", "c": "greet"}), fixes, HELDOUT, SUITES, STEPS
    )
    assert gates.failed_gates(report) == ["corrections"]
    four = parser({"a": "greet", "b": "greet", "c": "greet", "d": "greet"})
    assert gates.failed_gates(gates.evaluate(parser({}), four, fixes, HELDOUT, SUITES, STEPS)) == []


def test_breaking_the_heldout_set_fails_even_when_corrections_are_fixed() -> None:
    fixes = corrections(("x", "greet"))
    report = gates.evaluate(
        parser({}),
        parser({"x": "greet", "how long does it last": "faq/what_is_sciatica"}),
        fixes,
        HELDOUT,
        SUITES,
        STEPS,
    )
    assert gates.failed_gates(report) == ["heldout"]
    assert report["heldout"]["holdout"]["per_label"]["faq/duration"] == {"n": 1, "before": 1, "after": 0}


def test_a_missed_red_flag_fails() -> None:
    fixes = corrections(("x", "greet"))
    report = gates.evaluate(
        parser({}), parser({"x": "greet", "i cant feel my groin": "greet"}), fixes, HELDOUT, SUITES, STEPS
    )
    assert gates.failed_gates(report) == ["red_flags"]
    assert report["red_flags"]["red_flag_cases"]["missed"] == ["i cant feel my groin"]


def test_relabelling_a_red_flag_message_fails_even_when_the_rules_still_catch_it() -> None:
    # The rule-based net still says red_flag for the candidate, but the correction teaches the
    # classifier to unlearn it: refused.
    text = "I can't control my bladder"
    fixes = corrections(
        (text, "faq/what_is_sciatica"), ("x", "greet"), ("y", "greet"), ("z", "greet"), ("w", "greet")
    )
    live = parser({text: "red_flag"})
    candidate = parser({text: "red_flag", "x": "greet", "y": "greet", "z": "greet", "w": "greet"})
    report = gates.evaluate(live, candidate, fixes, HELDOUT, SUITES, STEPS)
    assert gates.failed_gates(report) == ["red_flags"]
    assert report["red_flags"]["relabelled"] == [text]


def test_a_conversation_test_message_understood_differently_fails() -> None:
    report = gates.evaluate(
        parser({}),
        parser({"x": "greet", "hello": "faq/duration"}),
        corrections(("x", "greet")),
        HELDOUT,
        SUITES,
        STEPS,
    )
    assert gates.failed_gates(report) == ["stories"]


def test_an_empty_report_passes_nothing() -> None:
    assert gates.failed_gates({}) == ["heldout", "corrections", "red_flags", "stories"]


def test_the_project_sets_are_read() -> None:
    assert sum(len(p) for p in gates.holdouts().values()) > 100
    assert all(len(s["red_flags"]) >= 60 for s in gates.red_flag_suites().values())
    assert gates.story_steps()
