"""The command line imports only the command it runs, and still turns the Elasticsearch client's
unexpected errors into one line and exit 2."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
from elastic_transport import ApiResponseMeta, ConnectionError, HttpHeaders, NodeConfig
from elasticsearch import ApiError

from sessionwatch import cli


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["enrich", "in.ndjson"], "enrich"),
        (["--config", "site.toml", "rules"], "rules"),
        (["--config=site.toml", "detect", "--help"], "detect"),
        (["--config", "enrich", "render"], "render"),  # the option's value is not the command
        (["--help", "enrich"], None),
        (["--version"], None),
        (["bogus"], None),
        ([], None),
    ],
)
def test_the_command_is_known_before_parsing_only_when_it_is_sure(argv: list[str], named: str | None) -> None:
    assert cli._command_named(argv) == named


def test_a_named_command_gets_a_parser_of_its_own_and_the_same_arguments() -> None:
    argv = ["enrich", "in.ndjson", "--workers", "2"]
    alone, whole = cli.build_parser(argv), cli.build_parser()
    subparsers = next(a for a in alone._actions if isinstance(a, argparse._SubParsersAction))
    assert list(subparsers.choices) == ["enrich"]
    assert vars(alone.parse_args(argv)).keys() == vars(whole.parse_args(argv)).keys()
    assert alone.parse_args(argv).workers == whole.parse_args(argv).workers == 2


def test_enrich_on_a_file_never_loads_the_client_nor_other_commands(tmp_path: Path) -> None:
    events = tmp_path / "in.ndjson"
    events.write_text(json.dumps({"@timestamp": "2026-03-02T10:00:00Z", "message": "x"}) + "\n")
    script = (
        "import sys\n"
        "from sessionwatch.cli import main\n"
        f"code = main(['enrich', {str(events)!r}, '-o', {str(tmp_path / 'out.ndjson')!r}])\n"
        "names = [m for m in sys.modules if m == 'elasticsearch' or m.startswith('sessionwatch.commands.')]\n"
        "loaded = sorted(names)\n"
        "print(code, *loaded)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", "sessionwatch.commands.enrich"]


def _meta(status: int) -> ApiResponseMeta:
    node = NodeConfig("http", "localhost", 9200)
    return ApiResponseMeta(status=status, http_version="1.1", headers=HttpHeaders(), duration=0.0, node=node)


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            ApiError("boom", _meta(500), {"error": {"reason": "shard failed"}}),
            "error: Elasticsearch answered HTTP 500: boom: shard failed",
        ),
        (ConnectionError("refused"), "error: Elasticsearch unreachable: ConnectionError: refused"),
    ],
)
def test_an_unexpected_client_error_is_one_line_and_exit_2(
    error: Exception, line: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sessionwatch.commands import rules

    def fail(args: argparse.Namespace) -> int:
        raise error

    monkeypatch.setattr(rules, "run", fail)
    assert cli.main(["rules"]) == 2
    assert capsys.readouterr().err.strip() == line


def test_any_other_error_is_not_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    from sessionwatch.commands import rules

    def fail(args: argparse.Namespace) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setattr(rules, "run", fail)
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main(["rules"])
