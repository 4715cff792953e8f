"""The ``sessionwatch`` command line. Exit 0 = ok, 1 = findings or failures, 2 = usage or
environment error. User mistakes print as ``path:line:col: message``, never as a traceback."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import TextIO

from sessionwatch import redact
from sessionwatch.reports import human
from sessionwatch.reports.human import plural
from sessionwatch.rule_sources import config_flag
from sessionwatch.rules.errors import (
    ElasticsearchUnavailable,
    PluginError,
    RuleErrors,
    SessionwatchError,
    UsageError,
)
from sessionwatch.version import VersionAction

# each a module of sessionwatch.commands (add_parser, run); only the one named is imported
COMMANDS = ("validate", "render", "enrich", "test", "detect", "deploy", "run", "new", "coverage", "rules")
EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
CONFIG_HELP = (
    "site configuration file (default: $SESSIONWATCH_CONFIG, else the nearest sessionwatch.toml or "
    "pyproject.toml with [tool.sessionwatch] from the working directory upward)"
)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``argv`` naming a command, one with that command alone (the others'
    modules, and the Elasticsearch client some of them load, are then never imported)."""
    parser = argparse.ArgumentParser(
        prog="sessionwatch", description="Detective controls for session-timeout policy in an Elastic stack."
    )
    parser.add_argument(
        "--version",
        action=VersionAction,
        help="versions of sessionwatch, the rule schema, the rule packs and the Elasticsearch client",
    )
    parser.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    named = _command_named(argv) if argv is not None else None
    for command in _command_modules([named] if named else COMMANDS):
        command.add_parser(sub)
    for command_parser in sub.choices.values():  # also after the command; SUPPRESS keeps a global one
        command_parser.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS, help=CONFIG_HELP)
    return parser


def _command_modules(names: Sequence[str]) -> list[ModuleType]:
    return [importlib.import_module(f"sessionwatch.commands.{name}") for name in names]


def _command_named(argv: Sequence[str]) -> str | None:
    """The command ``argv`` runs, when that is sure before parsing: the first word that is not a
    global option (``--config FILE`` skipped); ``None`` for help, ``--version`` or no command."""
    words = iter(argv)
    for word in words:
        if word == "--config":
            next(words, None)
        elif word.startswith("--config="):
            continue
        elif word.startswith("-"):
            return None  # -h, --help, --version or a mistake: the whole parser answers
        else:
            return word if word in COMMANDS else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    redact.install_log_redaction()
    words = sys.argv[1:] if argv is None else argv
    args = build_parser(words).parse_args(words)
    with contextlib.redirect_stderr(_RedactingStream(sys.stderr)):
        return _run(args)


class _RedactingStream(io.TextIOBase):
    """stderr with credentials masked (see ``sessionwatch.redact``)."""

    def __init__(self, target: TextIO) -> None:
        self.target = target

    def write(self, text: str) -> int:
        self.target.write(redact.redact(text))
        return len(text)

    def flush(self) -> None:
        self.target.flush()

    def isatty(self) -> bool:  # progress lines and colour follow the real stream
        return human.isatty(self.target)


def _run(args: argparse.Namespace) -> int:
    redact.command_line_url(getattr(args, "es_url", None))  # every command, used or not
    try:
        with config_flag(args.config):
            code: int = args.run(args)
    except RuleErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        print(f"{plural(len(exc.errors), 'problem')} found", file=sys.stderr)
        return EXIT_FINDINGS
    except (ElasticsearchUnavailable, PluginError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SessionwatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FINDINGS
    except BrokenPipeError:  # `sessionwatch rules | head`: the reader has seen enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:
        where = exc.filename if exc.filename is not None else "I/O"
        print(f"{where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        line = _elasticsearch_error(exc)
        if line is None:
            raise
        print(line, file=sys.stderr)
        return EXIT_USAGE
    return code


def _elasticsearch_error(exc: Exception) -> str | None:
    """The line for a client error no command expected (exit 2), ``None`` for anything else. The
    client is looked up, not imported: a command that never loaded it cannot have raised its errors."""
    client = sys.modules.get("elasticsearch")
    if client is None:
        return None
    if isinstance(exc, client.ApiError):  # a request no command expected to fail: still one line
        body = exc.body.get("error") if isinstance(exc.body, dict) else None
        reason = body.get("reason") if isinstance(body, dict) else None
        detail = f"{exc.message}: {reason}" if reason else exc.message
        return f"error: Elasticsearch answered HTTP {exc.meta.status}: {detail}"
    if isinstance(exc, client.TransportError):
        return f"error: Elasticsearch unreachable: {type(exc).__name__}: {exc.message}"
    return None
