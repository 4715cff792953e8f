"""Mustache as Elasticsearch renders it (mustache.java with Elasticsearch's CustomMustacheFactory).

Parsing is chevron's tokenizer; rendering follows the server, not the mustache spec, where the
two differ: a section skips only null, ``false``, ``""`` and empty lists (``0`` and ``{}`` render);
a dotted name binds its first segment in the innermost scope that has it, then descends (list
items by index); values print as Java prints them (``true``, ``1200``, ``1.0E7``); escaping is
JSON string escaping in ``application/json`` mode and none in ``text/plain`` mode; the
``toJson``, ``join`` and ``url`` functions behave as in the server.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote_plus

from chevron.tokenizer import tokenize

JSON = "application/json"
TEXT = "text/plain"
_JOIN_DELIMITER = re.compile(r"^join delimiter='(.*)'$")


class MustacheError(ValueError):
    """The template cannot be compiled the way the server would compile it."""


@dataclass
class _Node:
    kind: str  # literal | variable | raw | section | inverted
    key: str = ""
    children: list[_Node] = field(default_factory=list)


def _parse(template: str) -> list[_Node]:
    root: list[_Node] = []
    stack: list[tuple[_Node | None, list[_Node]]] = [(None, root)]
    try:
        tokens = list(tokenize(template))
    except Exception as exc:  # chevron raises ChevronError / SyntaxError variants
        raise MustacheError(str(exc)) from None
    for tag, key in tokens:
        current = stack[-1][1]
        if tag == "literal":
            current.append(_Node("literal", key))
        elif tag == "variable":
            current.append(_Node("variable", key))
        elif tag == "no escape":
            current.append(_Node("raw", key))
        elif tag in ("section", "inverted section"):
            node = _Node("section" if tag == "section" else "inverted", key)
            current.append(node)
            stack.append((node, node.children))
        elif tag == "end":
            opened = stack[-1][0]
            if opened is None or opened.key != key:
                raise MustacheError(f"unexpected end of section {key!r}")
            stack.pop()
        elif tag in ("comment", "set delimiter"):
            continue
        else:
            raise MustacheError(f"{tag} tags are not used by Watcher templates here")
    if len(stack) != 1:
        raise MustacheError(f"section {stack[-1][0].key if stack[-1][0] else ''!r} is not closed")
    return root


_MISSING = object()


def _descend(value: Any, part: str) -> Any:
    if isinstance(value, Mapping):
        return value.get(part)
    if isinstance(value, list):
        if part == "size":
            return len(value)
        if part.isdigit():
            index = int(part)
            return value[index] if index < len(value) else None
    return None


def lookup(name: str, scopes: Sequence[Any]) -> Any:
    """``name`` resolved against the scope stack (innermost last)."""
    if name == ".":
        return scopes[-1]
    first, *rest = name.split(".")
    value: Any = _MISSING
    for scope in reversed(scopes):
        if isinstance(scope, Mapping) and first in scope:
            value = scope[first]
            break
        if isinstance(scope, list) and (first.isdigit() or first == "size"):
            value = _descend(scope, first)
            break
    if value is _MISSING:
        return None
    for part in rest:
        value = _descend(value, part)
        if value is None:
            return None
    return value


def java_double(number: float) -> str:
    """``Double.toString``: decimal between 1e-3 and 1e7, else ``d.dddE±n``."""
    if number != number:
        return "NaN"
    if number in (float("inf"), float("-inf")):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "-0.0" if str(number).startswith("-") else "0.0"
    if 1e-3 <= abs(number) < 1e7:
        text = repr(number)
        return text if "." in text else text + ".0"
    sign, digits, _ = Decimal(repr(number)).as_tuple()
    shown = "".join(map(str, digits)).rstrip("0") or "0"
    exponent = Decimal(repr(number)).adjusted()
    return ("-" if sign else "") + shown[0] + "." + (shown[1:] or "0") + f"E{exponent}"


def stringify(value: Any) -> str:
    """A value as Java's ``toString`` prints it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}={stringify(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(stringify(v) for v in value) + "]"
    return str(value)


def _escape(text: str, media_type: str) -> str:
    if media_type == JSON:
        return json.dumps(text, ensure_ascii=False)[1:-1]
    return text


def _truthy(value: Any) -> bool:
    return not (value is None or value is False or value == "" or (isinstance(value, list) and not value))


def _java_url_encode(text: str) -> str:
    """``URLEncoder.encode(s, UTF_8)``: keeps ``a-zA-Z0-9.-*_``, space becomes ``+``."""
    return quote_plus(text, safe="*").replace("~", "%7E")


def _identifier(node: _Node) -> str:
    if len(node.children) != 1 or node.children[0].kind != "literal":
        raise MustacheError(f"Mustache function [{node.key}] must contain one and only one identifier")
    return node.children[0].key.strip()


def _render(nodes: list[_Node], scopes: list[Any], media_type: str) -> str:
    out: list[str] = []
    for node in nodes:
        if node.kind == "literal":
            out.append(node.key)
        elif node.kind == "variable":
            out.append(_escape(stringify(lookup(node.key, scopes)), media_type))
        elif node.kind == "raw":
            out.append(stringify(lookup(node.key, scopes)))
        elif node.kind == "inverted":
            if not _truthy(lookup(node.key, scopes)):
                out.append(_render(node.children, scopes, media_type))
        else:
            out.append(_section(node, scopes, media_type))
    return "".join(out)


def _section(node: _Node, scopes: list[Any], media_type: str) -> str:
    name = node.key.strip()
    if name.lower() == "tojson":
        value = lookup(_identifier(node), scopes)
        if value is None:
            return ""
        if isinstance(value, (Mapping, list)):
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        return stringify(value)
    delimiter = _JOIN_DELIMITER.match(name)
    if name.lower() == "join" or delimiter:
        value = lookup(_identifier(node), scopes)
        if isinstance(value, list):
            return (delimiter.group(1) if delimiter else ",").join(stringify(v) for v in value)
        return _identifier(node)
    if name.lower() == "url":
        return _java_url_encode(_render(node.children, scopes, media_type))
    value = lookup(name, scopes)
    if not _truthy(value):
        return ""
    if isinstance(value, list):
        return "".join(_render(node.children, [*scopes, item], media_type) for item in value)
    return _render(node.children, [*scopes, value], media_type)


def render(template: str, model: Mapping[str, Any], media_type: str = JSON) -> str:
    """``template`` rendered over ``model`` as the server's mustache engine would."""
    return _render(_parse(template), [model], media_type)


def render_text_template(template: str, model: Mapping[str, Any]) -> str:
    """A Watcher ``TextTemplate``: a ``__json__::`` prefix selects JSON escaping (default: none)."""
    if template.startswith("__"):
        end = template.find("__::", 3)
        if 0 <= end < 12:
            media = template[2:end]
            body = template[end + 4 :]
            return render(body, model, JSON if media == "json" else TEXT)
    return render(template, model, TEXT)
