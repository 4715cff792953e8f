"""The three-node cluster of ``docker-compose.cluster.yml`` for the tests marked ``cluster``.

* ``SESSIONWATCH_CLUSTER_PROJECT`` names a compose project of that file that is already up:
  it is used as is (and left running);
* otherwise the cluster is started as project ``sessionwatch-cluster-<random>`` with the image
  the integration tests use (``SESSIONWATCH_ES_IMAGE`` / ``SESSIONWATCH_ES_VERSION``) and removed
  (``down -v``) after the session.

Without a docker engine the tests are skipped, saying why; ``SESSIONWATCH_SKIP_CLUSTER=1`` skips
them too (or ``pytest -m "not cluster"``). Nodes are killed, stopped and started
with ``docker`` on the compose containers; the tests' own client knows all three nodes, the CLI
under test is given one (``es01``), as a user gives it a single address.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from tests.integration.test_runner_support import docker_problem

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.cluster.yml"
NODES = ("es01", "es02", "es03")
WAIT_S = float(os.environ.get("SESSIONWATCH_ES_WAIT", "300"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if Path(str(item.path)).resolve().is_relative_to(here):
            item.add_marker(pytest.mark.cluster)


def _compose_command() -> list[str]:
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    if probe.returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise RuntimeError("neither `docker compose` nor docker-compose is installed")


@dataclass
class Cluster:
    project: str
    compose: list[str]

    def _run(self, *args: str, timeout: float = 300) -> str:
        command = [*self.compose, "-f", str(COMPOSE_FILE), "-p", self.project, *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip()[-400:]}")
        return done.stdout

    def container(self, node: str) -> str:
        return self._run("ps", "-q", node).strip()

    def url(self, node: str) -> str:
        """The node's HTTP address (host networking, loopback; see docker-compose.cluster.yml)."""
        number = NODES.index(node) + 1
        port = os.environ.get(f"SESSIONWATCH_CLUSTER_HTTP_{number}", "").strip() or str(19230 + number)
        return f"http://127.0.0.1:{port}"

    @property
    def entry_url(self) -> str:
        """The one address the CLI under test is given."""
        return self.url(NODES[0])

    def client(self) -> Elasticsearch:
        return Elasticsearch(
            [self.url(n) for n in NODES], request_timeout=30, retry_on_timeout=True, max_retries=5
        )

    def docker(self, action: str, node: str) -> None:
        subprocess.run(["docker", action, self.container(node)], capture_output=True, check=True, timeout=180)

    def wait(
        self, status: str = "green", nodes: int = 3, timeout: float = WAIT_S, via: str | None = None
    ) -> None:
        """Until the cluster is ``status`` with ``nodes`` nodes, as seen by ``via`` (that node must
        answer: after a restart, proof it is back) or by any node."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            for node in (via,) if via else NODES:
                try:
                    probe = Elasticsearch(self.url(node), request_timeout=10)
                    health = probe.cluster.health(wait_for_status=status, timeout="5s")
                    last = f"{health['status']}, {health['number_of_nodes']} nodes"
                    if not health["timed_out"] and health["number_of_nodes"] >= nodes:
                        return
                except Exception as exc:  # a node is down or restarting: ask another one
                    last = f"{type(exc).__name__}"
                time.sleep(1)
        raise AssertionError(f"cluster not {status} with {nodes} nodes after {timeout:.0f} s (last: {last})")

    def up(self) -> None:
        self._run("up", "-d", timeout=600)

    def down(self) -> None:
        self._run("down", "-v", "--remove-orphans", timeout=600)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    if os.environ.get("SESSIONWATCH_SKIP_CLUSTER", "").strip() == "1":
        pytest.skip("SESSIONWATCH_SKIP_CLUSTER=1: the three-node tests are switched off")
    problem = docker_problem()
    if problem:
        pytest.skip(f"the cluster tests start three Elasticsearch containers: {problem}")
    given = os.environ.get("SESSIONWATCH_CLUSTER_PROJECT", "").strip()
    made = Cluster(given or f"sessionwatch-cluster-{uuid.uuid4().hex[:8]}", _compose_command())
    if not given:
        image = os.environ.get("SESSIONWATCH_ES_IMAGE", "").strip()
        if not image:
            version = os.environ.get("SESSIONWATCH_ES_VERSION", "").strip() or "9.5.0"
            choice = REPO / f".sessionwatch-es-image-{version}"
            image = choice.read_text().strip() if choice.is_file() else f"elasticsearch:{version}"
            os.environ["SESSIONWATCH_ES_IMAGE"] = image
        made.up()
    try:
        made.wait()
        yield made
    finally:
        if not given:
            made.down()


@pytest.fixture(autouse=True)
def _commands_as_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about what a separate ``sessionwatch`` process sees while nodes die, so
    every command here is a real process (tests/cli_runner.py), as a user runs it: in-process,
    the second `detect` of the restart test wrote no alert (CI, 2026-12-05), while as processes
    it has passed in every run."""
    monkeypatch.setenv("SESSIONWATCH_TEST_CLI", "process")
