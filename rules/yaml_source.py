"""Safe YAML with positions: plain data plus the line/column of every JSON pointer.

Rules are data, so the loader accepts the JSON subset of YAML and nothing that can surprise:
no Python tags, no duplicate keys, no anchors or aliases (which also defeats "billion laughs"),
exactly one document per file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sessionwatch.rules.errors import Location, RuleErrors, RuleSyntaxError

MAX_BYTES = 1_000_000
MAX_DEPTH = 64
_PLAIN_TAGS: dict[type[Node], str] = {
    MappingNode: "tag:yaml.org,2002:map",
    SequenceNode: "tag:yaml.org,2002:seq",
}


@dataclass(frozen=True)
class YamlDocument:
    """A parsed document and where each value (and each mapping key) starts."""

    path: str
    data: Any
    values: dict[str, tuple[int, int]]
    keys: dict[str, tuple[int, int]]

    def locate(self, pointer: str, *, key: bool = False) -> Location:
        """The location of ``pointer``, or of its nearest ancestor that exists."""
        probe = pointer
        while True:
            table = self.keys if key and probe in self.keys else self.values
            if probe in table:
                line, col = table[probe]
                return Location(self.path, line, col, pointer)
            if not probe:
                return Location(self.path, 1, 1, pointer)
            probe = probe.rsplit("/", 1)[0]
            key = False


def escape_pointer_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class _Walker:
    def __init__(self, path: str) -> None:
        self.path = path
        self.values: dict[str, tuple[int, int]] = {}
        self.keys: dict[str, tuple[int, int]] = {}
        self.errors: list[RuleSyntaxError] = []
        self._constructor = SafeConstructor()
        self._seen: set[int] = set()
        self._aliased: set[int] = set()

    def _loc(self, node: Node, pointer: str) -> Location:
        mark = node.start_mark
        return Location(self.path, mark.line + 1, mark.column + 1, pointer)

    def walk(self, node: Node, pointer: str, depth: int = 0) -> Any:
        if id(node) in self._seen:
            if id(node) not in self._aliased:  # once per anchor, not once per alias (2000 aliases)
                self._aliased.add(id(node))
                self.errors.append(
                    RuleSyntaxError(
                        "YAML anchors and aliases are not allowed in rules", self._loc(node, pointer)
                    )
                )
            return None
        self._seen.add(id(node))
        if depth > MAX_DEPTH:
            self.errors.append(
                RuleSyntaxError(f"nesting deeper than {MAX_DEPTH} levels", self._loc(node, pointer))
            )
            return None
        self.values[pointer] = (node.start_mark.line + 1, node.start_mark.column + 1)
        expected = _PLAIN_TAGS.get(type(node))
        if expected is not None and node.tag != expected:
            self.errors.append(
                RuleSyntaxError(f"YAML tag {node.tag!r} is not allowed in rules", self._loc(node, pointer))
            )
            return None
        if isinstance(node, MappingNode):
            return self._mapping(node, pointer, depth)
        if isinstance(node, SequenceNode):
            return [self.walk(item, f"{pointer}/{i}", depth + 1) for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        try:
            return self._constructor.construct_object(node)
        except ConstructorError as exc:
            problem = exc.problem or "cannot construct this value"
            self.errors.append(RuleSyntaxError(problem, self._loc(node, pointer)))
            return None
        except (ValueError, LookupError, AttributeError, TypeError, ArithmeticError):
            # PyYAML's scalar constructors raise plain exceptions for explicit tags whose value
            # does not fit (``!!int 0xZZ``, ``!!bool maybe``, ``!!timestamp 2026-13-45``).
            self.errors.append(
                RuleSyntaxError(f"value does not fit its tag {node.tag!r}", self._loc(node, pointer))
            )
            return None

    def _mapping(self, node: MappingNode, pointer: str, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.errors.append(
                    RuleSyntaxError(
                        "YAML merge keys (<<) are not allowed in rules", self._loc(key_node, pointer)
                    )
                )
                continue
            if not isinstance(key_node, ScalarNode):
                self.errors.append(
                    RuleSyntaxError("mapping keys must be plain strings", self._loc(key_node, pointer))
                )
                continue
            key = str(key_node.value)
            child = f"{pointer}/{escape_pointer_token(key)}"
            if key in result:
                first = self.keys[child]
                self.errors.append(
                    RuleSyntaxError(
                        f"duplicate key {key!r} (first defined at line {first[0]})",
                        self._loc(key_node, child),
                    )
                )
                continue
            self.keys[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = self.walk(value_node, child, depth + 1)
        return result


def _flow_too_deep(text: str) -> tuple[int, int] | None:
    """Where ``[``/``{`` nesting first exceeds ``MAX_DEPTH`` (outside quotes and comments), if it does.

    PyYAML's scanner is quadratic in flow depth (``[[[[…`` 5000 deep takes seconds), so this
    cheap scan refuses such files before parsing. It may undercount (an apostrophe in a plain
    scalar), which only leaves the file to the parser; it cannot reject a file YAML nests less.
    """
    depth, line, column = 0, 1, 0
    quote, escaped, comment, previous = "", False, False, "\n"
    for char in text:
        column += 1
        if char == "\n":
            line, column, comment, previous = line + 1, 0, False, char
            continue
        if comment:
            continue
        if quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#" and previous in " \t\n":
            comment = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return line, column
        elif char in "]}":
            depth = max(0, depth - 1)
        previous = char
    return None


def parse_yaml(text: str, path: str) -> YamlDocument:
    """Parse one YAML document; raise ``RuleSyntaxError`` (or several, joined) when it is unsafe."""
    if len(text) > MAX_BYTES // 4 and len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise RuleSyntaxError(f"file larger than {MAX_BYTES} bytes", Location(path, 1, 1))
    too_deep = _flow_too_deep(text)
    if too_deep is not None:
        raise RuleSyntaxError(f"nesting deeper than {MAX_DEPTH} levels", Location(path, *too_deep))
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = exc.problem or exc.context or "invalid YAML"
        raise RuleSyntaxError(f"YAML syntax: {message}", Location(path, line, col)) from None
    except yaml.reader.ReaderError as exc:  # a character YAML forbids (NUL, other controls)
        before = text[: exc.position]
        line, col = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise RuleSyntaxError(
            f"YAML syntax: character U+{code:04X} is not allowed", Location(path, line, col)
        ) from None
    except yaml.YAMLError as exc:
        raise RuleSyntaxError(f"YAML syntax: {exc}", Location(path, 1, 1)) from None
    except RecursionError:  # PyYAML composes recursively: ``[[[[…`` thousands deep
        raise RuleSyntaxError(f"nesting deeper than {MAX_DEPTH} levels", Location(path, 1, 1)) from None
    if node is None:
        raise RuleSyntaxError("empty file", Location(path, 1, 1))
    walker = _Walker(path)
    data = walker.walk(node, "")
    if walker.errors:
        raise RuleErrors(list(walker.errors))
    return YamlDocument(path, data, walker.values, walker.keys)
