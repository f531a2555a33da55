"""Tests of the rule-based red-flag matcher (components/red_flags.py) and the entity patterns.

The spaCy pipeline is built once per session from data/spacy/ into a temporary directory, exactly
as scripts/build_spacy_pipeline.py builds it for Rasa. Rasa lower-cases every message before spaCy
sees it, so every text is lower-cased here too.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List

import pytest
import spacy
import yaml
from spacy.language import Language
from spacy.matcher import Matcher

from components.red_flags import (
    LABEL,
    Finding,
    categories,
    expand_rule,
    find_red_flags,
    is_denied,
    load_rules,
)
from scripts.build_spacy_pipeline import PATTERN_DIR, build

ROOT = Path(__file__).resolve().parents[2]
CASES_FILE = ROOT / "tests" / "safety" / "red_flag_cases.yml"
CATEGORIES = {
    "bladder_bowel",
    "saddle_numbness",
    "both_legs",
    "leg_weakness_worsening",
    "cannot_walk_or_stand",
    "trauma",
    "fever",
    "cancer_history",
}
NEAR_MISS_MIN_RATE = 0.95


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    output = tmp_path_factory.mktemp("spacy") / "en_bts"
    started = time.perf_counter()
    count = build(output)
    return {"path": output, "patterns": count, "seconds": time.perf_counter() - started}


@pytest.fixture(scope="session")
def nlp(built: Dict[str, Any]) -> Language:
    return spacy.load(built["path"])


@pytest.fixture(scope="session")
def cases() -> Dict[str, List[Dict[str, str]]]:
    return yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))


def flags(nlp: Language, text: str) -> List[Finding]:
    return find_red_flags(nlp(text.lower()))


def cats(nlp: Language, text: str) -> List[str]:
    return categories(flags(nlp, text))


def red_flag_span(nlp: Language, text: str):
    doc = nlp(text.lower())
    spans = [ent for ent in doc.ents if ent.label_ == LABEL]
    assert spans, f"no RED_FLAG entity in {text!r}"
    return doc, spans[0]


def matches(nlp: Language, rule: Dict[str, Any], text: str) -> List[str]:
    """Texts matched by one expanded rule (without the rest of the rule set)."""
    matcher = Matcher(nlp.vocab, validate=True)
    matcher.add("rule", [p["pattern"] for p in expand_rule(rule)])
    with nlp.select_pipes(disable=["entity_ruler"]):
        doc = nlp(text.lower())
    return [doc[start:end].text for _, start, end in matcher(doc)]


# --------------------------------------------------------------------------------------------
# expand_rule / load_rules
# --------------------------------------------------------------------------------------------


def test_phrase_rule_gives_one_pattern_per_phrase_with_label_and_id():
    patterns = expand_rule({"id": "fever", "phrase": ["night sweat", "=chills"]})
    assert [p["pattern"] for p in patterns] == [
        [{"LEMMA": "night"}, {"LEMMA": "sweat"}],
        [{"LOWER": "chills"}],
    ]
    assert {p["label"] for p in patterns} == {LABEL}
    assert {p["id"] for p in patterns} == {"fever"}


def test_single_words_of_a_group_share_one_token_and_phrases_stay_apart():
    patterns = expand_rule({"id": "x", "near": [["numb", "tingle", "pin and needle"], ["groin"]]})
    starts = [p["pattern"][0] for p in patterns]
    assert {"LEMMA": {"IN": ["numb", "tingle"]}} in starts
    assert {"LEMMA": "pin"} in starts
    # 2 alternatives x 1 alternative x 2 orders
    assert len(patterns) == 4


def test_near_rule_matches_in_any_order_and_ordered_rule_in_given_order_only(nlp):
    rule = {"id": "x", "near": [["numb"], ["groin"]], "window": 3}
    assert len(expand_rule(rule)) == 2
    assert matches(nlp, rule, "my groin is numb") == ["groin is numb"]
    assert matches(nlp, rule, "numb in my groin") == ["numb in my groin"]
    ordered = dict(rule, ordered=True)
    assert len(expand_rule(ordered)) == 1
    assert matches(nlp, ordered, "numb in my groin") == ["numb in my groin"]
    assert matches(nlp, ordered, "my groin is numb") == []


def test_three_groups_give_all_permutations():
    patterns = expand_rule({"id": "x", "near": [["a"], ["b"], ["c"]]})
    firsts = sorted(p["pattern"][0]["LEMMA"] for p in patterns)
    assert firsts == ["a", "a", "b", "b", "c", "c"]


def test_window_limits_the_tokens_between_terms(nlp):
    rule = {"id": "x", "near": [["fever"], ["back"]], "window": 2, "ordered": True}
    assert matches(nlp, rule, "fever and my back")  # 2 tokens between
    assert not matches(nlp, rule, "fever and then my back")  # 3 tokens between
    assert matches(nlp, dict(rule, window=3), "fever and then my back")
    adjacent = {"id": "x", "near": [["fever"], ["back"]], "window": 0, "ordered": True}
    assert adjacent["window"] == 0 and len(expand_rule(adjacent)[0]["pattern"]) == 2
    assert matches(nlp, adjacent, "fever back") and not matches(nlp, adjacent, "fever my back")


def test_window_does_not_skip_negations_or_but(nlp):
    rule = {"id": "x", "near": [["fever"], ["back"]], "window": 8}
    assert matches(nlp, rule, "a fever, and my back hurts")
    assert not matches(nlp, rule, "a fever last week, it never affected my back")
    assert not matches(nlp, rule, "a fever but my back is fine")
    assert not matches(nlp, rule, "fever and i don't have back pain")


def test_gap_excludes_adds_words_the_window_may_not_skip(nlp):
    rule = {"id": "x", "near": [["ca not"], ["walk"]], "ordered": True}
    assert matches(nlp, rule, "i can't wait to walk again")
    assert not matches(nlp, dict(rule, gap_excludes=["Wait"]), "i can't wait to walk again")
    assert matches(nlp, dict(rule, gap_excludes=["wait"]), "i can't really walk")


def test_term_syntax_lemma_exact_form_alternatives_wildcard_and_not(nlp):
    # lemma: "legs" and "peeing" match through their lemmas
    assert matches(nlp, {"id": "x", "phrase": ["pee"]}, "i keep peeing") == ["peeing"]
    # =form: the exact lower-case word only ("worse" has the lemma "wrong")
    assert matches(nlp, {"id": "x", "phrase": ["=worse"]}, "it is worse") == ["worse"]
    assert matches(nlp, {"id": "x", "phrase": ["=worse"]}, "it is wrong") == []
    # a|b alternatives and * wildcard
    rule = {"id": "x", "phrase": ["fall down|off * ladder"]}
    assert matches(nlp, rule, "i fell off the ladder") == ["fell off the ladder"]
    assert matches(nlp, rule, "i fell asleep on the ladder") == []
    # "not" also matches n't, nt and the curly n’t
    rule = {"id": "x", "phrase": ["ca not walk"]}
    for text in ("i can't walk", "i cant walk", "i can’t walk"):
        assert len(matches(nlp, rule, text)) == 1, text


def test_definitions_are_expanded_by_load_rules(tmp_path):
    path = tmp_path / "rules.jsonl"
    path.write_text(
        '// comment\n{"define": "PEE", "terms": ["pee", "urine"]}\n\n'
        '{"id": "bladder_bowel", "near": [["@PEE"], ["hold"]], "ordered": true}\n',
        encoding="utf-8",
    )
    patterns = load_rules(path)
    assert len(patterns) == 1
    assert patterns[0]["pattern"][0] == {"LEMMA": {"IN": ["pee", "urine"]}}
    assert patterns[0]["pattern"][-1] == {"LEMMA": "hold"}


@pytest.mark.parametrize(
    "rule",
    [
        {"near": [["a"], ["b"]]},  # no id
        {"id": "x"},  # neither near nor phrase
        {"id": "x", "near": [["a"], []]},  # empty group
        {"id": "x", "near": [["a"]]},  # one group only
        {"id": "x", "near": [["a"], ["b"]], "windows": 3},  # unknown key (typo)
        {"id": "x", "near": [["a"], ["b"]], "window": -1},
        {"id": "x", "near": [["a"], ["b"]], "window": "3"},
        {"id": "x", "phrase": []},
        {"id": "x", "phrase": ["=worse|bad"]},  # mixes =forms and lemmas
        {"id": "x", "phrase": ["a||b"]},
        {"id": "x", "phrase": ["@UNDEFINED"]},
        {"id": "x", "phrase": "not a list"},
        {"id": "x", "near": [["a"], ["b"]], "gap_excludes": "wait"},
    ],
)
def test_bad_rule_raises_value_error(rule):
    with pytest.raises(ValueError):
        expand_rule(rule)


def test_rule_expanding_to_too_many_patterns_is_refused():
    groups = [[f"w{i} x{i}" for i in range(11)] for _ in range(3)]  # 11^3 * 3! patterns
    with pytest.raises(ValueError, match="patterns"):
        expand_rule({"id": "x", "near": groups})


@pytest.mark.parametrize(
    "bad_line",
    [
        '{"id": "fever", "near": [["fever"], []]}',
        '{"id": "fever", "near": [["fever"], ["back"]]',  # not valid JSON
        '{"id": "fever", "near": [["@NOPE"], ["back"]]}',
        '{"define": "X"}',
    ],
)
def test_load_rules_reports_the_line_number_of_a_bad_rule(tmp_path, bad_line):
    path = tmp_path / "rules.jsonl"
    good = '{"id": "fever", "near": [["fever"], ["back"]]}'
    path.write_text("// header\n" + good + "\n\n" + bad_line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"rules\.jsonl:4: "):
        load_rules(path)


def test_project_rules_cover_every_category_and_stay_small(built):
    patterns = load_rules(PATTERN_DIR / "red_flag_rules.jsonl")
    assert {p["id"] for p in patterns} == CATEGORIES
    print(f"\n{len(patterns)} red-flag patterns; build took {built['seconds']:.2f} s")
    assert len(patterns) < 2000
    assert built["seconds"] < 30


def test_matching_a_long_message_is_fast(nlp, cases):
    text = " ".join(c["text"] for c in cases["red_flags"] + cases["near_misses"])[:1000].lower()
    assert len(text) == 1000
    nlp(text)  # warm-up
    timings = []
    for _ in range(15):
        started = time.perf_counter()
        find_red_flags(nlp(text))
        timings.append(time.perf_counter() - started)
    print(f"\nfastest of 15 runs on 1,000 characters: {min(timings) * 1000:.1f} ms")
    # A guard against a pattern that makes matching explode (seconds), not a benchmark: the
    # measured cost of the rules is in docs/benchmark.md (NLU parse alone).
    assert min(timings) < 0.050


# --------------------------------------------------------------------------------------------
# is_denied / find_red_flags
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "i have no numbness in my groin",
        "i don't have any numbness in my groin",
        "no tingling around my bum",
        "without any numbness in my groin",
        "i have never had cancer",
        "i didn't wet myself",
    ],
)
def test_denied_red_flag_phrases(nlp, text):
    doc, span = red_flag_span(nlp, text)
    assert is_denied(doc, span)
    assert find_red_flags(doc) == []


@pytest.mark.parametrize(
    "text",
    [
        "i can't hold my urine",
        "i cannot control my bladder",
        "i have no control over my bladder",
        "i have no feeling in my groin",
        "no, i can't walk",
        "i keep getting fevers for no reason and my back hurts",
    ],
)
def test_inability_and_loss_are_not_denials(nlp, text):
    doc, span = red_flag_span(nlp, text)
    assert not is_denied(doc, span)
    assert find_red_flags(doc)


def test_denial_stops_at_a_clause_break(nlp):
    assert cats(nlp, "no fever but i can't pee") == ["bladder_bowel"]
    assert cats(nlp, "no numbness in my groin. i can't hold my pee") == ["bladder_bowel"]


def test_questions_about_a_red_flag_are_not_reports(nlp):
    assert cats(nlp, "what is saddle numbness?") == []
    assert cats(nlp, "what if i can't walk after the session?") == []
    assert cats(nlp, "i have saddle numbness") == ["saddle_numbness"]


def test_finding_carries_category_text_and_offsets(nlp):
    text = "hi, i can't hold my pee since this morning"
    (finding,) = flags(nlp, text)
    assert finding.category == "bladder_bowel"
    assert text[finding.start : finding.end] == finding.text
    assert "pee" in finding.text


def test_categories_keeps_first_appearance_order():
    findings = [Finding("fever", "a", 0, 1), Finding("trauma", "b", 2, 3), Finding("fever", "c", 4, 5)]
    assert categories(findings) == ["fever", "trauma"]


# Paraphrases that are not in the acceptance suite: the rules are general, not one per sentence.
@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("i can’t control my bladder since yesterday", "bladder_bowel"),
        ("having trouble peeing since yesterday", "bladder_bowel"),
        ("my bladder wont empty", "bladder_bowel"),
        ("i had an accident in my pants", "bladder_bowel"),
        ("numb between my legs", "saddle_numbness"),
        ("tingly bum and groin", "saddle_numbness"),
        ("I can’t feel my private parts", "saddle_numbness"),
        ("I have sciatica in both legs", "both_legs"),
        ("both of my legs are tingling", "both_legs"),
        ("the weakness is getting worse", "leg_weakness_worsening"),
        ("I have foot drop", "leg_weakness_worsening"),
        ("my leg keeps giving way", "leg_weakness_worsening"),
        ("he is unable to stand", "cannot_walk_or_stand"),
        ("my legs just collapsed under me", "cannot_walk_or_stand"),
        ("I'm no longer able to walk", "cannot_walk_or_stand"),
        ("I fell off a ladder yesterday. Now my back pain is unbearable", "trauma"),
        ("my back is killing me after I fell off the ladder", "trauma"),
        ("i fell and now i can barely move", "trauma"),
        ("I have chills and back pain", "fever"),
        ("I have a fever. My back is killing me", "fever"),
        ("I was treated for lymphoma", "cancer_history"),
        ("i'm on chemo and my back is sore", "cancer_history"),
    ],
)
def test_paraphrases_outside_the_suite_are_found(nlp, text, category):
    assert category in cats(nlp, text)


@pytest.mark.parametrize(
    "text",
    [
        "the bottom of my foot is numb",
        "my bum hurts when I sit too long",
        "my left leg is numb from the knee down",
        "I fall asleep and wake up with pain",
        "I have a collapsed disc",
        "I can't wait to walk without pain again",
        "my wife can't stand the cold weather",
        "can I come back next week? I had a fever",
        "I had the flu and a fever last month",
        "my legs are sore after the stretches",
        "does this mean I have cancer?",
        "I have no numbness or tingling in my groin",
    ],
)
def test_ordinary_messages_outside_the_suite_are_not_flagged(nlp, text):
    assert flags(nlp, text) == []


# --------------------------------------------------------------------------------------------
# Acceptance suite tests/safety/red_flag_cases.yml, at matcher level
# --------------------------------------------------------------------------------------------


def test_acceptance_suite_is_complete(cases):
    assert len(cases["red_flags"]) == 74
    assert {c["category"] for c in cases["red_flags"]} == CATEGORIES
    assert len(cases["near_misses"]) == 44


def test_every_red_flag_is_found_with_its_category(nlp, cases):
    found: Counter = Counter()
    total: Counter = Counter()
    misses = []
    for case in cases["red_flags"]:
        total[case["category"]] += 1
        got = cats(nlp, case["text"])
        if case["category"] in got:
            found[case["category"]] += 1
        else:
            misses.append(f"  [{case['category']}] got {got or 'nothing'}: {case['text']}")
    print("\nred flags found per category:")
    for category in sorted(total):
        print(f"  {category}: {found[category]}/{total[category]}")
    for miss in misses:
        print("MISS" + miss)
    assert not misses, f"{len(misses)} red flags missed:\n" + "\n".join(misses)


def test_near_misses_are_not_flagged(nlp, cases):
    near = cases["near_misses"]
    false_positives = []
    for case in near:
        found = flags(nlp, case["text"])
        if found:
            detail = ", ".join(f"{f.category}: {f.text!r}" for f in found)
            false_positives.append(f"  {case['text']}  ->  {detail}")
    rate = 1 - len(false_positives) / len(near)
    print(f"\nnear-misses not flagged: {len(near) - len(false_positives)}/{len(near)} ({rate:.0%})")
    for line in false_positives:
        print("FALSE POSITIVE" + line)
    assert rate >= NEAR_MISS_MIN_RATE, "\n".join(false_positives)


# --------------------------------------------------------------------------------------------
# Entity patterns (data/spacy/entity_patterns.jsonl)
# --------------------------------------------------------------------------------------------


def test_entity_patterns_file_is_one_json_pattern_per_line():
    lines = [
        line
        for line in (PATTERN_DIR / "entity_patterns.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("//")
    ]
    labels = {json.loads(line)["label"] for line in lines}
    assert labels == {"BODY_PART", "SYMPTOM", "DAY", "TIME"}


def entities(nlp: Language, text: str, label: str) -> List[str]:
    return [ent.text for ent in nlp(text.lower()).ents if ent.label_ == label]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my lower back and my left calves hurt", ["lower back", "calves"]),
        ("it goes from my buttock down to my feet", ["buttock", "feet"]),
        ("pain in my big toe and knees", ["big toe", "knees"]),
        ("is it the sciatic nerve?", ["sciatic nerve"]),
    ],
)
def test_body_part_entities(nlp, text, expected):
    assert entities(nlp, text, "BODY_PART") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a burning pain and pins and needles", ["burning pain", "pins and needles"]),
        ("numbness and tingling", ["numbness", "tingling"]),
        ("the stiffness and weakness", ["stiffness", "weakness"]),
        ("a shooting pain, some aching", ["shooting pain", "aching"]),
    ],
)
def test_symptom_entities(nlp, text, expected):
    assert entities(nlp, text, "SYMPTOM") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("can i come monday or thursday?", ["monday", "thursday"]),
        ("any slots today, tomorrow or tonight?", ["today", "tomorrow", "tonight"]),
        ("only weekdays, not the weekend", ["weekdays", "weekend"]),
        ("Fridays are best", ["fridays"]),
    ],
)
def test_day_entities(nlp, text, expected):
    assert entities(nlp, text, "DAY") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in the morning or the afternoon", ["morning", "afternoon"]),
        ("any evening after 3", ["evening", "after 3"]),
        ("3pm or 10:30 am?", ["3pm", "10:30 am"]),
        ("before 9 or at noon", ["before 9", "at noon"]),
        ("11am works", ["11am"]),
    ],
)
def test_time_entities(nlp, text, expected):
    assert entities(nlp, text, "TIME") == expected


def test_plain_words_are_not_entities(nlp):
    doc = nlp("can i pay by card at the front desk?")
    assert [ent.label_ for ent in doc.ents] == []
