#!/usr/bin/env bash
# The main job: validate and render the rule pack, then detect over the shipped sample logs with
# the default site configuration and with the one line that turns PCI DSS 4.0 on.
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

# The site configuration: none is needed (the default runs the baseline policy set); one line
# turns a compliance set on. Both are written out here so the demo does not depend on a
# sessionwatch.toml that might sit above this directory.
mkdir -p build/demo
printf 'policies = ["baseline"]   # the default, the same as having no file\n' > build/demo/default.toml
printf 'policies = ["baseline", "pci-dss-4.0"]\n' > build/demo/pci.toml

echo "== sessionwatch validate"
"$BIN/sessionwatch" --config build/demo/default.toml validate
echo "== sessionwatch render --target query --out build/rendered"
"$BIN/sessionwatch" --config build/demo/default.toml render --target query --out build/rendered

# detect exits 1 when it finds something: that is the expected result for the violations sample.
detect() {
  local config="$1" sample="$2" status=0
  echo "== sessionwatch --config $config detect --events $sample"
  "$BIN/sessionwatch" --config "$config" detect --events "$sample" >build/demo/alerts.ndjson || status=$?
  if [[ $status -gt 1 ]]; then exit "$status"; fi
  "$BIN/python" -c '
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    a = json.loads(line)
    print("  %s  %-28s %s" % (a["@timestamp"], a["rule"]["name"], a["message"]))
' build/demo/alerts.ndjson
}

echo "-- build/demo/default.toml:"
cat build/demo/default.toml
for sample in fixtures/samples/portal-clean.ndjson fixtures/samples/portal-violations.ndjson; do
  detect build/demo/default.toml "$sample"
done
echo "-- build/demo/pci.toml (one line turns PCI DSS 4.0 on: 15-minute idle timeout, 8.2.8):"
cat build/demo/pci.toml
for sample in fixtures/samples/portal-clean.ndjson fixtures/samples/portal-violations.ndjson; do
  detect build/demo/pci.toml "$sample"
done
