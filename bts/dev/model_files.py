"""Which trained model belongs to the current training inputs.

A model is named after a fingerprint of everything that goes into training (config, domain,
training data, spaCy patterns, custom NLU components, the spaCy pipeline's builder; not the
runtime patches in bts/runtime, which change serving only), so `make train` can reuse a model
when nothing changed and every script finds the right model without guessing.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable, List

ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = ROOT / "models"
MODEL_PREFIX = "bts-"


def training_inputs(root: Path = ROOT) -> List[Path]:
    """Lists every file whose content affects the trained model.

    Args:
        root: Project root.

    Returns:
        Sorted file paths.
    """
    files = [root / "config.yml", root / "domain.yml"]
    files += [p for p in (root / "data").rglob("*") if p.is_file()]
    files += [p for p in (root / "components").glob("*.py")]
    files.append(root / "bts" / "dev" / "spacy_pipeline.py")
    return sorted(files)


def fingerprint(files: Iterable[Path], root: Path = ROOT) -> str:
    """Hashes file names and contents.

    Args:
        files: The files to hash.
        root: Paths are hashed relative to this folder, so moving the checkout changes nothing.

    Returns:
        The first 12 hex digits of a SHA-256 over names and contents.
    """
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:12]


def current_model(root: Path = ROOT) -> Path:
    """Path of the model for the current inputs (it may not exist yet)."""
    name = f"{MODEL_PREFIX}{fingerprint(training_inputs(root), root)}.tar.gz"
    return root / "models" / name
