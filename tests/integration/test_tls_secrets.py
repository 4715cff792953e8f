"""TLS verification on by default, and secrets that never show.

The node has security on and HTTPS from a throw-away CA: the ``tls`` node scripts/run-tests.sh
started (tests/shared_nodes.py), else one this module starts (port 19281).
Every command that talks to Elasticsearch is run with recognisable secrets (passwords in the
URL, in the environment, in ``*_FILE`` files, an API key), on success and failure paths, and
every output — stdout, stderr, written files, the documents sessionwatch indexed — is searched
for them. Least-privilege role tests (what each deployed role may not do) belong to ``deploy``:
see docs/reliability.md.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from elasticsearch import ApiError, Elasticsearch

from sessionwatch.es import connect
from sessionwatch.rules.errors import ElasticsearchUnavailable
from tests.cli_runner import run_sessionwatch
from tests.hardening.nodes import OwnNode, docker_problem
from tests.shared_nodes import shared_node

PORT = 19281
CLOSED_PORT = 19289  # nothing listens here
REPO = Path(__file__).resolve().parents[2]
IDLE_RULE = REPO / "rules/pack/session_idle_timeout/pci-dss-idle-15m.yml"
CERTS_IN_NODE = "/usr/share/elasticsearch/config/certs"
USER = "sw_tester"


@dataclass(frozen=True)
class Secure:
    node: OwnNode
    ca: Path
    password: str  # of USER
    api_key: str  # encoded (what SESSIONWATCH_ES_API_KEY holds)
    api_key_secret: str  # the secret half inside it
    elastic_password: str
    api_key_works: bool  # False where the node cannot create API keys (minimal distribution)

    @property
    def secrets(self) -> dict[str, str]:
        basic = base64.b64encode(f"{USER}:{self.password}".encode()).decode()
        return {
            "password": self.password,
            "elastic password": self.elastic_password,
            "api key": self.api_key,
            "api key secret": self.api_key_secret,
            "basic auth header": basic,
        }


def make_certificates(folder: Path) -> None:
    """A CA and a node certificate for 127.0.0.1 / localhost (openssl on the host)."""

    def openssl(command: str) -> None:
        subprocess.run(["openssl", *command.split()], cwd=folder, check=True, capture_output=True, timeout=60)

    openssl(
        "req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=sessionwatch-test-CA"
        " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign"
        " -keyout ca.key -out ca.crt"
    )
    openssl("req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout node.key -out node.csr")
    (folder / "ext.cnf").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
    )
    openssl(
        "x509 -req -in node.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2"
        " -extfile ext.cnf -out node.crt"
    )
    for path in folder.iterdir():
        path.chmod(0o644)
    folder.chmod(0o755)  # read by the node's non-root user through a bind mount


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secure]:
    if shutil.which("openssl") is None:
        pytest.skip("the TLS tests make their CA with the openssl command, which is not installed")
    shared = shared_node("tls")  # started by scripts/run-tests.sh, reset for this module
    if shared is not None:
        assert shared.password is not None
        assert shared.ca_certs is not None
        node = OwnNode(
            shared.port,
            scheme="https",
            auth=("elastic", shared.password),
            ca_file=shared.ca_certs,
            name=shared.container,
        )
        yield _prepared(node, Path(shared.ca_certs), shared.password)
        return
    problem = docker_problem()
    if problem:
        pytest.skip(f"TLS tests start their own Elasticsearch container: {problem}")
    certs = tmp_path_factory.mktemp("certs")
    make_certificates(certs)
    elastic_password = f"Sw-Elastic-{uuid.uuid4().hex}"
    node = OwnNode(
        PORT,
        settings={
            "xpack.security.enabled": "true",
            "xpack.security.http.ssl.enabled": "true",
            "xpack.security.http.ssl.key": f"{CERTS_IN_NODE}/node.key",
            "xpack.security.http.ssl.certificate": f"{CERTS_IN_NODE}/node.crt",
            "xpack.security.http.ssl.certificate_authorities": f"{CERTS_IN_NODE}/ca.crt",
            "xpack.security.transport.ssl.enabled": "false",
            "ELASTIC_PASSWORD": elastic_password,
        },
        volumes={str(certs): CERTS_IN_NODE},
        scheme="https",
        auth=("elastic", elastic_password),
        ca_file=str(certs / "ca.crt"),
    )
    try:
        node.start()
        yield _prepared(node, certs / "ca.crt", elastic_password)
    finally:
        node.remove()


def _prepared(node: OwnNode, ca: Path, elastic_password: str) -> Secure:
    """The test user and API key on a running ``node``."""
    password = f"Sw-Pass-{uuid.uuid4().hex}"
    # a file-realm user: the minimal distribution cannot create the .security index that
    # native users and API keys live in (it lacks analysis-common), the official one can
    added = node.exec("bin/elasticsearch-users", "useradd", USER, "-p", password, "-r", "superuser")
    assert added.returncode == 0, added.stderr
    admin = Elasticsearch(node.url, ca_certs=str(ca), basic_auth=("elastic", elastic_password))
    _wait_for_user(node, ca, password)
    try:
        key = admin.security.create_api_key(name="sw-hardening")
        api_key, secret, works = key["encoded"], key["api_key"], True
    except ApiError:  # no .security index here: a well-formed key the node will refuse
        secret = f"Sw-ApiKey-{uuid.uuid4().hex}"
        api_key, works = base64.b64encode(f"swfakekeyid:{secret}".encode()).decode(), False
    return Secure(node, ca, password, api_key, secret, elastic_password, works)


def _wait_for_user(node: OwnNode, ca: Path, password: str) -> None:
    """The file realm reloads its users file every few seconds."""
    client = Elasticsearch(node.url, ca_certs=str(ca), basic_auth=(USER, password))
    for _ in range(60):
        try:
            client.security.authenticate()
            return
        except ApiError:
            time.sleep(1)
    raise AssertionError(f"user {USER} never became usable")


# --- TLS -----------------------------------------------------------------------------------------


def small_events(folder: Path) -> Path:
    path = folder / "events.ndjson"
    lines = [
        {
            "@timestamp": "2026-03-02T09:00:00Z",
            "event": {"id": "e1", "action": "login"},
            "session": {"id": "s"},
        },
        {
            "@timestamp": "2026-03-02T09:01:00Z",
            "event": {"id": "e2", "action": "view"},
            "session": {"id": "s"},
        },
        {
            "@timestamp": "2026-03-02T09:30:00Z",
            "event": {"id": "e3", "action": "view"},
            "session": {"id": "s"},
        },
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def sessionwatch(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONWATCH_ES_")}
    return run_sessionwatch(args, cwd=cwd, env={**clean, **env}, timeout=180)


def detect_args(secure: Secure, events: Path) -> list[str]:
    return ["detect", "--events", str(events), "--rules", str(IDLE_RULE), "--es-url", secure.node.url]


def test_tls_is_verified_by_default(secure: Secure, tmp_path: Path) -> None:
    events = small_events(tmp_path)
    creds = {"SESSIONWATCH_ES_USERNAME": USER, "SESSIONWATCH_ES_PASSWORD": secure.password}
    refused = sessionwatch(detect_args(secure, events), creds, tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert not crashed(refused.stderr)
    assert "Traceback" not in refused.stderr
    assert "certificate" in refused.stderr.lower() or "tls" in refused.stderr.lower(), refused.stderr
    assert refused.stdout == ""

    with_flag = sessionwatch([*detect_args(secure, events), "--ca-certs", str(secure.ca)], creds, tmp_path)
    assert with_flag.returncode == 1, with_flag.stderr  # one alert: e3 after a 29-minute gap
    assert [
        json.loads(x)["sessionwatch"]["evidence"]["event_ids"] for x in with_flag.stdout.splitlines()
    ] == [["e3"]]
    with_env = sessionwatch(
        detect_args(secure, events), {**creds, "SESSIONWATCH_ES_CA_CERTS": str(secure.ca)}, tmp_path
    )
    assert with_env.returncode == 1, with_env.stderr
    assert with_env.stdout == with_flag.stdout


def test_tls_verification_in_the_library(secure: Secure, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [k for k in os.environ if k.startswith("SESSIONWATCH_ES_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SESSIONWATCH_ES_USERNAME", USER)
    monkeypatch.setenv("SESSIONWATCH_ES_PASSWORD", secure.password)
    with pytest.raises(ElasticsearchUnavailable) as caught:
        connect(secure.node.url, request_timeout=10)
    assert secure.password not in str(caught.value)
    client = connect(secure.node.url, ca_certs=str(secure.ca), request_timeout=10)
    assert client.cluster.health()["status"] in ("green", "yellow")


def test_a_different_ca_is_refused(secure: Secure, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    make_certificates(other)
    result = sessionwatch(
        [*detect_args(secure, small_events(tmp_path)), "--ca-certs", str(other / "ca.crt")],
        {"SESSIONWATCH_ES_USERNAME": USER, "SESSIONWATCH_ES_PASSWORD": secure.password},
        tmp_path,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr


# --- secrets ---------------------------------------------------------------------------------------


def credential_variants(secure: Secure, folder: Path) -> dict[str, tuple[str, dict[str, str]]]:
    """name -> (URL, environment): every way sessionwatch takes credentials that should work."""
    password_file = folder / "password"
    password_file.write_text(secure.password + "\n")
    key_file = folder / "api-key"
    key_file.write_text(secure.api_key + "\n")
    ca = {"SESSIONWATCH_ES_CA_CERTS": str(secure.ca)}
    user = {**ca, "SESSIONWATCH_ES_USERNAME": USER}
    variants = {
        "password in URL": (f"https://{USER}:{secure.password}@127.0.0.1:{secure.node.port}", ca),
        "password in env": (secure.node.url, {**user, "SESSIONWATCH_ES_PASSWORD": secure.password}),
        "password file": (secure.node.url, {**user, "SESSIONWATCH_ES_PASSWORD_FILE": str(password_file)}),
        "api key in env": (secure.node.url, {**ca, "SESSIONWATCH_ES_API_KEY": secure.api_key}),
        "api key file": (secure.node.url, {**ca, "SESSIONWATCH_ES_API_KEY_FILE": str(key_file)}),
    }
    return variants


def working(secure: Secure, variant: str) -> bool:
    return secure.api_key_works or not variant.startswith("api key")


def failing_variants(secure: Secure) -> dict[str, tuple[str, dict[str, str]]]:
    """Error paths, where a careless message would quote the URL or the credentials."""
    ca = {"SESSIONWATCH_ES_CA_CERTS": str(secure.ca)}
    return {
        "wrong password in URL": (f"https://{USER}:{secure.password}x@127.0.0.1:{secure.node.port}", ca),
        "wrong api key": (secure.node.url, {**ca, "SESSIONWATCH_ES_API_KEY": secure.api_key[:-4] + "AAAA"}),
        "closed port, password in URL": (f"https://{USER}:{secure.password}@127.0.0.1:{CLOSED_PORT}", ca),
        "no CA, password in URL": (f"https://{USER}:{secure.password}@127.0.0.1:{secure.node.port}", {}),
    }


INVENTORY = "sessionwatch-inventory-hardening"  # created empty by the secret_runs fixture
RUN_WINDOW = "--start 2026-03-02T08:00:00Z --until 2026-03-02T11:00:00Z --log-level DEBUG --give-up-after 5s"


def commands(url: str, events: Path, out: Path) -> dict[str, list[str]]:
    """Every command that talks to Elasticsearch, with the options that make it write files."""
    rule = str(IDLE_RULE)
    return {
        "detect --events": ["detect", "--events", str(events), "--rules", rule, "--es-url", url],
        "detect --index": ["detect", "--index", "sessionwatch-events-*", "--rules", rule, "--es-url", url],
        "test (SARIF report)": ["test", rule, "--es-url", url, "--report", str(out / "test.sarif")],
        "test (JUnit report)": ["test", rule, "--es-url", url, "--report", str(out / "test.xml")],
        "deploy --dry-run": ["deploy", rule, "--es-url", url, "--dry-run"],
        # roles are written to files only: the minimal distribution cannot store native roles
        "deploy": [
            *("deploy", rule, "--es-url", url, "--skip-roles", "--roles-out", str(out / "roles")),
            *("--kibana-out", str(out / "kibana.ndjson")),
        ],
        "run --until": ["run", "--rules", rule, "--es-url", url, *RUN_WINDOW.split()],
        "enrich --inventory-index": [
            *("enrich", str(events), "-o", str(out / "enriched.ndjson"), "--es-url", url),
            *("--inventory-index", INVENTORY),
        ],
    }


def crashed(stderr: str) -> bool:
    """An exception escaped: a traceback that ends the output (``--log-level DEBUG`` output may
    hold logged tracebacks of retried requests; those end in a handled, one-line error)."""
    lines = stderr.strip().splitlines()
    return "Traceback (most recent call last)" in stderr and bool(
        lines and re.match(r"^[\w.]+(Error|Exception)\b", lines[-1])
    )


def leaks(secure: Secure, text: str) -> list[str]:
    return [name for name, value in secure.secrets.items() if value in text]


def written_text(folder: Path) -> str:
    return "\n".join(
        path.read_text(encoding="utf-8", errors="replace")
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    )


Run = tuple[str, str, subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def secret_runs(secure: Secure, tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Run], Path]:
    """Every command with every way of passing credentials, and the error paths; run once."""
    folder = tmp_path_factory.mktemp("secrets")
    events = small_events(folder)
    admin = Elasticsearch(
        secure.node.url, ca_certs=str(secure.ca), basic_auth=("elastic", secure.elastic_password)
    )
    admin.indices.create(index=INVENTORY)
    runs: list[Run] = []
    variants = credential_variants(secure, folder)
    for variant, (url, env) in variants.items():
        # every command with credentials in the URL; the commands that connect first with the others
        chosen = commands(url, events, folder / "out" / variant.replace(" ", "-"))
        if variant != "password in URL":
            chosen = {k: v for k, v in chosen.items() if k in ("detect --events", "run --until")}
        (folder / "out" / variant.replace(" ", "-")).mkdir(parents=True, exist_ok=True)
        for name, args in chosen.items():
            runs.append((variant, name, sessionwatch(args, env, folder)))
    for variant, (url, env) in failing_variants(secure).items():
        for name in ("detect --events", "run --until", "deploy --dry-run"):
            args = commands(url, events, folder / "out" / variant.replace(" ", "-"))[name]
            runs.append((variant, name, sessionwatch(args, env, folder)))
    return runs, folder / "out"


def test_secrets_never_appear_in_outputs(secure: Secure, secret_runs: tuple[list[Run], Path]) -> None:
    runs, out = secret_runs
    problems = []
    for variant, name, result in runs:
        found = leaks(secure, result.stdout + result.stderr)
        if found:
            problems.append(f"{name} [{variant}] printed {found}")
        if crashed(result.stderr):
            problems.append(f"{name} [{variant}] crashed: {result.stderr.strip().splitlines()[-1]}")
    found = leaks(secure, written_text(out))
    if found:
        problems.append(f"written files hold {found}")
    assert not problems, "\n".join(problems)


def test_credential_variants_work_and_failures_are_reported(
    secure: Secure, secret_runs: tuple[list[Run], Path]
) -> None:
    """The success paths did work (a silent failure would hide nothing); failures exit 2."""
    runs, _ = secret_runs
    codes = {(variant, name): result.returncode for variant, name, result in runs}
    print(json.dumps({f"{v} / {n}": c for (v, n), c in codes.items()}, indent=1))
    for variant in credential_variants(secure, Path(tempfile.mkdtemp())):
        if working(secure, variant):
            assert codes[(variant, "detect --events")] == 1, variant  # the one alert of small_events()
            assert codes[(variant, "run --until")] == 0, variant
        else:  # refused by the node: reported, exit 2
            assert codes[(variant, "detect --events")] == 2, variant
    url_runs = {name: code for (variant, name), code in codes.items() if variant == "password in URL"}
    assert {name: code for name, code in url_runs.items() if code not in (0, 1)} == {}
    failing = {key: code for key, code in codes.items() if key[0] in failing_variants(secure)}
    assert {key: code for key, code in failing.items() if code != 2} == {}


def test_secrets_never_reach_stored_documents(secure: Secure, secret_runs: tuple[list[Run], Path]) -> None:
    """Alerts, audit records, checkpoints, deployed objects: nothing sessionwatch stored holds a secret."""
    admin = Elasticsearch(
        secure.node.url, ca_certs=str(secure.ca), basic_auth=("elastic", secure.elastic_password)
    )
    indices = admin.indices.get(index="sessionwatch-*,.sessionwatch-*", expand_wildcards="all")
    assert indices, "the commands stored nothing: the check would be empty"
    stored = []
    for index in indices:
        hits = admin.search(index=index, size=1000, query={"match_all": {}})["hits"]["hits"]
        stored += [json.dumps(hit["_source"]) for hit in hits]
    templates = json.dumps(admin.indices.get_index_template().body)
    roles = json.dumps(admin.security.get_role().body)
    assert not leaks(secure, "\n".join([*stored, templates, roles]))


def test_missing_inventory_index_is_a_clean_error(secure: Secure, tmp_path: Path) -> None:
    result = sessionwatch(
        [
            *("enrich", str(small_events(tmp_path)), "-o", str(tmp_path / "out.ndjson")),
            *("--inventory-index", "sessionwatch-inventory-missing", "--es-url", secure.node.url),
        ],
        {
            "SESSIONWATCH_ES_CA_CERTS": str(secure.ca),
            "SESSIONWATCH_ES_USERNAME": USER,
            "SESSIONWATCH_ES_PASSWORD": secure.password,
        },
        tmp_path,
    )
    assert "Traceback" not in result.stderr
    assert result.returncode == 2
    assert "sessionwatch-inventory-missing" in result.stderr
    assert secure.password not in result.stderr
