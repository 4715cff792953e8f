"""``deploy`` over HTTPS: certificates are verified by default, ``--ca-certs`` names the CA.

The node: the ``tls`` node scripts/run-tests.sh started (tests/shared_nodes.py), else the
``elasticsearch-tls`` service (profile ``tls``) of docker-compose.security.yml, started here with a
throwaway CA and node certificate made by openssl."""

from __future__ import annotations

import base64
import os
import shutil
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_runner import run_sessionwatch
from tests.shared_nodes import shared_node

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.security.yml"
PROJECT = "sessionwatch-tls"
PASSWORD = "sessionwatch-secure-test"
IDLE = REPO / "rules" / "pack" / "session_idle_timeout" / "pci-dss-idle-15m.yml"


def _compose() -> list[str] | None:
    if shutil.which("docker") is None:
        return None
    if subprocess.run(["docker", "info"], capture_output=True, check=False, timeout=60).returncode != 0:
        return None
    if (
        subprocess.run(
            ["docker", "compose", "version"], capture_output=True, check=False, timeout=60
        ).returncode
        == 0
    ):
        return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, check=True, timeout=60)


def _certificates(folder: Path) -> None:
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=sw test CA",
             "-keyout", "ca.key", "-out", "ca.crt", cwd=folder)  # fmt: skip
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "node.key",
             "-out", "node.csr", cwd=folder)  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("x509", "-req", "-in", "node.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "2", "-extfile", "san.ext", "-out", "node.crt", cwd=folder)  # fmt: skip
    for name in ("ca.crt", "node.crt", "node.key"):
        (folder / name).chmod(0o644)  # read by the node's non-root user; throwaway key


def _healthy(url: str, ca: Path) -> bool:
    context = ssl.create_default_context(cafile=str(ca))
    request = urllib.request.Request(url + "/_cluster/health")
    token = base64.b64encode(f"elastic:{PASSWORD}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=5, context=context) as response:
            return bool(response.status == 200)
    except (OSError, ValueError):
        return False


@pytest.fixture(scope="module")
def tls_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, str]]:
    """(URL, CA certificate, password of elastic) of a node with HTTPS."""
    shared = shared_node("tls")  # started by scripts/run-tests.sh, reset for this module
    if shared is not None:
        assert shared.password is not None
        assert shared.ca_certs is not None
        yield shared.url, Path(shared.ca_certs), shared.password
        return
    compose = _compose()
    if compose is None:
        pytest.skip("no docker engine with compose here to start a TLS node")
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot make the test certificates")
    certs = tmp_path_factory.mktemp("certs")
    certs.chmod(0o755)
    _certificates(certs)
    port = os.environ.get("SESSIONWATCH_TLS_ES_PORT") or "19223"
    image = os.environ.get("SESSIONWATCH_ES_IMAGE", "").strip()
    choice = REPO / ".sessionwatch-es-image"
    if not image and choice.is_file():
        image = choice.read_text(encoding="utf-8").strip()
    env = {
        **os.environ,
        "SESSIONWATCH_ES_IMAGE": image or "elasticsearch:8.19.7",
        "SESSIONWATCH_TLS_ES_PORT": port,
        "SESSIONWATCH_TLS_CERTS_DIR": str(certs),
        "COMPOSE_PROFILES": "tls",
    }
    base = [*compose, "-f", str(COMPOSE_FILE), "-p", PROJECT]
    up = subprocess.run(
        [*base, "up", "-d", "elasticsearch-tls"], env=env, capture_output=True, text=True, check=False
    )
    assert up.returncode == 0, up.stdout + up.stderr
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while not _healthy(url, certs / "ca.crt"):
            if time.monotonic() > deadline:
                logs = subprocess.run(
                    [*base, "logs", "--tail=40"], env=env, capture_output=True, text=True, check=False
                )
                pytest.fail(f"TLS node not healthy at {url}\n{logs.stdout}{logs.stderr}")
            time.sleep(2)
        yield url, certs / "ca.crt", PASSWORD
    finally:
        subprocess.run([*base, "down", "-v"], env=env, capture_output=True, check=False, timeout=300)


def _deploy(node: tuple[str, Path, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    url, _, password = node
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONWATCH_ES_")}
    env.update(SESSIONWATCH_ES_USERNAME="elastic", SESSIONWATCH_ES_PASSWORD=password)
    return run_sessionwatch(["deploy", str(IDLE), "--es-url", url, "--skip-roles", *args], cwd=cwd, env=env)


def test_unknown_ca_is_refused(tls_node: tuple[str, Path, str], tmp_path: Path) -> None:
    result = _deploy(tls_node, "--dry-run", cwd=tmp_path)
    assert result.returncode == 2
    assert "unreachable" in result.stderr
    assert "Traceback" not in result.stderr


def test_ca_certs_option_verifies_the_node(tls_node: tuple[str, Path, str], tmp_path: Path) -> None:
    _, ca, _ = tls_node
    first = _deploy(tls_node, "--ca-certs", str(ca), cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "+ runner_rule pci-dss-idle-15m" in first.stdout
    again = _deploy(tls_node, "--ca-certs", str(ca), cwd=tmp_path)
    # 4 index templates (events, alerts, audit, terminations) and 1 runner entry
    assert again.stdout.splitlines()[-1] == "no changes: 5 resources up to date"
