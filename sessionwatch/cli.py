"""The ``sessionwatch`` command line. Exit 0 = ok, 1 = findings or failures, 2 = usage or
environment error. User mistakes print as ``path:line:col: message``, never as a traceback."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from elasticsearch import ApiError, TransportError

from sessionwatch import redact
from sessionwatch.commands import coverage, deploy, detect, enrich, new, render, rules, run, test, validate
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

COMMANDS = (validate, render, enrich, test, detect, deploy, run, new, coverage, rules)
EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
CONFIG_HELP = (
    "site configuration file (default: $SESSIONWATCH_CONFIG, else the nearest sessionwatch.toml or "
    "pyproject.toml with [tool.sessionwatch] from the working directory upward)"
)


def build_parser() -> argparse.ArgumentParser:
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
    for command in COMMANDS:
        command.add_parser(sub)
    for command_parser in sub.choices.values():  # also after the command; SUPPRESS keeps a global one
        command_parser.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS, help=CONFIG_HELP)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    redact.install_log_redaction()
    args = build_parser().parse_args(argv)
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
    except ApiError as exc:  # a request no command expected to fail: still one line, exit 2
        body = exc.body.get("error") if isinstance(exc.body, dict) else None
        reason = body.get("reason") if isinstance(body, dict) else None
        detail = f"{exc.message}: {reason}" if reason else exc.message
        print(f"error: Elasticsearch answered HTTP {exc.meta.status}: {detail}", file=sys.stderr)
        return EXIT_USAGE
    except TransportError as exc:
        print(f"error: Elasticsearch unreachable: {type(exc).__name__}: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `sessionwatch rules | head`: the reader has seen enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:
        where = exc.filename if exc.filename is not None else "I/O"
        print(f"{where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    return code
