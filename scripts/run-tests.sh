#!/usr/bin/env bash
# The tests of `make test` (after lint and typecheck): the whole suite on SESSIONWATCH_ES_VERSION,
# then the compatibility subset (`-m compat`) on ES_COMPAT_VERSION. Each version's node is
# started once (compose project sessionwatch-tests, docker-compose.yml) and shared by the
# parallel workers (pytest-xdist, TEST_WORKERS) and then by the `serial` tests, which run alone;
# it is removed afterwards (SESSIONWATCH_ES_KEEP=1 leaves it). With SESSIONWATCH_ES_URL set,
# that cluster is used and nothing is started (and there is no other version to run the subset on).
# Prints how long the node start and the tests took.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BIN=.venv/bin
WORKERS="${TEST_WORKERS:-2}"
MAIN="${SESSIONWATCH_ES_VERSION:-9.5.0}"
COMPAT="${ES_COMPAT_VERSION:-}"
PROJECT="${SESSIONWATCH_COMPOSE_PROJECT:-sessionwatch-tests}"
started=""

compose() {
  if docker compose version >/dev/null 2>&1; then
    docker compose -f docker-compose.yml -p "$PROJECT" "$@"
  else
    docker-compose -f docker-compose.yml -p "$PROJECT" "$@"
  fi
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
  fi
  started=""
}
trap stop_node EXIT

# Start (or recreate, for another image) the node of `version`; export its URL and image.
start_node() {
  local version="$1" t0=$SECONDS port url
  export SESSIONWATCH_ES_VERSION="$version"
  SESSIONWATCH_ES_IMAGE="$(image_for "$version")"
  export SESSIONWATCH_ES_IMAGE
  echo "== Elasticsearch $version ($SESSIONWATCH_ES_IMAGE)"
  compose up -d >/dev/null
  started=1
  port="$(compose port elasticsearch 9200 | tail -n 1)"
  url="http://127.0.0.1:${port##*:}"
  SESSIONWATCH_ES_URL="$url" "$BIN/python" - <<'EOF'
import os, sys, time, urllib.request
url = os.environ["SESSIONWATCH_ES_URL"] + "/_cluster/health?wait_for_status=yellow&timeout=1s"
deadline = time.monotonic() + float(os.environ.get("SESSIONWATCH_ES_WAIT", "300"))
request = urllib.request.Request(url)
if os.environ.get("SESSIONWATCH_ES_SECURITY", "").lower() == "true":
    import base64
    token = base64.b64encode(f"elastic:{os.environ.get('ELASTIC_PASSWORD') or 'changeme'}".encode())
    request.add_header("Authorization", "Basic " + token.decode())
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            if response.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(1)
sys.exit(f"Elasticsearch at {os.environ['SESSIONWATCH_ES_URL']} not yellow in time")
EOF
  if [[ "${SESSIONWATCH_ES_SECURITY:-}" == true ]]; then
    url="http://elastic:${ELASTIC_PASSWORD:-changeme}@${url#http://}"
  fi
  export SESSIONWATCH_ES_URL="$url"
  echo "== node ready after $((SECONDS - t0)) s"
}

# The tests selected by marker expression $1 (and paths after it): in parallel, then the serial ones.
run_tests() {
  local selection="$1" t0=$SECONDS rc=0
  shift
  "$BIN/pytest" -n "$WORKERS" --dist loadfile --no-loadscope-reorder -m "($selection) and not serial" "$@" || rc=$?
  if [[ $rc -eq 0 ]]; then
    "$BIN/pytest" -m "($selection) and serial" "$@" || rc=$?
    [[ $rc -eq 5 ]] && rc=0 # no test selected
  fi
  echo "== tests ($selection) took $((SECONDS - t0)) s"
  return "$rc"
}

if [[ -n "${SESSIONWATCH_ES_URL:-}" ]]; then
  run_tests "not cluster"
  echo "SESSIONWATCH_ES_URL is set: no compatibility run${COMPAT:+ on $COMPAT}"
  exit 0
fi

# The compatibility subset runs alongside the main run (its own node, compose project
# "$PROJECT-compat", and its own port for test_deploy's secured node), its output kept in a file
# and printed when both are done; SESSIONWATCH_COMPAT_AFTER=1 runs it afterwards instead.
compat_pid="" compat_log=""
if [[ -n "$COMPAT" && "${SESSIONWATCH_COMPAT_AFTER:-}" != 1 ]]; then
  compat_log="$(mktemp "${TMPDIR:-/tmp}/sessionwatch-compat.XXXXXX")"
  (
    PROJECT="$PROJECT-compat" started=""
    trap stop_node EXIT # a subshell does not inherit the EXIT trap
    WORKERS="${COMPAT_WORKERS:-2}"
    export SESSIONWATCH_SECURE_ES_PORT="${SESSIONWATCH_COMPAT_SECURE_ES_PORT:-19224}"
    export SESSIONWATCH_SECURE_COMPOSE_PROJECT="sessionwatch-security-compat"
    start_node "$COMPAT"
    run_tests "compat" tests/integration
  ) >"$compat_log" 2>&1 &
  compat_pid=$!
fi

t_all=$SECONDS
rc=0
start_node "$MAIN"
run_tests "not cluster" || rc=$?
if [[ -n "$compat_pid" ]]; then
  compat_rc=0
  wait "$compat_pid" || compat_rc=$?
  echo "== compatibility run on $COMPAT (alongside the main run):"
  cat "$compat_log"
  rm -f "$compat_log"
  [[ $rc -ne 0 ]] || rc=$compat_rc
elif [[ -n "$COMPAT" && $rc -eq 0 ]]; then
  stop_node
  start_node "$COMPAT"
  run_tests "compat" tests/integration || rc=$?
fi
echo "== node starts and tests took $((SECONDS - t_all)) s"
exit "$rc"
