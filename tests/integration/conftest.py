"""Fixtures for integration tests against a real Elasticsearch node.

Which node (see docs/elasticsearch-in-tests.md):

* ``SESSIONWATCH_ES_URL`` set: that cluster is used as is (credentials in the URL,
  ``http://user:pw@host:9200``, or ``SESSIONWATCH_ES_USERNAME`` / ``SESSIONWATCH_ES_PASSWORD``,
  or ``SESSIONWATCH_ES_API_KEY``; ``SESSIONWATCH_ES_CA_CERTS`` for https); nothing is started.
* otherwise pytest-docker starts the ``elasticsearch`` service of the repository's
  ``docker-compose.yml`` (project ``sessionwatch-tests``), with the image from
  ``SESSIONWATCH_ES_IMAGE``, else the one ``scripts/setup-test-env.sh`` chose for
  ``SESSIONWATCH_ES_VERSION`` (file ``.sessionwatch-es-image-<version>``), else the file
  ``.sessionwatch-es-image`` (the default version's), else the official
  ``elasticsearch:<version>``. ``SESSIONWATCH_ES_KEEP=1`` leaves the container running.

Versions: ``SESSIONWATCH_ES_VERSION`` (``9.5.0`` or ``8.19.7``; default ``9.5.0``). The choice
is exported as ``SESSIONWATCH_ES_IMAGE`` at configure time, so every helper that starts an extra
node (restarts, TLS, user repositories) starts the same version.

Readiness is ``GET /_cluster/health?wait_for_status=yellow``: the integ-test
distribution has no ``rest-root`` module, so ``GET /`` (the client's ``info()``) answers
405 and ``ping()`` returns False there.

Every test under tests/integration is marked ``integration``; those of ``COMPAT_MODULES`` (rule-pack
replay, detect, runner, deploy, follow, Kibana replay) also ``compat``: the subset CI runs on the
other supported major (``make test``).
"""

from __future__ import annotations

import base64
import os
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
IMAGE_CHOICE_FILE = REPO_ROOT / ".sessionwatch-es-image"
SUPPORTED_VERSIONS = ("9.5.0", "8.19.7")  # the first is the default (the full suite in CI)
DEFAULT_VERSION = SUPPORTED_VERSIONS[0]
COMPAT_MODULES = frozenset(
    {
        "test_rule_pack.py",
        "test_idle_timeout.py",
        "test_runner.py",
        "test_deploy.py",
        "test_follow.py",
        "test_kibana_live.py",
        "test_facts_mapping.py",
    }
)
PROJECT_NAME = os.environ.get("SESSIONWATCH_COMPOSE_PROJECT", "").strip() or "sessionwatch-tests"
SERVICE = "elasticsearch"
HEALTH_PATH = "/_cluster/health?wait_for_status=yellow&timeout=1s"
WAIT_TIMEOUT_S = float(os.environ.get("SESSIONWATCH_ES_WAIT", "300"))


def pytest_configure(config: pytest.Config) -> None:
    """Fix the image for the whole session (``SESSIONWATCH_ES_VERSION``), see ``_choose_image``."""
    if not os.environ.get("SESSIONWATCH_ES_URL", "").strip():
        _choose_image()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test collected from this directory ``integration``; the compat subset ``compat``."""
    for item in items:
        path = Path(str(item.path)).resolve()
        if path.is_relative_to(HERE):
            item.add_marker(pytest.mark.integration)
            if path.name in COMPAT_MODULES:
                item.add_marker(pytest.mark.compat)


# --- helpers ---------------------------------------------------------------------------


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``http://u:p@h:1/`` -> (``http://h:1``, ("u", "p"))."""
    parts = urllib.parse.urlsplit(url)
    creds = None
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, netloc = netloc.rsplit("@", 1)
        user, _, password = userinfo.partition(":")
        creds = (urllib.parse.unquote(user), urllib.parse.unquote(password))
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", "")), creds


@dataclass(frozen=True)
class EsAuth:
    """How to authenticate to the test cluster (all None: security off)."""

    basic: tuple[str, str] | None = None
    api_key: str | None = None
    ca_certs: str | None = None

    def headers(self) -> dict[str, str]:
        if self.api_key:
            return {"Authorization": f"ApiKey {self.api_key}"}
        if self.basic is not None:
            token = base64.b64encode(f"{self.basic[0]}:{self.basic[1]}".encode()).decode()
            return {"Authorization": f"Basic {token}"}
        return {}

    def client_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if self.api_key:
            kwargs["api_key"] = self.api_key
        elif self.basic is not None:
            kwargs["basic_auth"] = self.basic
        if self.ca_certs:
            kwargs["ca_certs"] = self.ca_certs
        return kwargs


def _auth_from_env(url_credentials: tuple[str, str] | None) -> EsAuth:
    env = os.environ
    basic = url_credentials
    if basic is None and (env.get("SESSIONWATCH_ES_USERNAME") or env.get("SESSIONWATCH_ES_PASSWORD")):
        basic = (env.get("SESSIONWATCH_ES_USERNAME") or "elastic", env.get("SESSIONWATCH_ES_PASSWORD", ""))
    if basic is None and not env.get("SESSIONWATCH_ES_URL") and _truthy(env.get("SESSIONWATCH_ES_SECURITY")):
        # the node started from docker-compose.yml, with its bootstrap password
        basic = ("elastic", env.get("ELASTIC_PASSWORD") or "changeme")
    return EsAuth(
        basic=basic,
        api_key=env.get("SESSIONWATCH_ES_API_KEY") or None,
        ca_certs=env.get("SESSIONWATCH_ES_CA_CERTS") or None,
    )


def _export_credentials(auth: EsAuth) -> None:
    """Make the credentials visible to subprocesses (the CLI under test), which get only
    the bare es_url."""
    if auth.basic is not None:
        os.environ.setdefault("SESSIONWATCH_ES_USERNAME", auth.basic[0])
        os.environ.setdefault("SESSIONWATCH_ES_PASSWORD", auth.basic[1])


def _health(base_url: str, auth: EsAuth) -> tuple[bool, str]:
    """One readiness probe: (ready, what was seen)."""
    request = urllib.request.Request(base_url + HEALTH_PATH, headers=auth.headers())
    context = ssl.create_default_context(cafile=auth.ca_certs) if auth.ca_certs else None
    try:
        with urllib.request.urlopen(request, timeout=5, context=context) as response:
            body = response.read().decode("utf-8", "replace")
            return response.status == 200, f"HTTP {response.status}: {body[:200]}"
    except urllib.error.HTTPError as exc:  # 408 = not yellow yet; 401 = bad credentials
        body = exc.read().decode("utf-8", "replace")
        return False, f"HTTP {exc.code}: {body[:200]}"
    except (OSError, ValueError) as exc:
        return False, f"{type(exc).__name__}: {exc}"


def _wait_until_healthy(base_url: str, auth: EsAuth, waiter: Any = None) -> tuple[bool, str]:
    last = ["not probed"]

    def check() -> bool:
        ok, last[0] = _health(base_url, auth)
        return ok

    if waiter is not None:  # pytest-docker's Services.wait_until_responsive
        try:
            waiter.wait_until_responsive(check=check, timeout=WAIT_TIMEOUT_S, pause=1.0)
        except Exception:
            return False, last[0]
        return True, last[0]
    deadline = time.monotonic() + WAIT_TIMEOUT_S
    while time.monotonic() < deadline:
        if check():
            return True, last[0]
        time.sleep(1.0)
    return False, last[0]


def _compose_v2_available() -> bool:
    try:
        result = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def es_version() -> str:
    """The Elasticsearch version the tests start (``SESSIONWATCH_ES_VERSION``)."""
    return os.environ.get("SESSIONWATCH_ES_VERSION", "").strip() or DEFAULT_VERSION


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8").strip() if path.is_file() else ""


def _choose_image() -> str:
    version = es_version()
    image = os.environ.get("SESSIONWATCH_ES_IMAGE", "").strip()
    image = image or _read(REPO_ROOT / f".sessionwatch-es-image-{version}")
    if not image:
        legacy = _read(IMAGE_CHOICE_FILE)  # the default version's image
        image = legacy if legacy.endswith(f":{version}") else ""
    image = image or f"elasticsearch:{version}"
    os.environ["SESSIONWATCH_ES_IMAGE"] = image  # read by docker-compose.yml and node helpers
    return image


# --- pytest-docker overrides ---------------------------------------------------------------


@pytest.fixture(scope="session")
def docker_compose_file() -> str:
    return str(COMPOSE_FILE)


@pytest.fixture(scope="session")
def docker_compose_project_name() -> str:
    return PROJECT_NAME


@pytest.fixture(scope="session")
def docker_compose_command() -> str:
    return "docker compose" if _compose_v2_available() else "docker-compose"


@pytest.fixture(scope="session")
def docker_setup(docker_compose_command: str) -> list[str]:
    _choose_image()
    if docker_compose_command == "docker compose":
        return ["up --build --wait"]  # pytest-docker's default (v2 only)
    # v1 has no --wait: with it the services never start ("No container found")
    return ["up --build -d"]


@pytest.fixture(scope="session")
def docker_cleanup() -> list[str]:
    if _truthy(os.environ.get("SESSIONWATCH_ES_KEEP")):
        return []
    return ["down -v"]


# --- Elasticsearch fixtures ----------------------------------------------------------------


@pytest.fixture(scope="session")
def es_auth() -> EsAuth:
    """Credentials for the test cluster: from SESSIONWATCH_ES_URL's user info, or
    SESSIONWATCH_ES_USERNAME / SESSIONWATCH_ES_PASSWORD, or SESSIONWATCH_ES_API_KEY
    (+ SESSIONWATCH_ES_CA_CERTS); for the compose node with SESSIONWATCH_ES_SECURITY=true,
    ``elastic`` / $ELASTIC_PASSWORD (default ``changeme``)."""
    url = os.environ.get("SESSIONWATCH_ES_URL", "").strip()
    _, url_credentials = _split_credentials(url) if url else ("", None)
    return _auth_from_env(url_credentials)


@pytest.fixture(scope="session")
def es_url(request: pytest.FixtureRequest, es_auth: EsAuth) -> str:
    """Base URL (no credentials, no trailing slash) of a healthy Elasticsearch node."""
    external = os.environ.get("SESSIONWATCH_ES_URL", "").strip()
    if external:
        base_url, _ = _split_credentials(external)
        ok, seen = _wait_until_healthy(base_url, es_auth)
        if not ok:
            pytest.fail(
                f"SESSIONWATCH_ES_URL={base_url} not healthy after {WAIT_TIMEOUT_S:.0f} s (last: {seen})",
                pytrace=False,
            )
        _export_credentials(es_auth)
        return base_url

    docker_services = request.getfixturevalue("docker_services")
    docker_ip = request.getfixturevalue("docker_ip")
    port = docker_services.port_for(SERVICE, 9200)
    base_url = f"http://{docker_ip}:{port}"
    ok, seen = _wait_until_healthy(base_url, es_auth, docker_services)
    if not ok:
        command = request.getfixturevalue("docker_compose_command")
        logs = subprocess.run(
            f'{command} -f "{COMPOSE_FILE}" -p {PROJECT_NAME} logs --tail=40 {SERVICE}',
            shell=True,
            capture_output=True,
            text=True,
            check=False,
        )
        pytest.fail(
            f"Elasticsearch ({os.environ.get('SESSIONWATCH_ES_IMAGE')}) at {base_url} not"
            f" healthy after {WAIT_TIMEOUT_S:.0f} s (last: {seen})\n{logs.stdout}{logs.stderr}",
            pytrace=False,
        )
    _export_credentials(es_auth)
    return base_url


@pytest.fixture(scope="session")
def es(es_url: str, es_auth: EsAuth) -> Iterator[Elasticsearch]:
    """An ``elasticsearch.Elasticsearch`` 8.x client for ``es_url``.

    Note: on the integ-test distribution ``info()`` raises ApiError(405) and ``ping()``
    returns False (no ``GET /``); everything else the project uses works.
    """
    client = Elasticsearch(es_url, request_timeout=60, **es_auth.client_kwargs())
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def es_modules(es: Elasticsearch) -> frozenset[str]:
    """Names of the modules and plugins loaded on the node(s), e.g. to skip tests of
    Watcher (``x-pack-watcher``) or painless (``lang-painless``) where they are absent."""
    nodes = es.nodes.info(metric="plugins")["nodes"]
    names: set[str] = set()
    for node in nodes.values():
        names.update(m["name"] for m in node.get("modules", []))
        names.update(p["name"] for p in node.get("plugins", []))
    return frozenset(names)


@pytest.fixture
def fresh_index(es: Elasticsearch) -> Iterator[Callable[..., str]]:
    """Factory: ``fresh_index(prefix="t", mappings=..., settings=...)`` creates a
    uniquely named index (1 shard, 0 replicas unless given) and returns its name;
    every index made this way is deleted after the test."""
    created: list[str] = []

    def make(
        prefix: str = "sw-test",
        *,
        mappings: dict[str, Any] | None = None,
        settings: dict[str, Any] | None = None,
    ) -> str:
        name = f"{prefix.lower()}-{uuid.uuid4().hex[:12]}"
        index_settings = {"number_of_shards": 1, "number_of_replicas": 0}
        index_settings.update(settings or {})
        es.indices.create(index=name, mappings=mappings, settings=index_settings)
        created.append(name)
        return name

    yield make
    for name in created:
        es.indices.delete(index=name, ignore_unavailable=True)
