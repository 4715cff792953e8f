"""``sessionwatch deploy`` against a real node WITH SECURITY ENABLED: the ``secure`` node
scripts/run-tests.sh started (tests/shared_nodes.py), else one this module starts from
docker-compose.security.yml (or ``SESSIONWATCH_SECURE_ES_URL`` + ``SESSIONWATCH_SECURE_ES_PASSWORD``
for an existing one). Deploy runs as ``elastic``; then a user holding only the rendered runner
role shows what the runner can do, and what it cannot."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from elasticsearch import ApiError, AuthorizationException, Elasticsearch

from sessionwatch.bulk import index_documents
from sessionwatch.deploy.roles import CONFIG_INDEX, RUNNER_ROLE
from sessionwatch.enrichers import ProfileRegistry
from sessionwatch.harness import enrich_fixture
from sessionwatch.indices import (
    ALERTS_INDEX,
    AUDIT_INDEX,
    STATE_INDEX,
    TERMINATIONS_INDEX,
    create_events_index,
)
from tests.cli_runner import run_sessionwatch
from tests.shared_nodes import shared_node

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.security.yml"
# scripts/run-tests.sh gives the compatibility run, alongside the main one, a project and port of its own
PROJECT = os.environ.get("SESSIONWATCH_SECURE_COMPOSE_PROJECT", "").strip() or "sessionwatch-security"
IDLE = REPO / "rules" / "pack" / "session_idle_timeout" / "pci-dss-idle-15m.yml"
DEFAULT_PASSWORD = "sessionwatch-secure-test"


@dataclass(frozen=True)
class SecureNode:
    url: str
    password: str
    container: str | None = None  # for file-realm users and file roles

    def client(self, user: str = "elastic", password: str | None = None) -> Elasticsearch:
        return Elasticsearch(self.url, basic_auth=(user, password or self.password), request_timeout=60)


def _compose() -> list[str] | None:
    if shutil.which("docker") is None:
        return None
    if subprocess.run(["docker", "info"], capture_output=True, check=False, timeout=60).returncode != 0:
        return None
    v2 = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False, timeout=60)
    if v2.returncode == 0:
        return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


def _image() -> str:
    image = os.environ.get("SESSIONWATCH_ES_IMAGE", "").strip()
    choice = REPO / ".sessionwatch-es-image"
    if not image and choice.is_file():
        image = choice.read_text(encoding="utf-8").strip()
    return image or "elasticsearch:8.19.7"


def _healthy(url: str, password: str) -> bool:
    request = urllib.request.Request(url + "/_cluster/health?wait_for_status=yellow&timeout=1s")
    token = base64.b64encode(f"elastic:{password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return bool(response.status == 200)
    except (OSError, ValueError):
        return False


@pytest.fixture(scope="module")
def node() -> Iterator[SecureNode]:
    shared = shared_node("secure")  # started by scripts/run-tests.sh, reset for this module
    if shared is not None:
        assert shared.password is not None
        yield SecureNode(shared.url, shared.password, shared.container)
        return
    external = os.environ.get("SESSIONWATCH_SECURE_ES_URL")
    if external:
        yield SecureNode(
            external.rstrip("/"), os.environ.get("SESSIONWATCH_SECURE_ES_PASSWORD", DEFAULT_PASSWORD)
        )
        return
    compose = _compose()
    if compose is None:
        pytest.skip("no docker engine with compose here to start a security-enabled node")
    port = os.environ.get("SESSIONWATCH_SECURE_ES_PORT") or "19222"
    env = {**os.environ, "SESSIONWATCH_ES_IMAGE": _image(), "SESSIONWATCH_SECURE_ES_PORT": port}
    base = [*compose, "-f", str(COMPOSE_FILE), "-p", PROJECT]
    subprocess.run([*base, "down", "-v"], env=env, capture_output=True, check=False, timeout=300)
    up = subprocess.run(
        [*base, "up", "-d"], env=env, capture_output=True, text=True, check=False, timeout=300
    )
    assert up.returncode == 0, up.stdout + up.stderr
    found = subprocess.run(
        [*base, "ps", "-q", "elasticsearch-secure"], env=env, capture_output=True, text=True
    )
    node = SecureNode(f"http://127.0.0.1:{port}", DEFAULT_PASSWORD, found.stdout.strip() or None)
    try:
        deadline = time.monotonic() + 240
        while not _healthy(node.url, node.password):
            if time.monotonic() > deadline:
                logs = subprocess.run(
                    [*base, "logs", "--tail=40"], env=env, capture_output=True, text=True, check=False
                )
                pytest.fail(f"security-enabled node not healthy at {node.url}\n{logs.stdout}{logs.stderr}")
            time.sleep(2)
        yield node
    finally:
        subprocess.run([*base, "down", "-v"], env=env, capture_output=True, check=False, timeout=300)


@pytest.fixture(scope="module")
def native_roles(node: SecureNode) -> bool:
    """Whether roles and users can be stored in the cluster. The minimal distribution cannot
    create its security index (no analysis-common); roles and users then live in files."""
    try:
        node.client().security.put_role(name="sessionwatch-probe", cluster=["monitor"])
    except ApiError:
        return False
    node.client().security.delete_role(name="sessionwatch-probe")
    return True


@pytest.fixture(scope="module")
def role_args(native_roles: bool) -> list[str]:
    return [] if native_roles else ["--skip-roles"]


@pytest.fixture(scope="module")
def managed(native_roles: bool) -> int:
    """Resources a deploy of the two test rules manages: 4 templates (events, alerts, audit,
    terminations), 2 entries, the runner role (the only one, ``--terminate`` included)."""
    return 7 if native_roles else 6


def _deploy(
    node: SecureNode, *args: str, user: str = "elastic", password: str | None = None, cwd: Path
) -> Any:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SESSIONWATCH_ES_")},
        "SESSIONWATCH_ES_URL": node.url,
        "SESSIONWATCH_ES_USERNAME": user,
        "SESSIONWATCH_ES_PASSWORD": password or node.password,
    }
    return run_sessionwatch(["deploy", *args], cwd=cwd, env=env)


def _pack(folder: Path, *rules: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.yml"):
        old.unlink()
    (folder.parent / "fixtures").mkdir(exist_ok=True)
    for rule in rules:
        (folder / f"{rule['name']}.yml").write_text(yaml.safe_dump(rule, sort_keys=False))
    return folder


def _rule(name: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(IDLE.read_text())
    data.update(name=name, id=str(uuid.uuid5(uuid.NAMESPACE_URL, name)), **changes)
    return data


@pytest.fixture(scope="module")
def deployed(
    node: SecureNode, tmp_path_factory: pytest.TempPathFactory, role_args: list[str], native_roles: bool
) -> Path:
    """Two copies of the idle rule deployed (runner mode) as elastic; returns the working folder."""
    work = tmp_path_factory.mktemp("deploy")
    (work / "fixtures").symlink_to(REPO / "fixtures")
    pack = _pack(work / "pack", _rule("idle-a"), _rule("idle-b"))
    first = _deploy(node, str(pack), *role_args, cwd=work)
    assert first.returncode == 0, first.stdout + first.stderr
    assert ("+ role sessionwatch_runner" in first.stdout) is native_roles
    assert "+ index_template sessionwatch-alerts" in first.stdout
    assert "+ runner_rule idle-a" in first.stdout
    return work


def test_second_deploy_changes_nothing_and_says_so(
    node: SecureNode, deployed: Path, role_args: list[str], managed: int
) -> None:
    again = _deploy(node, str(deployed / "pack"), *role_args, cwd=deployed)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1] == f"no changes: {managed} resources up to date"


def test_dry_run_shows_the_diff_and_applies_nothing(
    node: SecureNode, deployed: Path, role_args: list[str], managed: int
) -> None:
    pack = _pack(
        deployed / "pack", _rule("idle-a", version=2, params={"idle_timeout": "20m"}), _rule("idle-b")
    )
    try:
        dry = _deploy(node, str(pack), "--dry-run", *role_args, cwd=deployed)
        assert dry.returncode == 0, dry.stderr
        assert "~ runner_rule idle-a" in dry.stdout
        lines = dry.stdout.splitlines()
        assert any(line.startswith("    -") and '"version": 1' in line for line in lines)
        assert any(line.startswith("    +") and '"version": 2' in line for line in lines)
        assert any(line.startswith("    -") and '"gt": 900' in line for line in lines)
        assert any(line.startswith("    +") and '"gt": 1200' in line for line in lines)
        assert (
            dry.stdout.splitlines()[-1]
            == f"dry run: 0 to add, 1 to change, 0 to remove, {managed - 1} unchanged; nothing applied"
        )
        still = _deploy(node, str(pack), "--dry-run", *role_args, cwd=deployed)
        assert "~ runner_rule idle-a" in still.stdout
        applied = _deploy(node, str(pack), *role_args, cwd=deployed)
        assert (
            applied.stdout.splitlines()[-1]
            == f"applied: 0 to add, 1 to change, 0 to remove, {managed - 1} unchanged"
        )
        record = node.client().get(index=CONFIG_INDEX, id="runner_rule:idle-a")["_source"]
        assert record["body"]["version"] == 2
    finally:
        restored = _deploy(
            node, str(_pack(deployed / "pack", _rule("idle-a"), _rule("idle-b"))), *role_args, cwd=deployed
        )
        assert restored.returncode == 0, restored.stderr


def test_removed_rules_go_only_with_prune(
    node: SecureNode, deployed: Path, role_args: list[str], managed: int
) -> None:
    deprecated = _rule("idle-b", status="deprecated")
    pack = _pack(deployed / "pack", _rule("idle-a"), deprecated)  # deprecated rules are not deployed
    try:
        kept = _deploy(node, str(pack), *role_args, cwd=deployed)
        assert "! runner_rule idle-b  (no longer in the pack; kept: --prune removes it)" in kept.stdout
        assert node.client().exists(index=CONFIG_INDEX, id="runner_rule:idle-b")
        pruned = _deploy(node, str(pack), "--prune", *role_args, cwd=deployed)
        assert "- runner_rule idle-b" in pruned.stdout
        assert (
            pruned.stdout.splitlines()[-1]
            == f"applied: 0 to add, 0 to change, 1 to remove, {managed - 1} unchanged"
        )
        assert not node.client().exists(index=CONFIG_INDEX, id="runner_rule:idle-b")
    finally:
        _deploy(
            node, str(_pack(deployed / "pack", _rule("idle-a"), _rule("idle-b"))), *role_args, cwd=deployed
        )


def test_api_key_file(
    node: SecureNode, deployed: Path, tmp_path: Path, role_args: list[str], managed: int, native_roles: bool
) -> None:
    if not native_roles:
        pytest.skip("API keys live in the security index, which this distribution cannot create")
    key = node.client().security.create_api_key(name="sessionwatch-deploy-test", expiration="1h")
    key_file = tmp_path / "api-key"
    key_file.write_text(key["encoded"] + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONWATCH_ES_")}
    result = run_sessionwatch(
        ["deploy", str(deployed / "pack"), "--es-url", node.url, "--api-key-file", str(key_file)],
        cwd=deployed,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == f"no changes: {managed} resources up to date"
    assert key["encoded"] not in result.stdout + result.stderr


def test_wrong_password_is_an_environment_error(
    node: SecureNode, deployed: Path, role_args: list[str]
) -> None:
    result = _deploy(node, str(deployed / "pack"), password="wrong-password", cwd=deployed)
    assert result.returncode == 2
    assert "HTTP 401" in result.stderr
    assert "Traceback" not in result.stderr
    assert "wrong-password" not in result.stderr


def test_watcher_mode_needs_watcher(node: SecureNode, deployed: Path, role_args: list[str]) -> None:
    if _has_watcher(node):
        pytest.skip("this node has Watcher; watcher-mode deploys are tested in test_watcher_live.py")
    result = _deploy(node, str(deployed / "pack"), "--mode", "watcher", *role_args, cwd=deployed)
    assert result.returncode == 2
    assert "has no usable Watcher" in result.stderr
    assert "use --mode runner" in result.stderr


def _has_watcher(node: SecureNode) -> bool:
    nodes = node.client().nodes.info(metric="plugins")["nodes"]
    return any(m["name"] == "x-pack-watcher" for n in nodes.values() for m in n.get("modules", []))


# --- least privilege -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def runner_user(
    node: SecureNode,
    deployed: Path,
    native_roles: bool,
    role_args: list[str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Elasticsearch]:
    """A user holding only the rendered ``sessionwatch_runner`` role: stored by deploy where the
    cluster can store roles, else written to the node's roles.yml (file realm user)."""
    password = uuid.uuid4().hex
    name = "sw-runner-test"
    if native_roles:
        node.client().security.put_user(username=name, password=password, roles=[RUNNER_ROLE])
    else:
        if node.container is None:
            pytest.skip("an external node that cannot store roles: file roles need the container")
        out = tmp_path_factory.mktemp("roles")
        rendered = _deploy(
            node, str(deployed / "pack"), "--dry-run", "--roles-out", str(out), *role_args, cwd=deployed
        )
        assert rendered.returncode == 0, rendered.stderr
        role = json.loads((out / f"{RUNNER_ROLE}.json").read_text())
        file_role = {k: role[k] for k in ("cluster", "indices")}
        _exec(node, "sh", "-c", "cat > config/roles.yml", stdin=yaml.safe_dump({RUNNER_ROLE: file_role}))
        _exec(node, "elasticsearch-users", "useradd", name, "-p", password, "-r", RUNNER_ROLE)
    client = node.client(name, password)
    deadline = time.monotonic() + 60  # file realms are reloaded every few seconds
    while True:
        try:
            if RUNNER_ROLE in client.security.authenticate()["roles"]:
                break
        except ApiError:
            pass
        assert time.monotonic() < deadline, "runner test user never became usable"
        time.sleep(1)
    yield client
    client.close()
    if native_roles:
        node.client().security.delete_user(username=name)
    else:
        _exec(node, "elasticsearch-users", "userdel", name)


def _exec(node: SecureNode, *command: str, stdin: str | None = None) -> None:
    assert node.container is not None
    result = subprocess.run(
        ["docker", "exec", "-i", "-w", "/usr/share/elasticsearch", node.container, *command],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def indices(node: SecureNode) -> Iterator[dict[str, str]]:
    admin = node.client()
    names = {
        "events": f"sessionwatch-events-sec-{uuid.uuid4().hex[:8]}",
        "other": f"payroll-{uuid.uuid4().hex[:8]}",
    }
    if not admin.indices.exists(index=STATE_INDEX):  # as the runner creates it: no dynamic mapping
        admin.indices.create(index=STATE_INDEX, mappings={"dynamic": False})
    for name in names.values():
        admin.index(index=name, id="1", document={"@timestamp": "2026-03-02T09:00:00Z", "v": 1}, refresh=True)
    yield names
    admin.indices.delete(index=",".join(names.values()), ignore_unavailable=True)


def test_runner_role_can_do_its_job(runner_user: Elasticsearch, indices: dict[str, str]) -> None:
    assert (
        runner_user.search(index="sessionwatch-events-*", query={"match_all": {}})["hits"]["total"]["value"]
        >= 1
    )
    assert (
        runner_user.search(index=CONFIG_INDEX, query={"term": {"kind": "runner_rule"}})["hits"]["total"][
            "value"
        ]
        == 2
    )
    alert = {"@timestamp": "2026-03-02T09:25:00Z", "event": {"kind": "alert", "id": "t-1"}}
    assert runner_user.create(index=ALERTS_INDEX, id="t-1", document=alert)["result"] == "created"
    # a termination outcome is its own document, created once, under the alert's id
    outcome = {
        "@timestamp": "2026-03-02T09:26:00Z",
        "alert": {"id": "t-1"},
        "termination": {"status": "failed"},
    }
    assert runner_user.create(index=TERMINATIONS_INDEX, id="t-1", document=outcome)["result"] == "created"
    # create-only: neither an alert nor an outcome can be changed or overwritten
    for index, doc in ((ALERTS_INDEX, alert), (TERMINATIONS_INDEX, outcome)):
        with pytest.raises(AuthorizationException):
            runner_user.update(index=index, id="t-1", doc={"message": "revoked"})
        with pytest.raises(AuthorizationException):
            runner_user.index(index=index, id="t-1", document={**doc, "message": "overwritten"})
        assert runner_user.mget(index=index, ids=["t-1"])["docs"][0]["found"]
    audit = {"@timestamp": "2026-03-02T10:00:00Z", "outcome": "ok"}
    assert runner_user.create(index=AUDIT_INDEX, id=uuid.uuid4().hex, document=audit)["result"] == "created"
    state = {"type": "rule", "name": "x", "data": {}}
    assert runner_user.index(index=STATE_INDEX, id="rule:x", document=state)["result"] in (
        "created",
        "updated",
    )
    assert runner_user.get(index=STATE_INDEX, id="rule:x")["found"]
    assert runner_user.cluster.health()["status"] in ("green", "yellow")


@pytest.mark.parametrize(
    "attempt",
    [
        "delete_events_index",
        "read_other_index",
        "write_events",
        "change_security",
        "put_index_template",
        "delete_alerts_index",
        "overwrite_audit",
        "read_security_index",
    ],
)
def test_runner_role_cannot_do_more(
    runner_user: Elasticsearch, indices: dict[str, str], attempt: str
) -> None:
    actions = {
        "delete_events_index": lambda: runner_user.indices.delete(index=indices["events"]),
        "read_other_index": lambda: runner_user.search(index=indices["other"]),
        "write_events": lambda: runner_user.index(index=indices["events"], document={"forged": True}),
        "change_security": lambda: runner_user.security.put_role(name="sw-escalate", cluster=["all"]),
        "put_index_template": lambda: runner_user.indices.put_index_template(
            name="sw-x", index_patterns=["sw-x-*"]
        ),
        "delete_alerts_index": lambda: runner_user.indices.delete(index=ALERTS_INDEX),
        "overwrite_audit": lambda: runner_user.index(
            index=AUDIT_INDEX, id="a", document={"outcome": "forged"}
        ),
        "read_security_index": lambda: runner_user.search(index=".security"),
    }
    with pytest.raises(AuthorizationException):
        actions[attempt]()


def test_rendered_role_is_the_enforced_one(
    node: SecureNode, deployed: Path, tmp_path: Path, role_args: list[str], runner_user: Elasticsearch
) -> None:
    result = _deploy(
        node, str(deployed / "pack"), "--dry-run", "--roles-out", str(tmp_path), *role_args, cwd=deployed
    )
    assert result.returncode == 0, result.stderr
    role = json.loads((tmp_path / f"{RUNNER_ROLE}.json").read_text())
    assert role["cluster"] == ["monitor"]
    assert role["indices"][0] == {
        "names": ["sessionwatch-events-*"],
        "privileges": ["read", "view_index_metadata"],
        "allow_restricted_indices": False,  # never system indices, whatever the pattern
    }
    assert runner_user.security.authenticate()["roles"] == [RUNNER_ROLE]
    granted = runner_user.security.has_privileges(
        cluster=["monitor", "manage"],
        index=[{"names": ["sessionwatch-events-x"], "privileges": ["read", "write", "delete_index"]}],
    )
    assert granted["cluster"] == {"monitor": True, "manage": False}
    assert granted["index"]["sessionwatch-events-x"] == {"read": True, "write": False, "delete_index": False}


def test_security_off_cluster_gets_no_roles(es_url: str, tmp_path: Path) -> None:
    """On the plain test cluster (security off) roles are left out, and a dry run changes nothing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONWATCH_ES_")}
    result = run_sessionwatch(["deploy", str(IDLE), "--es-url", es_url, "--dry-run"], cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert (
        "note: security is disabled on this cluster: roles are not applied (see --roles-out)" in result.stdout
    )
    assert "role sessionwatch_runner" not in result.stdout
    assert result.stdout.splitlines()[-1].endswith("nothing applied")


def _alerts_count(admin: Elasticsearch) -> int:
    """Alert documents on the node, every write so far included: earlier tests' alerts may still
    wait for the periodic refresh, and a count does not wait for it."""
    admin.indices.refresh(index="sessionwatch-alerts-*", allow_no_indices=True, ignore_unavailable=True)
    return int(admin.count(index="sessionwatch-alerts-*", allow_no_indices=True)["count"])


def test_simulate_watches_without_watcher(node: SecureNode, deployed: Path, role_args: list[str]) -> None:
    """``--simulate`` dry-runs each watch on the cluster: the licence-free check of a watcher deploy."""
    admin = node.client()
    events = f"sessionwatch-events-sim-{uuid.uuid4().hex[:8]}"
    create_events_index(admin, events)
    docs = enrich_fixture(
        REPO / "fixtures/samples/portal-violations.ndjson", ProfileRegistry.discover(), None
    )
    assert index_documents(admin, events, ((d["sessionwatch"]["event"]["id"], d) for d in docs)).ok
    before = _alerts_count(admin)
    try:
        result = _deploy(
            node, str(IDLE), "--mode", "watcher", "--simulate", "2026-03-02T10:00:00Z", "--terminate", "okta",
            cwd=deployed,
        )  # fmt: skip
        assert result.returncode == 1, result.stdout + result.stderr
        assert result.stdout.splitlines() == [
            "sessionwatch-pci-dss-idle-15m at 2026-03-02T10:00Z: condition met (ctx.payload.hits.total=2)",
            "  index_alerts: 2 alert documents",
            "  terminate_sessions: 2 webhook calls",
            "simulated 1 watches: 2 alerts; nothing applied",
        ]
        assert _alerts_count(admin) == before  # nothing written
    finally:
        admin.indices.delete(index=events)
