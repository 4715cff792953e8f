"""The extra Elasticsearch nodes ``scripts/run-tests.sh`` starts once, before pytest, besides the
suite's own node, so that no test module spends its time starting a node of its own.

========  =======================================  ===========================================
name      what it is                               used by (one module at a time)
========  =======================================  ===========================================
secure    security on, plain HTTP                  test_deploy.py, then test_runner_security.py
tls       security on, HTTPS from a throw-away CA  test_tls_secrets.py, then test_deploy_tls.py
faults    write thread pool of one, queue of one   test_faults.py (restarts it)
restart   plain                                    test_runner_node_restart.py (restarts it)
========  =======================================  ===========================================

Once the last module of a node is done, the node is stopped (``release``, called from
tests/conftest.py when ``SESSIONWATCH_STOP_SHARED_NODES=1``, which the script sets unless
``SESSIONWATCH_ES_KEEP=1``): an idle node still costs CPU, and the suite is CPU-bound (about a
tenth of a core each, docs/benchmarks.md, "Issue 15, round 4").

The script exports, per node, ``SESSIONWATCH_<NAME>_ES_URL`` (no credentials) and
``SESSIONWATCH_<NAME>_ES_CONTAINER`` (for ``docker exec`` / ``docker restart``), and for the
secured ones ``SESSIONWATCH_<NAME>_ES_PASSWORD`` (of ``elastic``) and, for ``tls``,
``SESSIONWATCH_TLS_ES_CA_CERTS``. The modules sharing a node run on one pytest-xdist worker, one
after the other (``SHARED_NODE_GROUPS``, tests/conftest.py), and each first ``reset``s the node to
what a fresh one holds. Without the variables (a plain ``pytest`` run) each module starts a node
of its own, as before.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from elasticsearch import ApiError, Elasticsearch, NotFoundError

# module (relative to tests/) -> the shared node it uses; the modules of one node form one
# pytest-xdist group (tests/conftest.py), so they never run at the same time
SHARED_NODE_GROUPS = {
    "integration/test_deploy.py": "secure",
    "integration/test_runner_security.py": "secure",
    "integration/test_tls_secrets.py": "tls",
    "integration/test_deploy_tls.py": "tls",
    "integration/test_faults.py": "faults",
    "integration/test_runner_node_restart.py": "restart",
}


@dataclass(frozen=True)
class SharedNode:
    """A node started by scripts/run-tests.sh (see the module docstring)."""

    name: str
    url: str
    container: str
    password: str | None = None  # of ``elastic``; None: security off
    ca_certs: str | None = None  # https: the CA that signed the node's certificate

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1].split("/", 1)[0])

    def client(self, **options: Any) -> Elasticsearch:
        if self.password is not None:
            options.setdefault("basic_auth", ("elastic", self.password))
        if self.ca_certs:
            options.setdefault("ca_certs", self.ca_certs)
        return Elasticsearch(self.url, request_timeout=60, **options)

    def docker_exec(self, *command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker", "exec", "-w", "/usr/share/elasticsearch", self.container, *command],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def shared_node(name: str) -> SharedNode | None:
    """The shared node ``name`` if scripts/run-tests.sh started it (and it answers), else None."""
    prefix = f"SESSIONWATCH_{name.upper()}_ES_"
    url = os.environ.get(prefix + "URL", "").strip().rstrip("/")
    container = os.environ.get(prefix + "CONTAINER", "").strip()
    if not url or not container:
        return None
    node = SharedNode(
        name,
        url,
        container,
        password=os.environ.get(prefix + "PASSWORD") or None,
        ca_certs=os.environ.get(prefix + "CA_CERTS") or None,
    )
    reset(node)
    return node


def release(name: str) -> bool:
    """Stop the shared node ``name`` (its modules are done) if scripts/run-tests.sh started it and
    asked for it (``SESSIONWATCH_STOP_SHARED_NODES=1``); the script removes it at the end as before.
    True if it was stopped."""
    container = os.environ.get(f"SESSIONWATCH_{name.upper()}_ES_CONTAINER", "").strip()
    if not container or os.environ.get("SESSIONWATCH_STOP_SHARED_NODES", "").strip() != "1":
        return False
    stopped = subprocess.run(
        ["docker", "stop", "-t", "0", container], capture_output=True, text=True, timeout=120, check=False
    )
    return stopped.returncode == 0


def reset(node: SharedNode, timeout: float = 120) -> None:
    """Make ``node`` look fresh to the next module: no index but the node's own (dot) ones, no
    sessionwatch template, no user or role a test added (native or in the file realm)."""
    client = node.client()
    _wait_until_yellow(client, timeout)
    rows = client.cat.indices(h="index", expand_wildcards="all", format="json").body
    assert isinstance(rows, list)
    indices = sorted(
        row["index"]
        for row in rows
        if not row["index"].startswith(".") or row["index"].startswith(".sessionwatch")
    )
    for start in range(0, len(indices), 50):  # by name: the node refuses wildcard deletes
        client.indices.delete(index=",".join(indices[start : start + 50]), expand_wildcards="all")
    try:
        templates = client.indices.get_index_template(name="*").body["index_templates"]
    except NotFoundError:  # none at all
        templates = []
    for template in templates:
        if template["name"].startswith(("sessionwatch", "sw-")):
            client.indices.delete_index_template(name=template["name"])
    if node.password is not None:
        _drop_security_additions(node, client)
    client.close()


def _drop_security_additions(node: SharedNode, client: Elasticsearch) -> None:
    try:  # native users and roles: only where the node can store them (not the integ-test zip)
        for user, body in client.security.get_user().body.items():
            if not body.get("metadata", {}).get("_reserved"):
                client.security.delete_user(username=user)
        for role, body in client.security.get_role().body.items():
            if not body.get("metadata", {}).get("_reserved"):
                client.security.delete_role(name=role)
    except ApiError:
        pass
    # the file realm's files, emptied in one go (elasticsearch-users would start a JVM per user)
    emptied = node.docker_exec(
        "sh", "-c", ": > config/users && : > config/users_roles && : > config/roles.yml"
    )
    assert emptied.returncode == 0, emptied.stderr


def _wait_until_yellow(client: Elasticsearch, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.cluster.health(wait_for_status="yellow", timeout="1s")
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
