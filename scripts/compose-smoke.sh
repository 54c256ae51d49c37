#!/usr/bin/env bash
# Smoke test of the docker compose deployment (docs/deploy-compose.md, last step): waits until
# every service is healthy and temporal-setup has exited 0, creates an operator key, places
# the example order (docs/examples/order.json) through the api, follows it to COMPLETED,
# checks that Prometheus has a target up for every role and that Grafana answers. Prints
# SMOKE PASS or SMOKE FAIL and exits 0 or 1.
#
#   docker compose up -d --build
#   scripts/compose-smoke.sh
#
# Environment (defaults in brackets):
#   COMPOSE        the compose command, for the hints it prints [docker compose]
#   ENGINE         the container engine [docker, or podman when COMPOSE starts with podman]
#   COMPOSE_PROJECT_NAME  the compose project [capstone, the `name:` of docker-compose.yml];
#                  containers are found by the labels compose puts on them
#   SMOKE_WAIT     seconds to wait for the services to become healthy [300]
#   SMOKE_SERVICES the services that must be healthy [every one with a healthcheck]
#   SMOKE_JOBS     the Prometheus jobs that must be up [the seven roles and temporal-server]
#   SMOKE_GRAFANA_URL  [http://localhost:3000]; empty skips the Grafana check
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/smoke.sh
source scripts/lib/smoke.sh

read -r -a COMPOSE_CMD <<<"${COMPOSE:-docker compose}"
if [[ -z "${ENGINE:-}" ]]; then
  case "${COMPOSE_CMD[0]}" in podman*) ENGINE=podman ;; *) ENGINE=docker ;; esac
fi
PROJECT=${COMPOSE_PROJECT_NAME:-capstone}
SMOKE_WAIT=${SMOKE_WAIT:-300}
SMOKE_SERVICES=${SMOKE_SERVICES:-postgres temporal mailpit inventory payments shipping notifications api workflow-worker activity-worker}
SMOKE_JOBS=${SMOKE_JOBS:-api inventory payments shipping notifications workflow-worker activity-worker temporal-server}
SMOKE_API_URL=${SMOKE_API_URL:-http://localhost:8080}
SMOKE_PROMETHEUS_URL=${SMOKE_PROMETHEUS_URL:-http://localhost:9090}
SMOKE_GRAFANA_URL=${SMOKE_GRAFANA_URL-http://localhost:3000}
SMOKE_ORDER_FILE=docs/examples/order.json

say() { printf '==> %s\n' "$*"; }

command -v curl >/dev/null 2>&1 || { echo "compose-smoke.sh: needs curl" >&2; exit 2; }
command -v "$ENGINE" >/dev/null 2>&1 || { echo "compose-smoke.sh: $ENGINE is not on PATH (set ENGINE)" >&2; exit 2; }

# The id of one service's first container, by the labels docker compose and podman-compose
# both set.
container_of() {
  "$ENGINE" ps -a -q --filter "label=com.docker.compose.project=${PROJECT}" \
    --filter "label=com.docker.compose.service=$1" 2>/dev/null | head -n 1 || true
}

# The state of one service's first container: "healthy", "exited 0", "running", ...
service_state() {
  local id status exit_code health
  id=$(container_of "$1")
  [[ -n "$id" ]] || { echo missing; return 0; }
  # Podman without systemd runs healthchecks only when asked: ask.
  if [[ "$ENGINE" == podman ]]; then podman healthcheck run "$id" >/dev/null 2>&1 || true; fi
  read -r status exit_code health < <("$ENGINE" inspect \
    --format '{{.State.Status}} {{.State.ExitCode}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' \
    "$id" 2>/dev/null || echo unknown)
  if [[ -n "${health:-}" ]]; then echo "$health"; else echo "${status} ${exit_code:-}"; fi
}

say "waiting up to ${SMOKE_WAIT}s for every service to be healthy and temporal-setup to have exited 0"
deadline=$((SECONDS + SMOKE_WAIT))
while :; do
  waiting=()
  for service in $SMOKE_SERVICES; do
    state=$(service_state "$service")
    [[ "$state" == healthy ]] || waiting+=("${service} (${state})")
  done
  setup=$(service_state temporal-setup)
  [[ "$setup" == "exited 0" ]] || waiting+=("temporal-setup (${setup})")
  ((${#waiting[@]} == 0)) && break
  if ((SECONDS >= deadline)); then
    smoke_fail "not ready after ${SMOKE_WAIT}s: ${waiting[*]} ('${COMPOSE_CMD[*]} ps' and '${COMPOSE_CMD[*]} logs <service>' say why)"
    smoke_report "docker compose"
    exit 1
  fi
  sleep 3
done
smoke_pass "every service is healthy: ${SMOKE_SERVICES}; temporal-setup exited 0"

say "creating an operator key (capstone create-api-key in the api container)"
if ! SMOKE_KEY=$("$ENGINE" exec "$(container_of api)" capstone create-api-key --role operator --operator smoke --label smoke 2>/dev/null | tail -n 1) \
    || [[ "$SMOKE_KEY" != cap_* ]]; then
  smoke_fail "capstone create-api-key did not print a key ('${COMPOSE_CMD[*]} exec -T api capstone create-api-key --role operator --operator smoke' shows the error)"
  smoke_report "docker compose"
  exit 1
fi
smoke_pass "operator key created"

say "placing ${SMOKE_ORDER_FILE} through ${SMOKE_API_URL} and following it"
smoke_order
say "Prometheus targets (${SMOKE_PROMETHEUS_URL})"
smoke_prometheus
say "Grafana"
smoke_grafana
smoke_report "docker compose"
