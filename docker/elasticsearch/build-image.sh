#!/usr/bin/env bash
# Build the local Elasticsearch test image  sessionwatch/elasticsearch-integ:${ES_VERSION}
# from Elasticsearch's integration-test distribution (fetched with Maven) on a
# Debian root filesystem made by debootstrap. Used when the official image
# `elasticsearch:<version>` cannot be pulled. See docs/elasticsearch-in-tests.md.
#
# Steps (each skipped when its result already exists):
#   1. image with the same tag and the same build-inputs hash label -> nothing to do
#   2. base image  sessionwatch/debian-jre:<suite>-<key>   <- docker import of
#   3. rootfs tarball (cached)                               <- debootstrap --variant=minbase
#   4. ES zip (cached, sha512 checked)                        <- mvn dependency:copy
#   5. docker build (Dockerfile + entrypoint.sh + unzipped distribution)
#
# Environment:
#   ES_VERSION          Elasticsearch version (default 8.19.7)
#   SESSIONWATCH_CACHE  cache directory (default /var/cache/sessionwatch); never required:
#                       anything missing from it is rebuilt
#   DEBIAN_SUITE        Debian suite of the base (default: bookworm for 8.x, trixie for 9.x)
#   JRE_PACKAGE         Java package (default: openjdk-17-jre-headless for 8.x, openjdk-21-... for 9.x)
#   DEBIAN_MIRROR       mirror for debootstrap (default: read from this machine's apt sources)
#   FORCE_REBUILD=1     rebuild the final image even if an up-to-date one exists
#   IMAGE_NAME          final image tag (default sessionwatch/elasticsearch-integ:${ES_VERSION})
#
# Prints the image tag as the last line of stdout.
set -euo pipefail

ES_VERSION="${ES_VERSION:-8.19.7}"
ES_MAJOR="${ES_VERSION%%.*}"
case "$ES_MAJOR" in
  8) default_suite=bookworm; default_jre=openjdk-17-jre-headless ;;
  # 9.x needs Java 21 or newer: Debian bookworm has only 17, trixie has openjdk-21
  *) default_suite=trixie;   default_jre=openjdk-21-jre-headless ;;
esac
DEBIAN_SUITE="${DEBIAN_SUITE:-$default_suite}"
JRE_PACKAGE="${JRE_PACKAGE:-$default_jre}"
IMAGE_NAME="${IMAGE_NAME:-sessionwatch/elasticsearch-integ:${ES_VERSION}}"
CACHE_DIR="${SESSIONWATCH_CACHE:-/var/cache/sessionwatch}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LABEL_KEY="org.sessionwatch.build-inputs"
ARCH="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
# Extra packages in the base root filesystem (passwd: useradd; the rest keeps ES happy).
ROOTFS_PACKAGES="${JRE_PACKAGE},passwd,procps"

# sha512 of the integ-test zip fetched from Maven Central. Maven cannot verify it for us:
# no .sha1/.md5 is served for this artifact through the registry reachable here
# (`mvn --strict-checksums` fails with "no checksums available"), so the sum is pinned
# here. Versions not listed are accepted and their sha512 is printed, so it can be pinned.
known_zip_sha512() {
  case "$1" in
    8.19.7) echo 80469a18f7cbc5c73f81815f30235edb7a89f56d7ead20048bf07b6a1469b1f33ee67619a3fb49d85cb0b3e866fca8b63f04ff07daab4790240e1c0abb30fdf4 ;;
    9.5.0) echo c06bd4ef7691da91052cada7bb255b2d7c48a1422820a8db0e3e3a1ed0dde4e8d380cdbadeb7029cc56167b9ad3a6d89f6b8edbc48d4b8685d1ab24a7ab17dd5 ;;
    *) echo "" ;;
  esac
}

log() { printf '[build-image] %s\n' "$*" >&2; }
die() { printf '[build-image] ERROR: %s\n' "$*" >&2; exit 1; }
now() { date +%s; }

command -v docker >/dev/null || die "docker client not found (run scripts/setup-test-env.sh)"
docker info >/dev/null 2>&1 || die "docker engine not reachable ('docker info' fails)"

sha256_of() { sha256sum | cut -c1-64; }

# --- 1. inputs hash: everything that determines the image's content -------------------
ZIP_SHA512_PIN="$(known_zip_sha512 "$ES_VERSION")"
ROOTFS_KEY="$(printf '%s\n' "minbase" "$DEBIAN_SUITE" "$ARCH" "$ROOTFS_PACKAGES" "rootfs-v1" | sha256_of | cut -c1-16)"
BASE_IMAGE="sessionwatch/debian-jre:${DEBIAN_SUITE}-${ROOTFS_KEY}"
INPUTS_HASH="$(
  {
    printf '%s\n' "$ES_VERSION" "$ZIP_SHA512_PIN" "$BASE_IMAGE"
    cat "$HERE/Dockerfile" "$HERE/entrypoint.sh" "$HERE/elasticsearch.yml"
  } | sha256_of
)"

existing="$(docker image inspect --format "{{ index .Config.Labels \"$LABEL_KEY\" }}" "$IMAGE_NAME" 2>/dev/null || true)"
if [[ "${FORCE_REBUILD:-0}" != 1 && "$existing" == "$INPUTS_HASH" ]]; then
  log "image $IMAGE_NAME is up to date (inputs ${INPUTS_HASH:0:12}); nothing to build"
  echo "$IMAGE_NAME"
  exit 0
fi
[[ -n "$existing" ]] && log "image $IMAGE_NAME exists with other inputs (${existing:0:12}); rebuilding"

mkdir -p "$CACHE_DIR/rootfs" "$CACHE_DIR/dist" 2>/dev/null \
  || die "cannot create cache dir $CACHE_DIR (set SESSIONWATCH_CACHE to a writable directory)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/sessionwatch-es-build.XXXXXX")"
cleanup() {
  # the rootfs contains device nodes and root-owned files: remove as we made it
  rm -rf --one-file-system "$WORK" 2>/dev/null || true
}
trap cleanup EXIT

# --- 2./3. base image from a debootstrap root filesystem -------------------------------
debian_mirror() {
  if [[ -n "${DEBIAN_MIRROR:-}" ]]; then echo "$DEBIAN_MIRROR"; return 0; fi
  local f m=""
  # deb822 sources: the URIs of a stanza whose Suites list the plain suite name
  # (bookworm, trixie, ...) and not only -security / -updates.
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -r "$f" ]] || continue
    m="$(awk '
      function flush() {
        if (!done && uris != "" && types ~ /(^|[ \t])deb([ \t]|$)/) {
          n = split(suites, s, /[ \t]+/)
          for (i = 1; i <= n; i++) if (s[i] != "" && s[i] !~ /-(security|updates|backports)$/ && s[i] !~ /\//) { split(uris, u, /[ \t]+/); print u[1]; done = 1; exit }
        }
        uris = ""; suites = ""; types = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      tolower($1) == "uris:"   { sub(/^[^:]*:[ \t]*/, ""); uris = $0 }
      tolower($1) == "suites:" { sub(/^[^:]*:[ \t]*/, ""); suites = $0 }
      tolower($1) == "types:"  { sub(/^[^:]*:[ \t]*/, ""); types = $0 }
      END { flush() }
    ' "$f")"
    [[ -n "$m" ]] && { echo "$m"; return 0; }
  done
  # one-line format
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -r "$f" ]] || continue
    m="$(awk '!done && $1 == "deb" {
            i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
            if ($(i+1) !~ /-(security|updates|backports)$/ && $(i+1) !~ /\//) { print $i; done = 1; exit }
          }' "$f")"
    [[ -n "$m" ]] && { echo "$m"; return 0; }
  done
  return 1
}

make_rootfs_tarball() {  # $1 = destination tarball
  local dest="$1" rootfs="$WORK/rootfs" mirror t0
  [[ "$(id -u)" == 0 ]] || die "debootstrap needs root (or a cached rootfs in $CACHE_DIR/rootfs)"
  command -v debootstrap >/dev/null || die "debootstrap not installed (apt-get install debootstrap)"
  mirror="$(debian_mirror)" || die "no Debian mirror found in /etc/apt/sources.list{,.d/}; set DEBIAN_MIRROR"
  log "debootstrap --variant=minbase $DEBIAN_SUITE (+ $ROOTFS_PACKAGES) from the machine's apt mirror"
  t0=$(now)
  debootstrap --variant=minbase --arch="$ARCH" --include="$ROOTFS_PACKAGES" \
    "$DEBIAN_SUITE" "$rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -n 30 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }
  log "debootstrap took $(( $(now) - t0 )) s"
  # slim down; the image never runs apt
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
         "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
         "$rootfs"/var/log/*.log "$rootfs"/var/cache/debconf/*-old "$rootfs"/debootstrap
  # do not bake the build machine's mirror into the image
  rm -f "$rootfs"/etc/apt/sources.list
  tar --numeric-owner --xattrs -C "$rootfs" -cf "$dest.tmp" .
  mv -f "$dest.tmp" "$dest"
  rm -rf --one-file-system "$rootfs"
}

if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  log "base image $BASE_IMAGE present"
else
  tarball="$CACHE_DIR/rootfs/debian-${DEBIAN_SUITE}-${ARCH}-${ROOTFS_KEY}.tar"
  if [[ -s "$tarball" ]] && tar -tf "$tarball" ./usr/bin/java >/dev/null 2>&1; then
    log "reusing cached root filesystem $tarball"
  else
    make_rootfs_tarball "$tarball"
    log "cached root filesystem in $tarball ($(du -h "$tarball" | cut -f1))"
  fi
  t0=$(now)
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' \
    --message "debootstrap --variant=minbase $DEBIAN_SUITE + $ROOTFS_PACKAGES" \
    "$tarball" "$BASE_IMAGE" >/dev/null
  log "imported $BASE_IMAGE in $(( $(now) - t0 )) s"
fi

# --- 4. Elasticsearch integration-test distribution ------------------------------------
zip="$CACHE_DIR/dist/elasticsearch-${ES_VERSION}.zip"
check_zip() {  # prints the sha512; fails on mismatch with the pin
  local sum
  sum="$(sha512sum "$1" | cut -d' ' -f1)"
  if [[ -n "$ZIP_SHA512_PIN" && "$sum" != "$ZIP_SHA512_PIN" ]]; then
    log "sha512 mismatch for $1: got $sum, expected $ZIP_SHA512_PIN"
    return 1
  fi
  echo "$sum"
}
if [[ -s "$zip" ]] && sum="$(check_zip "$zip")"; then
  log "reusing cached $zip"
else
  rm -f "$zip"
  command -v mvn >/dev/null || die "mvn not installed (apt-get install maven) and no cached $zip"
  log "fetching org.elasticsearch.distribution.integ-test-zip:elasticsearch:${ES_VERSION}:zip with Maven"
  t0=$(now)
  mvn -B -q dependency:copy \
    -Dartifact="org.elasticsearch.distribution.integ-test-zip:elasticsearch:${ES_VERSION}:zip" \
    -DoutputDirectory="$WORK/dist" >"$WORK/mvn.log" 2>&1 \
    || { tail -n 30 "$WORK/mvn.log" >&2; die "mvn could not fetch the integ-test zip for $ES_VERSION"; }
  sum="$(check_zip "$WORK/dist/elasticsearch-${ES_VERSION}.zip")" || die "downloaded zip failed its checksum"
  mv -f "$WORK/dist/elasticsearch-${ES_VERSION}.zip" "$zip"
  log "fetched in $(( $(now) - t0 )) s"
fi
echo "$sum  elasticsearch-${ES_VERSION}.zip" >"$zip.sha512"
if [[ -n "$ZIP_SHA512_PIN" ]]; then
  log "zip sha512 $sum (matches the pinned value)"
else
  log "zip sha512 $sum (no pinned value for $ES_VERSION: add it to known_zip_sha512)"
fi

# --- 5. docker build ---------------------------------------------------------------------
ctx="$WORK/context"
mkdir -p "$ctx"
cp "$HERE/Dockerfile" "$HERE/entrypoint.sh" "$HERE/elasticsearch.yml" "$ctx/"
if command -v unzip >/dev/null; then
  unzip -q "$zip" -d "$ctx/unpacked"
else
  # keeps the executable bits that Python's zipfile CLI would lose
  python3 - "$zip" "$ctx/unpacked" <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for info in z.infolist():
        path = z.extract(info, sys.argv[2])
        mode = (info.external_attr >> 16) & 0o777
        if mode:
            os.chmod(path, mode)
PY
fi
mv "$ctx/unpacked/elasticsearch-${ES_VERSION}" "$ctx/elasticsearch"
rmdir "$ctx/unpacked"

log "docker build $IMAGE_NAME FROM $BASE_IMAGE"
t0=$(now)
docker build --pull=false \
  --build-arg "BASE_IMAGE=$BASE_IMAGE" \
  --build-arg "ES_VERSION=$ES_VERSION" \
  --label "$LABEL_KEY=$INPUTS_HASH" \
  --label "org.sessionwatch.es-zip-sha512=$sum" \
  -t "$IMAGE_NAME" "$ctx" >"$WORK/build.log" 2>&1 \
  || { tail -n 40 "$WORK/build.log" >&2; die "docker build failed"; }
log "built $IMAGE_NAME in $(( $(now) - t0 )) s"
echo "$IMAGE_NAME"
