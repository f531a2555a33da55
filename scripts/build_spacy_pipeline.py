"""Builds the project's spaCy pipeline offline (see bts.dev.spacy_pipeline)."""

from bts.dev.spacy_pipeline import DEFAULT_OUTPUT, PATTERN_DIR, build, load_entity_patterns, main

__all__ = ["DEFAULT_OUTPUT", "PATTERN_DIR", "build", "load_entity_patterns", "main"]

if __name__ == "__main__":
    main()
