#!/usr/bin/env bash
# Prepare this machine for the integration tests: a docker engine, docker compose, and
# an Elasticsearch image. Idempotent: run it as often as you like (a second run on a
# ready machine takes about a second). See docs/elasticsearch-in-tests.md.
#
#  1. installs what is missing (Debian/apt, as root): docker.io, docker-compose
#     (unless compose v2 works); for a local image build also debootstrap, maven, unzip
#  2. starts dockerd in the background if `docker info` fails
#     (log /var/log/sessionwatch-dockerd.log, pid in /run/sessionwatch-dockerd.pid)
#  3. for every version in $SESSIONWATCH_ES_VERSIONS (default: $SESSIONWATCH_ES_VERSION only)
#     chooses the image:  $SESSIONWATCH_ES_IMAGE (the main version only)  >  official
#     elasticsearch:<version> (present, or pulled within 60 s)  >  local build
#     (docker/elasticsearch/build-image.sh)
#  4. writes each choice to .sessionwatch-es-image-<version> and the main version's also to
#     .sessionwatch-es-image (repo root), and prints the main one (last line)
#
# Environment: SESSIONWATCH_ES_VERSION (main version, default 9.5.0; ES_VERSION is read too),
#   SESSIONWATCH_ES_VERSIONS (all versions to prepare, e.g. "9.5.0 8.19.7"), SESSIONWATCH_ES_IMAGE,
#   SESSIONWATCH_CACHE, SESSIONWATCH_NO_PULL=1 (do not try docker pull), SESSIONWATCH_DOCKERD_LOG.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MAIN_VERSION="${SESSIONWATCH_ES_VERSION:-${ES_VERSION:-9.5.0}}"
VERSIONS="${SESSIONWATCH_ES_VERSIONS:-$MAIN_VERSION}"
CHOICE_FILE="$REPO_ROOT/.sessionwatch-es-image"
DOCKERD_PIDFILE="/run/sessionwatch-dockerd.pid"
DOCKERD_LOG="${SESSIONWATCH_DOCKERD_LOG:-/var/log/sessionwatch-dockerd.log}"

log() { printf '[setup-test-env] %s\n' "$*" >&2; }
die() { printf '[setup-test-env] ERROR: %s\n' "$*" >&2; exit 1; }

is_root() { [[ "$(id -u)" == 0 ]]; }

APT_UPDATED=0
apt_install() {  # apt_install PKG... : installs as root with apt, after one apt-get update
  if ! is_root; then
    die "missing: $*. Run this script as root (or install them yourself: apt-get install $*)"
  fi
  if ! command -v apt-get >/dev/null; then
    die "missing: $*, and this machine has no apt-get: install them with your package manager"
  fi
  if [[ "$APT_UPDATED" == 0 ]]; then
    log "apt-get update"
    apt-get update -qq >&2 || die "apt-get update failed"
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2 \
    || die "apt-get install $* failed"
}

compose_v2() { docker compose version >/dev/null 2>&1; }

# --- 1. docker engine and compose ---------------------------------------------------------
need=()
command -v dockerd >/dev/null || need+=(docker.io)
if ! command -v docker-compose >/dev/null && ! { command -v docker >/dev/null && compose_v2; }; then
  need+=(docker-compose)
fi
command -v openssl >/dev/null || need+=(openssl) # the test CA of the HTTPS node (run-tests.sh)
if ((${#need[@]})); then
  # docker.io's own client is in /usr/bin; another docker client earlier in PATH is fine
  apt_install "${need[@]}"
fi

# --- 2. docker daemon -----------------------------------------------------------------------
dockerd_started_by_us() {
  [[ -s "$DOCKERD_PIDFILE" ]] || return 1
  local pid
  pid="$(cat "$DOCKERD_PIDFILE")"
  [[ -r "/proc/$pid/comm" && "$(cat "/proc/$pid/comm")" == dockerd ]]
}

if ! docker info >/dev/null 2>&1; then
  info_err="$(docker info 2>&1 >/dev/null || true)"
  if [[ "${info_err,,}" == *"permission denied"* ]]; then
    die "the docker engine runs but $(id -un) may not use it: run as root, or join the docker group"
  fi
  if dockerd_started_by_us; then
    dockerd_pid="$(cat "$DOCKERD_PIDFILE")"
    log "dockerd (pid $dockerd_pid) is starting; waiting"
  else
    is_root || die "the docker engine is not running and only root can start it here (sudo dockerd, or start your docker service)"
    command -v dockerd >/dev/null || die "dockerd not found"
    log "starting dockerd in the background (log $DOCKERD_LOG)"
    mkdir -p "$(dirname "$DOCKERD_LOG")"
    # setsid: own session, so an interrupted `make` does not take the engine down with it.
    # (Not a process group leader here, so setsid execs in place: $! is dockerd's pid.)
    setsid dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
    dockerd_pid=$!
    echo "$dockerd_pid" >"$DOCKERD_PIDFILE"
  fi
  for _ in $(seq 1 120); do
    docker info >/dev/null 2>&1 && break
    if ! kill -0 "$dockerd_pid" 2>/dev/null; then
      tail -n 20 "$DOCKERD_LOG" >&2 || true
      rm -f "$DOCKERD_PIDFILE"
      die "dockerd exited; see $DOCKERD_LOG"
    fi
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { tail -n 20 "$DOCKERD_LOG" >&2; die "dockerd did not come up in 60 s"; }
  log "dockerd is up (pid $dockerd_pid)"
fi

# --- 3. the Elasticsearch image -------------------------------------------------------------
have_image() { docker image inspect "$1" >/dev/null 2>&1; }
try_pull() {
  [[ "${SESSIONWATCH_NO_PULL:-0}" == 1 ]] && return 1
  local t0=$SECONDS
  if timeout 60 docker pull -q "$1" >/dev/null 2>&1; then
    log "pulled $1 in $((SECONDS - t0)) s"
    return 0
  fi
  log "docker pull $1 failed after $((SECONDS - t0)) s"
  return 1
}
build_local() {
  local need_build=()
  command -v debootstrap >/dev/null || need_build+=(debootstrap)
  command -v mvn >/dev/null || need_build+=(maven)
  command -v unzip >/dev/null || need_build+=(unzip)
  # tools are needed only when their cache entry is missing; install them anyway
  # when we can (cheap), and let build-image.sh say what it lacks otherwise
  if ((${#need_build[@]})) && is_root && command -v apt-get >/dev/null; then
    apt_install "${need_build[@]}"
  fi
  IMAGE_NAME="$1" bash "$REPO_ROOT/docker/elasticsearch/build-image.sh" >/dev/null
}

choose_image() {  # choose_image VERSION: prints the image for VERSION, built or pulled if needed
  local version="$1" image official="elasticsearch:$1" local_image="sessionwatch/elasticsearch-integ:$1"
  if [[ -n "${SESSIONWATCH_ES_IMAGE:-}" && "$version" == "$MAIN_VERSION" ]]; then
    image="$SESSIONWATCH_ES_IMAGE"
    log "SESSIONWATCH_ES_IMAGE=$image"
    if [[ "$image" == sessionwatch/elasticsearch-integ:* ]]; then
      ES_VERSION="${image##*:}" build_local "$image"          # no-op when up to date
    elif ! have_image "$image"; then
      try_pull "$image" || die "image $image is neither present nor pullable"
    fi
  elif have_image "$official"; then
    image="$official"
    log "official image $image is present"
  elif try_pull "$official"; then
    image="$official"
  else
    image="$local_image"
    log "using the local image $image (built from the integ-test distribution)"
    ES_VERSION="$version" build_local "$image"
  fi
  echo "$image"
}

[[ " $VERSIONS " == *" $MAIN_VERSION "* ]] || VERSIONS="$MAIN_VERSION $VERSIONS"
main_image=""
for version in $VERSIONS; do
  t0=$SECONDS
  image="$(choose_image "$version")"
  printf '%s\n' "$image" >"$REPO_ROOT/.sessionwatch-es-image-$version"
  log "Elasticsearch $version: $image ($((SECONDS - t0)) s; written to .sessionwatch-es-image-$version)"
  [[ "$version" == "$MAIN_VERSION" ]] && main_image="$image"
done

# --- 4. record the main choice ---------------------------------------------------------------
printf '%s\n' "$main_image" >"$CHOICE_FILE"
log "main Elasticsearch image: $main_image (written to $(basename "$CHOICE_FILE"))"
echo "$main_image"
