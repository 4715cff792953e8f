"""tests/cli_runner.py: the command in the test's process gives what a process of its own gives,
and leaves the test's process as it found it."""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path

import pytest

import sessionwatch.cli
from sessionwatch import redact
from tests.cli_runner import _forks_workers, run_sessionwatch

REPO = Path(__file__).resolve().parents[2]
IDLE_RULE = REPO / "rules/pack/session_idle_timeout/pci-dss-idle-15m.yml"
MISTAKES = Path(__file__).parent / "data" / "three-mistakes.yml"


@pytest.mark.parametrize(
    "args",
    [
        ["validate", str(MISTAKES)],  # exit 1, located errors on stderr
        ["render", "--target", "query", str(IDLE_RULE)],  # exit 0, stdout
        ["render", "--no-such-option"],  # argparse: usage on stderr, exit 2
        ["test", str(IDLE_RULE), "--es-url", "http://elastic:Pw-runner-test@127.0.0.1:9"],  # warning, exit 2
    ],
    ids=["findings", "stdout", "usage", "unreachable"],
)
def test_in_process_and_subprocess_give_the_same_result(args: list[str], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONWATCH_")}
    inside = run_sessionwatch(args, cwd=tmp_path, env=env)
    outside = run_sessionwatch(args, cwd=tmp_path, env=env, process=True)
    assert (inside.returncode, inside.stdout, inside.stderr) == (
        outside.returncode,
        outside.stdout,
        outside.stderr,
    )


def test_the_tests_process_is_left_as_it_was(tmp_path: Path) -> None:
    before_cwd, before_env = os.getcwd(), dict(os.environ)
    streams = (sys.stdin, sys.stdout, sys.stderr, sys.argv)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    term = signal.getsignal(signal.SIGTERM)
    secrets = set(redact._SECRETS)
    url = "http://elastic:Pw-left-as-it-was@127.0.0.1:9"
    for _ in range(2):  # a fresh process each time: the command-line warning is given every time
        done = run_sessionwatch(
            ["run", "--rules", str(IDLE_RULE), "--es-url", url, "--once", "--give-up-after", "1s"],
            cwd=tmp_path,
            env={"PATH": os.environ.get("PATH", ""), "SESSIONWATCH_MARK": "1"},
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.count(redact.COMMAND_LINE_WARNING) == 1
        assert "Pw-left-as-it-was" not in done.stderr
    assert (os.getcwd(), dict(os.environ)) == (before_cwd, before_env)
    assert (sys.stdin, sys.stdout, sys.stderr, sys.argv) == streams
    assert (list(root.handlers), root.level) == (handlers, level)
    assert signal.getsignal(signal.SIGTERM) == term
    assert set(redact._SECRETS) == secrets


def test_an_exception_escaping_main_is_a_traceback_and_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(args: object) -> int:
        raise RuntimeError("escaped")

    monkeypatch.setattr(sessionwatch.cli, "_run", boom)
    done = run_sessionwatch(["rules"])
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert done.stderr.rstrip().endswith("RuntimeError: escaped")


def test_only_forking_commands_go_to_a_subprocess() -> None:
    assert _forks_workers(["enrich", "in.ndjson", "--workers", "2"])
    assert _forks_workers(["enrich", "in.ndjson", "--workers=3"])
    assert not _forks_workers(["enrich", "in.ndjson", "--workers", "1"])
    assert not _forks_workers(["run", "--rules", "x"])
