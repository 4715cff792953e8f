"""``detect --events`` on imperfect input (real node): events Elasticsearch rejects, events sharing
a source id, late events, a time that misses the file, and bulk requests bounded by bytes."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from sessionwatch.bulk import index_documents
from sessionwatch.cli import main
from sessionwatch.commands import detect as detect_command
from sessionwatch.indices import temporary_events_index
from tests.hardening.nodes import FaultyProxy
from tests.integration.test_runner_support import IDLE_RULE, REPO, cli_env, enrich, load, run_cli

FIXTURE = REPO / "fixtures/session_idle_timeout/pci-dss-idle-15m/gap-20m-then-accepted.ndjson"


def _events() -> list[dict[str, Any]]:
    """alice: login 09:00, activity 09:05, 09:25 (a 20-minute gap: one alert, on a-3), 09:27."""
    return [json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()]


def _write(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def _detect(es_url: str, tmp_path: Path, events: Path, *extra: str) -> tuple[int, list[dict[str, Any]], str]:
    done = run_cli(
        ["detect", "--events", str(events), "--rules", str(IDLE_RULE), *extra], cli_env(es_url), tmp_path
    )
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines()], done.stderr


def test_rejected_events_go_to_the_dead_letter_and_the_rest_is_evaluated(es_url: str, tmp_path: Path) -> None:
    """An event the engine cannot use (a time nobody can read): dead letter with its reason and
    ``file:line``, counted, named with the dead letter's path; the rest is evaluated, exit 1."""
    events = _events()
    rejected = {**events[1], "event": {**events[1]["event"], "id": "bad-1"}, "@timestamp": "yesterday"}
    path = _write(tmp_path / "mixed.ndjson", [*events, rejected])  # the reject is line 5
    dead = tmp_path / "dead.ndjson"
    code, alerts, err = _detect(es_url, tmp_path, path, "--dead-letter", str(dead))
    assert code == 1, err
    assert [a["sessionwatch"]["evidence"]["event_ids"] for a in alerts] == [["a-3"]]
    assert "detect: read=5 enriched=4 passed_through=0 dead_letter=1" in err
    assert "detect: indexed 4 of 4 enriched events\n" in err
    (line,) = [line for line in err.splitlines() if line.startswith(f"{path}:5: rejected: ")]
    assert "@timestamp" in line, line
    assert f"detect: 1 event rejected, written to {dead}" in err
    (letter,) = [json.loads(line) for line in dead.read_text().splitlines()]
    assert letter["origin"] == f"{path}:5"
    assert letter["reason"] == line.removeprefix(f"{path}:5: rejected: ")
    assert json.loads(letter["raw"])["event"]["id"] == "bad-1"
    assert "Traceback" not in err


def test_a_field_elasticsearch_would_refuse_is_dropped_and_the_event_evaluated(
    es_url: str, tmp_path: Path
) -> None:
    """``"client": {"ip": "-"}`` on the event that raises the alert: the field is dropped (and
    recorded on the event), the line is named, nothing goes to the dead letter, the alert is raised."""
    events = _events()
    events[2] = {**events[2], "client": {"ip": "-"}}  # a-3, the event after the 20-minute gap
    path = _write(tmp_path / "dash.ndjson", events)
    dead = tmp_path / "dead.ndjson"
    code, alerts, err = _detect(es_url, tmp_path, path, "--dead-letter", str(dead))
    assert code == 1, err
    assert [a["sessionwatch"]["evidence"]["event_ids"] for a in alerts] == [["a-3"]]
    assert f'{path}:3: repaired: field [client.ip] of type [ip] cannot hold "-"\n' in err
    assert "repaired=1" in err
    assert "detect: 1 event indexed and evaluated without the fields Elasticsearch would refuse" in err
    assert "detect: indexed 4 of 4 enriched events\n" in err
    assert "rejected" not in err
    assert not dead.exists()


def test_an_event_elasticsearch_still_rejects_goes_to_the_dead_letter(
    es_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the engine lets through but the node refuses (a gap in the engine's admission,
    made here by giving one document a field of the wrong type just before it is sent: the real
    node rejects it with its own 400): dead letter at ``file:line`` with the node's reason, the
    count of indexed and rejected events, and the rest evaluated."""
    events = _events()
    marked = {**events[1], "event": {**events[1]["event"], "id": "bad-1"}}
    marked["@timestamp"] = "2026-03-02T09:06:00Z"
    path = _write(tmp_path / "mixed.ndjson", [*events, marked])  # the reject is line 5
    real = index_documents

    def admission_gap(client: Elasticsearch, index: str, docs: Any, **kwargs: Any) -> Any:
        def spoiled() -> Any:
            for key, doc in docs:
                if doc["event"]["id"] == "bad-1":
                    doc = {**doc, "client": {"ip": "not-an-address"}}
                yield key, doc

        return real(client, index, spoiled(), **kwargs)

    monkeypatch.setattr(detect_command, "index_documents", admission_gap)
    dead = tmp_path / "dead.ndjson"
    argv = ["detect", "--events", str(path), "--rules", str(IDLE_RULE), "--es-url", es_url]
    code = main([*argv, "--dead-letter", str(dead), "--format", "ndjson"])
    out, err = capsys.readouterr()
    assert code == 1, err
    assert [json.loads(line)["sessionwatch"]["evidence"]["event_ids"] for line in out.splitlines()] == [
        ["a-3"]
    ]
    assert "detect: indexed 4 of 5 enriched events, 1 rejected by Elasticsearch" in err
    assert f"{path}:5: rejected: Elasticsearch rejected it: HTTP 400" in err
    assert f"detect: 1 event rejected, written to {dead}" in err
    (letter,) = [json.loads(line) for line in dead.read_text().splitlines()]
    assert letter["origin"] == f"{path}:5"
    assert "client.ip" in letter["reason"]
    assert json.loads(letter["raw"])["event"]["id"] == "bad-1"


def test_events_sharing_a_source_id_are_all_indexed(es_url: str, tmp_path: Path) -> None:
    """Vault writes a request and a response audit entry under one id: two documents, not one."""
    events = _events()
    response = {**events[2], "vault": {"type": "response"}}
    path = _write(tmp_path / "vault-like.ndjson", [*events, response])
    code, alerts, err = _detect(es_url, tmp_path, path)
    assert "indexed 5 of 5 enriched events" in err, err
    assert code == 1
    assert [a["sessionwatch"]["evidence"]["event_ids"] for a in alerts] == [["a-3"]]


def test_late_events_are_reordered_like_enrich(es_url: str, tmp_path: Path) -> None:
    """a-2 arrives 20 s after a-3 although it happened before it: with the default reorder window
    it is put back in order, so the idle gap is measured on the right events."""
    login = _events()[0]
    late = {
        **login,
        "@timestamp": "2026-03-02T09:24:40Z",
        "event": {**login["event"], "id": "a-2", "action": "view"},
    }
    late["event"].pop("category"), late["event"].pop("type")
    last = {**late, "@timestamp": "2026-03-02T09:25:00Z", "event": {**late["event"], "id": "a-3"}}
    path = _write(tmp_path / "late.ndjson", [login, last, late])
    code, alerts, err = _detect(es_url, tmp_path, path)
    assert code == 1, err
    (alert,) = alerts
    assert alert["sessionwatch"]["evidence"]["event_ids"] == ["a-2"]
    assert alert["sessionwatch"]["evidence"]["facts"]["sessionwatch.session.idle_seconds"] == 1480
    in_order = _detect(es_url, tmp_path, path, "--reorder-window", "0")
    assert [a["sessionwatch"]["evidence"]["event_ids"] for a in in_order[1]] != [["a-2"]]


def test_a_time_that_misses_the_file_is_reported(es_url: str, tmp_path: Path) -> None:
    path = _write(tmp_path / "march.ndjson", _events())
    code, alerts, err = _detect(es_url, tmp_path, path, "--at", "2026-03-09T00:00:00Z")
    assert (code, alerts) == (0, [])
    assert "only 0 of the 4 events in the input lie inside a rule's window" in err
    assert "looks back at most 1 h" in err
    _, _, quiet = _detect(es_url, tmp_path, path, "--at", "2026-03-02T09:30:00Z")
    assert "warning" not in quiet


def test_bulk_requests_are_bounded_by_bytes(es: Elasticsearch, monkeypatch: pytest.MonkeyPatch) -> None:
    """Five 300 kB events with a 1 MB limit: no request carries more than 1 MB, all are indexed
    (two 60 MB events must never share one request, or Elasticsearch answers 413)."""
    sizes: list[int] = []
    original = Elasticsearch.bulk

    def counting_bulk(self: Elasticsearch, *args: Any, **kwargs: Any) -> Any:
        sizes.append(sum(len(line) + 1 for line in kwargs["operations"]))
        return original(self, *args, **kwargs)

    docs = [
        (
            f"big-{n}",
            {"@timestamp": "2026-03-02T09:00:00Z", "message": "x" * 300_000, "event": {"id": f"big-{n}"}},
        )
        for n in range(5)
    ]
    with temporary_events_index(es, "sw-bulk-bytes-") as index:
        monkeypatch.setattr(Elasticsearch, "bulk", counting_bulk)
        report = index_documents(es, index, docs, chunk_bytes=1_000_000)
        monkeypatch.undo()
        assert (report.indexed, report.failed) == (5, [])
        assert es.count(index=index)["count"] == 5
    assert len(sizes) >= 2
    assert max(sizes) <= 1_000_000


def test_detect_retries_its_searches_through_a_pause(es: Elasticsearch, es_url: str, tmp_path: Path) -> None:
    """The node stops answering (connections dropped and refused) for 3 s when detect sends its
    first search: detect retries with the one retry policy and gives the same alerts, exit 1."""
    with temporary_events_index(es, "sw-detect-pause-") as index:
        load(es, index, enrich(_events()))
        proxy = FaultyProxy(int(es_url.rsplit(":", 1)[1].rstrip("/")))
        searching = proxy.when_seen(f"POST /{index}/_search".encode())
        paused = threading.Event()

        def pause() -> None:
            if searching.wait(120):
                proxy.set_mode("drop")
                paused.set()
                time.sleep(3)
                proxy.set_mode("pass")

        chaos = threading.Thread(target=pause)
        chaos.start()
        args = ["detect", "--index", index, "--rules", str(IDLE_RULE), "--from", "2026-03-02T08:00:00Z"]
        try:
            done = run_cli([*args, "--to", "2026-03-02T10:00:00Z"], cli_env(proxy.url), tmp_path)
        finally:
            chaos.join()
            proxy.close()
    assert paused.is_set()
    assert "Traceback" not in done.stderr
    assert done.returncode == 1, done.stderr
    alerts = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["sessionwatch"]["evidence"]["event_ids"] for a in alerts] == [["a-3"]]
    assert "search for rule pci-dss-idle-15m" in done.stderr
    assert "retry 1" in done.stderr
