"""What every benchmark script shares: timing child processes, cached workloads, the machine."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.workload import Spec, Workload, dumps

REPO = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """Where workloads and outputs are cached between runs ($SESSIONWATCH_BENCH_DIR)."""
    default = Path.home() / ".cache" / "sessionwatch-bench"
    folder = Path(os.environ.get("SESSIONWATCH_BENCH_DIR", default))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sessionwatch_cli() -> list[str]:
    """The installed console script next to this interpreter (never the repo's source dir)."""
    script = Path(sys.executable).with_name("sessionwatch")
    return [str(script)] if script.exists() else [sys.executable, "-m", "sessionwatch"]


@dataclass(frozen=True)
class Timed:
    wall: float
    cpu: float  # user + system seconds of the child
    max_rss_mib: float
    returncode: int
    stderr: str = ""


def run(cmd: Sequence[str], *, stdin: Path | None = None, stdout: Path | None = None) -> Timed:
    """Run a child process; wall time, CPU time and peak RSS come from ``wait4``."""
    out = stdout.open("wb") if stdout else subprocess.DEVNULL
    inp = stdin.open("rb") if stdin else subprocess.DEVNULL
    try:
        start = time.perf_counter()
        child = subprocess.Popen(  # noqa: S603 - our own interpreter and scripts
            list(cmd), stdin=inp, stdout=out, stderr=subprocess.PIPE, cwd=REPO
        )
        assert child.stderr is not None
        err = child.stderr.read()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if stdout:
            out.close()  # type: ignore[union-attr]
        if stdin:
            inp.close()  # type: ignore[union-attr]
    return Timed(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        max_rss_mib=usage.ru_maxrss / 1024,
        returncode=child.returncode,
        stderr=err.decode("utf-8", "replace")[-4000:],
    )


def head_file(raw: Path, lines: int) -> Path:
    """The first ``lines`` lines of ``raw``, as a file of their own (kept between runs)."""
    path = data_dir() / f"{raw.stem}-head-{lines}.ndjson"
    if not path.exists():
        partial = path.with_suffix(".partial")  # a run stopped while writing leaves no short file
        with raw.open("rb") as source, partial.open("wb") as out:
            out.writelines(itertools.islice(source, lines))
        partial.replace(path)
    return path


def workload_file(spec: Spec) -> tuple[Path, dict[str, Any]]:
    """The raw NDJSON file for ``spec`` (generated once, streamed) and its manifest."""
    stem = f"raw-{spec.events}-s{spec.seed}-d{spec.days:g}"
    path = data_dir() / f"{stem}.ndjson"
    meta_path = data_dir() / f"{stem}.manifest.json"
    if not (path.exists() and meta_path.exists()):
        started = time.perf_counter()
        stream = Workload(spec)
        partial = path.with_suffix(".partial")
        digest = hashlib.sha256()
        with partial.open("w", encoding="utf-8") as out:
            for doc in stream:
                line = dumps(doc) + "\n"
                digest.update(line.encode("utf-8"))
                out.write(line)
        m = stream.manifest
        meta = {
            "spec": asdict(spec),
            "events": m.events,
            "sessions": m.sessions,
            "by_layout": m.by_layout,
            "injected": m.kinds(),
            "violations": [asdict(i) for i in m.injected],
            "generated_in_s": round(time.perf_counter() - started, 1),
            "bytes": partial.stat().st_size,
            "sha256": digest.hexdigest(),
        }
        partial.rename(path)
        meta_path.write_text(json.dumps(meta, indent=1))
    return path, json.loads(meta_path.read_text())


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def machine() -> dict[str, Any]:
    """The machine description the docs quote next to every figure."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    except OSError:
        mem_kib = 0
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from PATH
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "commit": commit,
        "load_average": [round(x, 2) for x in load_average()],
    }


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered) + 0.5) - 1))]


@dataclass
class Section:
    """One measurement's figures, printed as it goes and kept for the JSON report."""

    name: str
    figures: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def put(self, key: str, value: Any, label: str | None = None) -> None:
        self.figures[key] = value
        if isinstance(value, bool):
            shown: Any = "yes" if value else "no"
        elif isinstance(value, float):
            shown = f"{value:,.3f}".rstrip("0").rstrip(".")
        elif isinstance(value, int):
            shown = f"{value:,}"
        else:
            shown = value
        print(f"  {label or key}: {shown}", flush=True)

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)

    def as_dict(self) -> dict[str, Any]:
        return {"figures": self.figures, "notes": self.notes}


def banner(title: str) -> None:
    print(f"\n== {title} (load average {', '.join(f'{x:.2f}' for x in load_average())})", flush=True)
