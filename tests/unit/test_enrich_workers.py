"""Partitioned workers (``parallel``, ``parallel_front``, ``parallel_worker``): what the parent
holds of an event, the order of dead letters, and a worker that dies."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from sessionwatch.enrichers import (
    discover_enrichers,
    parallel_front,
    parallel_worker,
)
from sessionwatch.enrichers.base import CanonicalEvent
from sessionwatch.enrichers.parallel_worker import stream_event_type
from tests.cli_runner import run_sessionwatch
from tests.unit.test_enrich_engine import _mixed_stream
from tests.unit.written_lines import enrich_lines


def _event() -> CanonicalEvent:
    values: dict[str, Any] = {}
    for number, f in enumerate(dataclasses.fields(CanonicalEvent)):
        values[f.name] = float(number) if f.name in {"timestamp", "token_issued_at"} else f"value-{f.name}"
    values["outcome"] = "failure"
    values["doc"] = {"kept": True}
    return CanonicalEvent(**values)


def test_the_parents_copy_of_an_event_reads_like_the_event() -> None:
    """The stream-scoped enrichers run in the parent on a named tuple built from a worker's
    answer: every field and property of the event must read the same (a field added to
    ``CanonicalEvent`` is carried without a change here); without ``doc`` among its fields
    its document is empty."""
    event = _event()
    names = [f.name for f in dataclasses.fields(CanonicalEvent)]
    view: Any = tuple.__new__(stream_event_type(), (7, 1, None, "t", *(getattr(event, n) for n in names)))
    for name in names:
        assert getattr(view, name) == getattr(event, name), name
    properties = [k for k, v in vars(CanonicalEvent).items() if isinstance(v, property)]
    assert properties  # ``accepted`` at least
    for name in properties:
        assert getattr(view, name) == getattr(event, name), name
    assert (view.line, view.owner, view.repaired, view.stamp) == (7, 1, None, "t")
    some = tuple(n for n in names if n != "doc")
    partial: Any = tuple.__new__(
        stream_event_type(some), (7, 1, None, "t", *(getattr(event, n) for n in some))
    )
    assert dict(partial.doc) == {}


class _FailsOnSomeSessions:
    """Session-scoped: fails on the events of a few sessions (run in the workers)."""

    name = "fails_on_some_sessions"
    scope = "session"

    def facts(self, event: CanonicalEvent, state: dict[str, Any]) -> dict[str, Any]:
        if event.session_id in {"s3", "s8"} and event.event_id.endswith(("1", "4")):
            raise ValueError("no")
        return {}


@pytest.mark.parametrize("workers", [2, 3])
def test_dead_letters_come_in_the_order_one_process_writes_them(workers: int) -> None:
    """Lines that cannot be mapped (parent) and events a session-scoped enricher fails on
    (workers), interleaved: the same dead letters in the same order as one process."""
    lines = _mixed_stream(1500, seed=21)
    enrichers = [*discover_enrichers(), _FailsOnSomeSessions()]
    one, dead_one, result_one = enrich_lines(lines, 1, enrichers=enrichers)
    many, dead_many, result_many = enrich_lines(lines, workers, enrichers=enrichers)
    reasons = {d.reason.split(":")[0] for d in dead_one}
    assert "enricher failed" in reasons  # both kinds are there
    assert any(r.startswith("malformed JSON") for r in reasons)
    assert many == one
    assert dead_many == dead_one  # not sorted: the order too
    assert result_many.counts == result_one.counts
    assert result_many.counts.conserved


def test_a_worker_that_dies_stops_the_run_with_an_error_instead_of_hanging() -> None:
    """A worker killed mid-run (here it exits at once, possibly in the middle of writing a
    message): the run raises naming the worker, and the process ends (nothing waits forever
    for the dead worker's half-written message or for the messages queued to it)."""
    script = textwrap.dedent(
        """
        import os
        from sessionwatch.enrichers import EngineOptions, ProfileRegistry, discover_enrichers
        from sessionwatch.enrichers.parallel import run
        from sessionwatch.rules.errors import EnrichError
        from tests.unit.test_enrich_engine import _mixed_stream

        class Dies:
            name = "dies"
            scope = "session"

            def facts(self, event, state):
                if event.event_id == "e900":
                    os._exit(3)
                return {}

        try:
            run(
                _mixed_stream(3000, seed=2) * 4,
                lambda line: None,
                lambda letter: None,
                profiles=ProfileRegistry.discover(),
                enrichers=[*discover_enrichers(), Dies()],
                options=EngineOptions(reorder_window=20.0),
                workers=2,
            )
        except EnrichError as exc:
            print("raised:", exc)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "raised: enrich worker enrich-" in done.stdout
    assert "stopped (exit code 3)" in done.stdout


def test_progress_is_reported_with_workers(tmp_path: Path) -> None:
    source = tmp_path / "in.ndjson"
    line = '{"@timestamp": "2026-01-01T00:%02d:%02dZ", "event": {"id": "%d"}, "session": {"id": "s%d"}}\n'
    source.write_text("".join(line % (i // 600, i // 10 % 60, i, i % 50) for i in range(25_000)))
    command = [sys.executable, "-m", "sessionwatch", "enrich", str(source), "--progress"]
    one = subprocess.run([*command, "-o", "one.out"], cwd=tmp_path, capture_output=True, check=False)
    two = subprocess.run(
        [*command, "-o", "two.out", "--workers", "2"], cwd=tmp_path, capture_output=True, check=False
    )
    assert one.returncode == two.returncode == 0, two.stderr
    reported = [int(n) for n in re.findall(rb"\renrich: (\d+) read", two.stderr)]
    # each time the workers have mapped another 10,000 lines (counted per block: a few more)
    assert len(reported) >= 2
    assert reported == sorted(reported)
    assert all(10_000 * (i + 1) <= n < 10_000 * (i + 2) for i, n in enumerate(reported)), reported
    assert b"enrich: read=25000 enriched=25000" in two.stderr
    assert (tmp_path / "two.out").read_bytes() == (tmp_path / "one.out").read_bytes()


@pytest.mark.parametrize("piped", [False, True], ids=["files", "stdin-stdout"])
def test_the_cli_with_two_workers_writes_the_bytes_one_process_writes(tmp_path: Path, piped: bool) -> None:
    """``sessionwatch enrich`` from a file to a file (the workers read their ranges of it) and
    from a pipe to a pipe (the parent reads it): the output, the dead letters (with their line
    numbers), the saved state and the counts of two workers are those of one process."""
    lines = _mixed_stream(4000, seed=8)
    lines[7:7] = ["", "not json", "  "]
    source = tmp_path / "in.ndjson"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    seen = []
    for workers in (1, 2):
        folder = tmp_path / str(workers)
        folder.mkdir()
        args = ["-", "-o", "-"] if piped else [str(source), "-o", "out.ndjson"]
        done = run_sessionwatch(
            [
                "enrich",
                *args,
                "--workers",
                str(workers),
                "--state",
                "state.json",
                "--dead-letter",
                "dead.ndjson",
            ],
            cwd=folder,
            input=source.read_text(encoding="utf-8") if piped else None,
            timeout=120,
            process=True,
        )
        assert done.returncode == 1, done.stderr  # (dead letters)
        assert "Traceback" not in done.stderr
        output = done.stdout if piped else (folder / "out.ndjson").read_text(encoding="utf-8")
        dead = (folder / "dead.ndjson").read_text(encoding="utf-8")
        state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        seen.append((output, dead, state, done.stderr.splitlines()[-1]))
    assert seen[1] == seen[0]
    assert len(seen[0][0].splitlines()) > 3500
    assert '"line": 9, "reason": "malformed JSON' in seen[0][1]


def test_a_slow_worker_maps_fewer_blocks_and_the_output_is_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks go to whichever worker has answered: when one worker is slow (here it waits 0.1
    s per block; on a busy machine, it shares its core), the other maps more blocks instead of
    waiting for it, and the answers, taken in block order whoever sent them, give the lines,
    dead letters and counts of one process."""
    lines = _mixed_stream(6000, seed=13)
    one, dead_one, result_one = enrich_lines(lines, 1)
    mapping = parallel_worker.Worker.map_chunk

    def slow_first(self: Any, chunk: Any) -> Any:
        if self.index == 0:
            time.sleep(0.1)
        return mapping(self, chunk)

    monkeypatch.setattr(parallel_worker.Worker, "map_chunk", slow_first)  # (the workers are forked)
    blocks = [0, 0]
    send = parallel_front.Parent._send

    def counting(self: Any, worker: int, message: Any) -> None:
        blocks[worker] += message[0] == parallel_worker.MAP
        send(self, worker, message)

    monkeypatch.setattr(parallel_front.Parent, "_send", counting)
    two, dead_two, result_two = enrich_lines(lines, 2)
    assert sum(blocks) == -(-6000 // parallel_front.CHUNK)
    assert blocks[0] < blocks[1], blocks  # (taking turns: 12 and 12)
    assert two == one
    assert dead_two == dead_one
    assert result_two.counts == result_one.counts


@pytest.mark.parametrize("workers", [1, 2])
def test_a_run_whose_state_is_not_saved_gathers_none(workers: int) -> None:
    """``keep_state=False`` (``enrich`` without ``--state``): no state in the result (the
    workers do not send their sessions back), the same output, counts and open sessions."""
    lines = _mixed_stream(1500, seed=4)
    kept_lines, _, kept = enrich_lines(lines, workers)
    written, _, result = enrich_lines(lines, workers, keep_state=False)
    assert result.state == {}
    assert kept.state["sessions"]
    assert result.open_sessions == kept.open_sessions > 0
    assert result.counts == kept.counts
    assert written == kept_lines
