#!/usr/bin/env bash
# The tests of `make test` (after lint and typecheck): the whole suite on SESSIONWATCH_ES_VERSION,
# then the compatibility subset (`-m compat`) on ES_COMPAT_VERSION. Each version's node is
# started once (compose project sessionwatch-tests, docker-compose.yml) and shared by the
# parallel workers (pytest-xdist, TEST_WORKERS) and then by the `serial` tests, which run alone.
# Beside it, before pytest starts, the extra nodes some modules need (tests/shared_nodes.py: a
# secured one, one with HTTPS, the fault tests' restartable ones; compose project <project>-nodes,
# docker-compose.security.yml and docker-compose.faults.yml, random ports on 127.0.0.1), so no
# test waits for a node of its own to start. All are removed afterwards (SESSIONWATCH_ES_KEEP=1
# leaves them). With SESSIONWATCH_ES_URL set, that cluster is used and nothing is started (the
# modules then start their extra nodes themselves, and there is no other version for the subset).
# Each extra node is stopped once its modules are done (tests/conftest.py). SESSIONWATCH_TEST_CHECKS=1
# (make test) runs ruff and mypy while the nodes start; SESSIONWATCH_TEST_CPU_LOG=<prefix> records the
# CPU per test and per container (tests/cpu_meter.py, scripts/suite-cpu.py) and prints the table.
# Arguments (test paths, pytest options) narrow the main run to them, and there is no compatibility
# run then. Prints how long the node starts and the tests took.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BIN=.venv/bin
CORES="$(nproc 2>/dev/null || echo 2)"
WORKERS="${TEST_WORKERS:-$((CORES < 3 ? CORES + 1 : 4))}" # as the Makefile: one more than the cores, at most 4
MAIN="${SESSIONWATCH_ES_VERSION:-9.5.0}"
COMPAT="${ES_COMPAT_VERSION:-}"
PROJECT="${SESSIONWATCH_COMPOSE_PROJECT:-sessionwatch-tests}"
started="" certs=""

compose_cli() {
  if docker compose version >/dev/null 2>&1; then
    docker compose "$@"
  else
    docker-compose "$@"
  fi
}

compose() {
  compose_cli -f docker-compose.yml -p "$PROJECT" "$@"
}

# The extra nodes (tests/shared_nodes.py): service elasticsearch-<name> of these two files.
nodes_compose() {
  COMPOSE_PROFILES=tls compose_cli -f docker-compose.security.yml -f docker-compose.faults.yml \
    -p "$PROJECT-nodes" "$@"
}

# The image tests/integration/conftest.py would choose for a version (docs/elasticsearch-in-tests.md).
image_for() {
  local version="$1" image=""
  if [[ "$version" == "$MAIN" && -n "${SESSIONWATCH_ES_IMAGE:-}" ]]; then
    image="$SESSIONWATCH_ES_IMAGE"
  elif [[ -s ".sessionwatch-es-image-$version" ]]; then
    image="$(tr -d '[:space:]' <".sessionwatch-es-image-$version")"
  elif [[ -s .sessionwatch-es-image ]] && grep -q ":$version\$" .sessionwatch-es-image; then
    image="$(tr -d '[:space:]' <.sessionwatch-es-image)"
  fi
  echo "${image:-elasticsearch:$version}"
}

stop_node() {
  if [[ -n "$started" && "${SESSIONWATCH_ES_KEEP:-}" != 1 ]]; then
    compose down -v >/dev/null 2>&1 || true
    nodes_compose down -v >/dev/null 2>&1 || true
  fi
  started=""
  if [[ -n "$certs" && "${SESSIONWATCH_ES_KEEP:-}" != 1 ]]; then rm -rf "$certs"; fi
  certs=""
}
trap stop_node EXIT

# Wait until the node at $1 is yellow; $2: password of elastic (security on), $3: CA file (https).
wait_yellow() {
  NODE_URL="$1" NODE_PASSWORD="${2:-}" NODE_CA="${3:-}" "$BIN/python" - <<'PYTHON'
import base64, os, ssl, sys, time, urllib.request
url = os.environ["NODE_URL"] + "/_cluster/health?wait_for_status=yellow&timeout=1s"
deadline = time.monotonic() + float(os.environ.get("SESSIONWATCH_ES_WAIT", "600"))
request = urllib.request.Request(url)
if os.environ["NODE_PASSWORD"]:
    token = base64.b64encode(f"elastic:{os.environ['NODE_PASSWORD']}".encode())
    request.add_header("Authorization", "Basic " + token.decode())
context = ssl.create_default_context(cafile=os.environ["NODE_CA"]) if os.environ["NODE_CA"] else None
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(request, timeout=5, context=context) as response:
            if response.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.5)
sys.exit(f"Elasticsearch at {os.environ['NODE_URL']} not yellow in time")
PYTHON
}

free_port() {
  "$BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A throw-away CA and a certificate for 127.0.0.1 / localhost (the `tls` node's), in $certs.
make_certificates() {
  certs="$(mktemp -d "${TMPDIR:-/tmp}/sessionwatch-certs.XXXXXX")"
  (
    cd "$certs"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=sessionwatch-test-CA \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
      -keyout ca.key -out ca.crt
    openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout node.key -out node.csr
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
      "keyUsage=digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >ext.cnf
    openssl x509 -req -in node.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
      -extfile ext.cnf -out node.crt
    chmod 644 ./*
  ) >/dev/null 2>&1
  chmod 755 "$certs" # read by the node's non-root user through a bind mount
}

# Start (or recreate, for another image) the node of `version` and the extra nodes named after
# it (secure, tls, faults, restart); export their URLs (tests/shared_nodes.py) and the image.
start_node() {
  local version="$1" t0=$SECONDS port url name upper scheme ca secret password="" services=()
  shift
  export SESSIONWATCH_ES_VERSION="$version"
  SESSIONWATCH_ES_IMAGE="$(image_for "$version")"
  export SESSIONWATCH_ES_IMAGE
  echo "== Elasticsearch $version ($SESSIONWATCH_ES_IMAGE)${*:+, with the extra nodes: $*}"
  started=1
  compose up -d >/dev/null
  port="$(compose port elasticsearch 9200 | tail -n 1)"
  url="http://127.0.0.1:${port##*:}"
  if [[ "${SESSIONWATCH_ES_SECURITY:-}" == true ]]; then password="${ELASTIC_PASSWORD:-changeme}"; fi
  # the suite's node first, then the extra ones: JVMs starting all at once on two busy cores
  # missed the 300 s deadline
  wait_yellow "$url" "$password"
  if [[ -n "$password" ]]; then
    url="http://elastic:${password}@${url#http://}"
  fi
  export SESSIONWATCH_ES_URL="$url"
  if [[ $# -gt 0 ]]; then
    for name in "$@"; do services+=("elasticsearch-$name"); done
    SESSIONWATCH_SECURE_ES_PASSWORD="sw-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
    export SESSIONWATCH_SECURE_ES_PASSWORD
    # random host ports unless given; fixed ones for the nodes the tests restart (a restarted
    # container gets a new random port), free ones picked here
    export SESSIONWATCH_SECURE_ES_PORT="${SESSIONWATCH_SECURE_ES_PORT:-}"
    export SESSIONWATCH_TLS_ES_PORT="${SESSIONWATCH_TLS_ES_PORT:-}"
    SESSIONWATCH_FAULTS_ES_PORT="${SESSIONWATCH_FAULTS_ES_PORT:-$(free_port)}"
    SESSIONWATCH_RESTART_ES_PORT="${SESSIONWATCH_RESTART_ES_PORT:-$(free_port)}"
    export SESSIONWATCH_FAULTS_ES_PORT SESSIONWATCH_RESTART_ES_PORT
    # each extra node is stopped once its modules are done (tests/conftest.py): idle, it still
    # costs CPU; removed with the others at the end
    if [[ "${SESSIONWATCH_ES_KEEP:-}" != 1 ]]; then export SESSIONWATCH_STOP_SHARED_NODES=1; fi
    if [[ " $* " == *" tls "* ]]; then
      make_certificates
      export SESSIONWATCH_TLS_CERTS_DIR="$certs"
    fi
    nodes_compose up -d "${services[@]}" >/dev/null
  fi
  for name in "$@"; do
    upper="$(tr '[:lower:]' '[:upper:]' <<<"$name")"
    port="$(nodes_compose port "elasticsearch-$name" 9200 | tail -n 1)"
    scheme=http ca="" secret=""
    if [[ "$name" == tls ]]; then scheme=https ca="$certs/ca.crt"; fi
    if [[ "$name" == secure || "$name" == tls ]]; then secret="$SESSIONWATCH_SECURE_ES_PASSWORD"; fi
    url="$scheme://127.0.0.1:${port##*:}"
    wait_yellow "$url" "$secret" "$ca"
    export "SESSIONWATCH_${upper}_ES_URL=$url"
    export "SESSIONWATCH_${upper}_ES_CONTAINER=$(nodes_compose ps -q "elasticsearch-$name")"
    if [[ -n "$secret" ]]; then export "SESSIONWATCH_${upper}_ES_PASSWORD=$secret"; fi
    if [[ -n "$ca" ]]; then export "SESSIONWATCH_${upper}_ES_CA_CERTS=$ca"; fi
  done
  echo "== nodes ready after $((SECONDS - t0)) s"
}

# The tests selected by marker expression $1 (and paths after it): in parallel, then the serial
# ones. Each module stays on one worker, and so do the modules that share an extra node
# (--dist loadfile, with the work units of tests/conftest.py).
run_tests() {
  local selection="$1" t0=$SECONDS rc=0
  shift
  cpu_snapshot "$selection start"
  "$BIN/pytest" -n "$WORKERS" --dist loadfile --no-loadscope-reorder -m "($selection) and not serial" "$@" || rc=$?
  if [[ $rc -eq 0 ]]; then
    "$BIN/pytest" -m "($selection) and serial" "$@" || rc=$?
    [[ $rc -eq 5 ]] && rc=0 # no test selected
  fi
  cpu_snapshot "$selection end"
  echo "== tests ($selection) took $((SECONDS - t0)) s"
  return "$rc"
}

# SESSIONWATCH_TEST_CPU_LOG=<prefix>: CPU per test (tests/cpu_meter.py) and the containers' CPU
# around each run (scripts/suite-cpu.py), summed up at the end.
cpu_snapshot() {
  if [[ -n "${SESSIONWATCH_TEST_CPU_LOG:-}" ]]; then
    "$BIN/python" scripts/suite-cpu.py snapshot "$SESSIONWATCH_TEST_CPU_LOG" "$1" || true
  fi
}

# SESSIONWATCH_TEST_CHECKS=1 (make test): ruff and mypy run while the nodes start (before, make
# ran them first: 35 s of mypy on a fresh clone, docs/benchmarks.md, "Issue 15, round 4"); their
# output is printed before the tests, and a failure fails the run.
checks_pid="" checks_log=""
if [[ "${SESSIONWATCH_TEST_CHECKS:-}" == 1 ]]; then
  checks_log="$(mktemp "${TMPDIR:-/tmp}/sessionwatch-checks.XXXXXX")"
  (
    t0=$SECONDS
    "$BIN/ruff" check . && "$BIN/ruff" format --check . && bash scripts/typecheck.sh
    status=$?
    echo "== lint and typecheck took $((SECONDS - t0)) s"
    exit "$status"
  ) >"$checks_log" 2>&1 &
  checks_pid=$!
fi

checks_rc=0
wait_checks() {
  if [[ -n "$checks_pid" ]]; then
    wait "$checks_pid" || checks_rc=$?
    cat "$checks_log"
    rm -f "$checks_log"
    [[ $checks_rc -eq 0 ]] || echo "== lint or typecheck FAILED (exit $checks_rc); the tests run all the same"
  fi
  checks_pid=""
}

if [[ -n "${SESSIONWATCH_ES_URL:-}" ]]; then
  rc=0
  wait_checks
  run_tests "not cluster" "$@" || rc=$?
  echo "SESSIONWATCH_ES_URL is set: no compatibility run${COMPAT:+ on $COMPAT}"
  [[ $rc -ne 0 ]] || rc=$checks_rc
  if [[ -n "${SESSIONWATCH_TEST_CPU_LOG:-}" ]]; then
    "$BIN/python" scripts/suite-cpu.py report "$SESSIONWATCH_TEST_CPU_LOG" || true
  fi
  exit "$rc"
fi
if [[ $# -gt 0 && -n "$COMPAT" ]]; then
  echo "== only $*: no compatibility run on $COMPAT"
  COMPAT=""
fi

# The compatibility subset runs alongside the main run (its own nodes, compose projects
# "$PROJECT-compat" and "$PROJECT-compat-nodes": test_deploy's secured node is the only extra one
# it needs), its output kept in a file and printed when both are done;
# SESSIONWATCH_COMPAT_AFTER=1 runs it afterwards instead.
compat_pid="" compat_log=""
if [[ -n "$COMPAT" && "${SESSIONWATCH_COMPAT_AFTER:-}" != 1 ]]; then
  compat_log="$(mktemp "${TMPDIR:-/tmp}/sessionwatch-compat.XXXXXX")"
  (
    PROJECT="$PROJECT-compat" started="" certs=""
    trap stop_node EXIT # a subshell does not inherit the EXIT trap
    WORKERS="${COMPAT_WORKERS:-2}"
    export SESSIONWATCH_SECURE_ES_PORT="${SESSIONWATCH_COMPAT_SECURE_ES_PORT:-}"
    start_node "$COMPAT" secure
    run_tests "compat" tests/integration
  ) >"$compat_log" 2>&1 &
  compat_pid=$!
fi

t_all=$SECONDS
rc=0
start_node "$MAIN" secure tls faults restart
wait_checks
run_tests "not cluster" "$@" || rc=$?
if [[ -n "$compat_pid" ]]; then
  compat_rc=0
  wait "$compat_pid" || compat_rc=$?
  echo "== compatibility run on $COMPAT (alongside the main run):"
  cat "$compat_log"
  rm -f "$compat_log"
  [[ $rc -ne 0 ]] || rc=$compat_rc
elif [[ -n "$COMPAT" && $rc -eq 0 ]]; then
  stop_node
  start_node "$COMPAT" secure
  run_tests "compat" tests/integration || rc=$?
fi
echo "== node starts and tests took $((SECONDS - t_all)) s"
[[ $rc -ne 0 ]] || rc=$checks_rc
if [[ -n "${SESSIONWATCH_TEST_CPU_LOG:-}" ]]; then
  "$BIN/python" scripts/suite-cpu.py report "$SESSIONWATCH_TEST_CPU_LOG" || true
fi
exit "$rc"
