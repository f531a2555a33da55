"""Checks that need the Rasa environment (.venv), run by test_rasa_checks.py as a subprocess.

    .venv/bin/python tests/console/rasa_checks.py contact        # validators vs the console's mask
    .venv/bin/python tests/console/rasa_checks.py yaml NLU STORY  # exports load with Rasa's readers

Prints what failed (as JSON) and exits 1 if anything did.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import sys
import unicodedata
from pathlib import Path
from typing import Iterator, List

AREA_FORMS = ["575{s}555{s}0142", "({a}){s}555{s}0142"]
SEPARATORS = ["", " ", "-", ".", "/", " - ", "   ", " / ", "\t", " . ", "--", "\u00a0"]
PREFIXES = ["", "+1 ", "1-", "+1", "1 ", "+1-", "001 ", "011 1 ", "tel:", "+1 (", "1."]
AROUND = ["{}", "my number is {}", "call {} please", "{}.", "({})", "it's {}, ext. 12", "cell: {}!"]
EMAILS = [
    "test.patient@bücher.example.com",
    "pat@example.org",
    "Pat.Sample+clinic@Example.ORG",
    "o'brien@example.co.uk",
    "josé@example.com",
    "x_y-z@sub.example.museum",
    "pat@xn--bcher-kva.example",
    "PAT@EXAMPLE.COM",
]
EMAIL_AROUND = ["{}", "my email is {}", "<{}>", "mailto:{}", "({})", "{}.", "email: {} thanks", "'{}'"]


def phone_texts() -> Iterator[str]:
    for form, sep, prefix, around in itertools.product(AREA_FORMS, SEPARATORS, PREFIXES, AROUND):
        number = prefix + form.format(s=sep, a="575")
        yield around.format(number)
        yield around.format(unicodedata.normalize("NFKC", number).translate(_FULLWIDTH))
    rng = random.Random(7)
    alphabet = "0123456789" * 4 + " -./()+\t" + "abx#,"
    for _ in range(20000):
        yield "".join(rng.choice(alphabet) for _ in range(rng.randint(7, 24)))


_FULLWIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789-()./+"}


def _masked_clear(masked: str) -> str:
    """The digits a masked text still shows outside the hints."""
    visible = unicodedata.normalize("NFKC", re.sub(r"\[phone …\d\d\]", " ", masked))
    return "".join(ch for ch in visible if ch.isdigit())


def check_contact() -> List[dict]:
    from actions.forms import find_email, find_phone
    from bts.contact import mask
    from bts.validation import validate_email, validate_phone

    failures = []
    accepted = 0
    for text in phone_texts():
        result = validate_phone(text)
        if not result.ok:
            continue
        accepted += 1
        national = result.value.split(";")[0][2:]
        shown = _masked_clear(mask(text))
        if national[:6] in shown or national[-4:] in shown or national[3:7] in shown:
            failures.append({"kind": "phone not masked", "text": text, "masked": mask(text)})
        found = find_phone(text)
        # The extension stays outside the number that find_phone finds.
        if found is None or (validate_phone(found).value or "").split(";")[0] != result.value.split(";")[0]:
            failures.append({"kind": "find_phone", "text": text, "found": found})
    for email, around in itertools.product(EMAILS, EMAIL_AROUND):
        text = around.format(email)
        result = validate_email(text)
        if not result.ok or result.value is None:
            continue
        accepted += 1
        local, domain = result.value.split("@")
        masked = mask(text).lower()
        if local.lower() in masked or domain.split(".")[0] in masked:
            failures.append({"kind": "email not masked", "text": text, "masked": mask(text)})
        found = find_email(text)
        if found is None or validate_email(found).value != result.value:
            failures.append({"kind": "find_email", "text": text, "found": found})
    if accepted < 1000:
        failures.append({"kind": "too few accepted inputs to mean anything", "accepted": accepted})
    return failures


def check_yaml(nlu_path: str, story_path: str) -> List[dict]:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    failures = []
    nlu = RasaYAMLReader().reads(Path(nlu_path).read_text(encoding="utf-8"))
    if not nlu.training_examples:
        failures.append({"kind": "no NLU examples read", "file": nlu_path})
    domain = Domain.load(str(Path(__file__).resolve().parents[2] / "domain.yml"))
    steps = YAMLStoryReader(domain).read_from_string(Path(story_path).read_text(encoding="utf-8"))
    if not steps:
        failures.append({"kind": "no story read", "file": story_path})
    return failures


def main(argv: List[str]) -> int:
    failures = check_contact() if argv[0] == "contact" else check_yaml(argv[1], argv[2])
    print(json.dumps(failures[:20], ensure_ascii=False, indent=1))
    print(f"{len(failures)} failure(s)", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
