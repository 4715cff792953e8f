"""Measurement 7: several followers on one source (``enrich --follow --partitions``).

The benchmark workload is loaded raw (dynamic mapping) into a source index of the node at
``$SESSIONWATCH_ES_URL``; then, each into a fresh destination and state index:

* ``single``: the one follower (no ``--partitions``): ``--once``, wall time to catch up;
* ``one_member``: one follower with ``--partitions 8`` (the cost of reading by partition);
* ``two_members``: two followers with ``--partitions 8``, until every event is written;
* ``kill``: two followers, one killed with SIGKILL at about 40 %: how long until the survivor
  holds every partition, and whether every event is in the destination exactly once.

Read amplification is the events the members read (their own plus the others' read by the
superset query) over the events in the source. Ratios are printed against ``single``.

    python -m bench.followers --events 50000
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import REPO, Section, banner, data_dir, load_average, sessionwatch_cli, workload_file
from bench.workload import Spec
from sessionwatch.es import connect
from sessionwatch.follow import default_follower_id

PARTITIONS = 8
LEASE = "30s"


def _load(client: Any, index: str, raw: Path) -> None:
    client.indices.create(index=index, settings={"number_of_shards": 2, "number_of_replicas": 0})
    batch: list[Any] = []
    with raw.open(encoding="utf-8") as lines:
        for line in lines:
            batch += [{"index": {"_index": index}}, json.loads(line)]
            if len(batch) >= 4000:
                _bulk(client, batch)
                batch = []
    if batch:
        _bulk(client, batch)
    client.indices.refresh(index=index)


def _bulk(client: Any, operations: list[Any]) -> None:
    response = client.options(request_timeout=300).bulk(operations=operations)
    if response["errors"]:
        failed = next(i for i in response["items"] if "error" in next(iter(i.values())))
        raise RuntimeError(f"loading the source failed: {failed}")


def _count(client: Any, index: str) -> int:
    client.indices.refresh(index=index, ignore_unavailable=True)
    return int(client.count(index=index, ignore_unavailable=True)["count"])


def _args(source: str, dest: str, state: str, *extra: str) -> list[str]:
    return [
        *sessionwatch_cli(),
        "enrich",
        "--follow",
        "--source-index",
        source,
        "--dest-index",
        dest,
        "--state-index",
        state,
        "--settle",
        "0s",
        "--poll",
        "1s",
        "--dead-letter",
        str(data_dir() / f"followers-dead-{uuid.uuid4().hex[:6]}.ndjson"),
        *extra,
    ]


def _start(cmd: list[str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=REPO)  # noqa: S603


def _stop(process: subprocess.Popen[bytes]) -> tuple[float, float]:
    """SIGTERM, wait; the child's (wall-independent) CPU seconds and exit code."""
    if process.returncode is not None:  # already reaped (killed): its CPU time is not known
        return 0.0, float(process.returncode)
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        _, status, usage = os.wait4(process.pid, 0)
    except ChildProcessError:  # reaped by poll() meanwhile
        return 0.0, float(process.returncode or 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime, float(process.returncode)


def _summary(log: Path) -> dict[str, int]:
    lines = [x for x in log.read_text().splitlines() if "follow stopped:" in x]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", lines[-1])} if lines else {}


def _owners(client: Any, state: str, group: str) -> set[str | None]:
    now = time.time() * 1000
    owners: set[str | None] = set()
    for p in range(PARTITIONS):
        found = client.options(ignore_status=404).get(index=state, id=f"lease:{group}:{p}")
        data = found.get("_source", {}).get("data", {}) if found.get("found") else {}
        owners.add(data.get("owner") if data.get("expires", 0) > now else None)
    return owners


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise RuntimeError(f"timed out waiting for {what}")


def _overwritten(client: Any, dest: str) -> int:
    """Documents written more than once (``_version`` > 1): events enriched again after a kill."""
    client.indices.refresh(index=dest)
    found = client.search(index=dest, query={"range": {"_seq_no": {"gte": 0}}}, size=0, track_total_hits=True)
    total = int(found["hits"]["total"]["value"])
    stats = client.indices.stats(index=dest, metric="indexing")["_all"]["primaries"]["indexing"]
    return int(stats["index_total"]) - total


def followers(events: int, timeout: float = 1800.0) -> Section:
    section = Section("followers")
    banner(f"7. several followers on one source: 1 vs 2, and one killed, {events:,} events")
    if not os.environ.get("SESSIONWATCH_ES_URL"):
        section.note("SESSIONWATCH_ES_URL is not set: not measured")
        return section
    client = connect(None, request_timeout=600)
    raw, _ = workload_file(Spec(events=events))
    tag = uuid.uuid4().hex[:8]
    source = f"sw-bench-follow-raw-{tag}"
    made: list[str] = [source]
    logs = data_dir() / f"followers-{tag}"
    logs.mkdir(exist_ok=True)
    try:
        started = time.perf_counter()
        _load(client, source, raw)
        total = _count(client, source)
        section.put("events", total, "events in the source")
        section.put("load_s", round(time.perf_counter() - started, 1), "loading the source, s")
        section.put("load_average_start", round(load_average()[0], 2))
        walls: dict[str, float] = {}

        def run(name: str, members: list[tuple[str, ...]], kill_at: float | None = None) -> None:
            dest, state = f"sessionwatch-events-bench-{name}-{tag}", f"sessionwatch-state-bench-{name}-{tag}"
            made.extend([dest, state])
            group = default_follower_id(source, dest)
            began = time.perf_counter()
            children = [
                _start(_args(source, dest, state, *extra), logs / f"{name}-{n}.log")
                for n, extra in enumerate(members)
            ]
            takeover = None
            if kill_at is not None:
                _wait(
                    lambda: _count(client, dest) >= total * kill_at, timeout, f"{name}: {kill_at:.0%} written"
                )
                children[1].send_signal(signal.SIGKILL)
                killed = time.perf_counter()
                _wait(lambda: _owners(client, state, group) == {"m0"}, 120, "the survivor holding all")
                takeover = time.perf_counter() - killed
            _wait(
                lambda: all(c.poll() is not None for c in children) or _count(client, dest) >= total,
                timeout,
                f"{name}: every event written",
            )
            walls[name] = time.perf_counter() - began
            cpu = sum(_stop(c)[0] for c in children)
            written = _count(client, dest)
            counts = [_summary(logs / f"{name}-{n}.log") for n in range(len(children))]
            read = sum(c.get("read", 0) + c.get("foreign", 0) for c in counts)
            section.put(f"{name}_wall_s", round(walls[name], 1), f"{name}: wall s until all written")
            section.put(f"{name}_events_per_s", round(total / walls[name]), f"{name}: events/s")
            section.put(f"{name}_cpu_s", round(cpu, 1), f"{name}: CPU s of the followers")
            section.put(f"{name}_written", written, f"{name}: documents in the destination")
            if kill_at is None:
                section.put(
                    f"{name}_read_amplification", round(read / total, 3), f"{name}: events read / events"
                )
                section.put(
                    f"{name}_enriched", sum(c.get("read", 0) for c in counts), f"{name}: events enriched"
                )
            else:
                section.put(
                    f"{name}_takeover_s",
                    round(takeover or 0.0, 1),
                    f"{name}: SIGKILL to survivor holding all",
                )
                section.put(
                    f"{name}_overwritten",
                    _overwritten(client, dest),
                    f"{name}: events enriched again after the kill (same id, same content)",
                )
            section.put(
                f"{name}_exactly_once", written == total, f"{name}: every event once in the destination"
            )

        run("single", [("--once",)])
        member = ("--partitions", str(PARTITIONS), "--lease", LEASE)
        run("one_member", [(*member, "--member-id", "m0")])
        run("two_members", [(*member, "--member-id", "m0"), (*member, "--member-id", "m1")])
        run("kill", [(*member, "--member-id", "m0"), (*member, "--member-id", "m1")], kill_at=0.4)
        for name in ("one_member", "two_members", "kill"):
            section.put(
                f"{name}_speedup",
                round(walls["single"] / walls[name], 2),
                f"{name}: speed-up over the single follower",
            )
        section.put("load_average_end", round(load_average()[0], 2))
    finally:
        for index in made:
            client.indices.delete(index=index, ignore_unavailable=True)
    return section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--out", help="write the figures here as JSON")
    args = parser.parse_args(argv)
    section = followers(args.events)
    if args.out:
        Path(args.out).write_text(json.dumps(section.as_dict(), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
