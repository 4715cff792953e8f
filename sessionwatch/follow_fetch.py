"""Reading a page of source events when one of them cannot be parsed by the client.

Elasticsearch stores documents the Python client cannot read back: nesting 990 deep (the node
accepts up to 1,000 levels; the client's JSON decoder stops near Python's recursion limit) or,
on nodes that accept it, an integer of more than 4,300 digits. One such document makes the
whole search response unreadable. The page is then read again without sources (ids and sort
values only), the sources are fetched by ``mget`` in halves until every readable one is read,
and each unreadable one is returned as a hit marked ``UNREADABLE`` with its reason, for the
follower to dead-letter.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from elastic_transport import SerializationError
from elasticsearch import Elasticsearch

log = logging.getLogger("sessionwatch.follow")
UNREADABLE = "_sessionwatch_unreadable"  # key of a hit whose source the client cannot parse

# What the client's JSON decoding raises on such a document (a RecursionError escapes its
# serializer, a ValueError is wrapped into a SerializationError).
PARSE_ERRORS: tuple[type[BaseException], ...] = (SerializationError, RecursionError, ValueError)


def parse_failure(exc: BaseException) -> str:
    """The reason a response could not be parsed, without the response's text."""
    if isinstance(exc, RecursionError):
        return "nested too deeply for the JSON decoder (RecursionError)"
    cause = next(iter(getattr(exc, "errors", ()) or ()), exc)
    text = str(cause).split(":")[0] if isinstance(cause, ValueError) else type(cause).__name__
    return f"not readable as JSON by the client ({text[:200]})"


def search_page(search: Callable[..., Any], **request: Any) -> dict[str, Any]:
    """``search(**request)``; when the response cannot be parsed, the same page without sources."""
    try:
        return dict(search(**request))
    except PARSE_ERRORS as exc:
        log.warning(
            "follow: a page could not be parsed (%s); reading its events one by one", parse_failure(exc)
        )
    response = dict(search(**{**request, "source": False}))
    response["_sessionwatch_sourceless"] = True
    return response


def fill_sources(client: Elasticsearch, hits: list[dict[str, Any]]) -> None:
    """Add ``_source`` to each hit (read by ``mget``), or ``UNREADABLE`` with the reason."""
    if not hits:
        return
    try:
        response = client.mget(docs=[{"_index": h["_index"], "_id": h["_id"]} for h in hits])
    except PARSE_ERRORS as exc:
        if len(hits) == 1:
            hits[0][UNREADABLE] = f"its source is {parse_failure(exc)}"
            return
        half = len(hits) // 2
        fill_sources(client, hits[:half])
        fill_sources(client, hits[half:])
        return
    for hit, doc in zip(hits, response["docs"], strict=True):
        if doc.get("found") and "_source" in doc:
            hit["_source"] = doc["_source"]
        else:
            hit[UNREADABLE] = "it was deleted from the source index while being read"
