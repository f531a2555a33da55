"""The learning loop in the console: corrections become de-identified candidates, confirmed by a
person; only admins train and promote, and a candidate that fails a gate is never promoted."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest
import sqlalchemy as sa
import support

from bts.learning import gates, promotion, workspace
from console.db import indexer
from console.db.schema import audit, candidates, events

PHONE, EMAIL, NAME = "575-555-0147", "maria.lopez@gmail.com", "Maria Lopez"
TYPED = f"my name is {NAME}, call me at {PHONE} or {EMAIL} about my bad sciatica"


@pytest.fixture
def learning(app: Any, tmp_path: Path) -> Dict[str, Any]:
    """A learning folder of the test and a launcher that records, instead of training."""
    base = tmp_path / "learning"
    started: List[Path] = []
    app.config["LEARNING_DIR"] = str(base)
    app.extensions["learning_launcher"] = lambda run, root: started.append(run)
    return {"base": base, "started": started}


def _patient_message(app: Any, engine: Any, text: str, sender: str = "learning-patient") -> int:
    with engine.begin() as conn:
        conn.execute(events.insert(), [support.user_event(sender, time.time(), text, "nlu_fallback", 0.31)])
        event_id = conn.execute(sa.select(sa.func.max(events.c.id))).scalar_one()
    indexer.sync(engine, 0.7)
    return int(event_id)


def _post(client: Any, url: str, **data: Any) -> Any:
    return client.post(url, data={"csrf_token": support.session_csrf(client), **data})


def _label(client: Any, event_id: int, intent: str) -> None:
    assert _post(client, f"/nlu/{event_id}/label", intent=intent).status_code == 302


def _candidate(engine: Any, event_id: int) -> Dict[str, Any]:
    with engine.connect() as conn:
        return dict(
            conn.execute(sa.select(candidates).where(candidates.c.event_id == event_id)).one()._mapping
        )


def _actions(engine: Any) -> List[str]:
    with engine.connect() as conn:
        return [r.action for r in conn.execute(sa.select(audit.c.action).order_by(audit.c.id))]


def test_patient_contact_details_never_reach_the_training_file(
    app: Any, engine: Any, staff: Any, admin: Any, learning: Dict[str, Any]
) -> None:
    event_id = _patient_message(app, engine, TYPED)
    _label(staff, event_id, "faq/what_is_sciatica")
    cand = _candidate(engine, event_id)
    assert cand["status"] == "pending" and cand["labelled_by"] == "sam"
    for secret in (PHONE, EMAIL, NAME):
        assert secret not in cand["deid_text"]
    page = staff.get("/learning").get_data(as_text=True)
    assert cand["deid_text"].split(",")[0] in page and PHONE not in page and EMAIL not in page

    # Unconfirmed text is never trained on.
    assert _post(admin, "/learning/train").headers["Location"].endswith("msg=nothing")
    assert learning["started"] == []

    edited = "my name is Alex Example and my sciatica is bad, call me"
    r = _post(
        staff,
        f"/learning/candidates/{cand['id']}",
        text=edited,
        label=cand["label"],
        language="en",
        action="confirm",
    )
    assert r.status_code == 302
    confirmed = _candidate(engine, event_id)
    assert confirmed["status"] == "confirmed" and confirmed["original_text"] is None
    assert confirmed["deid_text"] == edited and confirmed["confirmed_by"] == "sam"

    r = _post(admin, "/learning/train")
    assert r.status_code == 302 and learning["started"], r.headers["Location"]
    run = learning["started"][0]
    training_file = (run / workspace.TRAINING_FILE).read_text(encoding="utf-8")
    everything = training_file + (run / "corrections.json").read_text(encoding="utf-8")
    for secret in (PHONE, EMAIL, NAME, "Maria", "0147", "gmail"):
        assert secret not in everything
    assert "faq/what_is_sciatica" in training_file and edited in training_file
    assert "learning_train" in _actions(engine) and "candidate_confirm" in _actions(engine)


def test_bad_input_changes_nothing(app: Any, engine: Any, staff: Any, learning: Dict[str, Any]) -> None:
    event_id = _patient_message(app, engine, "does insurance pay for it")
    _label(staff, event_id, "greet")
    cand = _candidate(engine, event_id)
    for data, msg in (
        ({"text": "  ", "label": "greet", "language": "en"}, "empty"),
        ({"text": "ok", "label": "nonsense", "language": "en"}, "bad_label"),
        ({"text": "ok", "label": "greet", "language": "fr"}, "bad_language"),
    ):
        r = _post(staff, f"/learning/candidates/{cand['id']}", action="confirm", **data)
        assert r.headers["Location"].endswith(f"msg={msg}")
    assert _candidate(engine, event_id) == cand


def test_a_spanish_message_is_labelled_in_spanish(
    app: Any, engine: Any, staff: Any, learning: Dict[str, Any]
) -> None:
    sender = "learning-es"
    with engine.begin() as conn:
        conn.execute(
            events.insert(),
            [
                support.other_event(
                    sender, time.time() - 5, {"type": "slot", "name": "language", "value": "es"}
                )
            ],
        )
    event_id = _patient_message(app, engine, "me duele la espalda baja y la pierna", sender)
    _label(staff, event_id, "greet")
    assert _candidate(engine, event_id)["language"] == "es"


def test_staff_cannot_train_promote_or_roll_back(staff: Any, learning: Dict[str, Any]) -> None:
    for url in ("/learning/train", "/learning/rollback", "/learning/runs/x/promote"):
        assert _post(staff, url).status_code == 403
    assert learning["started"] == []


def _finished_run(base: Path, corrections: List[Dict[str, Any]], changed: Dict[str, str]) -> Path:
    """A candidate folder as the job leaves it, gated with fake parses of the live and the new model.

    The live model gets the held-out set, the conversation test and every red flag right (a
    message about bladder control included); the candidate answers the same except for `changed`.
    """
    run = workspace.write_candidate(base, corrections, "ada")
    workspace.model_path(run).write_bytes(b"candidate model")
    suites = gates.red_flag_suites()
    heldout = {"holdout": [("what is sciatica", "faq/what_is_sciatica"), ("hi", "greet")]}
    flags = {t for s in suites.values() for t in s["red_flags"]}

    def live(texts: Any) -> List[str]:
        known = dict(heldout["holdout"], hello="greet")
        return ["red_flag" if t in flags or "bladder" in t else known.get(t, "out_of_scope") for t in texts]

    def candidate(texts: Any) -> List[str]:
        return [changed.get(t, p) for t, p in zip(texts, live(texts), strict=True)]

    report = gates.evaluate(live, candidate, corrections, heldout, suites, [("hello", "greet")])
    (run / "report.json").write_text(json.dumps(report))
    workspace.write_status(run, state="done", stage="gates done", passed=report["passed"])
    return run


def test_a_candidate_that_relabels_a_red_flag_cannot_be_promoted(
    app: Any, engine: Any, admin: Any, learning: Dict[str, Any], tmp_path: Path
) -> None:
    base = learning["base"]
    live = tmp_path / "live.tar.gz"
    live.write_bytes(b"live model")
    promotion.promote(base, live, "earlier", "ada")
    text = "I can't control my bladder"
    run = _finished_run(
        base,
        [{"id": 1, "label": "faq/what_is_sciatica", "text": text, "language": "en"}],
        {text: "faq/what_is_sciatica"},
    )
    report = workspace.report(run)
    assert "red_flags" in gates.failed_gates(report) and text in report["red_flags"]["relabelled"]

    page = admin.get(f"/learning/runs/{run.name}").get_data(as_text=True)
    assert "cannot be promoted" in page and "red_flags" in page
    r = _post(admin, f"/learning/runs/{run.name}/promote")
    assert r.headers["Location"].endswith("msg=refused")
    assert promotion.read(base)["live"]["model"] == str(live)
    assert "learning_promote_refused" in _actions(engine) and "learning_gates" in _actions(engine)


def test_a_candidate_that_passes_is_promoted_and_rolled_back(
    app: Any, engine: Any, admin: Any, learning: Dict[str, Any], tmp_path: Path
) -> None:
    base = learning["base"]
    live = tmp_path / "live.tar.gz"
    live.write_bytes(b"live model")
    promotion.promote(base, live, "earlier", "ada")
    text = "can you tell me about the sciatic nerve thing"
    run = _finished_run(
        base,
        [{"id": 1, "label": "faq/what_is_sciatica", "text": text, "language": "en"}],
        {text: "faq/what_is_sciatica"},
    )
    assert gates.failed_gates(workspace.report(run)) == []
    assert _post(admin, f"/learning/runs/{run.name}/promote").headers["Location"].endswith("msg=promoted")
    assert promotion.read(base)["live"]["model"] == str(workspace.model_path(run))
    assert _post(admin, "/learning/rollback").headers["Location"].endswith("msg=rolled_back")
    assert promotion.read(base)["live"]["model"] == str(live)
    assert {"learning_promote", "learning_rollback"} <= set(_actions(engine))


def test_one_training_at_a_time(
    app: Any, engine: Any, staff: Any, admin: Any, learning: Dict[str, Any]
) -> None:
    event_id = _patient_message(app, engine, "wots the damage for a sesh")
    _label(staff, event_id, "ask_cost")
    cand = _candidate(engine, event_id)
    _post(
        staff,
        f"/learning/candidates/{cand['id']}",
        text=cand["deid_text"],
        label="ask_cost",
        language="en",
        action="confirm",
    )
    assert "msg=started" in _post(admin, "/learning/train").headers["Location"]
    assert _post(admin, "/learning/train").headers["Location"].endswith("msg=busy")
    assert len(learning["started"]) == 1
    page = admin.get(f"/learning/runs/{learning['started'][0].name}").get_data(as_text=True)
    assert "queued" in page and 'http-equiv="refresh"' in page


def test_deleting_a_conversation_deletes_its_unconfirmed_candidates(
    app: Any, engine: Any, staff: Any, learning: Dict[str, Any]
) -> None:
    from bts.retention import delete_console_rows

    first = _patient_message(app, engine, TYPED, sender="deleted-patient")
    second = _patient_message(app, engine, "wots the damage for a sesh", sender="deleted-patient")
    _label(staff, first, "ask_cost")
    _label(staff, second, "ask_cost")
    kept = _candidate(engine, second)
    _post(
        staff,
        f"/learning/candidates/{kept['id']}",
        text=kept["deid_text"],
        label="ask_cost",
        language="en",
        action="confirm",
    )
    with engine.begin() as conn:
        delete_console_rows(conn, [kept["conversation_id"]])
        left = conn.execute(sa.select(candidates.c.event_id, candidates.c.original_text)).all()
    assert [(r.event_id, r.original_text) for r in left] == [(second, None)]
