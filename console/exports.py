"""Downloads: NLU training examples and test stories (Rasa 3.x YAML), bookings as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any, Dict, Iterable, List, Optional

import yaml

RASA_YAML_VERSION = "3.1"
SKIPPED_ACTIONS = {"action_session_start", "action_listen"}


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
        "# Review each example, then merge it into data/nlu/ and retrain.",
        f'version: "{RASA_YAML_VERSION}"',
        "nlu:",
    ]
    for intent in sorted(examples):
        lines.append(f"- intent: {yaml.safe_dump(intent, default_style=None).splitlines()[0]}")
        lines.append("  examples: |")
        for text in examples[intent]:
            lines.append(f"    - {' '.join(text.split())}")
    return "\n".join(lines) + "\n"


def _annotated(text: str, entities: List[Dict[str, Any]]) -> str:
    """The message with entities written as [value](ENTITY), as in Rasa training data."""
    spans = sorted(
        (e for e in entities if isinstance(e.get("start"), int) and isinstance(e.get("end"), int)),
        key=lambda e: e["start"],
    )
    out, pos = [], 0
    for e in spans:
        if e["start"] < pos or e["end"] > len(text):
            continue
        out.append(text[pos : e["start"]])
        out.append(f"[{text[e['start'] : e['end']]}]({e['entity']})")
        pos = e["end"]
    out.append(text[pos:])
    return "".join(out)


def story_yaml(name: str, items: List[Dict[str, Any]], corrected: Dict[int, str]) -> str:
    """A test story of the conversation (user turns with intents and entities, actions, slots).

    Args:
        name: The story name.
        items: Transcript items from `console.db.transcript.build`.
        corrected: event id -> intent picked by staff, used instead of the predicted one.
    """
    steps: List[Dict[str, Any]] = []
    for item in items:
        if item["kind"] == "user":
            intent = corrected.get(item["event_id"]) or item.get("retrieval") or item.get("intent")
            steps.append({"user": _annotated(item["text"], item["entities"]), "intent": intent})
            if item["slots"]:
                steps.append({"slot_was_set": [{s["name"]: s["value"]} for s in item["slots"]]})
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
