"""Evaluates the trained model on the held-out NLU set and fails below the quality bar.

The held-out set (`tests/nlu/holdout.yml`) is never used for training. Both the intent
classifier and the FAQ response selector must reach the bar in accuracy and macro-F1.

Usage:
    python scripts/evaluate_nlu.py [--min-score 0.95]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.model_files import ROOT, current_model  # noqa: E402

HOLDOUT = ROOT / "tests" / "nlu" / "holdout.yml"
OUT = ROOT / "results" / "nlu"
REPORTS = {
    "intent": "intent_report.json",
    "faq response": "response_selection_report.json",
}


def scores(report: Dict[str, Dict]) -> Tuple[float, float]:
    """Accuracy and macro-F1 from a Rasa classification report.

    Args:
        report: The parsed `*_report.json`.

    Returns:
        (accuracy, macro-averaged F1).
    """
    accuracy = report["accuracy"]
    if isinstance(accuracy, dict):  # Rasa writes a plain number, sklearn may nest it
        accuracy = accuracy.get("f1-score", 0.0)
    return float(accuracy), float(report["macro avg"]["f1-score"])


def errors(report_name: str) -> List[str]:
    """Describes the misclassified held-out examples of one report."""
    path = OUT / report_name.replace("_report.json", "_errors.json")
    if not path.exists():
        return []
    lines = []
    for item in json.loads(path.read_text()):
        if "intent_prediction" in item:
            expected, got = item["intent"], item["intent_prediction"]
            conf = got["confidence"]
            lines.append(f"  {item['text']!r}: expected {expected}, got {got['name']} ({conf:.2f})")
        elif "response_prediction" in item:
            expected = item.get("intent_response_key_target")
            got = item["response_prediction"].get("intent_response_key")
            conf = item["response_prediction"].get("confidence", 0.0)
            lines.append(f"  {item['text']!r}: expected {expected}, got {got} ({conf:.2f})")
    return lines


def main() -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-score", type=float, default=0.95)
    args = parser.parse_args()
    model = current_model()
    if not model.exists():
        print(f"error: no trained model {model.name}; run `make train`.", file=sys.stderr)
        return 1
    result = subprocess.run(
        [sys.executable, "-m", "rasa", "test", "nlu", "--nlu", str(HOLDOUT),
         "--model", str(model), "--out", str(OUT)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        print(result.stdout[-3000:], result.stderr[-3000:], sep="\n", file=sys.stderr)
        return result.returncode
    failed = False
    print(f"Held-out NLU evaluation ({HOLDOUT.relative_to(ROOT)}), bar {args.min_score:.2f}:")
    print("| part | accuracy | macro-F1 |\n|---|---|---|")
    for label, name in REPORTS.items():
        accuracy, macro_f1 = scores(json.loads((OUT / name).read_text()))
        print(f"| {label} | {accuracy:.3f} | {macro_f1:.3f} |")
        failed |= accuracy < args.min_score or macro_f1 < args.min_score
    for name in REPORTS.values():
        wrong = errors(name)
        if wrong:
            print(f"\nMisclassified ({name.removesuffix('_report.json')}, {len(wrong)}):")
            print("\n".join(wrong))
    if failed:
        print(f"\nFAILED: a score is below {args.min_score:.2f}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
