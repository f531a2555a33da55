"""The real-patient set: big enough, sourced, split without overlap, and never trained on."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Set

import yaml

from bts.evaluation.realpatients import PARTS, load_cases

ROOT = Path(__file__).resolve().parents[2]


def training_texts() -> Set[str]:
    texts: Set[str] = set()
    for path in (ROOT / "data" / "nlu").glob("*.yml"):
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            texts.update(m.strip().lower() for m in re.findall(r"^- (.*)$", block.get("examples", ""), re.M))
    return texts


def test_the_set_has_at_least_300_messages_with_a_source_and_a_licence() -> None:
    files = [ROOT / "tests" / "realpatients" / f"{part}.yml" for part in PARTS]
    raw = [m for path in files for m in yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]]
    assert len(raw) >= 300
    assert all(m["source"] and m["licence"] and m["expect"] for m in raw)


def test_dev_and_test_do_not_overlap_and_both_cover_each_topic() -> None:
    dev, test = (load_cases(part) for part in PARTS)
    assert not {c.text for c in dev} & {c.text for c in test}
    dev_topics, test_topics = Counter(c.topic for c in dev), Counter(c.topic for c in test)
    shared = {t for t in dev_topics | test_topics if dev_topics[t] + test_topics[t] >= 2}
    assert all(dev_topics[t] and test_topics[t] for t in shared)


def test_no_real_message_is_a_training_example() -> None:
    trained = training_texts()
    leaked = [c.text for part in PARTS for c in load_cases(part) if c.text.strip().lower() in trained]
    assert not leaked, leaked


def test_red_flags_expect_only_the_urgent_reply() -> None:
    flags = [c for part in PARTS for c in load_cases(part) if c.topic == "red_flag"]
    assert flags and all(c.expect == ("red_flag",) and not c.safe for c in flags)
