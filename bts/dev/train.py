"""Trains the assistant only when its training inputs changed since the last training.

Usage:
    python -m bts.dev.train [--force]   (make train)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from bts.dev.model_files import MODEL_PREFIX, ROOT, current_model

KEEP_MODELS = 3


def prune_old_models(models_dir: Path, keep: int = KEEP_MODELS) -> None:
    """Deletes all but the newest `keep` project models, so models/ does not fill the disk."""
    models = sorted(models_dir.glob(f"{MODEL_PREFIX}*.tar.gz"), key=lambda p: p.stat().st_mtime)
    for old in models[:-keep]:
        old.unlink()


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="train even if a model exists")
    args = parser.parse_args(argv)
    model = current_model()
    if model.exists() and not args.force:
        print(f"==> Model is up to date: {model.relative_to(ROOT)} (training inputs unchanged)")
        return 0
    print(f"==> Training inputs changed: training {model.relative_to(ROOT)} (takes a few minutes)")
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable, "-m", "rasa", "train",
            "--out", str(model.parent),
            "--fixed-model-name", model.name.removesuffix(".tar.gz"),
        ],
        cwd=ROOT,
    )
    if result.returncode != 0 or not model.exists():
        print("error: training failed; see the messages above.", file=sys.stderr)
        return result.returncode or 1
    print(f"==> Trained in {time.monotonic() - started:.0f} s: {model.relative_to(ROOT)}")
    prune_old_models(model.parent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
