"""pytest plugin (entry point ``pytest11``): run the test cases written in rule files.

A rules repository needs no test code. It opts in by naming its rules directories::

    # pytest.ini
    [pytest]
    sessionwatch_rules = rules

(or ``pytest --sessionwatch-rules rules``). Every rule file below them is collected, and every
case of its ``tests:`` list is its own test, ``rules/x.yml::case-name``; a failing case shows the
expected and actual alerts. A rule file that does not load is one failing test,
``rules/x.yml::load``, listing each ``path:line:col: message``; a rule whose id or name a rule
collected before it already uses gets a failing ``rules/x.yml::unique``.

Elasticsearch: ``--es-url URL`` (or ``$SESSIONWATCH_ES_URL``) uses an existing cluster;
credentials and CA come from the same variables as the CLI's. Without one, a single node is
started through pytest-docker (``pip install sessionwatch[pytest]``) from the compose file in
``sessionwatch_compose_file``, or else from a built-in one for the image
``$SESSIONWATCH_ES_IMAGE`` (default ``elasticsearch:8.19.7``), and removed after the session.
The node starts only when a rule case runs. The fixtures ``sessionwatch_es_url`` and
``sessionwatch_es`` give the same cluster to a project's own tests.

Nothing heavy is imported until a rule file is collected.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from sessionwatch.harness import CaseResult
    from sessionwatch.rules.model import Rule, RuleCase

INI_RULES = "sessionwatch_rules"
INI_COMPOSE = "sessionwatch_compose_file"
RULE_SUFFIXES = (".yml", ".yaml")
DEFAULT_IMAGE = "elasticsearch:8.19.7"
SERVICE = "elasticsearch"
WAIT_SECONDS = float(os.environ.get("SESSIONWATCH_ES_WAIT", "180"))

# Works with the official image and with one built from the minimal distribution.
COMPOSE_TEMPLATE = """\
services:
  elasticsearch:
    image: {image}
    environment:
      - discovery.type=single-node
      - xpack.security.enabled=false
      - xpack.security.http.ssl.enabled=false
      - xpack.security.transport.ssl.enabled=false
      - cluster.routing.allocation.disk.threshold_enabled=false
      - node.store.allow_mmap=false
      - ES_JAVA_OPTS=-Xms512m -Xmx512m -XX:TieredStopAtLevel=1
    ports:
      - "127.0.0.1::9200"
"""


class CaseFailed(Exception):
    """A rule case raised other alerts than it expects."""

    def __init__(self, result: CaseResult) -> None:
        super().__init__(result.case.name)
        self.result = result


class ClusterError(Exception):
    """No Elasticsearch could be used; every rule case fails with this message."""


@dataclass
class Cluster:
    """The session's Elasticsearch, created on first use."""

    url: str | None = None
    client: Elasticsearch | None = None
    failure: str | None = None
    stack: ExitStack = field(default_factory=ExitStack)


_CLUSTER = pytest.StashKey[Cluster]()
_ROOTS = pytest.StashKey[tuple[Path, ...]]()
_SEEN = pytest.StashKey[list["Rule"]]()


_URL_HELP = (
    "Elasticsearch for rule cases (default: $SESSIONWATCH_ES_URL, else a node started by pytest-docker)"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sessionwatch", "sessionwatch rule cases")
    group.addoption(
        "--sessionwatch-rules",
        action="append",
        default=[],
        metavar="PATH",
        help="collect the test cases of the rule files below PATH (repeatable)",
    )
    names = ["--es-url", "--sessionwatch-es-url"]
    try:
        group.addoption(*names, dest="sessionwatch_es_url", default=None, help=_URL_HELP)
    except ValueError:  # another plugin owns --es-url: keep the long name only
        group.addoption(names[1], dest="sessionwatch_es_url", default=None, help=_URL_HELP)
    parser.addini(INI_RULES, type="paths", default=[], help="rules directories whose cases are tests")
    parser.addini(INI_COMPOSE, type="paths", default=[], help="compose file with an 'elasticsearch' service")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_CLUSTER] = Cluster()
    config.stash[_SEEN] = []
    given = [Path(p) for p in config.getoption("sessionwatch_rules")] + list(config.getini(INI_RULES))
    config.stash[_ROOTS] = tuple(path.resolve() for path in given)


def pytest_unconfigure(config: pytest.Config) -> None:
    cluster = config.stash.get(_CLUSTER, None)
    if cluster is not None:
        if cluster.client is not None:
            cluster.client.close()
        cluster.stack.close()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in RULE_SUFFIXES:
        return None
    resolved = file_path.resolve()
    if not any(resolved == root or resolved.is_relative_to(root) for root in parent.config.stash[_ROOTS]):
        return None
    rule_file: pytest.Collector = RuleFile.from_parent(parent, path=file_path)
    return rule_file


def _shown(path: Path) -> Path:
    """``path`` relative to the working directory when inside it (for error messages)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


class RuleFile(pytest.File):
    """A rule file: one test per case, or one failing ``load`` test when it does not load."""

    def collect(self) -> Iterator[pytest.Item]:
        from sessionwatch.rules.errors import RuleErrors
        from sessionwatch.rules.loader import load_rule_file

        try:
            rule = load_rule_file(_shown(self.path))
        except RuleErrors as exc:
            yield RuleLoadItem.from_parent(self, name="load", errors=[str(e) for e in exc.errors])
            return
        for case in rule.tests:
            yield RuleCaseItem.from_parent(self, name=case.name, rule=rule, case=case)
        clashes = _clashes(self.config, rule)
        if clashes:
            yield RuleLoadItem.from_parent(self, name="unique", errors=clashes)


def _clashes(config: pytest.Config, rule: Rule) -> list[str]:
    """Ids and names are unique across the rules collected: clashes with rules collected
    before this one, located in this file and naming the other."""
    from sessionwatch.rules.loader import duplicate_errors

    seen = config.stash[_SEEN]
    errors = duplicate_errors([*seen, rule])
    seen.append(rule)
    here = str(rule.source)
    return [str(e) for e in errors if e.location is not None and e.location.path == here]


class RuleLoadItem(pytest.Item):
    """Fails with located errors: a rule file that does not load, or clashes with another."""

    def __init__(self, *, errors: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.errors = errors

    def runtest(self) -> None:
        raise CaseError("\n".join(self.errors))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | Any:
        if isinstance(excinfo.value, CaseError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, 0, f"{self.path.stem}::{self.name}"  # no dots: pytest reads them as "::"


class CaseError(Exception):
    """A rule file that does not load, or clashes with another."""


class RuleCaseItem(pytest.Item):
    """One case of a rule: replay its fixture into Elasticsearch, compare the alerts."""

    def __init__(self, *, rule: Rule, case: RuleCase, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rule = rule
        self.case = case

    def runtest(self) -> None:
        from sessionwatch.enrichers import ProfileRegistry
        from sessionwatch.harness import run_case

        client = cluster_client(self.config)
        result = run_case(client, self.rule, self.case, ProfileRegistry.discover())
        if not result.passed:
            raise CaseFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | Any:
        error = excinfo.value
        if isinstance(error, CaseFailed):
            result = error.result
            verdict = "could not run" if result.error else "raised other alerts than expected"
            head = f"{self.case.location}: case {self.case.name!r} of rule {self.rule.name!r} {verdict}"
            return "\n".join([head, *(f"    {line}" for line in result.diff())])
        if isinstance(error, ClusterError):
            return f"{self.case.location}: {error}"
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, max(self.case.location.line - 1, 0), f"{self.rule.name}::{self.case.name}"


# --- Elasticsearch ---------------------------------------------------------------------------


def cluster_client(config: pytest.Config) -> Elasticsearch:
    """The session's client; the first call connects (or starts a node)."""
    cluster = config.stash[_CLUSTER]
    if cluster.failure is not None:
        raise ClusterError(cluster.failure)
    if cluster.client is None:
        try:
            cluster.url, cluster.client = _open(config, cluster.stack)
        except ClusterError as exc:
            cluster.failure = str(exc)
            raise
    return cluster.client


def _open(config: pytest.Config, stack: ExitStack) -> tuple[str, Elasticsearch]:
    from sessionwatch.es import ENV_URL, redact_url

    url: str | None = config.getoption("sessionwatch_es_url") or os.environ.get(ENV_URL)
    if url:
        return redact_url(url), _connect(url, deadline=time.monotonic() + 30)
    url = _start_node(config, stack)
    return url, _connect(url, deadline=time.monotonic() + WAIT_SECONDS)


def _connect(url: str, *, deadline: float) -> Elasticsearch:
    """Connect with the one retry policy (``sessionwatch.es``) until ``deadline``."""
    from sessionwatch.rules.errors import ElasticsearchUnavailable
    from sessionwatch.runner.connection import connect_with_retry

    try:
        return connect_with_retry(url, give_up_after=max(0.0, deadline - time.monotonic()))
    except ElasticsearchUnavailable as exc:
        raise ClusterError(str(exc)) from None


def _compose_command() -> str:
    try:
        done = subprocess.run(
            ["docker", "compose", "version"],  # noqa: S607 - docker from PATH, as pytest-docker does
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "docker-compose"
    return "docker compose" if done.returncode == 0 else "docker-compose"


def _start_node(config: pytest.Config, stack: ExitStack) -> str:
    try:
        from pytest_docker.plugin import get_docker_services
    except ImportError:
        raise ClusterError(
            "no Elasticsearch: pass --es-url or set SESSIONWATCH_ES_URL, "
            "or install pytest-docker (pip install 'sessionwatch[pytest]') to start a node"
        ) from None
    compose_files: list[Path] = list(config.getini(INI_COMPOSE))
    if compose_files:
        compose = str(compose_files[0])
    else:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sessionwatch-es-")))
        image = os.environ.get("SESSIONWATCH_ES_IMAGE", "").strip() or DEFAULT_IMAGE
        compose = str(folder / "docker-compose.yml")
        Path(compose).write_text(COMPOSE_TEMPLATE.format(image=image), encoding="utf-8")
    command = _compose_command()
    setup = ["up --build --wait"] if command == "docker compose" else ["up --build -d"]
    project = f"sessionwatch-pytest-{os.getpid()}"
    try:
        services = stack.enter_context(get_docker_services(command, compose, project, setup, ["down -v"]))
        port = services.port_for(SERVICE, 9200)
    except Exception as exc:  # docker missing, image cannot be pulled, compose error, …
        raise ClusterError(
            f"could not start Elasticsearch with {command} ({compose}): {exc}\n"
            "See docs/troubleshooting.md, or pass --es-url to use a running cluster."
        ) from None
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def sessionwatch_es(pytestconfig: pytest.Config) -> Elasticsearch:
    """The cluster the rule cases run against, for a project's own tests."""
    try:
        return cluster_client(pytestconfig)
    except ClusterError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def sessionwatch_es_url(pytestconfig: pytest.Config, sessionwatch_es: Elasticsearch) -> str:
    """Base URL (without credentials) of that cluster."""
    url = pytestconfig.stash[_CLUSTER].url
    assert url is not None
    return url
