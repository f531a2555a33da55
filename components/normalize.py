"""Accent-free word forms for Spanish, as a spaCy pipeline component.

Patients type "ciatica" as often as "ciática" and "vejiga" with or without capitals. The
`bts_norm` component (added to the project's spaCy pipeline by
`scripts/build_spacy_pipeline.py`) sets each token's `NORM` to its lower-case form without
accents, which the Spanish red-flag rules match on, and strips accents from the lemma, which
Rasa's featurizers read, so both spellings are the same word to the model. "ñ" is kept: "año"
and "ano" are different words.
"""

from __future__ import annotations

import unicodedata

from spacy.language import Language
from spacy.tokens import Doc

NORM_COMPONENT = "bts_norm"
# Combining marks removed after decomposition (acute, grave, diaeresis, circumflex); the tilde
# stays so that "ñ" survives.
_DROPPED_MARKS = {"\u0301", "\u0300", "\u0308", "\u0302"}


def fold(text: str) -> str:
    """Lower-cases `text` and removes accents but keeps "ñ" ("Ciática" -> "ciatica").

    Args:
        text: Any text.

    Returns:
        The folded text.
    """
    decomposed = unicodedata.normalize("NFD", text.lower())
    kept = "".join(ch for ch in decomposed if ch not in _DROPPED_MARKS)
    return unicodedata.normalize("NFC", kept)


@Language.component(NORM_COMPONENT)
def fold_tokens(doc: Doc) -> Doc:
    """Sets every token's NORM to its folded form and folds lemmas that carry accents."""
    for token in doc:
        token.norm_ = fold(token.text)
        if not token.lemma_.isascii():
            token.lemma_ = fold(token.lemma_)
    return doc
