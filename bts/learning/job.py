"""Trains a candidate model and runs its gates, at the lowest CPU priority.

The console starts it as a background process; it reports through the candidate folder
(`status.json`, `train.log`, `report.json`), so the console can show progress and survives
a restart of either side.

Usage:
    python -m bts.learning.job var/learning/<id>
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Dict, Mapping, Optional, Sequence

from bts.learning import gates, promotion, workspace
from bts.learning.workspace import ROOT, write_status

STORIES = ROOT / "tests" / "test_stories.yml"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _run(cmd: Sequence[str], log_path: Path) -> int:
    with log_path.open("ab") as log:
        log.write(f"\n$ {' '.join(cmd)}\n".encode())
        log.flush()
        return subprocess.run(
            list(cmd), cwd=ROOT, env=train_env(os.environ), stdout=log, stderr=subprocess.STDOUT
        ).returncode


def train_env(environ: Mapping[str, str]) -> Dict[str, str]:
    """The environment of training and tests: TensorFlow on `BTS_LEARNING_TRAIN_THREADS` (1) cores.

    Rasa reads these variables; one thread leaves the other core of a small machine to serving.
    """
    threads = environ.get("BTS_LEARNING_TRAIN_THREADS", "").strip() or "1"
    return {
        **environ,
        "TF_INTRA_OP_PARALLELISM_THREADS": threads,
        "TF_INTER_OP_PARALLELISM_THREADS": threads,
    }


def train(run: Path) -> bool:
    """Trains the candidate into its folder; True when a model came out."""
    write_status(run, state="running", stage="training", training_started_at=_now())
    started = time.monotonic()
    code = _run(
        [
            sys.executable,
            "-m",
            "rasa",
            "train",
            "--data",
            "data",
            str(run / "data"),
            "--config",
            "config.yml",
            "--domain",
            "domain.yml",
            "--out",
            str(run),
            "--fixed-model-name",
            workspace.MODEL_NAME,
        ],
        run / "train.log",
    )
    write_status(run, training_seconds=round(time.monotonic() - started))
    return code == 0 and workspace.model_path(run).is_file()


def core_stories(run: Path) -> bool:
    """`rasa test core --fail-on-prediction-errors` on the conversation tests (as `make stories`)."""
    write_status(run, stage="conversation tests")
    code = _run(
        [
            sys.executable,
            "-m",
            "rasa",
            "test",
            "core",
            "--stories",
            str(STORIES),
            "--model",
            str(workspace.model_path(run)),
            "--out",
            str(run / "results" / "core"),
            "--fail-on-prediction-errors",
        ],
        run / "train.log",
    )
    return code == 0


def run_gates(run: Path) -> dict:
    """Gates the candidate against the live model and writes `report.json`."""
    base = run.parent
    live = promotion.live(base)
    if live is None:
        raise RuntimeError("no live model to compare with: run `make train` first")
    write_status(run, stage="gates: loading models", compared_with=Path(live["model"]).name)
    before = gates.model_parser(Path(live["model"]))
    after = gates.model_parser(workspace.model_path(run))
    corrections = json.loads((run / "corrections.json").read_text(encoding="utf-8"))
    write_status(run, stage="gates: held-out sets, red flags, corrections")
    report = gates.evaluate(
        before, after, corrections, gates.holdouts(), gates.red_flag_suites(), gates.story_steps()
    )
    core_ok = core_stories(run)
    report["stories"]["core_passed"] = core_ok
    if not core_ok:
        report["gates"]["stories"] = {"passed": False, "why": "rasa test core found prediction errors"}
        report["passed"] = False
    report["compared_with"] = Path(live["model"]).name
    (run / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return report


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command-line entry point; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or not (Path(args[0]) / "corrections.json").is_file():
        print("usage: python -m bts.learning.job var/learning/<id>", file=sys.stderr)
        return 2
    run = Path(args[0]).resolve()
    # Serving keeps its latency: training gets only what the Rasa servers leave.
    os.nice(19 - os.nice(0))
    write_status(run, pid=os.getpid())
    try:
        if not train(run):
            write_status(run, state="failed", stage="training failed (see the log)", finished_at=_now())
            return 1
        report = run_gates(run)
    except Exception:  # noqa: BLE001 - any failure must end up on the page, not in a lost stderr
        with (run / "train.log").open("a", encoding="utf-8") as log:
            log.write(traceback.format_exc())
        write_status(run, state="failed", stage="error (see the log)", finished_at=_now())
        return 1
    write_status(
        run,
        state="done",
        stage="gates passed" if report["passed"] else "gates failed",
        passed=report["passed"],
        finished_at=_now(),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
