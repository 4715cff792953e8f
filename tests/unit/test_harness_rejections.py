"""Where the harness says a fixture event went wrong: its own event id, file and line, on both the
one-case path (indexed by ``document_id``) and the batched path (``c<case>:`` + ``document_id``)."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pytest

from sessionwatch.bulk import document_id
from sessionwatch.enrichers import ProfileRegistry
from sessionwatch.harness import case_document_id, enrich_fixture, rejection_message
from sessionwatch.rules.errors import SessionwatchError

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "fixtures/session_idle_timeout/pci-dss-idle-15m/gap-20m-then-accepted.ndjson"
ERROR = {"type": "document_parsing_exception", "reason": "[1:40] failed to parse field [x]"}


@pytest.mark.parametrize("number", [None, 3])
def test_a_rejection_names_the_event_id_and_line_not_the_bulk_id(number: int | None) -> None:
    profiles = ProfileRegistry.discover()
    docs = enrich_fixture(FIXTURE, profiles, None)
    bulk_id = document_id if number is None else partial(case_document_id, number)
    failed = [{"id": bulk_id(docs[1]), "status": 400, "error": ERROR}]
    message = rejection_message(FIXTURE, profiles, None, failed, bulk_id)
    assert message == (
        f"{FIXTURE}:2: fixture event 'a-2' rejected by Elasticsearch: "
        "document_parsing_exception: [1:40] failed to parse field [x]"
    )


def test_a_repaired_fixture_event_is_an_error_at_its_line(tmp_path: Path) -> None:
    lines = FIXTURE.read_text().splitlines()
    third = json.loads(lines[2])
    third["source"] = {"ip": "-"}
    third["@timestamp"] = "2026-03-02 09:25:00Z"
    lines[2] = json.dumps(third)
    fixture = tmp_path / "case.ndjson"
    fixture.write_text("\n".join(lines) + "\n")
    with pytest.raises(SessionwatchError) as caught:
        enrich_fixture(fixture, ProfileRegistry.discover(), None)
    assert str(caught.value) == (
        f"{fixture}:3: fixture event 'a-3' rejected: "
        'field [@timestamp] of type [date] cannot hold "2026-03-02 09:25:00Z"; '
        'field [source.ip] of type [ip] cannot hold "-" '
        "(Elasticsearch would refuse the event; a fixture is replayed as written)"
    )
