"""The dry run's mustache: Elasticsearch's semantics, not the mustache spec's, where they differ."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sessionwatch.mustache import JSON, TEXT, MustacheError, java_double, render, render_text_template
from sessionwatch.watch_dryrun import evaluate_condition, java_time, lenient_compare, sent_path


def test_json_mode_escapes_values_not_literals() -> None:
    out = render('{"u":"{{u}}"}', {"u": 'a"b\\c\nd'}, JSON)
    assert out == '{"u":"a\\"b\\\\c\\nd"}'


def test_text_mode_does_not_escape() -> None:
    assert render("<{{u}}>", {"u": 'a"b'}, TEXT) == '<a"b>'


def test_text_template_prefix_selects_json_mode() -> None:
    assert render_text_template('__json__::"{{u}}"', {"u": '"'}) == '"\\""'
    assert render_text_template('"{{u}}"', {"u": '"'}) == '"""'


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0, "yes"),
        ({}, "yes"),
        ("x", "yes"),
        (True, "yes"),
        ("", "no"),
        (None, "no"),
        (False, "no"),
        ([], "no"),
    ],
)
def test_section_truthiness_is_mustache_java(value: object, shown: str) -> None:
    assert render("{{#v}}yes{{/v}}{{^v}}no{{/v}}", {"v": value}) == shown


def test_lists_iterate_and_dotted_names_bind_the_first_segment() -> None:
    model = {"ctx": {"hits": [{"_id": "1", "ctx": {}}, {"_id": "2"}]}, "top": "T"}
    assert render("{{#ctx.hits}}[{{_id}}{{top}}]{{/ctx.hits}}", model) == "[1T][2T]"
    # inside the first hit, "ctx" binds to the hit's own (empty) ctx: no fallback to the root
    assert render("{{#ctx.hits}}<{{ctx.hits.size}}>{{/ctx.hits}}", model) == "<><2>"
    assert render("{{ctx.hits.1._id}}", model) == "2"


def test_values_print_as_java_prints_them() -> None:
    assert render(
        "{{a}} {{b}} {{c}} {{d}} {{e}}", {"a": True, "b": 1200, "c": 1200.0, "d": 1e7, "e": None}
    ) == ("true 1200 1200.0 1.0E7 ")
    assert java_double(0.5) == "0.5"
    assert java_double(1.25e-5) == "1.25E-5"


def test_functions_to_json_join_url() -> None:
    model = {"m": {"a": [1, "x"]}, "l": ["a", "b"], "s": "a b/c~"}
    assert render("{{#toJson}}m{{/toJson}}", model) == '{"a":[1,"x"]}'
    assert render("{{#join}}l{{/join}}|{{#join delimiter='-'}}l{{/join delimiter='-'}}", model) == "a,b|a-b"
    assert render("{{#url}}{{s}}{{/url}}", model, TEXT) == "a+b%2Fc%7E"


def test_unbalanced_sections_are_errors() -> None:
    with pytest.raises(MustacheError):
        render("{{#a}}x", {})


def test_trigger_time_prints_as_zoned_date_time() -> None:
    assert java_time(datetime(2026, 3, 2, 10, 0, tzinfo=UTC)) == "2026-03-02T10:00Z"
    assert java_time(datetime(2026, 3, 2, 10, 0, 5, 250000, tzinfo=UTC)) == "2026-03-02T10:00:05.250Z"


def test_lenient_compare() -> None:
    assert lenient_compare(2, 0) == 1
    assert lenient_compare("3", 5) == -1
    assert lenient_compare(1, "x") is None


def test_compare_and_array_compare_conditions() -> None:
    model = {"ctx": {"payload": {"hits": {"total": 2}, "b": [{"n": 0}, {"n": 3}]}}}
    assert evaluate_condition({"compare": {"ctx.payload.hits.total": {"gt": 0}}}, model)[0] is True
    assert evaluate_condition({"compare": {"ctx.payload.hits.total": {"gte": 3}}}, model)[0] is False
    some = {"array_compare": {"ctx.payload.b": {"path": "n", "gte": {"value": 1, "quantifier": "some"}}}}
    every = {"array_compare": {"ctx.payload.b": {"path": "n", "gte": {"value": 1, "quantifier": "all"}}}}
    assert evaluate_condition(some, model)[0] is True
    assert evaluate_condition(every, model)[0] is False


@pytest.mark.parametrize(
    ("rendered", "sent"),
    [
        ("/admin/realms/acme/sessions/..", "/admin/realms/acme"),  # a dot-segment walks up
        ("/admin/realms/acme/sessions/%2E%2E", "/admin/realms/acme"),  # decoded first: the same
        ("/admin/realms/acme/sessions/.", "/admin/realms/acme/sessions"),
        ("/api/v2/sessions/%252e%252e", "/api/v2/sessions/%252e%252e"),  # a literal "%2e%2e"
        (
            "/api/v1/users/mallory%2F..%2Fadmin%3Fx%3D1/sessions",
            "/api/v1/users/mallory%2F..%2Fadmin%3Fx=1/sessions",
        ),
        ("/a/b+c/", "/a/b%20c/"),  # java.net.URLDecoder reads "+" as a space
    ],
)
def test_sent_path_is_what_watchers_http_client_sends(rendered: str, sent: str) -> None:
    assert sent_path(rendered) == sent
