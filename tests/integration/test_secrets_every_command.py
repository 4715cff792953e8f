"""Secrets stay secret in every command and every log path (issue 16, §3), on the suite's node.

Every subcommand of ``sessionwatch`` (the list comes from the parser: a new command without a
case here fails ``test_every_command_is_exercised``) runs with a recognisable password in
``--es-url``, in ``SESSIONWATCH_ES_PASSWORD`` and in ``SESSIONWATCH_ES_PASSWORD_FILE`` (and an
API key in the environment and in a file for the commands that connect first), with the
termination webhook configured with a token in its query, an ``Authorization`` header and, in one
run, a token in its user information. ``run`` and ``enrich --follow`` log at their most verbose;
the webhook answers 2xx, 5xx and a redirect. Then stdout, stderr, every file a command wrote and
every document it stored are searched for each secret, and every malformed URL with a password
must end in one ``error:`` line, exit 2, no traceback.

The suite's node may run with security off (then it ignores the credentials, and these runs
check only that they never show); tests/integration/test_tls_secrets.py runs the same idea on
a node of its own that checks them.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
from elasticsearch import Elasticsearch

from sessionwatch.bulk import document_id, index_documents
from sessionwatch.cli import build_parser
from sessionwatch.enrichers import ProfileRegistry
from sessionwatch.harness import enrich_fixture
from sessionwatch.indices import temporary_events_index
from sessionwatch.redact import COMMAND_LINE_WARNING
from tests.cli_runner import run_sessionwatch

REPO = Path(__file__).resolve().parents[2]
IDLE_RULE = str(REPO / "rules/pack/session_idle_timeout/pci-dss-idle-15m.yml")
TAG = uuid.uuid4().hex[:8]
PASSWORD = f"Pw-{TAG}-url-or-env"
API_KEY = f"QXBpS2V5{TAG}c2VjcmV0"
HOOK_QUERY_TOKEN = f"Hq-{TAG}-query"
HOOK_USERINFO_TOKEN = f"Hu-{TAG}-userinfo"
USERINFO_WAY = "webhook URL with a token"
HOOK_AUTHORIZATION = f"Ha-{TAG}-header"
SECRETS = {
    "password": PASSWORD,
    "api key": API_KEY,
    "webhook query token": HOOK_QUERY_TOKEN,
    "webhook userinfo token": HOOK_USERINFO_TOKEN,
    "webhook authorization": HOOK_AUTHORIZATION,
}
BAD_URLS = {
    "port out of range": f"http://elastic:{PASSWORD}@127.0.0.1:99999",
    "port not a number": f"http://elastic:{PASSWORD}@127.0.0.1:abc",
    "unclosed IPv6 bracket": f"http://elastic:{PASSWORD}@[::1",
    "no scheme": f"elastic:{PASSWORD}@127.0.0.1:9200",
    "no host": f"http://elastic:{PASSWORD}@:9200",
}


class _Hook(http.server.BaseHTTPRequestHandler):
    """The termination webhook's receiver: answers ``status`` and records what it was sent."""

    status = 200
    calls: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        _Hook.calls.append({"path": self.path, "authorization": self.headers.get("Authorization")})
        self.send_response(_Hook.status)
        if 300 <= _Hook.status < 400:
            self.send_header("Location", "http://127.0.0.2/elsewhere")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@dataclass
class World:
    """What the commands read: events in a file and in indices, and the webhook receiver."""

    es_url: str
    folder: Path
    events: Path
    events_index: str
    source_index: str
    inventory_index: str
    hook_port: int
    runs: list[Run] = field(default_factory=list)

    def host_url(self, password: str | None = None) -> str:
        parts = urlsplit(self.es_url)
        auth = f"elastic:{password}@" if password else ""
        return f"{parts.scheme}://{auth}{parts.hostname}:{parts.port}"

    def hook_env(self, userinfo: bool = False) -> dict[str, str]:
        auth = f"hook:{HOOK_USERINFO_TOKEN}@" if userinfo else ""
        return {
            "SESSIONWATCH_WEBHOOK_URL": f"http://{auth}127.0.0.1:{self.hook_port}/hook?access_token="
            f"{HOOK_QUERY_TOKEN}&x=1",
            "SESSIONWATCH_WEBHOOK_AUTHORIZATION": f"Bearer {HOOK_AUTHORIZATION}",
            "SESSIONWATCH_WEBHOOK_ALLOW_HTTP_LOOPBACK": "1",
        }


@dataclass(frozen=True)
class Run:
    way: str
    command: str
    code: int
    stdout: str
    stderr: str
    written: str  # every file the command wrote, concatenated


def _events(folder: Path) -> Path:
    path = folder / "events.ndjson"
    rows = [
        ("09:00:00", "e1", "login"),
        ("09:01:00", "e2", "view"),
        ("09:30:00", "e3", "view"),  # 29 minutes idle: one alert
    ]
    path.write_text(
        "".join(
            json.dumps(
                {
                    "@timestamp": f"2026-03-02T{at}Z",
                    "event": {"id": event_id, "action": action},
                    "session": {"id": f"s-{TAG}"},
                    "user": {"name": "alice"},
                }
            )
            + "\n"
            for at, event_id, action in rows
        )
    )
    return path


def commands(world: World, url: str, out: Path, way: str) -> dict[str, tuple[list[str], set[int]]]:
    """name -> (arguments, the exit codes that mean it worked): every subcommand, the ones that
    talk to Elasticsearch with every option that makes them connect, write files or log."""
    slug = way.lower().replace(" ", "-").replace("--", "")  # index names are lower case
    run_indices = [
        *("--alerts-index", f"sessionwatch-alerts-secrets-{TAG}-{slug}"),
        *("--audit-index", f"sessionwatch-audit-secrets-{TAG}-{slug}"),
        *("--state-index", f"sessionwatch-state-secrets-{TAG}"),
    ]
    return {
        "validate": (["validate", IDLE_RULE], {0}),
        "render": (["render", IDLE_RULE, "--target", "watcher", "--out", str(out / "render")], {0}),
        "rules": (["rules"], {0}),
        "coverage": (["coverage", IDLE_RULE, "--out", str(out / "coverage")], {0}),
        "new": (["new", "idle-20m", "--kind", "session_idle_timeout", "--rules-dir", str(out / "new")], {0}),
        "enrich": (["enrich", str(world.events), "-o", str(out / "e.ndjson"), "--es-url", url], {0}),
        "enrich --inventory-index": (
            [
                *("enrich", str(world.events), "-o", str(out / "i.ndjson"), "--es-url", url),
                *("--inventory-index", world.inventory_index),
            ],
            {0},
        ),
        "enrich --follow": (
            [
                *("enrich", "--follow", "--once", "--settle", "0s", "--es-url", url),
                *("--source-index", world.source_index, "--dest-index", f"sw-secrets-dest-{TAG}"),
                *(
                    "--follower-id",
                    f"secrets-{TAG}-{slug}",
                    "--state-index",
                    f"sessionwatch-state-secrets-{TAG}",
                ),
            ],
            {0},
        ),
        "test": (["test", IDLE_RULE, "--es-url", url, "--report", str(out / "test.sarif")], {0}),
        "detect --events": (
            [
                *("detect", "--events", str(world.events), "--rules", IDLE_RULE, "--es-url", url),
                *("--dead-letter", str(out / "dead.ndjson")),
            ],
            {1},
        ),
        "detect --index": (
            [
                "detect",
                "--index",
                world.events_index,
                "--rules",
                IDLE_RULE,
                "--es-url",
                url,
                "--from",
                "2026-03-02T08:00:00Z",
                "--to",
                "2026-03-02T11:00:00Z",
            ],
            {1},
        ),
        "deploy --dry-run": (["deploy", IDLE_RULE, "--es-url", url, "--dry-run"], {0}),
        "deploy": (
            [
                *("deploy", IDLE_RULE, "--es-url", url, "--skip-roles", "--roles-out", str(out / "roles")),
                *("--kibana-out", str(out / "kibana.ndjson")),
            ],
            {0},
        ),
        "run --terminate": (
            [
                *("run", "--rules", IDLE_RULE, "--es-url", url, "--index", world.events_index),
                *("--start", "2026-03-02T08:00:00Z", "--until", "2026-03-02T11:00:00Z"),
                *("--log-level", "DEBUG", "--give-up-after", "20s", "--runner-id", f"secrets-{TAG}-{slug}"),
                *(
                    "--terminate",
                    "generic",
                    "--webhook-attempts",
                    "2",
                    "--webhook-timeout",
                    "2",
                    *run_indices,
                ),
            ],
            # credentials before the webhook's host are refused at start (one error line), never sent
            {1} if way == USERINFO_WAY else {0},
        ),
    }


def _sessionwatch(
    args: list[str], env: dict[str, str], cwd: Path, process: bool = False
) -> subprocess.CompletedProcess[str]:
    """The command with only ``env``'s SESSIONWATCH_ variables: in this process (tests/cli_runner.py:
    a fresh environment, streams, logging and redaction state per call), or in a process of its own."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONWATCH_")}
    return run_sessionwatch(args, cwd=cwd, env={**clean, **env}, process=process)


def _written(folder: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in sorted(folder.rglob("*")) if p.is_file())


def _run_all(world: World, way: str, url: str, env: dict[str, str], only: set[str] | None = None) -> None:
    out = world.folder / way.replace(" ", "-")
    out.mkdir(parents=True)
    for name, (args, _) in commands(world, url, out, way).items():
        if only is None or name in only:
            # a password in --es-url is what ps shows: that way runs every command as a real process
            done = _sessionwatch(args, env, out, process=way == "password in --es-url")
            world.runs.append(Run(way, name, done.returncode, done.stdout, done.stderr, _written(out)))


@pytest.fixture(scope="module")
def world(es_url: str, es: Elasticsearch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Every command run every way, once for the module's tests."""
    folder = tmp_path_factory.mktemp("secrets-every-command")
    events = _events(folder)
    password_file, key_file = folder / "password", folder / "api-key"
    password_file.write_text(PASSWORD + "\n")
    key_file.write_text(API_KEY + "\n")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    source, inventory = f"sw-secrets-source-{TAG}", f"sw-secrets-inventory-{TAG}"
    raw = [json.loads(line) for line in events.read_text().splitlines()]
    index_documents(es, source, [(str(doc["event"]["id"]), doc) for doc in raw])
    es.indices.create(index=inventory)
    try:
        with temporary_events_index(es, f"sessionwatch-events-secrets-{TAG}-") as index:
            docs = enrich_fixture(events, ProfileRegistry.discover(), None)
            index_documents(es, index, [(document_id(doc), doc) for doc in docs])
            found = World(es_url, folder, events, index, source, inventory, server.server_address[1])
            user = {"SESSIONWATCH_ES_USERNAME": "elastic"}
            hook = found.hook_env()
            _run_all(found, "password in --es-url", found.host_url(PASSWORD), hook)
            plain = found.host_url()
            _run_all(
                found,
                "password in the environment",
                plain,
                {**user, "SESSIONWATCH_ES_PASSWORD": PASSWORD, **hook},
            )
            _run_all(
                found,
                "password in a file",
                plain,
                {**user, "SESSIONWATCH_ES_PASSWORD_FILE": str(password_file), **hook},
            )
            connecting = {"detect --events", "run --terminate"}
            _run_all(
                found,
                "API key in the environment",
                plain,
                {"SESSIONWATCH_ES_API_KEY": API_KEY, **hook},
                connecting,
            )
            _run_all(
                found,
                "API key in a file",
                plain,
                {"SESSIONWATCH_ES_API_KEY_FILE": str(key_file), **hook},
                connecting,
            )
            for status in (500, 302):
                _Hook.status = status
                _run_all(found, f"webhook answers {status}", plain, hook, {"run --terminate"})
            _Hook.status = 200
            _run_all(found, USERINFO_WAY, plain, found.hook_env(userinfo=True), {"run --terminate"})
            yield found
    finally:
        server.shutdown()
        made = es.indices.get(index=f"sw-secrets-*{TAG}*,sessionwatch-*-secrets-{TAG}*").body
        if made:  # by name: the node may refuse wildcard deletes
            es.indices.delete(index=",".join(made))


def _leaks(text: str) -> list[str]:
    return [name for name, value in SECRETS.items() if value in text]


def test_every_command_is_exercised(world: World) -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    names = set(subparsers.choices)  # type: ignore[arg-type]
    exercised = {run.command.split()[0] for run in world.runs}
    assert names <= exercised, f"commands without a secrets case: {sorted(names - exercised)}"


def test_secrets_never_appear_in_outputs_files_or_logs(world: World) -> None:
    problems = []
    for run in world.runs:
        for where, text in (("stdout", run.stdout), ("stderr", run.stderr), ("files", run.written)):
            if _leaks(text):
                problems.append(f"{run.command} [{run.way}]: {where} holds {_leaks(text)}")
        if "Traceback" in run.stderr:
            problems.append(f"{run.command} [{run.way}]: traceback")
    assert not problems, "\n".join(problems)


def test_every_run_did_its_work(world: World) -> None:
    """A command that failed early would show nothing: each exits as it does when it worked."""
    expected = {}
    for run in world.runs:
        _, codes = commands(world, "", Path(), run.way)[run.command]
        expected[(run.way, run.command)] = (run.code in codes, run.stderr.strip().splitlines()[-1:])
    assert {key: value for key, value in expected.items() if not value[0]} == {}
    ran = {run.command for run in world.runs if run.way == "password in the environment"}
    assert len(ran) == len(commands(world, "", Path(), "x"))


def test_a_password_on_the_command_line_is_warned_about_once(world: World) -> None:
    """Every command given ``--es-url`` with a password warns, once, naming the environment and
    file alternatives; none warns when the password came another way."""
    assert "SESSIONWATCH_ES_PASSWORD_FILE" in COMMAND_LINE_WARNING
    assert "SESSIONWATCH_ES_API_KEY[_FILE]" in COMMAND_LINE_WARNING
    for run in world.runs:
        takes_url = "--es-url" in commands(world, "u", Path(), run.way)[run.command][0]
        warned = run.stderr.count(COMMAND_LINE_WARNING)
        assert warned == (1 if run.way == "password in --es-url" and takes_url else 0), (run.command, run.way)


def test_the_docs_name_the_alternatives() -> None:
    connecting = (REPO / "docs/deploy.md").read_text().split("## Connecting", 1)[1].split("\n## ", 1)[0]
    for name in (
        "SESSIONWATCH_ES_USERNAME",
        "SESSIONWATCH_ES_PASSWORD_FILE",
        "SESSIONWATCH_ES_API_KEY_FILE",
    ):
        assert name in connecting
    assert "never\nfrom the command line" in connecting or "never from the command line" in connecting


def test_the_webhook_got_its_secrets_and_the_logs_show_only_method_and_host(world: World) -> None:
    """The calls carried the token and the header (so the secrets were used), the logs name the
    call as ``POST http://127.0.0.1:port`` and record the failures, and no log holds the path."""
    calls = [call for call in _Hook.calls if call["authorization"] == f"Bearer {HOOK_AUTHORIZATION}"]
    assert calls, "the webhook was never called: nothing to hide"
    assert all(parse_qs(urlsplit(c["path"]).query)["access_token"] == [HOOK_QUERY_TOKEN] for c in calls)
    runs = {run.way: run for run in world.runs if run.command == "run --terminate"}
    shown = f"termination webhook: generic POST http://127.0.0.1:{world.hook_port}"
    for way, run in runs.items():
        assert shown in run.stderr or way == USERINFO_WAY, way
        assert "/hook" not in run.stderr, way
    assert "webhook_failed=1" in runs["webhook answers 500"].stderr
    assert "HTTP 500" in runs["webhook answers 500"].stderr
    assert "redirect refused" in runs["webhook answers 302"].stderr
    assert "credentials before its host" in runs[USERINFO_WAY].stderr


def test_stored_documents_hold_no_secret(world: World, es: Elasticsearch) -> None:
    """Alerts (with their delivery record), audit records, checkpoints, enriched events."""
    indices = es.indices.get(index=f"sessionwatch-*-secrets-{TAG}*,sw-secrets-dest-{TAG}*").body
    assert any("alerts" in name for name in indices), sorted(indices)
    stored = []
    for index in indices:
        hits = es.search(index=index, size=1000, query={"match_all": {}})["hits"]["hits"]
        stored += [json.dumps(hit["_source"]) for hit in hits]
    assert stored
    assert not _leaks("\n".join(stored))


def test_a_malformed_url_is_one_error_line_without_its_password(world: World, tmp_path: Path) -> None:
    """Every command that connects, with a malformed ``--es-url`` holding a password; the kinds
    of malformation taken in turn, so each kind and each command are covered (every kind on
    ``detect`` and ``run``: tests/hardening/test_secrets_cli.py)."""
    connecting = [
        (name, args)
        for name, (args, _) in commands(world, "{url}", tmp_path, "bad").items()
        if "--es-url" in args and name != "enrich"  # plain enrich never connects
    ]
    kinds = sorted(BAD_URLS)
    failures = []
    for number, (name, args) in enumerate(connecting):
        kind = kinds[number % len(kinds)]
        done = _sessionwatch(
            [BAD_URLS[kind] if a == "{url}" else a for a in args], world.hook_env(), tmp_path
        )
        output = done.stdout + done.stderr
        last = done.stderr.strip().splitlines()[-1:]
        if (
            done.returncode != 2
            or _leaks(output)
            or "Traceback" in output
            or not last[0].startswith("error: ")
        ):
            failures.append(f"{name} [{kind}]: exit {done.returncode}, {_leaks(output)}, {last}")
    assert len(connecting) >= len(kinds)
    assert not failures, "\n".join(failures)
