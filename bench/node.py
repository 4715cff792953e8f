"""The Elasticsearch nodes the benchmarks use, started through docker compose.

* the detection node: ``bench/docker-compose.bench.yml``, compose project ``sessionwatch-bench``,
  heap 2 GiB, data in a named volume so loaded indices survive between runs; or any cluster
  named by ``SESSIONWATCH_BENCH_ES_URL`` (then nothing is started or stopped);
* the validation node: the repository's own ``docker-compose.yml`` under the compose project
  ``sessionwatch-bench-validate``, timed from ``up`` to healthy, removed afterwards.

The image is chosen as the test suite chooses it: ``$SESSIONWATCH_ES_IMAGE``, else the file
``.sessionwatch-es-image`` that ``scripts/setup-test-env.sh`` writes, else the official image.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from bench.common import REPO

BENCH_COMPOSE = REPO / "bench" / "docker-compose.bench.yml"
REPO_COMPOSE = REPO / "docker-compose.yml"
BENCH_PROJECT = "sessionwatch-bench"
VALIDATE_PROJECT = "sessionwatch-bench-validate"
DEFAULT_IMAGE = "elasticsearch:8.19.7"


def image() -> str:
    chosen = os.environ.get("SESSIONWATCH_ES_IMAGE")
    if chosen:
        return chosen
    choice = REPO / ".sessionwatch-es-image"
    if choice.exists() and choice.read_text().strip():
        return choice.read_text().strip()
    return DEFAULT_IMAGE


def compose_command() -> list[str]:
    """``docker compose`` (v2) when it works, else ``docker-compose`` (v1)."""
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run(  # noqa: S603
            [docker, "compose", "version"], capture_output=True, check=False
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy:
        return [legacy]
    raise RuntimeError("neither `docker compose` nor `docker-compose` is available (run `make env`)")


def _compose(project: str, file: str, args: list[str], env: dict[str, str]) -> None:
    cmd = [*compose_command(), "-p", project, "-f", file, *args]
    subprocess.run(cmd, check=True, env={**os.environ, **env}, cwd=REPO, capture_output=True)  # noqa: S603


def healthy(url: str, timeout: float) -> bool:
    """Poll ``_cluster/health`` until yellow (the minimal distribution has no ``GET /``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(  # noqa: S310 - a local http URL we built
                f"{url}/_cluster/health?wait_for_status=yellow&timeout=1s", timeout=5
            ) as response:
                status = json.loads(response.read()).get("status")
                if status in ("yellow", "green"):
                    return True
        except (urllib.error.URLError, OSError, ValueError):
            pass
        time.sleep(0.25)
    return False


@dataclass
class Node:
    url: str
    started_here: bool
    startup_s: float | None = None


def bench_node(port: int) -> Node:
    """The detection node: ``$SESSIONWATCH_BENCH_ES_URL``, or the suite's own compose project."""
    given = os.environ.get("SESSIONWATCH_BENCH_ES_URL")
    if given:
        if not healthy(given, 60):
            raise RuntimeError(f"{given} is not healthy")
        return Node(given, started_here=False)
    url = f"http://127.0.0.1:{port}"
    env = {"SESSIONWATCH_ES_IMAGE": image(), "SESSIONWATCH_BENCH_ES_PORT": str(port)}
    started = time.perf_counter()
    _compose(BENCH_PROJECT, str(BENCH_COMPOSE), ["up", "-d"], env)
    if not healthy(url, 240):
        raise RuntimeError(f"the benchmark node at {url} did not become healthy")
    return Node(url, started_here=True, startup_s=time.perf_counter() - started)


def stop_bench_node(*, remove_data: bool) -> None:
    env = {"SESSIONWATCH_ES_IMAGE": image()}
    _compose(BENCH_PROJECT, str(BENCH_COMPOSE), ["down", *(["-v"] if remove_data else [])], env)


def validation_node_up(port: int) -> Node:
    """The repository's docker-compose.yml, own project name; timed from ``up`` to healthy."""
    env = {"SESSIONWATCH_ES_IMAGE": image(), "SESSIONWATCH_ES_PORT": str(port)}
    url = f"http://127.0.0.1:{port}"
    _compose(VALIDATE_PROJECT, str(REPO_COMPOSE), ["down", "-v"], env)
    started = time.perf_counter()
    _compose(VALIDATE_PROJECT, str(REPO_COMPOSE), ["up", "-d"], env)
    if not healthy(url, 240):
        validation_node_down(port)
        raise RuntimeError(f"the validation node at {url} did not become healthy")
    return Node(url, started_here=True, startup_s=time.perf_counter() - started)


def validation_node_down(port: int) -> None:
    env = {"SESSIONWATCH_ES_IMAGE": image(), "SESSIONWATCH_ES_PORT": str(port)}
    _compose(VALIDATE_PROJECT, str(REPO_COMPOSE), ["down", "-v"], env)
