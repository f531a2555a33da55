"""Builds the project's spaCy pipeline offline, from installed packages only.

No pretrained spaCy model can be downloaded where this assistant runs, so the pipeline Rasa's
`SpacyNLP` loads is assembled here: `spacy.blank("en")`, the lookup lemmatizer whose tables come
from the `spacy-lookups-data` package, accent folding for Spanish (components/normalize.py), and
an entity ruler whose patterns live in `data/spacy/`
(body parts, symptoms, days and times, and the red-flag rules).

Usage:
    python -m bts.dev.spacy_pipeline [--output build/spacy/en_bts]   (make spacy)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from bts.dev.model_files import ROOT
from components.normalize import NORM_COMPONENT
from components.red_flags import load_rules

PATTERN_DIR = ROOT / "data" / "spacy"
DEFAULT_OUTPUT = ROOT / "build" / "spacy" / "en_bts"


def load_entity_patterns(path: Path) -> List[Dict[str, Any]]:
    """Reads entity-ruler patterns (JSON lines) and checks each has a label and a pattern.

    Args:
        path: The patterns file.

    Returns:
        The patterns.

    Raises:
        ValueError: With the line number, for a malformed line.
    """
    patterns = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            pattern = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not valid JSON: {exc}") from exc
        if not isinstance(pattern, dict) or "label" not in pattern or "pattern" not in pattern:
            raise ValueError(f"{path}:{number}: needs 'label' and 'pattern'")
        if isinstance(pattern["pattern"], str):
            # Rasa lower-cases text before spaCy sees it, so phrase patterns must be lower case.
            pattern["pattern"] = pattern["pattern"].lower()
        patterns.append(pattern)
    return patterns


def add_spanish_support(nlp: Any) -> None:
    """Adds the accent folding that the Spanish red-flag rules and the featurizers rely on.

    The blank English tokenizer splits Spanish text sensibly ("¿qué", "ciática?" become "¿",
    "qué", "ciática", "?"); `bts_norm` then gives every token an accent-free NORM and lemma.
    """
    nlp.add_pipe(NORM_COMPONENT, after="lemmatizer")


def build(output: Path) -> int:
    """Builds and saves the pipeline.

    Args:
        output: Directory to write the pipeline to.

    Returns:
        The number of entity-ruler patterns.
    """
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    add_spanish_support(nlp)
    ruler = nlp.add_pipe("entity_ruler", config={"overwrite_ents": True, "validate": True})
    patterns = load_entity_patterns(PATTERN_DIR / "entity_patterns.jsonl")
    patterns += load_rules(PATTERN_DIR / "red_flag_rules.jsonl")
    patterns += load_rules(PATTERN_DIR / "red_flag_rules_es.jsonl", attribute="NORM")
    # initialize() loads the lemmatizer's lookup table from spacy-lookups-data (no download).
    nlp.initialize()
    ruler.add_patterns(patterns)  # type: ignore[attr-defined]
    nlp.meta["name"] = "bts_en"
    nlp.meta["version"] = "1.0.0"
    nlp.meta["description"] = "Border Therapy Services: blank English + lookup lemmas + entity ruler"
    output.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(output)
    return len(patterns)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    count = build(args.output)
    print(f"spaCy pipeline with {count} entity-ruler patterns written to {args.output}")


if __name__ == "__main__":
    main()
