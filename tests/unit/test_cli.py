from __future__ import annotations

import json
import subprocess
from pathlib import Path

from sessionwatch.rules import load_rules
from tests.cli_runner import run_sessionwatch

REPO = Path(__file__).resolve().parents[2]
PACK = REPO / "rules" / "pack"


def run(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_sessionwatch(args, cwd=cwd, input=stdin, timeout=60)


def test_validate_shipped_pack(tmp_path: Path) -> None:
    result = run("validate", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "rules valid" in result.stderr


def test_validate_reports_every_mistake_without_traceback(tmp_path: Path) -> None:
    broken = Path(__file__).parent / "data" / "three-mistakes.yml"
    result = run("validate", str(broken), cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert [line.split(": ")[0] for line in lines[:3]] == [
        f"{broken}:1:5",
        f"{broken}:6:11",
        f"{broken}:15:1",
    ]


def test_missing_rule_path_is_a_usage_error(tmp_path: Path) -> None:
    for command in ("validate", "coverage", "render --target query --out out"):
        result = run(*command.split(), str(tmp_path / "nope.yml"), cwd=tmp_path)
        assert result.returncode == 2, command
        assert f"error: {tmp_path / 'nope.yml'}: no such file or directory" in result.stderr
        assert "Traceback" not in result.stderr


def test_enrich_writes_dead_letter_and_counts(tmp_path: Path) -> None:
    good = json.dumps({"@timestamp": "2026-03-02T09:00:00Z", "session": {"id": "s"}, "event": {"id": "1"}})
    source = tmp_path / "in.ndjson"
    source.write_text(good + "\n{broken\n")
    result = run("enrich", str(source), "-o", str(tmp_path / "out.ndjson"), cwd=tmp_path)
    assert result.returncode == 1
    assert "read=2 enriched=1 passed_through=0 dead_letter=1" in result.stderr
    dead = json.loads((tmp_path / "out.ndjson.dead-letter.ndjson").read_text())
    assert dead["line"] == 2
    assert dead["raw"] == "{broken"
    enriched = json.loads((tmp_path / "out.ndjson").read_text())
    assert enriched["sessionwatch"]["session"]["id"] == "s"


def test_missing_input_file_is_a_usage_error(tmp_path: Path) -> None:
    result = run("enrich", str(tmp_path / "absent.ndjson"), cwd=tmp_path)
    assert result.returncode == 2
    assert "absent.ndjson: No such file or directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_elasticsearch_is_an_environment_error(tmp_path: Path) -> None:
    result = run("test", "--es-url", "http://127.0.0.1:9", cwd=tmp_path)
    assert result.returncode == 2
    assert "Elasticsearch at http://127.0.0.1:9 is unreachable" in result.stderr
    assert "Traceback" not in result.stderr


def test_render_to_directory(tmp_path: Path) -> None:
    result = run("render", "--target", "query", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = sorted((tmp_path / "out" / "query").iterdir())
    shipped = {f"{r.name}.json" for r in load_rules([PACK])}
    assert "nist-63b-r4-aal2-idle-1h.json" in {p.name for p in written}
    assert {p.name for p in written} <= shipped
    for path in written:  # each file is exactly what render() gives for that rule
        golden = REPO / "tests" / "golden" / "query" / path.name
        assert json.loads(path.read_text()) == json.loads(golden.read_text(encoding="utf-8")), path.name
