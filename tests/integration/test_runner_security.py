"""The runner on a node with security enabled, as a user holding only the ``sessionwatch_runner``
role that ``sessionwatch deploy --mode runner`` renders: it can do its whole job, webhook
outcome included (created as its own document: the role is create-only on alerts and outcomes).
The node is the ``secure`` one scripts/run-tests.sh started (tests/shared_nodes.py), else this
module's own container (docker), skipped without docker."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from elasticsearch import ApiError, AuthenticationException, Elasticsearch

from sessionwatch.deploy.roles import RUNNER_ROLE
from sessionwatch.indices import ALERTS_INDEX, AUDIT_INDEX, STATE_INDEX, TERMINATIONS_INDEX
from tests.integration.test_runner_support import (
    IDLE_RULE,
    OwnNode,
    alert_keys,
    all_docs,
    cli_env,
    docker_problem,
    events_index,
    fixture_events,
    load,
    run_cli,
    termination_outcomes,
    wait_for,
)
from tests.integration.test_runner_webhook import Receiver, _handler
from tests.shared_nodes import shared_node

PASSWORD = f"pw-{uuid.uuid4().hex}"


def _native_roles(admin: Elasticsearch) -> bool:
    """Whether the cluster can store roles (the minimal distribution cannot create its
    security index, having no analysis-common)."""
    try:
        admin.security.put_role(name="sessionwatch-probe", cluster=["monitor"])
    except ApiError:
        return False
    admin.security.delete_role(name="sessionwatch-probe")
    return True


@pytest.fixture(scope="module")
def node() -> Iterator[OwnNode]:
    shared = shared_node("secure")  # started by scripts/run-tests.sh, reset for this module
    if shared is not None:
        assert shared.password is not None
        yield OwnNode.attach(shared)
        return
    problem = docker_problem()
    if problem:
        pytest.skip(f"the security test starts its own Elasticsearch container: {problem}")
    own = OwnNode(security_password=PASSWORD)
    try:
        own.start()
        yield own
    finally:
        own.remove()


def test_runner_role_is_enough_for_the_runner(node: OwnNode, tmp_path: Path) -> None:
    password = node.password  # of elastic
    assert password is not None
    admin = Elasticsearch(node.url, basic_auth=("elastic", password), request_timeout=30)
    load(admin, events_index(admin, "sessionwatch-events-sec"), fixture_events())
    as_admin = cli_env(node.url, SESSIONWATCH_ES_USERNAME="elastic", SESSIONWATCH_ES_PASSWORD=password)
    runner_password = uuid.uuid4().hex
    if _native_roles(admin):
        deployed = run_cli(["deploy", "--mode", "runner", str(IDLE_RULE)], as_admin, tmp_path)
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        admin.security.put_user(username="sw-runner", password=runner_password, roles=[RUNNER_ROLE])
    else:  # the minimal distribution cannot create its security index: file role, file user
        roles = tmp_path / "roles"
        args = ["deploy", "--mode", "runner", str(IDLE_RULE), "--skip-roles"]
        deployed = run_cli([*args, "--roles-out", str(roles)], as_admin, tmp_path)
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        role = json.loads((roles / f"{RUNNER_ROLE}.json").read_text())
        file_role = {RUNNER_ROLE: {k: role[k] for k in ("cluster", "indices")}}
        node.exec("sh", "-c", "cat > config/roles.yml", stdin=yaml.safe_dump(file_role))
        node.exec("elasticsearch-users", "useradd", "sw-runner", "-p", runner_password, "-r", RUNNER_ROLE)
    runner = Elasticsearch(node.url, basic_auth=("sw-runner", runner_password), request_timeout=30)
    wait_for(  # a file user is picked up within seconds: 401 until then
        lambda: RUNNER_ROLE in runner.security.authenticate()["roles"],
        60,
        "the runner user",
        also=(AuthenticationException,),
    )

    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    webhook_secret = f"Bearer {uuid.uuid4().hex}"
    as_runner = cli_env(
        node.url,
        SESSIONWATCH_ES_USERNAME="sw-runner",
        SESSIONWATCH_ES_PASSWORD=runner_password,
        SESSIONWATCH_WEBHOOK_URL=f"http://127.0.0.1:{server.server_address[1]}/revoke",
        SESSIONWATCH_WEBHOOK_ALLOW_HTTP_LOOPBACK="1",  # plain http to loopback is opt-in
        SESSIONWATCH_WEBHOOK_AUTHORIZATION=webhook_secret,
    )
    try:
        result = run_cli(
            [
                "run",
                "--rules",
                str(IDLE_RULE),
                "--start",
                "2026-03-02T08:00:00Z",
                "--until",
                "2026-03-02T11:00:00Z",
                "--terminate",
                "generic",
                "--give-up-after",
                "30s",
            ],
            as_runner,
            tmp_path,
        )
    finally:
        server.shutdown()
        server.server_close()
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # a refused request shows its status as a number of its own ("HTTP 403 ..."); the digits of
    # the receiver's random port ("127.0.0.1:44033") are not one
    assert re.search(r"(?<!\d)403(?!\d)", output) is None, output
    assert alert_keys(admin, ALERTS_INDEX) == [("sess-a", "a-3"), ("sess-d", "d-3")]
    assert len(receiver.calls) == 2
    alerts = all_docs(admin, ALERTS_INDEX)
    outcomes = termination_outcomes(admin, TERMINATIONS_INDEX)
    assert set(outcomes) == {a["_id"] for a in alerts}
    assert {o["status"] for o in outcomes.values()} == {"delivered"}
    audit = all_docs(admin, AUDIT_INDEX)
    assert len(audit) == 36
    assert {r["outcome"] for r in audit} == {"ok"}
    assert admin.count(index=STATE_INDEX)["count"] == 1
    for secret in (runner_password, password, webhook_secret):
        assert secret not in output
