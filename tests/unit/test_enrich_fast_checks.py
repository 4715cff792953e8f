"""The cheap checks the engine's fast paths rely on give the answers of the full checks:
the orjson parse (only for lines it writes back byte for byte), admission that skips name
checks when the text rules refused names out, and the common-date shortcut."""

from __future__ import annotations

import copy
import json

import pytest

from sessionwatch.enrichers import timefmt
from sessionwatch.enrichers.admission import _es_date_text, admit, es_date_text, plain_names
from sessionwatch.enrichers.mapper import Mapper
from sessionwatch.enrichers.output import Counts
from sessionwatch.enrichers.profiles import ProfileRegistry
from tests.unit.test_enrich_reference import corpus


@pytest.mark.parametrize(
    "text",
    [
        '{"":1}',
        '{" ":1}',
        '{"a":{"  ":1}}',
        '{".a":1}',
        '{"a":{"b..c":1}}',
        '{"\\t":1}',
        '{"\\u002ea":1}',
        '{"\u00a0":1}',
        '{"\u2028":1}',
        '{"a":{"\\u0020":1}}',
        '{"_id":1}',
    ],
)
def test_names_elasticsearch_refuses_are_never_cleared_by_the_text_check(text: str) -> None:
    doc = json.loads(text)
    if plain_names(text):  # only the metadata field may pass the text check: admit looks at it
        assert "_id" in doc
    assert admit(copy.deepcopy(doc), names_checked=plain_names(text)) == admit(doc)
    assert admit(json.loads(text)) != {}


def test_admission_with_the_text_check_repairs_exactly_what_the_full_walk_repairs() -> None:
    cleared = 0
    for raw in corpus():
        try:
            text = raw.decode("utf-8")
            doc = json.loads(text)
        except ValueError:
            continue
        if not isinstance(doc, dict):
            continue
        fast_doc, slow_doc = copy.deepcopy(doc), copy.deepcopy(doc)
        names_checked = plain_names(text)
        cleared += names_checked
        fast = admit(fast_doc, keep_bad_timestamp=True, names_checked=names_checked)
        slow = admit(slow_doc, keep_bad_timestamp=True)
        assert list(fast.items()) == list(slow.items()), text[:200]
        assert fast_doc == slow_doc
    assert cleared > 3000  # the workload's lines take the fast path


@pytest.mark.parametrize(
    "value",
    [
        "2026-03-02T09:00:00.123Z",
        "2026-03-02T09:00:00Z",
        "2026-02-30T09:00:00Z",
        "2023-02-29T01:02:03Z",
        "2024-02-29T01:02:03Z",
        "2026-03-02T24:00:00Z",
        "2026-03-02T23:60:00Z",
        "2026-03-02T23:59:60Z",
        "2026-13-02T09:00:00Z",
        "0000-01-01T00:00:00Z",
        "2026-03-02T09:00:00.1234567890Z",
        "2026-03-02T09:00:00,5Z",
        "2026-03-02 09:00:00Z",
        "2026-03-02T09:00:00+01:00",
    ],
)
def test_the_common_date_shortcut_agrees_with_the_full_check(value: str) -> None:
    assert es_date_text(value) == _es_date_text(value)
    assert es_date_text(value) == _es_date_text(value)  # and from its cache


@pytest.mark.parametrize(
    ("line", "duplicates"),
    [
        ('{"a":1,"b":{"c":2}}', False),
        ('{"a":1,"a":2}', True),
        ('{"a":{"x":1,"x":1}}', True),
        ('{"a": 1, "a": 2}', True),
        ('{"q\\"":1,"q\\"":2}', True),
        ('{"a":1.0e5}', False),
    ],
)
def test_duplicate_keys_are_reported_whichever_parser_reads_the_line(line: str, duplicates: bool) -> None:
    mapper = Mapper(ProfileRegistry.discover(), None, Counts())
    for raw in (line, line.encode("utf-8")):
        assert mapper._parse(raw, line) == json.loads(line)
        assert mapper._duplicates is duplicates


def test_a_date_the_common_check_notes_has_the_form_of_the_formatter() -> None:
    """``remember`` trusts a ``@timestamp`` admission noted: only texts of ``iso``'s form."""
    texts = ["2026-03-02T09:00:00.123Z", "2026-03-02T09:00:00.12Z", "2026-03-02T09:00:00.1234Z"]
    texts += ["2026-03-02T09:00:00Z", "2026-03-02T09:00:00.123456789Z", "2026-03-02T09:00:00,123Z"]
    texts += ["2026-03-02T09:00:00.12\u0663Z", "\u0662026-03-02T09:00:00.123Z", "2026-03-02T09:00:00.123+"]
    for text in texts:
        timefmt.has_iso_form("")
        es_date_text(text)
        noted = timefmt._KNOWN_FORM[0] is text
        assert noted == (timefmt._ISO_FORM(text) is not None), text
