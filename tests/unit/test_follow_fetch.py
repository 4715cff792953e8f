"""``sessionwatch.follow_fetch``: a page whose response the client cannot parse is read again
without sources, and each unreadable source is isolated by halving (plain data, no node: an
integer of more than 4,300 digits cannot be stored in Elasticsearch 9.5, whose parser stops at
1,000 digits, but the client refuses it wherever it comes from)."""

from __future__ import annotations

import json
from typing import Any

from elastic_transport import SerializationError

from sessionwatch.follow_fetch import UNREADABLE, fill_sources, search_page

HUGE = "9" * 5000


def parse(text: str) -> Any:
    """What the client's serializer does with a response body."""
    try:
        return json.loads(text)
    except ValueError as exc:
        raise SerializationError("Unable to deserialize as JSON", errors=(exc,)) from None


class FakeNode:
    """Sources kept as JSON text; each response parsed as the client would."""

    def __init__(self, sources: dict[str, str]) -> None:
        self.sources = sources
        self.mgets = 0

    def search(self, **request: Any) -> Any:
        hits = [
            f'{{"_index":"raw","_id":"{doc_id}","sort":[{n}]'
            + ("" if request.get("source") is False else f',"_source":{text}')
            + "}"
            for n, (doc_id, text) in enumerate(self.sources.items())
        ]
        return parse('{"hits":{"hits":[' + ",".join(hits) + "]}}")

    def mget(self, docs: list[dict[str, str]]) -> Any:
        self.mgets += 1
        found = [
            f'{{"_index":"raw","_id":"{d["_id"]}","found":true,"_source":{self.sources[d["_id"]]}}}'
            for d in docs
        ]
        return parse('{"docs":[' + ",".join(found) + "]}")


def test_a_huge_integer_isolates_its_event_and_the_others_are_read() -> None:
    sources = {f"e{n}": f'{{"n":{n}}}' for n in range(8)}
    sources["e5"] = f'{{"n":{HUGE}}}'
    node = FakeNode(sources)
    response = search_page(node.search, size=10)
    assert response["_sessionwatch_sourceless"] is True
    hits = response["hits"]["hits"]
    fill_sources(node, hits)  # type: ignore[arg-type]
    assert [h["_id"] for h in hits if UNREADABLE in h] == ["e5"]
    assert "4300" in hits[5][UNREADABLE] or "digits" in hits[5][UNREADABLE]
    assert [h["_source"]["n"] for h in hits if UNREADABLE not in h] == [0, 1, 2, 3, 4, 6, 7]
    assert node.mgets <= 2 * 4 + 1  # halving, not one request per event


def test_a_readable_page_is_returned_as_it_is() -> None:
    node = FakeNode({"a": '{"n":1}'})
    response = search_page(node.search, size=10)
    assert "_sessionwatch_sourceless" not in response
    assert response["hits"]["hits"][0]["_source"] == {"n": 1}
