"""Stock Rasa's recipe, training with a cold cache, and the NLU parse time of a model alone."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Sequence

from bts.deploy.render import ENDPOINTS as PROD_ENDPOINTS
from bts.deploy.settings import ROOT

# Rasa's defaults for stock: 0 lets TensorFlow pick its thread pools; OpenMP uses every core;
# TensorFlow's oneDNN kernels on (TensorFlow's default on Linux; the production profile turns
# them off for ours).
STOCK_THREADS = {"TF_INTRA_OP_PARALLELISM_THREADS": "0", "TF_INTER_OP_PARALLELISM_THREADS": "0",
                 "OMP_NUM_THREADS": str(os.cpu_count() or 1), "TF_ENABLE_ONEDNN_OPTS": "1"}

STOCK_CONFIG = """\
# Stock Rasa: the default recipe with empty pipeline and policies, so Rasa uses its defaults.
# The importer only reads our data files (it lets stories use the `faq` retrieval intent without
# a domain warning); it changes no training data and no model component.
recipe: default.v1
language: en
assistant_id: bts-stock-benchmark
importers:
  - name: components.importer.RetrievalAwareImporter
pipeline:
policies:
"""


def stock_endpoints(work: Path) -> Path:
    """The production endpoints with Rasa's own SQL tracker store, for stock.

    Our tracker store (components/tracker_store.py) is part of our configuration, so stock is
    served with the store Rasa ships; everything else (PostgreSQL, Redis, action server) is the
    same.
    """
    text = PROD_ENDPOINTS.read_text()
    ours = "type: components.tracker_store.RecentEventsSQLTrackerStore"
    if ours not in text:
        raise RuntimeError(f"{PROD_ENDPOINTS} no longer names our tracker store; update {__file__}")
    path = work / "endpoints.stock.yml"
    path.write_text(text.replace(ours, "type: SQL"))
    return path


def train(config: Path, out_dir: Path, name: str, log: Path) -> float:
    """Trains a model with a cold cache; returns the seconds it took.

    Raises:
        RuntimeError: When training fails.
    """
    cache = out_dir / f"cache-{name}"
    env = {**os.environ, "RASA_CACHE_DIRECTORY": str(cache), "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    with open(log, "ab") as handle:
        result = subprocess.run(
            [sys.executable, "-m", "rasa", "train", "--config", str(config), "--domain", "domain.yml",
             "--data", "data", "--out", str(out_dir), "--fixed-model-name", name],
            cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
        )
    took = time.monotonic() - started
    shutil.rmtree(cache, ignore_errors=True)
    if result.returncode != 0 or not (out_dir / f"{name}.tar.gz").exists():
        raise RuntimeError(f"training {name} failed; see {log}")
    return took


def nlu_parse_timing(model: Path, texts: Sequence[str], rounds: int,
                     tuning: Dict[str, str]) -> Dict[str, float]:
    """Loads `model` with rasa's Agent in a fresh process and times `parse_message` alone.

    `tuning` is the TensorFlow environment the model is served with.
    """
    result = subprocess.run(
        [sys.executable, "-m", "bts.bench.nlu_parse", str(model), "--rounds", str(rounds)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2", **tuning},
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"nlu-parse failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])

