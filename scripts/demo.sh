#!/usr/bin/env bash
# The main job: validate and render the rule pack, then detect over the shipped sample logs.
# Uses $SESSIONWATCH_ES_URL when set; otherwise starts the test node with docker-compose and
# stops it again at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PROJECT=sessionwatch-demo

compose() {
  if docker compose version >/dev/null 2>&1; then docker compose "$@"; else docker-compose "$@"; fi
}

if [[ -z "${SESSIONWATCH_ES_URL:-}" ]]; then
  # SESSIONWATCH_ES_VERSION (default 9.5.0) picks the image scripts/setup-test-env.sh prepared
  version_choice=".sessionwatch-es-image-${SESSIONWATCH_ES_VERSION:-9.5.0}"
  if [[ -z "${SESSIONWATCH_ES_IMAGE:-}" && -f "$version_choice" ]]; then
    SESSIONWATCH_ES_IMAGE="$(cat "$version_choice")"
    export SESSIONWATCH_ES_IMAGE
  elif [[ -z "${SESSIONWATCH_ES_IMAGE:-}" && -f .sessionwatch-es-image ]]; then
    SESSIONWATCH_ES_IMAGE="$(cat .sessionwatch-es-image)"
    export SESSIONWATCH_ES_IMAGE
  fi
  trap 'compose -p "$PROJECT" down -v >/dev/null 2>&1 || true' EXIT
  compose -p "$PROJECT" up -d elasticsearch
  port="$(compose -p "$PROJECT" port elasticsearch 9200 | tail -n 1 | sed 's/.*://')"
  export SESSIONWATCH_ES_URL="http://127.0.0.1:${port}"
  echo "waiting for Elasticsearch at $SESSIONWATCH_ES_URL ..."
  for _ in $(seq 1 90); do
    curl -fsS "$SESSIONWATCH_ES_URL/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1 && break
    sleep 2
  done
fi

echo "== sessionwatch validate"
"$BIN/sessionwatch" validate
echo "== sessionwatch render --target query --out build/rendered"
"$BIN/sessionwatch" render --target query --out build/rendered
# detect exits 1 when it finds something: that is the expected result for the violations sample.
for sample in fixtures/samples/*.ndjson; do
  echo "== sessionwatch detect --events $sample"
  status=0
  "$BIN/sessionwatch" detect --events "$sample" || status=$?
  if [[ $status -gt 1 ]]; then exit "$status"; fi
done
