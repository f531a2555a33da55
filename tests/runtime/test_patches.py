"""Every runtime patch is explicit: applied by the server entry point only, refused on another Rasa."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import pytest
import rasa
import rasa.core.run
import rasa.server
from rasa.core.actions.action import RemoteAction
from rasa.core.processor import MessageProcessor
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.events import Event

from bts.runtime import patches, server
from bts.runtime.patches import PatchRefused, all_patches, apply_all, require_rasa

ROOT = Path(__file__).resolve().parents[2]
PATCHES_DIR = ROOT / "bts" / "runtime" / "patches"
PATCH_FILES = sorted(p.stem for p in PATCHES_DIR.glob("*.py") if p.stem != "__init__")


def rasa_state() -> Dict[str, Any]:
    return {
        "validate": RemoteAction.__dict__["_validate_action_result"],
        "resolve": Event.__dict__["resolve_by_type"],
        "run": DaskGraphRunner.__dict__["run"],
        "handle": MessageProcessor.__dict__["handle_message"],
        "load": rasa.core.run.load_agent_on_start,
        "root": rasa.server.add_root_route,
    }


def test_every_patch_module_is_applied_by_the_server() -> None:
    assert sorted(name for name, _ in all_patches()) == PATCH_FILES


@pytest.mark.parametrize("name", PATCH_FILES)
def test_each_patch_refuses_a_rasa_version_it_was_not_written_for(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = rasa_state()
    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    apply = dict(all_patches())[name]
    with pytest.raises(PatchRefused, match=r"written for Rasa 3\.6\.21, but Rasa 3\.7\.0 is installed"):
        apply()
    assert rasa_state() == before  # nothing was changed


def test_the_check_names_the_patch_and_accepts_listed_versions() -> None:
    require_rasa("x", ("3.6.21", "3.6.22"), installed="3.6.22")
    with pytest.raises(PatchRefused, match="'message_gate'"):
        require_rasa("message_gate", installed="3.6.20")
    assert rasa.__version__ in patches.SUPPORTED_RASA


def test_applying_all_patches_twice_is_the_same_as_once() -> None:
    def unwrapped() -> Dict[str, Any]:
        state = rasa_state()
        state["resolve"] = state["resolve"].__func__
        state["handle"] = state["handle"].__wrapped__  # the gate wraps Rasa's handler once
        return state

    apply_all()
    once = unwrapped()
    assert apply_all() == [name for name, _ in all_patches()]
    assert unwrapped() == once
    assert not hasattr(once["handle"], "__wrapped__")
    assert once["validate"].__module__ == "bts.runtime.patches.action_result"


def test_the_server_refuses_to_start_on_another_rasa(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(rasa, "__version__", "4.0.0")
    assert server.main(["--port", "1"]) == 2
    assert "Rasa 4.0.0 is installed" in capsys.readouterr().err


def test_the_server_hands_rasa_its_arguments_and_allows_the_cors_origins_for_sockets() -> None:
    environ: Dict[str, str] = {}
    argv = server.prepare(["--model", "m.tar.gz", "--cors", "http://a.example", "http://b.example",
                           "--port", "5005"], environ)
    assert argv == ["rasa", "run", "--model", "m.tar.gz", "--cors", "http://a.example", "http://b.example",
                    "--port", "5005"]
    assert environ["BTS_ALLOWED_ORIGINS"] == "http://a.example,http://b.example"
    set_explicitly = {"BTS_ALLOWED_ORIGINS": "https://clinic.example"}
    server.prepare(["--cors", "*"], set_explicitly)
    assert set_explicitly["BTS_ALLOWED_ORIGINS"] == "https://clinic.example"
    assert server.cors_origins(["--cors=*", "--port", "1"]) == []


def test_loading_the_pipeline_patches_nothing(tmp_path: Path) -> None:
    # As in training, `rasa test` or a test process: importing our components leaves Rasa alone.
    code = (
        "import json, components.nlu\n"
        "import rasa.core.run, rasa.server\n"
        "from rasa.core.actions.action import RemoteAction\n"
        "from rasa.core.processor import MessageProcessor\n"
        "from rasa.engine.runner.dask import DaskGraphRunner\n"
        "print(json.dumps([RemoteAction._validate_action_result.__module__, DaskGraphRunner.run.__module__,\n"
        "    MessageProcessor.handle_message.__module__, rasa.core.run.load_agent_on_start.__module__,\n"
        "    rasa.server.add_root_route.__module__]))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env,
                         check=True)
    modules = json.loads(out.stdout.strip().splitlines()[-1])
    assert all(m.startswith("rasa.") for m in modules), modules
