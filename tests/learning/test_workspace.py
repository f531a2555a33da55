"""The generated training file is what Rasa reads, with only the confirmed, de-identified texts."""

from __future__ import annotations

import json
from pathlib import Path

from bts.learning import workspace


def test_rasa_reads_the_training_file(tmp_path: Path) -> None:
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    examples = [
        {"id": 1, "label": "faq/what_is_sciatica", "text": 'what is it:  really? #1 "x"', "language": "en"},
        {"id": 2, "label": "greet", "text": "buenas tardes", "language": "es"},
        {"id": 3, "label": "greet", "text": "buenas   tardes", "language": "es"},
    ]
    run = workspace.write_candidate(tmp_path, examples, "ada")
    data = RasaYAMLReader().read(run / workspace.TRAINING_FILE)
    got = sorted(
        (m.get("intent_response_key") or m.get("intent"), m.get("text")) for m in data.intent_examples
    )
    assert got == [("faq/what_is_sciatica", 'what is it: really? #1 "x"'), ("greet", "buenas tardes")]
    assert json.loads((run / "corrections.json").read_text())[0]["label"] == "faq/what_is_sciatica"
    assert workspace.status(run)["state"] == "queued" and workspace.runs(tmp_path) == [run]


def test_run_ids_cannot_leave_the_folder() -> None:
    assert workspace.valid_run_id(workspace.new_run_id())
    for bad in ("", "..", "../x", "a/b", "x" * 41):
        assert not workspace.valid_run_id(bad)
