"""The markdown report: the table with ratios ours/stock and targets, the runs, the py-spy profiles."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple


def _fmt(value: Optional[float], digits: int = 0) -> str:
    if value is None or value != value:
        return "n/a"
    return f"{value:,.{digits}f}"


def table(results: Dict[str, Any]) -> Tuple[str, List[str]]:
    """The markdown table (rows with ratios ours/stock and the targets) and the missed targets."""
    stock, ours = results["stock"], results["ours"]
    rows: List[Tuple[str, Optional[float], Optional[float], str, Optional[bool], int]] = []
    missed: List[str] = []

    def row(label: str, s: Optional[float], o: Optional[float], target: str = "",
            met: Optional[bool] = None, digits: int = 0) -> None:
        rows.append((label, s, o, target, met, digits))
        if met is False:
            missed.append(label)

    ss, os_ = stock["single"], ours["single"]
    row("Single user: latency p50 (ms)", ss["p50_ms"], os_["p50_ms"], "ours <= 0.6x stock",
        os_["p50_ms"] <= 0.6 * ss["p50_ms"])
    row("Single user: latency p95 (ms)", ss["p95_ms"], os_["p95_ms"])
    sl, ol = stock["long"], ours["long"]
    row("Long conversation: median of turns 1-10 (ms)", sl["first10_ms"], ol["first10_ms"])
    row(f"Long conversation: median of turns {sl['turns'] - 9}-{sl['turns']} (ms)",
        sl["last10_ms"], ol["last10_ms"])
    row("Long conversation: growth, last 10 / first 10 (x)", sl["growth"], ol["growth"], "ours <= 1.2",
        ol["growth"] <= 1.2, 2)
    sd, od = stock["load"], ours["load"]
    label = f"{od['users']} users x {od['turns']} turns"
    row(f"{label}: throughput (messages/s)", sd["throughput"], od["throughput"], "ours >= 2x stock",
        od["throughput"] >= 2 * sd["throughput"], 1)
    row(f"{label}: latency p50 (ms)", sd["p50_ms"], od["p50_ms"])
    row(f"{label}: latency p95 (ms)", sd["p95_ms"], od["p95_ms"])
    row(f"{label}: latency p99 (ms)", sd["p99_ms"], od["p99_ms"], "ours <= 500 ms", od["p99_ms"] <= 500)
    row(f"{label}: errors", sd["errors"], od["errors"], "0", od["errors"] == 0)
    row(f"{label}: empty replies", sd["empty"], od["empty"], "0", od["empty"] == 0)
    sn, on = results["nlu"]["stock"], results["nlu"]["ours"]
    row("NLU parse alone: p50 (ms)", sn["p50_ms"], on["p50_ms"], digits=1)
    row("NLU parse alone: p95 (ms)", sn["p95_ms"], on["p95_ms"], digits=1)
    st, ot = results["training"].get("stock"), results["training"].get("ours")
    row("Training time (s)", st, ot, "ours <= 180 s", None if ot is None else ot <= 180)
    row("Start to first reply (s)", stock["ready_s"], ours["ready_s"], "ours <= 30 s",
        ours["ready_s"] <= 30, 1)
    row("Start until the HTTP port answers (s)", stock["http_ready_s"], ours["http_ready_s"], digits=1)
    s_rss, o_rss = max(stock["rss_mb"]), max(ours["rss_mb"])
    row("Server memory after the load, RSS per server (MB)", s_rss, o_rss, "ours <= 1024 MB", o_rss <= 1024)
    row("Server memory, peak RSS per server (MB)", max(stock["rss_peak_mb"]), max(ours["rss_peak_mb"]),
        "ours <= 1024 MB", max(ours["rss_peak_mb"]) <= 1024)

    lines = ["| Measure | Stock Rasa | Ours | Ours / stock | Target | Met |",
             "|---|---:|---:|---:|---|---|"]
    for label, s, o, target, met, digits in rows:
        ratio = "n/a"
        if s not in (None, 0) and o is not None and s == s and o == o:
            ratio = f"{o / s:.2f}"
        verdict = "" if met is None else ("yes" if met else "**no**")
        lines.append(f"| {label} | {_fmt(s, digits)} | {_fmt(o, digits)} | {ratio} | {target} | {verdict} |")
    return "\n".join(lines), missed


def foreign_md(measured: Dict[str, float], label: str) -> str:
    """`label X CPU-s in Y s (Z % of the machine)`."""
    return (f"{label} {measured['foreign_cpu_s']:.1f} CPU-s in {measured['wall_s']:.0f} s "
            f"({100 * measured['foreign_share']:.0f} % of the machine)")


def report(results: Dict[str, Any], table_md: str, missed: List[str]) -> str:
    """The whole markdown results file."""
    meta = results["meta"]
    ours, stock = results["ours"], results["stock"]
    parts = [
        "# Benchmark: our assistant against stock Rasa",
        "",
        f"Measured by `make bench` (scripts/bench.py, bts/bench) on {meta['date']}: {meta['machine']}; "
        f"load average {meta['load_before']:.2f} before the run. Rasa {meta['rasa']}, model {meta['model']}.",
        "",
        "Both assistants use the same data and domain and are served the same way: a Rasa server with the",
        "REST channel, the same action server, PostgreSQL and a Redis lock store",
        "(deploy/endpoints.prod.yml), one after the other; stock with `rasa run` and Rasa's own SQL tracker",
        "store, ours with the production profile's server command and the checkpointing store of",
        "components/tracker_store.py. Stock Rasa is",
        "`recipe: default.v1` with empty",
        "pipeline and policies (Rasa's defaults), trained in the same run. Single-user and long-conversation",
        "latencies go straight to one server over HTTP for both. The concurrent load goes to ours through",
        f"the production nginx (TLS, routing by conversation) in front of {ours['replicas']} replicas, and",
        "straight to stock's single default server (no TLS: a small advantage for stock). Each simulated",
        "user sends its next message as soon as it has the reply (no think time). The py-spy profiles",
        "below come from separate passes (a second long conversation, a shorter second load), so the",
        "sampling does not slow down the measured numbers.",
        "",
        table_md,
        "",
    ]
    runs = {name: results[name].get("load_runs") or [results[name]["load"]] for name in ("stock", "ours")}
    if len(runs["ours"]) > 1:
        parts += [f"The concurrent load ran {len(runs['ours'])} times for each, with new conversation ids "
                  "each time; the table shows the run with the median p99. All runs:", "",
                  "| | run | messages/s | p50 (ms) | p99 (ms) | errors | conversations per replica |",
                  "|---|---:|---:|---:|---:|---:|---|"]
        for name in ("stock", "ours"):
            for number, run in enumerate(runs[name], start=1):
                split_of_run = sorted((run.get("split") or {}).items())
                shares = " / ".join(str(n["conversations"]) for _, n in split_of_run)
                parts.append(f"| {name} | {number} | {run['throughput']:.1f} | {run['p50_ms']:.0f} | "
                             f"{run['p99_ms']:.0f} | {run['errors']} | {shares or 'one server'} |")
        parts.append("")
    split = ours["load"].get("split")
    if split:
        parts += ["Ours under the concurrent load (the run in the table), per replica (nginx routes by "
                  "conversation): " + "; ".join(
                      f"{upstream}: {n['conversations']} conversations, {n['requests']} requests"
                      for upstream, n in sorted(split.items())) + ".", ""]
    if results["training"].get("reused_from"):
        training = results["training"]
        which = "Both training times were" if training.get("ours_reused") else "Stock's training time was"
        parts += [f"{which} measured by the run of {results['training']['reused_from']} "
                  "(the stock model served here is the one it trained); everything else by this run.", ""]
    parts += [
        "Other processes on the machine during the measurements (CPU they took from the benchmark): "
        + "; ".join([foreign_md(results["training"][f"foreign_{name}"], f"training {name}")
                     for name in ("stock", "ours") if f"foreign_{name}" in results["training"]]
                    + [foreign_md(results[name][key], f"{name} {label}") for name in ("stock", "ours")
                       for key, label in (("foreign_single_long", "single/long"), ("foreign_load", "load"))])
        + ".",
        "",
    ]
    if missed:
        parts += ["Targets missed: " + "; ".join(missed) + ". See the notes below.", ""]
    else:
        parts += ["Every target is met.", ""]
    for name in ("stock", "ours"):
        parts += growth_profile_md(name, results[name].get("long_profile") or {})
    for name in ("stock", "ours"):
        for number, prof in enumerate(results[name].get("load_profiles") or [], start=1):
            parts += load_profile_md(f"{name}, server {number}", prof, results[name]["load"])
    parts += [
        "## Raw numbers",
        "",
        "Long conversation, every turn (ms):",
        "",
        f"- stock: {stock['long']['all_ms']}",
        f"- ours: {ours['long']['all_ms']}",
        "",
        "Full results: `results/benchmark.json`. Notes on limits: see the section below, kept by hand.",
        "",
    ]
    return "\n".join(parts)


def _interesting(frame: str) -> bool:
    """Frames worth naming: Rasa, our code, the libraries doing the work (not the event loop)."""
    boring = ("asyncio/", "sanic/", "run_until_complete", "_run_once", "<module>", "(threading.py)",
              "(runpy.py)", "uvloop", "_bootstrap", "(runners.py)", "(run.py)", "(app.py)", "(api.py)",
              "(__main__.py)", "(http.py)", "handle_request (", "connection_task (")
    return not any(b in frame for b in boring)


def growth_profile_md(name: str, prof: Dict[str, Any]) -> List[str]:
    """Markdown: the frames whose time per turn grew most from the first to the last turns."""
    if not prof.get("early") or not prof.get("late"):
        return []
    turns = prof["turns"]
    early, late = prof["early"]["inclusive_s"], prof["late"]["inclusive_s"]
    total_early = sum(prof["early"]["leaf_s"].values()) / turns * 1000
    total_late = sum(prof["late"]["leaf_s"].values()) / turns * 1000
    rows = []
    for frame in set(early) | set(late):
        e, la = early.get(frame, 0.0) / turns * 1000, late.get(frame, 0.0) / turns * 1000
        if _interesting(frame) and la < 0.97 * total_late:
            rows.append((la - e, e, la, frame))
    rows.sort(reverse=True)
    lines = [f"### {name}: what grows with the length of a conversation (py-spy)", "",
             f"Server time per turn in the first {turns} turns {total_early:.0f} ms, "
             f"in the last {turns} turns {total_late:.0f} ms. Functions (with what they call) whose time "
             "per turn grew most:", "",
             "| ms per turn, first turns | last turns | growth | function |", "|---:|---:|---:|---|"]
    for growth, e, la, frame in rows[:12]:
        lines.append(f"| {e:.1f} | {la:.1f} | {growth:+.1f} | `{frame}` |")
    return lines + [""]


def load_profile_md(name: str, prof: Dict[str, Any], load: Dict[str, Any]) -> List[str]:
    """Markdown: where a server spends its busy time under the concurrent load."""
    if not prof.get("samples"):
        return []
    leaf, inclusive = prof["leaf_s"], prof["inclusive_s"]
    sampled = prof["samples"] / prof["rate"]
    # Sanic's event loop waiting for sockets shows up as the own time of `serve`: idle, not work.
    idle = sum(v for k, v in leaf.items() if k.startswith("serve (runners.py)"))
    busy = max(sampled - idle, 1e-9)
    lines = [f"### {name}: where the time goes under {load['users']} concurrent users (py-spy)", "",
             f"{sampled:.1f} s of samples, busy {100 * busy / sampled:.0f} % of them. "
             "Shares of the busy time, largest inclusive (a function with what it calls):", ""]
    ranked = sorted(((v, k) for k, v in inclusive.items() if _interesting(k) and v < 0.97 * busy),
                    reverse=True)
    for seconds, frame in ranked[:15]:
        lines.append(f"- {100 * seconds / busy:5.1f} % `{frame}`")
    lines += ["", "Largest own time (the innermost function):", ""]
    own = sorted(((v, k) for k, v in leaf.items() if not k.startswith("serve (runners.py)")), reverse=True)
    for seconds, frame in own[:10]:
        lines.append(f"- {100 * seconds / busy:5.1f} % `{frame}`")
    return lines + [""]


NOTES_MARKER = "<!-- notes: kept when make bench rewrites this file -->"


def write_doc(path: Path, text: str) -> None:
    """Writes the results file, keeping hand-written notes below NOTES_MARKER."""
    notes = ""
    if path.exists():
        old = path.read_text()
        if NOTES_MARKER in old:
            notes = old[old.index(NOTES_MARKER):]
    if not notes:
        notes = NOTES_MARKER + "\n\n## Notes\n\n(none yet)\n"
    path.write_text(text.rstrip() + "\n\n" + notes)

