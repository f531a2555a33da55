"""`make run` pulls promoted models from the model server only when BTS_LEARNING_LIVE is on."""

from __future__ import annotations

from pathlib import Path

from bts.dev import runner


def test_off_by_default() -> None:
    services = runner.services("python", Path("model.tar.gz"), {})
    assert "models" not in [s.name for s in services]
    rasa = next(s for s in services if s.name == "rasa")
    assert rasa.command[rasa.command.index("--endpoints") + 1] == "endpoints.yml"


def test_on_rasa_pulls_from_the_loopback_model_server(tmp_path: Path) -> None:
    env = {"BTS_LEARNING_LIVE": "1", "BTS_LEARNING_DIR": str(tmp_path), "BTS_MODEL_SERVER_PORT": "5106"}
    services = runner.services("python", Path("model.tar.gz"), env)
    assert services[0].name == "models" and "127.0.0.1" in services[0].command
    rasa = next(s for s in services if s.name == "rasa")
    endpoints = Path(rasa.command[rasa.command.index("--endpoints") + 1])
    text = endpoints.read_text()
    assert endpoints.parent == tmp_path and "tracker_store:" in text
    assert 'url: "http://127.0.0.1:5106/model"' in text and "token: ${BTS_MODEL_SERVER_TOKEN}" in text
    assert "BTS_MODEL_SERVER_TOKEN" in runner.run_secrets({})
