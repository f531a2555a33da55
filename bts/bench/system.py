"""What the benchmark measures about processes: memory, CPU, other load on the machine, py-spy samples."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Optional, Tuple


def rss_mb(pid: int) -> Tuple[float, float]:
    """Current and peak resident memory of a process and its children, in MB."""
    current = peak = 0.0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                current += int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak += int(line.split()[1]) / 1024
    return current, peak


def proc_stat(pid: str) -> Optional[Tuple[int, float]]:
    """Parent pid and CPU seconds (user + system) of a process, None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_snapshot() -> Tuple[float, float]:
    """CPU seconds used so far by the whole machine, and by this benchmark's process tree."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:8]]
    busy = (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")
    stats = {pid: proc_stat(pid) for pid in os.listdir("/proc") if pid.isdigit()}
    parents = {int(pid): st[0] for pid, st in stats.items() if st}
    mine = 0.0
    for pid, st in stats.items():
        node = int(pid)
        while node > 1 and node != os.getpid():
            node = parents.get(node, 0)
        if node == os.getpid() and st:
            mine += st[1]
    # Children that have finished (a training run) are no longer in /proc: their CPU is in ours.
    times = os.times()
    return busy, mine + times.children_user + times.children_system


class ForeignCpu:
    """Measures the CPU that other processes of the machine used during a block of measurements."""

    def __init__(self) -> None:
        self.began = time.monotonic()
        self.start = cpu_snapshot()

    def done(self) -> Dict[str, float]:
        """CPU seconds used by processes outside the benchmark, and the share of the machine."""
        busy, mine = cpu_snapshot()
        wall = time.monotonic() - self.began
        foreign = max(0.0, (busy - self.start[0]) - (mine - self.start[1]))
        return {"wall_s": wall, "foreign_cpu_s": foreign,
                "foreign_share": foreign / (wall * (os.cpu_count() or 1)) if wall else 0.0}


def load_average() -> float:
    """The one-minute load average."""
    return os.getloadavg()[0]


def _frame_name(frame: str) -> str:
    name = re.sub(r" \(([^)]*/)?(site-packages/|python3\.10/)?", " (", frame)
    return re.sub(r":\d+\)$", ")", name)


class Spy:
    """Samples one process with py-spy between `start()` and `stop()` (nothing without py-spy).

    Args:
        pid: The process.
        out: Where py-spy writes its raw samples.
        rate: Samples per second.
    """

    def __init__(self, pid: int, out: Path, rate: int = 200) -> None:
        self.pid = pid
        self.out = out
        self.rate = rate
        self.proc: Optional[subprocess.Popen] = None
        found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        self.binary = found if os.path.exists(found) else None

    def start(self) -> None:
        """Starts sampling."""
        if self.binary:
            self.proc = subprocess.Popen(
                [self.binary, "record", "--pid", str(self.pid), "--rate", str(self.rate), "--format", "raw",
                 "--output", str(self.out), "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            time.sleep(0.5)  # attached

    def stop(self) -> Dict[str, Any]:
        """Stops sampling; returns seconds sampled per frame, inclusive and as the innermost frame."""
        if self.proc is None:
            return {}
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.proc = None
        inclusive: Dict[str, int] = {}
        leaf: Dict[str, int] = {}
        total = 0
        if self.out.exists():
            for line in self.out.read_text().splitlines():
                stack, _, count_text = line.rpartition(" ")
                if not count_text.isdigit():
                    continue
                count = int(count_text)
                total += count
                frames = [_frame_name(f) for f in stack.split(";") if f]
                for name in set(frames):
                    inclusive[name] = inclusive.get(name, 0) + count
                if frames:
                    leaf[frames[-1]] = leaf.get(frames[-1], 0) + count
        return {"rate": self.rate, "samples": total,
                "inclusive_s": {k: v / self.rate for k, v in inclusive.items()},
                "leaf_s": {k: v / self.rate for k, v in leaf.items()}}

