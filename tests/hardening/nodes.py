"""Elasticsearch nodes the hardening tests start, restart and remove themselves, and a TCP proxy
that stalls or drops connections on demand.

Nodes run from the same image as the integration fixture (``SESSIONWATCH_ES_IMAGE``, else the
file ``.sessionwatch-es-image`` written by ``scripts/setup-test-env.sh``, else the official
``elasticsearch:8.19.7``), published on 127.0.0.1 only, in the port range 19280-19299.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from base64 import b64encode
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_IMAGE = "elasticsearch:8.19.7"
# one per pytest-xdist worker: a worker removing it must not race another one's ``docker run``
NETWORK = "-".join(filter(None, ("sw-hardening-net", os.environ.get("PYTEST_XDIST_WORKER"))))
BASE_SETTINGS = {
    "discovery.type": "single-node",
    "node.store.allow_mmap": "false",
    "cluster.routing.allocation.disk.threshold_enabled": "false",
    "xpack.license.self_generated.type": "basic",
    "ES_JAVA_OPTS": "-Xms512m -Xmx512m -XX:TieredStopAtLevel=1",
}


def image() -> str:
    chosen = os.environ.get("SESSIONWATCH_ES_IMAGE", "").strip()
    choice_file = REPO / ".sessionwatch-es-image"
    if not chosen and choice_file.is_file():
        chosen = choice_file.read_text(encoding="utf-8").strip()
    return chosen or DEFAULT_IMAGE


def docker_problem() -> str | None:
    """Why docker cannot run our nodes here, or None when it can."""
    if shutil.which("docker") is None:
        return "no docker client on this machine"
    probe = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60, check=False)
    if probe.returncode != 0:
        return f"docker engine not reachable: {probe.stderr.strip()[:200]}"
    return None


def _docker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)


@dataclass
class OwnNode:
    """One single-node cluster in a container of its own."""

    port: int
    settings: dict[str, str] = field(default_factory=dict)
    # host path -> container path; writable, since the image's entrypoint chowns its config dir
    volumes: dict[str, str] = field(default_factory=dict)
    scheme: str = "http"
    auth: tuple[str, str] | None = None
    ca_file: str | None = None
    name: str = field(default_factory=lambda: f"sw-hardening-{uuid.uuid4().hex[:8]}")

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self, timeout: float = 180) -> None:
        env = {**BASE_SETTINGS, **self.settings}
        # A network of our own: does not depend on the default bridge (docker0) being present.
        _docker("network", "create", NETWORK)
        args = ["run", "-d", "--name", self.name, "--network", NETWORK, "-p", f"127.0.0.1:{self.port}:9200"]
        for key, value in env.items():
            args += ["-e", f"{key}={value}"]
        for host, inside in self.volumes.items():
            args += ["-v", f"{host}:{inside}"]
        started = _docker(*args, image())
        if started.returncode != 0:
            raise RuntimeError(f"docker run failed: {started.stderr.strip()}")
        self.wait_healthy(timeout)

    def restart(self, *, kill: bool = True) -> None:
        """Stop the node (SIGKILL when ``kill``: no graceful shutdown) and start it again."""
        _docker("restart", "-t", "0" if kill else "10", self.name)

    def wait_healthy(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        seen = "not probed"
        while time.monotonic() < deadline:
            ok, seen = self.health()
            if ok:
                return
            state = _docker("inspect", "-f", "{{.State.Status}}", self.name).stdout.strip()
            if state in ("exited", "dead", ""):
                seen = f"container {state or 'gone'}"
                break
            time.sleep(1.0)
        found = _docker("logs", "--tail", "40", self.name)
        logs = found.stdout + found.stderr
        where = f"node {self.name} at {self.url}"
        raise RuntimeError(f"{where} not healthy after {timeout:.0f} s: {seen}\n{logs}")

    def health(self) -> tuple[bool, str]:
        request = urllib.request.Request(f"{self.url}/_cluster/health?wait_for_status=yellow&timeout=1s")
        if self.auth is not None:
            token = b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        context = ssl.create_default_context(cafile=self.ca_file) if self.scheme == "https" else None
        try:
            with urllib.request.urlopen(request, timeout=5, context=context) as response:
                return response.status == 200, f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            return False, f"HTTP {exc.code}"
        except (OSError, ValueError) as exc:
            return False, f"{type(exc).__name__}: {exc}"

    def remove(self) -> None:
        _docker("rm", "-f", "-v", self.name)
        _docker("network", "rm", NETWORK)  # refused while another of our nodes still uses it

    def exec(self, *command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return _docker("exec", self.name, *command, timeout=timeout)


class FaultyProxy:
    """A TCP proxy on 127.0.0.1 between a client and a node.

    ``mode`` is "pass" (forward), "stall" (hold every byte, both ways, until the mode changes) or
    "drop" (close every open connection and refuse new ones). ``on_request`` is called with the
    first bytes of each client chunk, so a test can react to, say, the first ``POST /_bulk``.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.mode = "pass"
        self.drops = 0
        self.stalls = 0
        self.connections = 0
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self.port = self._server.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopped = False
        self._hooks: list[tuple[bytes, threading.Event]] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_mode(self, mode: str) -> None:
        if mode == "drop" and self.mode != "drop":
            self.drops += 1
            with self._lock:
                for sock in list(self._open):
                    _close(sock)
                self._open.clear()
        if mode == "stall" and self.mode != "stall":
            self.stalls += 1
        self.mode = mode

    def when_seen(self, *prefixes: bytes) -> threading.Event:
        """An event set the first time a client sends a chunk starting with one of ``prefixes``."""
        flag = threading.Event()
        self._hooks += [(prefix, flag) for prefix in prefixes]
        return flag

    def close(self) -> None:
        self._stopped = True
        _close(self._server)
        with self._lock:
            for sock in list(self._open):
                _close(sock)

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self.mode == "drop":
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _close(client)
                continue
            self.connections += 1
            with self._lock:
                self._open.update((client, upstream))
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    def _pipe(self, client: socket.socket, upstream: socket.socket) -> None:
        peers = {client: upstream, upstream: client}
        try:
            while not self._stopped:
                if self.mode == "stall":
                    time.sleep(0.05)
                    continue
                if self.mode == "drop":
                    return
                readable, _, _ = select.select(list(peers), [], [], 0.1)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is client:
                        for prefix, flag in self._hooks:
                            if not flag.is_set() and data.startswith(prefix):
                                flag.set()
                    peers[sock].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                self._open.discard(client)
                self._open.discard(upstream)
            _close(client)
            _close(upstream)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()
