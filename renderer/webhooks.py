"""Termination webhooks: session-revocation calls to identity providers, from templates.

A provider template (``templates/webhooks/<provider>.json.j2``) describes one HTTP call as data:
method, base URL, path segments, headers and body. Two kinds of holes stay in it:

* ``${NAME}`` placeholders for values from the environment (domains, realms, tokens). They are
  replaced only at deploy or call time, by :func:`inject`, in string values of the parsed
  document, so a value can never change its structure; secrets are never written anywhere.
* ``{"slot": …}`` for what the alert says: ``session``, ``user``, ``timestamp``, ``event``.
  :func:`watcher_action` fills them with mustache that Watcher evaluates per hit;
  :func:`build_request` fills them from an alert document for sessionwatch's own runner.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from jinja2 import TemplateError, TemplateNotFound

from sessionwatch.enrichers.events import get_path
from sessionwatch.redact import redact_url
from sessionwatch.renderer.environment import environment
from sessionwatch.rules.errors import RenderError
from sessionwatch.rules.model import Rule

PROVIDERS = ("auth0", "generic", "keycloak", "msgraph", "okta")
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
_BASE_URL = re.compile(
    r"^(?P<scheme>https?)://(?P<host>[^/:]+)(?::(?P<port>[0-9]{1,5}))?(?P<prefix>/[^?#]*)?$"
)
SECRET_MARKERS = ("PASSWORD", "TOKEN", "SECRET", "API_KEY", "AUTHORIZATION")
SLOTS = ("session", "user", "timestamp", "event")

# Where each slot's value is found in an alert document (runner) and in a hit (Watcher).
_ALERT_PATHS: Mapping[str, tuple[str, ...]] = {
    "session": ("sessionwatch.session.id",),
    "user": ("user.name",),
    "timestamp": ("@timestamp",),
    "event": ("sessionwatch.evidence.event_ids.0",),
}
_HIT_PATHS: Mapping[str, tuple[str, ...]] = {
    "session": ("_source.sessionwatch.session.id",),
    "user": ("_source.user.name", "_source.sessionwatch.actor.name"),
    "timestamp": ("_source.@timestamp",),
    "event": ("_source.sessionwatch.event.id", "_id"),
}


def is_secret(name: str) -> bool:
    """Whether the environment variable ``name`` holds a secret (never shown)."""
    return any(marker in name for marker in SECRET_MARKERS)


def placeholders(node: Any) -> set[str]:
    """Names of every ``${NAME}`` in the string values of ``node``."""
    if isinstance(node, str):
        return set(PLACEHOLDER.findall(node))
    if isinstance(node, dict):
        return set().union(*(placeholders(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(placeholders(v) for v in node)) if node else set()
    return set()


def inject(node: Any, environ: Mapping[str, str] | None = None, *, forbid: tuple[str, ...] = ()) -> Any:
    """A copy of ``node`` with every ``${NAME}`` replaced by ``environ[NAME]`` (default: the
    process environment; ``NAME_FILE`` names a file holding the value). Values containing any
    string in ``forbid`` (e.g. mustache delimiters) are refused. Errors name variables, never values."""
    env = os.environ if environ is None else environ
    missing = sorted(n for n in placeholders(node) if _lookup(env, n) is None)
    if missing:
        raise RenderError(f"environment variables not set: {', '.join(missing)}")

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        text = _lookup(env, name) or ""
        if any(bad in text for bad in forbid):
            raise RenderError(f"environment variable {name} contains {' or '.join(forbid)}")
        return text

    return _map_strings(node, lambda s: PLACEHOLDER.sub(value, s))


def _lookup(env: Mapping[str, str], name: str) -> str | None:
    if env.get(name):
        return env[name]
    file_name = env.get(f"{name}_FILE")
    if file_name:
        try:
            with open(file_name, encoding="utf-8") as handle:
                return handle.read().strip()
        except OSError as exc:
            raise RenderError(f"cannot read {name}_FILE: {exc.strerror}") from None
    return None


def _map_strings(node: Any, change: Callable[[str], Any]) -> Any:
    if isinstance(node, str):
        return change(node)
    if isinstance(node, dict):
        return {k: _map_strings(v, change) for k, v in node.items()}
    if isinstance(node, list):
        return [_map_strings(v, change) for v in node]
    return node


@dataclass(frozen=True)
class WebhookSpec:
    """One provider's revocation call, with ``${NAME}`` placeholders and slots still open."""

    provider: str
    description: str
    method: str
    base_url: str
    path: tuple[Any, ...]
    headers: Mapping[str, str]
    body: Any

    def slots(self) -> set[str]:
        found: set[str] = set()
        _walk_slots([*self.path, self.body], found)
        return found


def _walk_slots(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        if set(node) == {"slot"}:
            found.add(node["slot"])
            return
        for value in node.values():
            _walk_slots(value, found)
    elif isinstance(node, list):
        for value in node:
            _walk_slots(value, found)


def load_provider(provider: str, rule: Rule) -> WebhookSpec:
    """The webhook ``provider`` (see ``PROVIDERS``) for alerts of ``rule``."""
    name = f"webhooks/{provider}.json.j2"
    try:
        text = environment().get_template(name).render(rule=rule.as_template_context())
    except TemplateNotFound:
        raise RenderError(f"unknown webhook provider {provider!r}; known: {', '.join(PROVIDERS)}") from None
    except TemplateError as exc:
        raise RenderError(f"template {name} failed: {exc}", rule.location) from None
    data = json.loads(text)
    spec = WebhookSpec(
        provider=data["provider"],
        description=data["description"],
        method=data["method"],
        base_url=data["base_url"],
        path=tuple(data["path"]),
        headers=dict(data["headers"]),
        body=data["body"],
    )
    unknown = spec.slots() - set(SLOTS)
    if unknown:
        raise RenderError(f"template {name} uses unknown slots {sorted(unknown)}")
    return spec


# --- Watcher ------------------------------------------------------------------------------


def _mustache_value(slot: str, hit_prefix: str = "") -> str:
    """Mustache for a slot in a ``foreach`` action: the item (a hit, or a bucket whose offending
    event is at ``hit_prefix``) is ``ctx.payload``."""
    paths = [f"ctx.payload.{hit_prefix}{p}" for p in _HIT_PATHS[slot]]
    text = "{{" + paths[-1] + "}}"
    for path in reversed(paths[:-1]):
        text = (
            "{{#" + path + "}}{{" + path + "}}{{/" + path + "}}{{^" + path + "}}" + text + "{{/" + path + "}}"
        )
    return text


def _mustache_body(node: Any, hit_prefix: str) -> str:
    """JSON text of a body with slots as JSON-escaped mustache strings (``__json__::`` mode);
    spaces keep literal braces apart from tags."""
    if isinstance(node, dict) and set(node) == {"slot"}:
        return '"' + _mustache_value(node["slot"], hit_prefix) + '"'
    if isinstance(node, dict):
        items = (json.dumps(k) + ": " + _mustache_body(v, hit_prefix) for k, v in sorted(node.items()))
        return "{ " + ", ".join(items) + " }"
    if isinstance(node, list):
        return "[ " + ", ".join(_mustache_body(v, hit_prefix) for v in node) + " ]"
    return json.dumps(node, ensure_ascii=False)


# A value that no encoding keeps from being a dot-segment (or from naming the collection): empty,
# ".", "..", any run of dots (Lucene regexp on the whole keyword).
DOTS_ONLY = "\\.*"


def _usable(field: str) -> dict[str, Any]:
    return {"bool": {"filter": [{"exists": {"field": field}}], "must_not": [{"regexp": {field: DOTS_ONLY}}]}}


def path_slot_guard(spec: WebhookSpec) -> dict[str, Any] | None:
    """A Query DSL clause that matches the events whose path slots (the value mustache takes: the
    first present of the slot's fields) are usable path segments; None when no path segment
    comes from the alert.

    Watcher cannot keep ``.`` or ``..`` in a path: its HTTP client URL-decodes every segment
    and builds the URI from the decoded segments again (``HttpClient.createURI``), so ``%2E%2E``
    is sent as ``..``, a dot-segment that names the parent resource. A watch therefore never
    calls the webhook for such an event (the alert is still written), like ``path_segment``."""
    clauses = []
    for part in spec.path:
        if not (isinstance(part, dict) and "slot" in part):
            continue
        fields = [p.removeprefix("_source.") for p in _HIT_PATHS[part["slot"]] if p.startswith("_source.")]
        branches = []
        for i, name in enumerate(fields):
            absent = [{"exists": {"field": earlier}} for earlier in fields[:i]]
            branches.append({"bool": {"filter": [_usable(name)], "must_not": absent}})
        clauses.append({"bool": {"should": branches, "minimum_should_match": 1}})
    return {"bool": {"filter": clauses}} if clauses else None


def watcher_action(
    spec: WebhookSpec, *, foreach: str, hit_prefix: str, max_iterations: int, throttle_period: str
) -> dict[str, Any]:
    """A Watcher ``webhook`` action calling ``spec`` once per hit (``foreach`` + ``max_iterations``).

    Path segments from a hit are URL-encoded by mustache's ``{{#url}}`` (``foreach`` names only
    hits whose path slots pass :func:`path_slot_guard`); the body is rendered in
    JSON mode (``__json__::``) so values from logs are escaped. ``${NAME}`` placeholders stay."""
    segments = []
    for part in spec.path:
        if isinstance(part, dict) and "slot" in part:
            segments.append("{{#url}}" + _mustache_value(part["slot"], hit_prefix) + "{{/url}}")
        elif isinstance(part, dict):
            segments.append("${" + part["env"] + "}")
        else:
            segments.append(quote(str(part), safe=""))
    suffix = "".join("/" + s for s in segments)
    request: dict[str, Any] = {"method": spec.method}
    if "{{" not in suffix:
        request["url"] = spec.base_url.rstrip("/") + suffix
    else:
        # Watcher parses `url` with java.net.URI when the watch is stored, and mustache braces are
        # not legal there: a templated path needs scheme, host, port and path given apart.
        base = _BASE_URL.match(spec.base_url)
        if base is None:
            raise RenderError(
                f"{spec.provider}: base URL {spec.base_url!r} must be scheme://host[:port][/path]"
            )
        scheme, host, port, prefix = base.group("scheme", "host", "port", "prefix")
        request.update(
            scheme=scheme, host=host, port=int(port) if port else {"https": 443, "http": 80}[scheme]
        )
        request["path"] = (prefix or "").rstrip("/") + suffix
    request["headers"] = dict(spec.headers)
    if spec.body is not None:
        request["body"] = "__json__::" + _mustache_body(spec.body, hit_prefix)
    return {
        "foreach": foreach,
        "max_iterations": max_iterations,
        "throttle_period": throttle_period,
        "webhook": request,
    }


# --- runner --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpRequest:
    """A concrete call, secrets included: never log it (``shown()`` is safe to log)."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None

    def shown(self) -> str:
        """``METHOD scheme://host[:port]``: no user information, path or query."""
        parts = redact_url(self.url).split("/", 3)
        return f"{self.method.upper()} {'/'.join(parts[:3])}"


def path_segment(value: Any, what: str, provider: str) -> str:
    """``value`` percent-encoded as one path segment. Empty, ``.`` and ``..`` are refused: no
    encoding keeps a server from reading them as "this" or "the parent" resource (a session id
    ``..`` made ``DELETE /admin/realms/acme/sessions/..``)."""
    text = str(value)
    if text.strip(".") == "":
        raise RenderError(f"{provider} webhook: {what} {text[:20]!r} is not a usable path segment")
    return quote(text, safe="")


def _alert_value(alert: Mapping[str, Any], slot: str) -> Any:
    for path in _ALERT_PATHS[slot]:
        parts = path.split(".")
        if parts[-1].isdigit():
            listed = get_path(alert, ".".join(parts[:-1])) or []
            value = listed[int(parts[-1])] if len(listed) > int(parts[-1]) else None
        else:
            value = get_path(alert, path)
        if value not in (None, ""):
            return value
    return None


def _fill(node: Any, alert: Mapping[str, Any]) -> Any:
    if isinstance(node, dict) and set(node) == {"slot"}:
        return _alert_value(alert, node["slot"])
    if isinstance(node, dict):
        return {k: _fill(v, alert) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, alert) for v in node]
    return node


def build_request(
    spec: WebhookSpec, alert: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> HttpRequest:
    """The call for one alert: slots from the alert (path segments percent-encoded), then
    placeholders from the environment. Raises ``RenderError`` when a needed value is missing."""
    segments = []
    for part in spec.path:
        if isinstance(part, dict) and "slot" in part:
            value = _alert_value(alert, part["slot"])
            if value is None:
                raise RenderError(
                    f"{spec.provider} webhook needs the alert's {part['slot']}, which is missing"
                )
            segments.append(path_segment(value, f"the alert's {part['slot']}", spec.provider))
        elif isinstance(part, dict):
            value = inject("${" + part["env"] + "}", environ)
            segments.append(path_segment(value, part["env"], spec.provider))
        else:
            segments.append(quote(str(part), safe=""))
    url = inject(spec.base_url, environ).rstrip("/") + "".join("/" + s for s in segments)
    headers = inject(dict(spec.headers), environ)
    body = None
    if spec.body is not None:
        body = json.dumps(_fill(spec.body, alert), sort_keys=True, ensure_ascii=False).encode("utf-8")
    return HttpRequest(method=spec.method.upper(), url=url, headers=headers, body=body)
