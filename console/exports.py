"""Downloads: NLU training examples and test stories (Rasa 3.x YAML), bookings as CSV.

Examples and stories go into git and models, so patient text in them is de-identified
(`bts.deid`) and stripped of characters YAML cannot carry.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any, Dict, Iterable, List, Optional

import yaml
from bts.deid import FAKE_EMAIL, FAKE_NAME, FAKE_REFERENCE, deidentify

RASA_YAML_VERSION = "3.1"
SKIPPED_ACTIONS = {"action_session_start", "action_listen"}
FAKE_E164 = "+15755550100"
# Slots that hold who the patient is: exported as fakes, and their values are looked for in the text.
IDENTITY_SLOTS = {
    "booking_name": FAKE_NAME,
    "callback_name": FAKE_NAME,
    "change_name": FAKE_NAME,
    "booking_phone": FAKE_E164,
    "callback_phone": FAKE_E164,
    "change_phone": FAKE_E164,
    "booking_email": FAKE_EMAIL,
    "booking_reference": FAKE_REFERENCE,
    "handoff_reference": FAKE_REFERENCE,
    "change_reference": FAKE_REFERENCE,
}
# What YAML cannot carry (control characters, surrogates, U+FFFE/U+FFFF), as in the YAML 1.1 spec.
_NOT_YAML = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean_text(text: str) -> str:
    """`text` on one line, without characters that YAML (and so Rasa's reader) refuses."""
    return " ".join(_NOT_YAML.sub(" ", text).split())


def _literal(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(str, _literal)


def nlu_yaml(examples: Dict[str, List[str]], generated_at: Optional[str] = None) -> str:
    """NLU training data in Rasa's format: one block per intent, examples as a literal list."""
    lines = [
        "# Exported from the Border Therapy Services staff console"
        + (f" on {generated_at}." if generated_at else "."),
        "# Names, phone numbers, e-mails, dates, addresses and references are replaced by fakes.",
        "# Review each example, then merge it into data/nlu/ and retrain.",
        f'version: "{RASA_YAML_VERSION}"',
        "nlu:",
    ]
    for intent in sorted(examples):
        lines.append(f"- intent: {yaml.safe_dump(intent, default_style=None).splitlines()[0]}")
        lines.append("  examples: |")
        seen = set()
        for text in examples[intent]:
            example = clean_text(deidentify(text))
            if example and example not in seen:
                seen.add(example)
                lines.append(f"    - {example}")
    return "\n".join(lines) + "\n"


# Entities that describe the whole message rather than words in it.
WHOLE_MESSAGE_ENTITIES = frozenset({"language"})


def _annotated(text: str, entities: List[Dict[str, Any]], known: List[Any]) -> str:
    """The de-identified message with entities written as [value](ENTITY), as in Rasa training data.

    The text between entities and each entity's value are de-identified apart, so the annotation
    brackets survive the replacements.
    """
    spans = sorted(
        (e for e in entities if isinstance(e.get("start"), int) and isinstance(e.get("end"), int)
         # The message's language is about the whole message, not a word to annotate.
         and e.get("entity") not in WHOLE_MESSAGE_ENTITIES),
        key=lambda e: e["start"],
    )
    out, pos = [], 0
    for e in spans:
        if e["start"] < pos or e["end"] > len(text):
            continue
        out.append(deidentify(text[pos : e["start"]], known))
        out.append(f"[{deidentify(text[e['start'] : e['end']], known)}]({e['entity']})")
        pos = e["end"]
    out.append(deidentify(text[pos:], known))
    return clean_text("".join(out))


def _slot_value(slot: Dict[str, Any], known: List[Any]) -> Any:
    value = slot["value"]
    if value is None or not isinstance(value, str):
        return value
    if slot["name"] in IDENTITY_SLOTS:
        return IDENTITY_SLOTS[slot["name"]]
    return clean_text(deidentify(value, known))


def story_yaml(name: str, items: List[Dict[str, Any]], corrected: Dict[int, str]) -> str:
    """A test story of the conversation (user turns with intents and entities, actions, slots).

    Args:
        name: The story name.
        items: Transcript items from `console.db.transcript.build`.
        corrected: event id -> intent picked by staff, used instead of the predicted one.
    """
    known = [
        s["value"]
        for item in items
        for s in ([item] if item["kind"] == "slot" else item.get("slots") or [])
        if s.get("name") in IDENTITY_SLOTS
    ]
    steps: List[Dict[str, Any]] = []
    for item in items:
        if item["kind"] == "user":
            intent = corrected.get(item["event_id"]) or item.get("retrieval") or item.get("intent")
            steps.append({"user": _annotated(item["text"], item["entities"], known), "intent": intent})
            if item["slots"]:
                steps.append({"slot_was_set": [{s["name"]: _slot_value(s, known)} for s in item["slots"]]})
        elif item["kind"] == "action" and item["name"] not in SKIPPED_ACTIONS:
            steps.append({"action": item["name"]})
    document = {"version": RASA_YAML_VERSION, "stories": [{"story": name, "steps": steps}]}
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


CSV_COLUMNS = [
    "reference",
    "kind",
    "status",
    "created_at",
    "updated_at",
    "conversation_id",
    "name",
    "phone",
    "email",
    "preferred_time_text",
    "preferred_time",
    "reason",
    "patient_type",
    "insurance",
    "consent",
    "related_reference",
    "delivery",
]


def _cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.isoformat()
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def bookings_csv(rows: Iterable[Dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        d = r["details"]
        writer.writerow(
            [
                _cell(v)
                for v in [
                    r.get("reference"),
                    r.get("kind"),
                    r.get("status"),
                    r.get("created_at"),
                    r.get("updated_at"),
                    r.get("conversation_id"),
                    d.get("name"),
                    d.get("phone"),
                    d.get("email"),
                    d.get("preferred_time_text"),
                    d.get("preferred_time"),
                    d.get("reason"),
                    d.get("patient_type"),
                    d.get("insurance"),
                    d.get("consent"),
                    d.get("related_reference"),
                    r["delivery"]["state"],
                ]
            ]
        )
    return buffer.getvalue()
