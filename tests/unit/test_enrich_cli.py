"""``sessionwatch enrich`` from the command line: workers, state file, progress, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.cli_runner import run_sessionwatch
from tests.unit.test_enrich_helpers import PROFILE_DATA, write_geoip_databases


def enrich(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_sessionwatch(["enrich", *args], cwd=cwd, timeout=120)


def _mixed_input(folder: Path) -> Path:
    path = folder / "in.ndjson"
    with path.open("wb") as out:
        for fixture in sorted(PROFILE_DATA.glob("*/events.ndjson")):
            out.write(fixture.read_bytes())
        out.write(b'{"@timestamp": "2026-01-01T00:00:00Z", "event": {"dataset": "nginx.access"}}\n')
    return path


def test_workers_write_the_same_file(tmp_path: Path) -> None:
    source = _mixed_input(tmp_path)
    one = enrich(str(source), "-o", "one.ndjson", "--workers", "1", cwd=tmp_path)
    two = enrich(str(source), "-o", "two.ndjson", "--workers", "2", cwd=tmp_path)
    assert one.returncode == two.returncode == 0, one.stderr + two.stderr
    assert (tmp_path / "one.ndjson").read_bytes() == (tmp_path / "two.ndjson").read_bytes()
    assert one.stderr.splitlines()[-1] == two.stderr.splitlines()[-1]
    assert "read=45 enriched=44 passed_through=1 dead_letter=0" in one.stderr


def test_counts_are_printed_and_dead_letters_kept_with_line_numbers(tmp_path: Path) -> None:
    source = tmp_path / "in.ndjson"
    source.write_text(
        '{"@timestamp": "2026-01-01T00:00:00Z", "event": {"id": "1"}}\nnot json\n\n{"event": {}}\n'
    )
    done = enrich(str(source), "-o", "out.ndjson", cwd=tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "read=3 enriched=1 passed_through=0 dead_letter=2" in done.stderr
    dead = [
        json.loads(line) for line in (tmp_path / "out.ndjson.dead-letter.ndjson").read_text().splitlines()
    ]
    assert [(d["line"], d["reason"], d["raw"]) for d in dead] == [
        (2, "malformed JSON: Expecting value at column 1", "not json"),
        (4, "missing @timestamp", '{"event": {}}'),
    ]


def test_state_file_keeps_open_sessions_across_runs(tmp_path: Path) -> None:
    first = tmp_path / "a.ndjson"
    second = tmp_path / "b.ndjson"
    first.write_text(
        '{"@timestamp": "2026-01-01T09:00:00Z", "event": {"id": "1", "action": "login"},'
        ' "session": {"id": "s"}}\n'
    )
    second.write_text(
        '{"@timestamp": "2026-01-01T09:30:00Z", "event": {"id": "2"}, "session": {"id": "s"}}\n'
    )
    state = tmp_path / "state.json"
    assert enrich(str(first), "-o", "a.out", "--state", str(state), cwd=tmp_path).returncode == 0
    assert json.loads(state.read_text())["sessions"]["s"]
    assert enrich(str(second), "-o", "b.out", "--state", str(state), cwd=tmp_path).returncode == 0
    facts = json.loads((tmp_path / "b.out").read_text())["sessionwatch"]["session"]
    assert facts["idle_seconds"] == 1800.0
    assert facts["start_observed"] is True
    assert enrich(str(second), "-o", "c.out", cwd=tmp_path).returncode == 0
    fresh = json.loads((tmp_path / "c.out").read_text())["sessionwatch"]["session"]
    assert "idle_seconds" not in fresh


def test_progress_only_on_request_when_not_a_terminal(tmp_path: Path) -> None:
    source = tmp_path / "in.ndjson"
    line = '{"@timestamp": "2026-01-01T00:00:%02dZ", "event": {"id": "%d"}, "session": {"id": "s%d"}}\n'
    source.write_text("".join(line % (i % 60, i, i % 50) for i in range(25_000)))
    command = [sys.executable, "-m", "sessionwatch", "enrich", str(source)]
    quiet = subprocess.run([*command, "-o", "q.out"], cwd=tmp_path, capture_output=True, check=False)
    loud = subprocess.run(
        [*command, "-o", "l.out", "--progress"], cwd=tmp_path, capture_output=True, check=False
    )
    assert quiet.returncode == loud.returncode == 0
    assert b"\r" not in quiet.stderr
    assert b"\renrich: 10000 read" in loud.stderr
    assert b"\renrich: 20000 read" in loud.stderr
    assert (tmp_path / "q.out").read_bytes() == (tmp_path / "l.out").read_bytes()


def test_bad_options_and_inventory_are_usage_errors(tmp_path: Path) -> None:
    source = _mixed_input(tmp_path)
    window = enrich(str(source), "--reorder-window", "soon", cwd=tmp_path)
    assert window.returncode == 2
    assert "not a duration" in window.stderr
    inventory = tmp_path / "inv.csv"
    inventory.write_text("user,status,last_seen\nbob,active,someday\n")
    bad = enrich(str(source), "-o", "x.out", "--inventory", str(inventory), cwd=tmp_path)
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr
    assert f"{inventory}:2:1: last_seen is not ISO-8601" in bad.stderr
    state = tmp_path / "state.json"
    state.write_text('{"format": "other"}')
    wrong = enrich(str(source), "-o", "y.out", "--state", str(state), cwd=tmp_path)
    assert wrong.returncode == 1
    assert "not a sessionwatch state file" in wrong.stderr


def test_geoip_databases_from_the_command_line(tmp_path: Path) -> None:
    databases = write_geoip_databases(tmp_path)
    source = tmp_path / "in.ndjson"
    source.write_text(
        '{"@timestamp": "2026-01-01T00:00:00Z", "event": {"id": "1"}, "session": {"id": "s"},'
        ' "source": {"ip": "203.0.113.9"}}\n'
    )
    done = enrich(
        str(source),
        "-o",
        "out.ndjson",
        "--geoip-city",
        databases["geoip_city"],
        "--geoip-asn",
        databases["geoip_asn"],
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    geo = json.loads((tmp_path / "out.ndjson").read_text())["sessionwatch"]["geo"]
    assert (geo["country_iso_code"], geo["asn"]) == ("BR", 64511)
    missing = enrich(str(source), "-o", "x.ndjson", "--geoip-asn", str(tmp_path / "none.mmdb"), cwd=tmp_path)
    assert missing.returncode == 1
    assert "cannot open MaxMind database" in missing.stderr
    assert "Traceback" not in missing.stderr
