"""Dry-run a watch without Watcher: what ``_execute`` with every action simulated would do.

The watch's search input runs on the real cluster (its body rendered as mustache with the trigger
time substituted, as Watcher renders it); the ``compare`` / ``array_compare`` condition is
evaluated with Watcher's lenient comparison; every action's request is rendered (``foreach`` and
``max_iterations`` included, with the path Watcher's HTTP client would send) but nothing is sent.
Scripts, transforms and inputs other than ``search`` and ``simple`` are refused: sessionwatch's
watches use none.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote_plus, urlsplit

from elasticsearch import ApiError, Elasticsearch, TransportError

from sessionwatch.mustache import lookup, render, render_text_template
from sessionwatch.rules.errors import ElasticsearchUnavailable, SessionwatchError

REDACTED = "::es_redacted::"  # what Watcher shows for a stored password
DEFAULT_MAX_ITERATIONS = 100


class DryRunError(SessionwatchError):
    """The watch uses something the dry run cannot reproduce faithfully."""


def java_time(moment: datetime) -> str:
    """``ZonedDateTime.toString()`` in UTC, as mustache prints ``ctx.trigger.scheduled_time``:
    seconds and fractions are left out when zero (``2026-03-02T10:00Z``)."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M")
    if moment.second or moment.microsecond:
        text += f":{moment.second:02d}"
    if moment.microsecond:
        micros = moment.microsecond
        text += f".{micros // 1000:03d}" if micros % 1000 == 0 else f".{micros:06d}"
    return text + "Z"


@dataclass
class ActionResult:
    id: str
    type: str
    status: str  # simulated | condition_failed
    requests: list[dict[str, Any]] = field(default_factory=list)
    iterations: int = 0


@dataclass
class DryRunResult:
    payload: dict[str, Any]
    condition_met: bool
    resolved_values: dict[str, Any]
    actions: list[ActionResult]
    search_body: dict[str, Any]


def _model(watch_id: str, watch: Mapping[str, Any], when: datetime, payload: Any) -> dict[str, Any]:
    stamp = java_time(when)
    return {
        "ctx": {
            "watch_id": watch_id,
            "id": f"{watch_id}_dryrun",
            "execution_time": stamp,
            "trigger": {"scheduled_time": stamp, "triggered_time": stamp},
            "metadata": watch.get("metadata", {}),
            "payload": payload,
            "vars": {},
        }
    }


def _object_path(path: str, root: Any) -> Any:
    """Watcher's ``ObjectPath.eval``: map keys and list indices, separated by dots."""
    value = root
    for part in path.split(".") if path else []:
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def lenient_compare(v1: Any, v2: Any) -> int | None:
    """Watcher's ``LenientCompare.compare``: numbers as doubles, numeric strings as numbers."""
    if v1 == v2 and type(v1) is type(v2):
        return 0
    if v1 is None or v2 is None:
        return None
    numeric = (int, float)
    if isinstance(v1, numeric) and not isinstance(v1, bool):
        try:
            other = float(v2) if not isinstance(v2, bool) else None
        except (TypeError, ValueError):
            return None
        if other is None:
            return None
        return (float(v1) > other) - (float(v1) < other)
    if isinstance(v1, str) and isinstance(v2, numeric) and not isinstance(v2, bool):
        try:
            first = float(v1)
        except ValueError:
            return None
        return (first > float(v2)) - (first < float(v2))
    if type(v1) is type(v2) and isinstance(v1, str):
        return int(v1 > v2) - int(v1 < v2)
    return None


def _op(name: str, resolved: Any, configured: Any) -> bool:
    if name in ("eq", "not_eq"):
        if isinstance(resolved, (list, dict)) or isinstance(configured, (list, dict)):
            equal = resolved == configured
        else:
            equal = lenient_compare(resolved, configured) == 0
        return equal if name == "eq" else not equal
    result = lenient_compare(resolved, configured)
    if result is None:
        return False
    return {"lt": result < 0, "lte": result <= 0, "gt": result > 0, "gte": result >= 0}[name]


def _configured(value: Any, model: Mapping[str, Any]) -> Any:
    """A configured value may reference the context as ``{{ctx.…}}``."""
    if isinstance(value, str) and value.startswith("{{") and value.endswith("}}"):
        return _object_path(value[2:-2].strip(), model)
    return value


def evaluate_condition(condition: Mapping[str, Any], model: Mapping[str, Any]) -> tuple[bool, dict[str, Any]]:
    """(met, resolved values) of an ``always``/``never``/``compare``/``array_compare`` condition."""
    (kind, spec), *_ = condition.items()
    if kind == "always":
        return True, {}
    if kind == "never":
        return False, {}
    if kind == "compare":
        (path, comparison), *_ = spec.items()
        (op, value), *_ = comparison.items()
        resolved = _object_path(path, model)
        return _op(op, resolved, _configured(value, model)), {path: resolved}
    if kind == "array_compare":
        (array_path, body), *_ = spec.items()
        items = _object_path(array_path, model)
        if not isinstance(items, list):
            raise DryRunError(f"array_compare: {array_path} is not an array")
        element_path = body.get("path", "")
        (op, rule), *_ = ((k, v) for k, v in body.items() if k != "path")
        quantifier = rule.get("quantifier", "some")
        value = _configured(rule["value"], model)
        results = [_op(op, _object_path(element_path, item), value) for item in items]
        met = any(results) if quantifier == "some" else all(results)
        return met, {array_path: items}
    raise DryRunError(f"condition {kind!r} is not scriptless; the dry run refuses it")


def _search(client: Elasticsearch, request: Mapping[str, Any], model: Mapping[str, Any]) -> dict[str, Any]:
    if "template" in request:
        raise DryRunError("stored or inline search templates in the input are not used by sessionwatch")
    body_text = render(json.dumps(request.get("body", {}), ensure_ascii=False), model)
    body = json.loads(body_text)
    options: dict[str, Any] = {}
    if request.get("rest_total_hits_as_int"):
        options["rest_total_hits_as_int"] = True
    try:
        response = client.search(index=list(request["indices"]), body=body, **options)
    except (ApiError, TransportError) as exc:
        raise ElasticsearchUnavailable(f"watch input search failed: {exc}") from None
    return {"body": body, "response": dict(response.body)}


# Apache URIBuilder's path-segment safe characters (besides letters, digits and "-._~")
_URI_BUILDER_SAFE = "!'()*,;:$&+=@"


def sent_path(path: str) -> str:
    """The path Watcher's HTTP client sends for a rendered ``path`` (``HttpClient.createURI``):
    each non-empty segment URL-decoded (``java.net.URLDecoder``: ``+`` is a space) and encoded
    again as one segment (``URIBuilder.setPathSegments``), then dot-segments resolved as the
    client's URI normalisation (or the server, RFC 3986 5.2.4) does: ``%2E%2E`` walks up too."""
    segments: list[str] = []
    for part in (p for p in path.split("/") if p):
        segment = quote(unquote_plus(part), safe=_URI_BUILDER_SAFE)
        if segment == "..":
            segments = segments[:-1]
        elif segment != ".":
            segments.append(segment)
    return "/" + "/".join(segments) + ("/" if path.endswith("/") and segments else "")


def _webhook(spec: Mapping[str, Any], model: Mapping[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = {"method": spec.get("method", "get")}
    if "url" in spec:
        parts = urlsplit(render_text_template(spec["url"], model))
        request.update(scheme=parts.scheme, host=parts.hostname, path=parts.path or "/")
        request["port"] = parts.port or (443 if parts.scheme == "https" else 80)
        if parts.query:
            request["query"] = parts.query
    else:
        request.update(scheme=spec.get("scheme", "http"), host=spec["host"], port=spec.get("port", 80))
        request["path"] = render_text_template(spec.get("path", "/"), model)
    request["sent_path"] = sent_path(request["path"])
    for key in ("params", "headers"):
        if key in spec:
            request[key] = {k: render_text_template(v, model) for k, v in spec[key].items()}
    if "auth" in spec:
        request["auth"] = {"basic": {"username": spec["auth"]["basic"]["username"], "password": REDACTED}}
    if "body" in spec:
        request["body"] = render_text_template(spec["body"], model)
    return request


def _run_action(
    action_id: str,
    action: Mapping[str, Any],
    watch_id: str,
    watch: Mapping[str, Any],
    when: datetime,
    payload: Any,
) -> ActionResult:
    if "transform" in action:
        raise DryRunError(f"action {action_id}: transforms are not used by sessionwatch")
    model = _model(watch_id, watch, when, payload)
    if "condition" in action and not evaluate_condition(action["condition"], model)[0]:
        return ActionResult(action_id, "", "condition_failed")
    kinds = [k for k in ("webhook", "logging", "index") if k in action]
    if len(kinds) != 1:
        raise DryRunError(f"action {action_id}: only webhook, logging and index actions can be dry-run")
    kind = kinds[0]
    items: list[Any] = [payload]
    if "foreach" in action:
        found = lookup(action["foreach"], [model])
        limit = action.get("max_iterations", DEFAULT_MAX_ITERATIONS)
        items = (found if isinstance(found, list) else [found] if found is not None else [])[:limit]
    result = ActionResult(action_id, kind, "simulated", iterations=len(items))
    for item in items:
        item_model = _model(watch_id, watch, when, item)
        if kind == "webhook":
            result.requests.append(_webhook(action["webhook"], item_model))
        elif kind == "logging":
            result.requests.append(
                {"logged_text": render_text_template(action["logging"]["text"], item_model)}
            )
        else:
            result.requests.append({"index": action["index"]["index"], "doc": item})
    return result


def dry_run(
    client: Elasticsearch, watch: Mapping[str, Any], when: datetime, *, watch_id: str = "_inlined_"
) -> DryRunResult:
    """Execute ``watch`` as triggered at ``when``, with every action simulated."""
    if "transform" in watch:
        raise DryRunError("watch-level transforms are not used by sessionwatch")
    (input_kind, input_spec), *_ = watch["input"].items()
    model = _model(watch_id, watch, when, {})
    search_body: dict[str, Any] = {}
    if input_kind == "search":
        searched = _search(client, input_spec["request"], model)
        payload, search_body = searched["response"], searched["body"]
    elif input_kind == "simple":
        payload = dict(input_spec)
    else:
        raise DryRunError(f"{input_kind} inputs cannot be dry-run")
    met, resolved = evaluate_condition(watch["condition"], _model(watch_id, watch, when, payload))
    actions = []
    if met:
        for action_id, action in watch.get("actions", {}).items():
            actions.append(_run_action(action_id, action, watch_id, watch, when, payload))
    return DryRunResult(payload, met, resolved, actions, search_body)


def bulk_documents(body: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(action line, document) pairs of a rendered ``_bulk`` body; raises on invalid JSON."""
    lines = [line for line in body.split("\n") if line.strip()]
    if len(lines) % 2:
        raise DryRunError("the _bulk body has an action line without a document")
    return [(json.loads(lines[i]), json.loads(lines[i + 1])) for i in range(0, len(lines), 2)]
