"""How a parse becomes what the patient sees, and how that is judged."""

from __future__ import annotations

from typing import Any, Dict, Sequence

from bts.evaluation.realpatients import Case, Verdict, failures, judge, offered_topics, rates, reply_of

MEDICINE = Case("how many mg of naproxen", "medicines", ("faq/medicines",), ("ask_diagnosis",), "x")


def parse(intent: str, confidence: float = 0.9, faq: str = "", ranking: Sequence[str] = ()) -> Dict[str, Any]:
    data: Dict[str, Any] = {
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [{"name": n, "confidence": 0.1} for n in ranking or [intent]],
    }
    if faq:
        data["response_selector"] = {
            "faq": {
                "response": {"intent_response_key": faq, "confidence": 0.8},
                "ranking": [{"intent_response_key": faq}, {"intent_response_key": "faq/surgery"}],
            }
        }
    return data


def test_an_faq_answer_is_the_selected_topic() -> None:
    assert reply_of(parse("faq", faq="faq/medicines")) == ("faq/medicines", 0.8)


def test_the_expected_answer_is_right_and_a_safe_one_is_safe() -> None:
    assert judge(MEDICINE, parse("faq", faq="faq/medicines")).outcome == "right"
    assert judge(MEDICINE, parse("ask_diagnosis")).outcome == "safe"


def test_a_confident_answer_on_another_topic_is_wrong() -> None:
    assert judge(MEDICINE, parse("faq", faq="faq/number_of_sessions")).outcome == "wrong"
    assert judge(MEDICINE, parse("ask_hours")).outcome == "wrong"


def test_a_fallback_is_safe_only_if_it_offers_an_expected_topic() -> None:
    offering = parse("nlu_fallback", faq="faq/medicines", ranking=["nlu_fallback", "faq", "ask_cost"])
    assert offered_topics(offering) == ["faq/medicines", "faq/surgery", "ask_cost"]
    assert judge(MEDICINE, offering).outcome == "safe"
    not_offering = parse("nlu_fallback", ranking=["nlu_fallback", "bot_challenge", "ask_languages"])
    assert judge(MEDICINE, not_offering).outcome == "unhelpful"
    offering_a_safe_reply = parse("nlu_fallback", ranking=["nlu_fallback", "faq"], faq="faq/surgery")
    surgery_is_safe = Case("t", "medicines", ("faq/medicines",), ("faq/surgery",), "x")
    assert judge(surgery_is_safe, offering_a_safe_reply).outcome == "safe"


def test_an_urgent_reply_to_a_non_emergency_is_safe_but_counted() -> None:
    verdict = judge(MEDICINE, parse("red_flag"))
    assert verdict.outcome == "safe"
    assert rates([verdict])["urgent_not_red_flag"] == 1.0


def test_out_of_scope_is_unhelpful_unless_listed_as_safe() -> None:
    assert judge(MEDICINE, parse("out_of_scope")).outcome == "unhelpful"


def test_targets_on_the_test_part() -> None:
    def verdict(outcome: str, topic: str = "medicines", reply: str = "x") -> Verdict:
        return Verdict("t", topic, reply, 0.9, (), outcome)

    good = [verdict("right")] * 95 + [verdict("safe")] * 4 + [verdict("right", "red_flag", "red_flag")]
    assert not failures(good, "all")
    missed_flag = good[:-1] + [verdict("unhelpful", "red_flag", "nlu_fallback")]
    assert rates(missed_flag)["red_flags_urgent"] == 0.0
    assert failures(missed_flag, "red-flags") and failures(missed_flag, "all")
    wrong = [verdict("wrong")] * 5 + good[5:]
    assert failures(wrong, "all") and not failures(wrong, "red-flags")
