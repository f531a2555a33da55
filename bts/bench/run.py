"""The whole benchmark: train stock (and time ours), serve both the same way, write the report.

Both are served the same way: a Rasa server with the REST channel, the same action server,
PostgreSQL and a Redis lock store (deploy/endpoints.prod.yml), one after the other; stock with
Rasa's own SQL tracker store and `rasa run`, ours with the production profile's command and
store. The stock model is trained here from `recipe: default.v1` with empty pipeline and policies
(Rasa's defaults) on our data and domain; ours is the model of `make train`, trained once more
into a temporary folder only to time the training.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional

from bts.bench.questions import QUESTIONS
from bts.bench.report import report, table, write_doc
from bts.bench.serve import QUICK, Sizes, serve_and_measure
from bts.bench.servers import bench_settings, start_profile
from bts.bench.system import ForeignCpu, load_average
from bts.bench.training import STOCK_CONFIG, STOCK_THREADS, nlu_parse_timing, train
from bts.deploy.profile import Profile
from bts.deploy.settings import REPLICA_TUNING, ROOT

DOC = ROOT / "docs" / "benchmark.md"
RESULTS = ROOT / "results"


def training_times(args: argparse.Namespace, work: Path) -> tuple[Dict[str, Any], Path]:
    """Trains stock (unless a model is given) and ours with a cold cache.

    Returns:
        The training times and the stock model.
    """
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    times: Dict[str, Any] = {"measured_at": now}
    log_file = work / "train.log"
    if args.stock_model:
        stock_model = Path(args.stock_model)
    else:
        config = work / "stock-config.yml"
        config.write_text(STOCK_CONFIG)
        print("==> Training stock Rasa (default recipe) on our data, cold cache")
        quiet = ForeignCpu()
        times["stock"] = train(config, work, "stock", log_file)
        times["foreign_stock"] = quiet.done()
        stock_model = work / "stock.tar.gz"
        print(f"    stock trained in {times['stock']:.0f} s")
        if args.keep_stock_model:
            Path(args.keep_stock_model).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(stock_model, args.keep_stock_model)
    if args.reuse_training:
        # Only stock's: its training is slow and does not change with our work.
        earlier = json.loads(Path(args.reuse_training).read_text())["training"]
        times["stock"] = earlier["stock"]
        if "foreign_stock" in earlier:
            times["foreign_stock"] = earlier["foreign_stock"]
        times["reused_from"] = earlier.get("measured_at", args.reuse_training)
        if args.skip_train_ours and "ours" in earlier:
            # The same config.yml as that run: its time for ours still holds.
            times["ours"] = earlier["ours"]
            times["ours_reused"] = True
    if not args.skip_train_ours:
        print("==> Training ours (config.yml) once more, cold cache, to time it")
        quiet = ForeignCpu()
        times["ours"] = train(ROOT / "config.yml", work, "ours", log_file)
        times["foreign_ours"] = quiet.done()
        print(f"    ours trained in {times['ours']:.0f} s")
        (work / "ours.tar.gz").unlink(missing_ok=True)
    return times, stock_model


def serve_both(args: argparse.Namespace, sizes: Sizes, stock_model: Path, ours_model: Path,
               work: Path) -> Dict[str, Any]:
    """Serves stock (one server) and then ours (`args.replicas` behind nginx) and measures them."""
    # Its own folder: PostgreSQL and Redis run as their users and must reach it.
    state = Path(tempfile.mkdtemp(prefix="bts-bench-state-"))
    profile = Profile(bench_settings(state, replicas=args.replicas),
                      log=print if args.verbose else lambda message: None)
    served: Dict[str, Any] = {}
    try:
        start_profile(profile)
        for name, model, replicas in (("stock", stock_model, 1), ("ours", ours_model, args.replicas)):
            print(f"==> Serving {name} ({replicas} replica{'s' if replicas > 1 else ''})")
            served[name] = serve_and_measure(profile, name, model, sizes, replicas, work, print, args.profile)
    finally:
        profile.stop_all()
        shutil.rmtree(state, ignore_errors=True)
    return served


def run(args: argparse.Namespace) -> int:
    """The whole benchmark; returns the exit code."""
    sizes = QUICK if args.quick else Sizes()
    load_before = load_average()
    print(f"==> Benchmark ({'quick' if args.quick else 'full'}); load average {load_before:.2f}")
    if load_before > 1.5 and not args.quick:
        print("    warning: the machine is busy; numbers will be slower than they should be")
    ours_model = Path(args.ours_model)
    if not ours_model.exists():
        print(f"error: no model {ours_model}; run `make train` first", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="bts-bench-"))
    results: Dict[str, Any] = {"nlu": {}}
    try:
        results["training"], stock_model = training_times(args, work)
        results.update(serve_both(args, sizes, stock_model, ours_model, work))
        for name, model in (("stock", stock_model), ("ours", ours_model)):
            print(f"==> NLU parse timing: {name}")
            tuning = STOCK_THREADS if name == "stock" else REPLICA_TUNING
            results["nlu"][name] = nlu_parse_timing(model, QUESTIONS, sizes.nlu_rounds, tuning)
            print(f"    {name}: p50 {results['nlu'][name]['p50_ms']:.1f} ms")
    except Exception:
        print(f"error: the benchmark failed; logs are in {work}", file=sys.stderr)
        raise
    results["meta"] = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} cores, {platform.platform()}",
        "load_before": load_before,
        "rasa": _rasa_version(),
        "model": ours_model.name,
        "quick": args.quick,
        "sizes": sizes.__dict__,
    }
    table_md, missed = table(results)
    print(f"\n{table_md}\n")
    RESULTS.mkdir(exist_ok=True)
    suffix = "-quick" if args.quick else ""
    (RESULTS / f"benchmark{suffix}.json").write_text(json.dumps(results, indent=2, default=str))
    doc = DOC if not args.quick else RESULTS / "benchmark-quick.md"
    write_doc(doc, report(results, table_md, missed))
    print(f"Written to {doc.relative_to(ROOT)} and results/benchmark{suffix}.json")
    if missed:
        print("Targets missed: " + "; ".join(missed))
    shutil.rmtree(work, ignore_errors=True)
    return 0


def _rasa_version() -> str:
    try:
        import rasa

        return str(rasa.__version__)
    except ImportError:
        return "?"


def parser(default_model: Path) -> argparse.ArgumentParser:
    """The benchmark's command line."""
    found = argparse.ArgumentParser(description="Benchmarks our assistant against stock Rasa's default "
                                    "recipe on the same data, in one run.")
    found.add_argument("--quick", action="store_true", help="small sizes, to try the script")
    found.add_argument("--stock-model", help="use this trained stock model instead of training one")
    found.add_argument("--keep-stock-model", help="copy the trained stock model here")
    found.add_argument("--ours-model", default=str(default_model),
                       help="serve this model (default: the one of the current training inputs)")
    found.add_argument("--skip-train-ours", action="store_true", help="do not time the training of ours")
    found.add_argument("--reuse-training", help="take stock's training time from an earlier "
                       "results/benchmark.json (with --stock-model: the stock model that run trained)")
    found.add_argument("--no-profile", dest="profile", action="store_false",
                       help="do not sample the servers with py-spy under load")
    found.add_argument("--replicas", type=int, default=2,
                       help="Rasa replicas behind nginx for ours (default 2, as `make run-prod`)")
    found.add_argument("--verbose", action="store_true")
    return found


def main(default_model: Path, argv: Optional[List[str]] = None) -> int:
    """Command-line entry point; returns the exit code."""
    args = parser(default_model).parse_args(argv)
    random.seed(0)
    return run(args)
