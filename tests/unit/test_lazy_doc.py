"""``LazyDoc``: the document an event's copy in another process shows, read from the event's line
on first use, is the document the mapper made of that line (repairs included)."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from sessionwatch.enrichers import ProfileRegistry
from sessionwatch.enrichers.lazy_doc import LazyDoc
from sessionwatch.enrichers.mapper import Mapped, Mapper
from sessionwatch.enrichers.output import Counts

BASE = '"@timestamp":"2026-03-02T09:00:00Z","event":{"dataset":"okta.system","action":"user.session.start"}'
LINES = [
    # written as orjson writes it: read by orjson
    "{" + BASE + ',"okta":{"authentication_context":{"external_session_id":"s1"}},"user":{"name":"a"}}',
    # spaces, escapes, non-ASCII: read by json
    '{"@timestamp": "2026-03-02T09:00:00Z", "event": {"dataset": "okta.system"}, '
    '"user": {"name": "\\u00e9l\\u00e8ve \\"x\\""}}',
    # a repeated key: the last one wins
    "{" + BASE + ',"user":{"name":"first"},"user":{"name":"second"}}',
    # an integer beyond 64 bits: orjson refuses it
    "{" + BASE + ',"n":123456789012345678901234567890,"user":{"name":"b"}}',
    # a value Elasticsearch would refuse: repaired, and the line written out again
    "{" + BASE + ',"client":{"ip":"-"},"user":{"name":"c"}}',
]


def _mapped(line: str) -> Mapped:
    mapped = Mapper(ProfileRegistry.discover(), None, Counts()).map(1, line.encode())
    assert isinstance(mapped, Mapped), mapped
    return mapped


@pytest.mark.parametrize("line", LINES)
def test_the_document_read_from_the_line_is_the_mapped_one(line: str) -> None:
    mapped = _mapped(line)
    lazy = LazyDoc(mapped.text)
    assert lazy == mapped.event.doc
    assert dict(lazy) == mapped.event.doc
    assert list(lazy) == list(mapped.event.doc)  # the same order of keys


def test_a_repaired_line_reads_as_repaired() -> None:
    mapped = _mapped(LINES[4])
    assert mapped.repaired  # the IP was dropped and recorded
    assert "ip" not in LazyDoc(mapped.text).get("client", {})


def test_a_line_orjson_cannot_read_is_read_by_json() -> None:
    lazy = LazyDoc(LINES[3])
    assert lazy["n"] == 123456789012345678901234567890
    assert lazy["user"] == {"name": "b"}


def test_it_is_read_once_and_only_when_used() -> None:
    lazy = LazyDoc("{not json")  # nobody looks: no error, no cost
    assert pickle.loads(pickle.dumps(lazy))._text == "{not json"  # travels as its text
    good: Any = LazyDoc('{"a":{"b":1}}')
    assert good._doc is None
    assert good["a"]["b"] == 1
    assert "a" in good
    assert len(good) == 1
    assert good.get("z") is None
    first = good._doc
    assert first is not None
    assert good["a"] is first["a"]  # not read again
