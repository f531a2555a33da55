"""The model fingerprint covers what training uses, not the runtime patches; scripts stay thin."""

from __future__ import annotations

import re
from pathlib import Path

from bts.dev.model_files import ROOT, fingerprint, training_inputs

OWN_SCRIPTS = ["run.py", "train_if_needed.py", "validate_data.py", "model_files.py", "evaluate_nlu.py",
               "test_stories.py", "measure_latency.py", "build_spacy_pipeline.py"]


def make_project(root: Path) -> None:
    for name in ("config.yml", "domain.yml", "data/nlu/a.yml", "components/nlu.py",
                 "bts/dev/spacy_pipeline.py", "bts/runtime/patches/dask_graph.py"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)


def test_components_count_and_runtime_patches_do_not(tmp_path: Path) -> None:
    make_project(tmp_path)
    before = fingerprint(training_inputs(tmp_path), tmp_path)
    (tmp_path / "bts/runtime/patches/dask_graph.py").write_text("a docstring edit")
    assert fingerprint(training_inputs(tmp_path), tmp_path) == before
    (tmp_path / "components/nlu.py").write_text("a changed component")
    assert fingerprint(training_inputs(tmp_path), tmp_path) != before


def test_the_real_inputs_include_the_pipeline_builder_and_no_patch() -> None:
    names = {str(p.relative_to(ROOT)) for p in training_inputs()}
    assert "bts/dev/spacy_pipeline.py" in names and "components/nlu.py" in names
    assert not any(n.startswith("bts/runtime") for n in names)


def test_scripts_are_thin_entry_points() -> None:
    for name in OWN_SCRIPTS:
        text = (ROOT / "scripts" / name).read_text()
        assert "sys.path" not in text and "E402" not in text, name
        assert re.search(r"^from bts\.dev\.\w+ import", text, re.M), name
        assert len(text.splitlines()) <= 12, name
