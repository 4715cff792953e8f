#!/bin/bash
# Entrypoint of the local Elasticsearch test image (behaves like the official image's):
#  - environment variables whose names look like settings (lower case with a dot, e.g.
#    `discovery.type=single-node`), and ES_SETTING_* ones (ES_SETTING_XPACK_SECURITY_ENABLED,
#    `_` = dot, `__` = underscore), become `-E name=value` options;
#  - settings of x-pack features whose module is not in this distribution (the integ-test
#    zip has only x-pack-core and x-pack-security) are dropped with a warning, so one
#    docker-compose.yml serves both this image and the official one;
#  - ES_JAVA_OPTS is read by bin/elasticsearch itself (e.g. "-Xms1g -Xmx1g");
#  - ELASTIC_PASSWORD (or ELASTIC_PASSWORD_FILE) becomes `bootstrap.password` in the
#    keystore when security is enabled, so the `elastic` user can log in with it;
#  - Elasticsearch never runs as root: started as root, the script drops to uid 1000.
# Any command other than `eswrapper` (or options starting with `-`) is exec'd as is.
set -euo pipefail

ES_HOME="${ES_HOME:-/usr/share/elasticsearch}"
ES_PATH_CONF="${ES_PATH_CONF:-$ES_HOME/config}"
export ES_HOME ES_PATH_CONF
ES_UID=1000
ES_GID=0

warn() { printf '[entrypoint] %s\n' "$*" >&2; }

if [[ $# -eq 0 || "${1:0:1}" == "-" ]]; then
  set -- eswrapper "$@"
fi
if [[ "$1" != "eswrapper" ]]; then
  exec "$@"
fi
shift

if [[ -z "${ES_JAVA_HOME:-}" ]]; then
  java_bin="$(readlink -f "$(command -v java)")"
  ES_JAVA_HOME="$(dirname "$(dirname "$java_bin")")"
  export ES_JAVA_HOME
fi

# --- root: fix ownership of (possibly mounted) writable dirs, then drop privileges -------
if [[ "$(id -u)" == 0 ]]; then
  for d in "$ES_HOME/data" "$ES_HOME/logs" "$ES_PATH_CONF"; do
    [[ -d "$d" ]] && chown -R "$ES_UID:$ES_GID" "$d"
  done
  export HOME="$ES_HOME"
  if command -v setpriv >/dev/null; then
    exec setpriv --reuid="$ES_UID" --regid="$ES_GID" --clear-groups "$0" eswrapper "$@"
  fi
  exec chroot --userspec="$ES_UID:$ES_GID" / "$0" eswrapper "$@"
fi

# --- settings from the environment ---------------------------------------------------------
# x-pack settings prefix -> module directory that defines them (only those not in x-pack-core)
declare -A module_of=(
  [xpack.watcher.]=x-pack-watcher
  [xpack.ml.]=x-pack-ml
  [xpack.monitoring.]=x-pack-monitoring
  [xpack.graph.]=x-pack-graph
  [xpack.transform.]=x-pack-transform
  [xpack.searchable.snapshot.]=searchable-snapshots
  [xpack.eql.]=x-pack-eql
  [xpack.esql.]=x-pack-esql
  [xpack.profiling.]=x-pack-profiling
  [xpack.inference.]=x-pack-inference
  [xpack.apm_data.]=x-pack-apm-data
  [ingest.geoip.]=ingest-geoip
)
module_missing_for() {  # prints the module name if $1 needs a module that is absent
  local prefix
  for prefix in "${!module_of[@]}"; do
    if [[ "$1" == "$prefix"* && ! -d "$ES_HOME/modules/${module_of[$prefix]}" ]]; then
      echo "${module_of[$prefix]}"
      return 0
    fi
  done
  return 1
}

es_opts=()
security_enabled=true   # the 8.x default
while IFS= read -r -d '' kv; do
  key="${kv%%=*}"
  value="${kv#*=}"
  name=""
  if [[ "$key" =~ ^[a-z0-9_]+\.[a-z0-9_]+ || "$key" == "processors" ]]; then
    name="$key"
  elif [[ "$key" =~ ^ES_SETTING_([A-Z0-9_]+)$ ]]; then
    name="${BASH_REMATCH[1],,}"
    name="${name//__/$'\x01'}"
    name="${name//_/.}"
    name="${name//$'\x01'/_}"
  fi
  [[ -n "$name" ]] || continue
  if missing="$(module_missing_for "$name")"; then
    warn "ignoring setting $name: module $missing is not in this distribution"
    continue
  fi
  [[ "$name" == "xpack.security.enabled" ]] && security_enabled="$value"
  es_opts+=("-E" "$name=$value")
done < <(env -0)

# --- bootstrap password ----------------------------------------------------------------------
if [[ -n "${ELASTIC_PASSWORD_FILE:-}" ]]; then
  ELASTIC_PASSWORD="$(cat "$ELASTIC_PASSWORD_FILE")"
fi
if [[ -n "${ELASTIC_PASSWORD:-}" && "${security_enabled,,}" != "false" ]]; then
  keystore="$ES_HOME/bin/elasticsearch-keystore"
  if [[ ! -f "$ES_PATH_CONF/elasticsearch.keystore" ]]; then
    "$keystore" create >/dev/null
  fi
  printf '%s' "$ELASTIC_PASSWORD" | "$keystore" add -x -f bootstrap.password >/dev/null
fi
unset ELASTIC_PASSWORD ELASTIC_PASSWORD_FILE

exec "$ES_HOME/bin/elasticsearch" "${es_opts[@]}" "$@"
