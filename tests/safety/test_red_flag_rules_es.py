"""The Spanish red-flag rules through the spaCy pipeline alone (no trained model needed).

The pipeline is built from data/spacy/ into a temporary directory, as `make spacy` builds it.
"""

from __future__ import annotations

from pathlib import Path
from typing import List

import pytest
import spacy
import yaml
from spacy.language import Language

from components.red_flags import find_red_flags
from scripts.build_spacy_pipeline import build

SUITE = yaml.safe_load((Path(__file__).parent / "red_flag_cases_es.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def nlp(tmp_path_factory: pytest.TempPathFactory) -> Language:
    output = tmp_path_factory.mktemp("spacy") / "en_bts"
    build(output)
    return spacy.load(output)


def _categories(nlp: Language, text: str) -> List[str]:
    # Rasa lower-cases messages before spaCy sees them.
    return [finding.category for finding in find_red_flags(nlp(text.lower()))]


def test_every_spanish_red_flag_is_matched_by_the_rules(nlp: Language) -> None:
    missed = [c["text"] for c in SUITE["red_flags"] if not _categories(nlp, c["text"])]
    assert not missed


def test_spanish_near_misses_are_not_matched(nlp: Language) -> None:
    flagged = [c["text"] for c in SUITE["near_misses"] if _categories(nlp, c["text"])]
    assert len(flagged) <= 0.05 * len(SUITE["near_misses"]), flagged


@pytest.mark.parametrize(
    "text",
    [
        "No puedo controlar la VEJÍGA",
        "no puedo controlar la vegiga",
        "no puedo controlar la vejiga",
        "tengo entumecida la ENTREPIERNA",
    ],
)
def test_accents_capitals_and_misspellings_do_not_matter(nlp: Language, text: str) -> None:
    assert _categories(nlp, text)


def test_spanish_and_english_rules_both_run_on_every_message(nlp: Language) -> None:
    mixed = "my back hurts so much and también no puedo controlar la vejiga; both legs are numb"
    assert {"bladder_bowel", "both_legs"} <= set(_categories(nlp, mixed))


@pytest.mark.parametrize(
    "text",
    [
        "no tengo problemas con la vejiga",
        "nunca he perdido el control de la vejiga",
        "no siento entumecimiento en la entrepierna",
        "¿qué es el entumecimiento en la entrepierna?",
    ],
)
def test_spanish_denials_and_questions_are_not_red_flags(nlp: Language, text: str) -> None:
    assert not _categories(nlp, text)
