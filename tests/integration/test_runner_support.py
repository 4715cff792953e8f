"""Helpers shared by the runner and follow-mode integration tests (this module has no tests).

* synthetic portal events whose idle-timeout violations are known by construction;
* the ``sessionwatch`` CLI (run to its end in this process, or started as a subprocess);
* checks on audit records (contiguous, overlapping windows);
* an Elasticsearch node of our own (docker, ports 19241-19259) that tests may restart.
"""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch

from sessionwatch.enrichers import Engine, ProfileRegistry, discover_enrichers
from sessionwatch.indices import index_templates
from sessionwatch.rules.errors import ElasticsearchUnavailable
from tests.cli_runner import CLI, run_sessionwatch
from tests.shared_nodes import SharedNode

REPO = Path(__file__).resolve().parents[2]
IDLE_RULE = REPO / "rules/pack/session_idle_timeout/pci-dss-idle-15m.yml"
DAY = datetime(2026, 3, 2, tzinfo=UTC)
GAPS = (120, 300, 600, 840, 899, 960, 1500)  # seconds; > 900 is an idle-timeout violation
PORTS = range(19241, 19260)
DEFAULT_IMAGE = "elasticsearch:8.19.7"
LOCAL_IMAGE = "sessionwatch/elasticsearch-integ:8.19.7"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def synthetic_events(
    sessions: int, *, seed: int = 5, span: timedelta = timedelta(hours=20)
) -> tuple[list[dict[str, Any]], set[tuple[str, str]]]:
    """Raw ``generic.portal`` events of ``sessions`` sessions over ``span`` from ``DAY``, and
    the (session, event) pairs the PCI 15-minute idle rule must flag."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    expected: set[tuple[str, str]] = set()
    for n in range(sessions):
        sid, user = f"s-{n:05d}", f"user{n % 97}"
        at = DAY + timedelta(seconds=rng.randrange(int(span.total_seconds())))
        for k in range(rng.randrange(3, 7)):
            if k:
                gap = rng.choice(GAPS)
                at += timedelta(seconds=gap)
            event_id = f"{sid}-{k}"
            events.append(
                {
                    "@timestamp": iso(at),
                    "event": {
                        "id": event_id,
                        "dataset": "generic.portal",
                        "action": "login" if k == 0 else "view_invoice",
                        "outcome": "success",
                        **({"category": ["authentication", "session"], "type": ["start"]} if k == 0 else {}),
                    },
                    "session": {"id": sid},
                    "user": {"name": user},
                    "source": {"ip": f"198.51.100.{n % 250 + 1}"},
                    "url": {"path": "/login" if k == 0 else "/app"},
                }
            )
            if k and gap > 900:
                expected.add((sid, event_id))
    events.sort(key=lambda e: (e["@timestamp"], e["event"]["id"]))
    return events, expected


def enrich(events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    engine = Engine(ProfileRegistry.discover(), discover_enrichers())
    out = list(engine.process(json.dumps(e) for e in events))
    assert all(o.dead is None for o in out), [o.dead for o in out if o.dead]
    return [o.doc for o in out if o.doc is not None]


def fixture_events() -> list[dict[str, Any]]:
    """The idle-timeout rule's four fixtures, enriched file by file (as ``test`` does)."""
    folder = REPO / "fixtures/session_idle_timeout/pci-dss-idle-15m"
    docs: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.ndjson")):
        docs += enrich([json.loads(line) for line in path.read_text().splitlines() if line.strip()])
    return docs


def load(client: Elasticsearch, index: str, docs: Sequence[dict[str, Any]], *, raw: bool = False) -> None:
    """Index ``docs`` under their event id (``event.id`` of ``raw`` events, else
    ``sessionwatch.event.id``) and refresh."""
    for start in range(0, len(docs), 2000):
        operations: list[dict[str, Any]] = []
        for doc in docs[start : start + 2000]:
            doc_id = doc["event"]["id"] if raw else doc["sessionwatch"]["event"]["id"]
            operations += [{"index": {"_index": index, "_id": doc_id}}, doc]
        response = client.bulk(operations=operations)
        assert not response["errors"], response["items"][:3]
    client.indices.refresh(index=index)


def events_index(client: Elasticsearch, name: str) -> str:
    template = index_templates()["sessionwatch-events"]["template"]
    client.indices.create(
        index=name,
        mappings=template["mappings"],
        settings={"number_of_shards": 1, "number_of_replicas": 0},
    )
    return name


@dataclass
class Names:
    """Unique index names for one test, all removed by ``drop``."""

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:10])

    @property
    def events(self) -> str:
        return f"sw-runner-events-{self.tag}"

    @property
    def raw(self) -> str:
        return f"sw-follow-raw-{self.tag}"

    @property
    def dest(self) -> str:
        return f"sessionwatch-events-follow-{self.tag}"

    @property
    def alerts(self) -> str:
        return f"sessionwatch-alerts-t{self.tag}"

    @property
    def audit(self) -> str:
        return f"sessionwatch-audit-t{self.tag}"

    @property
    def state(self) -> str:
        return f"sessionwatch-state-t{self.tag}"

    def run_args(self, *extra: str, rule: Path = IDLE_RULE, index: str | None = None) -> list[str]:
        return [
            "run",
            "--rules",
            str(rule),
            "--index",
            index or self.events,
            "--alerts-index",
            self.alerts,
            "--audit-index",
            self.audit,
            "--state-index",
            self.state,
            *extra,
        ]

    @property
    def terminations(self) -> str:  # where the runner puts the webhook outcomes of ``alerts``
        return f"sessionwatch-terminations-t{self.tag}"

    def drop(self, client: Elasticsearch) -> None:
        for name in (
            self.events,
            self.raw,
            self.dest,
            self.alerts,
            self.terminations,
            self.audit,
            self.state,
        ):
            client.indices.delete(index=name, ignore_unavailable=True)


def cli_env(es_url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "SESSIONWATCH_ES_URL": es_url, **extra}


def run_cli(
    args: Sequence[str], env: dict[str, str], cwd: Path, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """The command run to its end, in this process (tests/cli_runner.py); ``start_cli`` for a
    process the test signals or runs beside others."""
    return run_sessionwatch(args, env=env, cwd=cwd, timeout=timeout)


def start_cli(args: Sequence[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen([str(CLI), *args], env=env, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT)


# Answers of a node that is starting, restarting or busy: worth asking again.
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})


def transient(exc: BaseException) -> bool:
    """Whether ``exc`` is a node not answering yet (connection refused or reset, timeout, 429/5xx
    while recovering), rather than a mistake that asking again cannot fix."""
    if isinstance(exc, ApiError):
        return exc.meta.status in TRANSIENT_STATUSES
    return isinstance(exc, TransportError | ElasticsearchUnavailable)


def wait_for(
    predicate: Any,
    timeout: float,
    what: str,
    pause: float = 0.2,
    also: tuple[type[BaseException], ...] = (),
) -> None:
    """Poll ``predicate`` until it is true. Transient errors (and the ``also`` types) mean "not
    yet"; any other exception fails the test at once. A timeout names the last error seen."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception as exc:
            if not (transient(exc) or isinstance(exc, also)):
                raise
            last = exc
        time.sleep(pause)
    seen = f" (last error: {last!r})" if last is not None else ""
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{seen}")


def count(client: Elasticsearch, index: str) -> int:
    client.indices.refresh(index=index, ignore_unavailable=True)
    return int(client.count(index=index, ignore_unavailable=True)["count"])


def all_docs(client: Elasticsearch, index: str) -> list[dict[str, Any]]:
    client.indices.refresh(index=index)
    hits = client.search(index=index, size=10000, query={"match_all": {}}, sort=["_doc"])["hits"]["hits"]
    return [{"_id": h["_id"], **h["_source"]} for h in hits]


def termination_outcomes(client: Elasticsearch, index: str) -> dict[str, dict[str, Any]]:
    """The webhook outcome documents of ``index`` (a terminations index): alert id -> outcome."""
    if not client.indices.exists(index=index):
        return {}
    docs = all_docs(client, index)
    assert all(d["_id"] == d["alert"]["id"] for d in docs), "an outcome is stored under its alert's id"
    return {d["_id"]: d["termination"] for d in docs}


def alert_keys(client: Elasticsearch, index: str) -> list[tuple[str, str]]:
    """(session, evidence event) of every alert document, duplicates kept."""
    return sorted(
        (a["sessionwatch"]["session"]["id"], a["sessionwatch"]["evidence"]["event_ids"][0])
        for a in all_docs(client, index)
    )


def assert_windows_contiguous(
    records: Sequence[dict[str, Any]],
    *,
    start: datetime,
    until: datetime,
    lookback: timedelta,
    step: timedelta,
) -> None:
    """Successful evaluations cover [start - lookback, until) with windows that each start one
    lookback before the previous end: no gap, whatever crashed in between."""
    windows = sorted({(r["window"]["start"], r["window"]["end"]) for r in records if r["outcome"] == "ok"})
    expected = []
    at = start
    while at < until:
        end = min(at + step, until)
        expected.append((iso(at - lookback), iso(end)))
        at = end
    assert windows == expected


# --- a node of our own ---------------------------------------------------------------------


def docker_problem() -> str | None:
    if shutil.which("docker") is None:
        return "no docker client on this machine"
    probe = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60, check=False)
    if probe.returncode != 0:
        return f"docker engine not reachable: {probe.stderr.strip()[:200]}"
    return None


def _image() -> str:
    chosen = os.environ.get("SESSIONWATCH_ES_IMAGE", "").strip()
    choice = REPO / ".sessionwatch-es-image"
    if not chosen and choice.is_file():
        chosen = choice.read_text(encoding="utf-8").strip()
    if not chosen:
        local = subprocess.run(["docker", "image", "inspect", LOCAL_IMAGE], capture_output=True, check=False)
        chosen = LOCAL_IMAGE if local.returncode == 0 else DEFAULT_IMAGE
    return chosen


def _worker_ports() -> range:
    """This pytest-xdist worker's share of ``PORTS`` (all of them without workers): two workers
    probing the same free port at once would both try to publish it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "").removeprefix("gw")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    return PORTS[int(worker) :: count] if worker.isdigit() and count > 1 else PORTS


def _free_port() -> int:
    for port in _worker_ports():
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


def _docker(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)


class OwnNode:
    """A single-node cluster in a container (and network) of our own, removed by ``remove``."""

    def __init__(self, security_password: str | None = None) -> None:
        self.password = security_password  # security on, ``elastic`` bootstrapped with it
        self.name = f"sw-runner-test-{uuid.uuid4().hex[:8]}"
        self.network = self.name
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    @classmethod
    def attach(cls, shared: SharedNode) -> OwnNode:
        """The node ``shared`` (tests/shared_nodes.py), already running: not to be started or removed."""
        node = cls.__new__(cls)
        node.password, node.name, node.network = shared.password, shared.container, ""
        node.port, node.url = shared.port, shared.url
        return node

    def start(self) -> None:
        _docker("network", "create", self.network)
        settings = {
            "discovery.type": "single-node",
            "xpack.security.enabled": "true" if self.password else "false",
            "xpack.security.http.ssl.enabled": "false",
            "xpack.security.transport.ssl.enabled": "false",
            "node.store.allow_mmap": "false",
            "cluster.routing.allocation.disk.threshold_enabled": "false",
            "ES_JAVA_OPTS": "-Xms512m -Xmx512m -XX:TieredStopAtLevel=1",
        }
        args = ["run", "-d", "--name", self.name, "--network", self.network]
        args += ["-p", f"127.0.0.1:{self.port}:9200"]
        if self.password:
            settings["ELASTIC_PASSWORD"] = self.password
        for key, value in settings.items():
            args += ["-e", f"{key}={value}"]
        started = _docker(*args, _image())
        if started.returncode != 0:
            raise RuntimeError(f"docker run failed: {started.stderr.strip()}")
        self.wait_healthy()

    def restart(self) -> None:
        """SIGKILL the node (no graceful shutdown) and start it again."""
        result = _docker("restart", "-t", "0", self.name)
        assert result.returncode == 0, result.stderr

    def healthy(self) -> bool:
        request = urllib.request.Request(f"{self.url}/_cluster/health?wait_for_status=yellow&timeout=1s")
        if self.password:
            token = base64.b64encode(f"elastic:{self.password}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def wait_healthy(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.healthy():
                return
            time.sleep(1.0)
        logs = _docker("logs", "--tail", "30", self.name)
        raise RuntimeError(f"{self.name} not healthy after {timeout:.0f} s:\n{logs.stdout}{logs.stderr}")

    def exec(self, *command: str, stdin: str | None = None) -> None:
        result = subprocess.run(
            ["docker", "exec", "-i", "-w", "/usr/share/elasticsearch", self.name, *command],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr

    def remove(self) -> None:
        _docker("rm", "-f", "-v", self.name)
        _docker("network", "rm", self.network)
