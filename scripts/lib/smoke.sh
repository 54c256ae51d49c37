# shellcheck shell=bash
# The checks that scripts/compose-smoke.sh and `scripts/kind.sh smoke` share, once the shop
# runs: place the example order through the api, follow it to COMPLETED, check that
# Prometheus has an `up` target for every role and that Grafana answers. Sourced, not run.
#
# Needs curl and grep only (no jq, no python): the api's answers are compact JSON, and the
# fields read here (order_id, the order's top-level status) come first in them.
#
# The caller sets:
#   SMOKE_API_URL         the api as this machine reaches it (http://localhost:8080)
#   SMOKE_PROMETHEUS_URL  Prometheus (http://localhost:9090)
#   SMOKE_GRAFANA_URL     Grafana, or empty to skip that check
#   SMOKE_JOBS            the Prometheus jobs that must have a target up (space-separated)
#   SMOKE_KEY             an operator API key
#   SMOKE_ORDER_FILE      the order to place (docs/examples/order.json)
# and calls smoke_order, smoke_prometheus, smoke_grafana, then smoke_report (exit status).

SMOKE_FAILURES=()
SMOKE_PASSES=()
SMOKE_ORDER_TIMEOUT=${SMOKE_ORDER_TIMEOUT:-90}
SMOKE_SCRAPE_TIMEOUT=${SMOKE_SCRAPE_TIMEOUT:-90}

smoke_pass() { SMOKE_PASSES+=("$*"); printf '  ok    %s\n' "$*"; }
smoke_fail() { SMOKE_FAILURES+=("$*"); printf '  FAIL  %s\n' "$*" >&2; }

# The first "field":"value" of a JSON text (a string value); nothing when it is not there.
smoke_json_field() {
  local field=$1 text=$2
  { printf '%s' "$text" | grep -o "\"${field}\" *: *\"[^\"]*\"" | head -n 1 \
      | sed 's/^[^:]*: *"\(.*\)"$/\1/'; } || true
}

# curl with the key; prints the body, then the HTTP status on a line of its own.
smoke_curl() {
  curl -sS --max-time 30 -H "Authorization: Bearer ${SMOKE_KEY}" -w '\n%{http_code}' "$@"
}

# Places the example order and follows it until it ends; passes only on COMPLETED.
smoke_order() {
  local answer status_code body order_id status deadline
  if ! answer=$(smoke_curl -X POST "${SMOKE_API_URL}/orders" \
      -H 'content-type: application/json' -H "Idempotency-Key: smoke-$(date +%s)-$$" \
      --data-binary "@${SMOKE_ORDER_FILE}"); then
    smoke_fail "POST ${SMOKE_API_URL}/orders: the api did not answer"
    return 0
  fi
  status_code=${answer##*$'\n'}
  body=${answer%$'\n'*}
  order_id=$(smoke_json_field order_id "$body")
  if [[ ( "$status_code" != 201 && "$status_code" != 202 ) || -z "$order_id" ]]; then
    smoke_fail "POST /orders answered ${status_code}: ${body}"
    return 0
  fi
  smoke_pass "POST /orders: ${status_code}, order ${order_id}"
  deadline=$((SECONDS + SMOKE_ORDER_TIMEOUT))
  status=RECEIVED
  while ((SECONDS < deadline)); do
    if answer=$(smoke_curl "${SMOKE_API_URL}/orders/${order_id}"); then
      body=${answer%$'\n'*}
      status=$(smoke_json_field status "$body")
      case "$status" in
        COMPLETED)
          smoke_pass "order ${order_id} is COMPLETED (stock reserved, card charged, parcel delivered, e-mail queued)"
          return 0 ;;
        REJECTED | COMPENSATED | CANCELLED)
          smoke_fail "order ${order_id} ended ${status}, not COMPLETED: ${body}"
          return 0 ;;
      esac
    fi
    sleep 1
  done
  smoke_fail "order ${order_id} is still ${status:-unknown} after ${SMOKE_ORDER_TIMEOUT}s (are both workers up? their logs say)"
}

# Every job of SMOKE_JOBS has at least one target up (waits for the first scrapes).
smoke_prometheus() {
  local deadline answer missing job
  deadline=$((SECONDS + SMOKE_SCRAPE_TIMEOUT))
  while :; do
    answer=$(curl -sS --max-time 10 -G "${SMOKE_PROMETHEUS_URL}/api/v1/query" \
      --data-urlencode 'query=count by (job) (up == 1)' 2>/dev/null || true)
    missing=()
    for job in $SMOKE_JOBS; do
      grep -q "\"job\":\"${job}\"" <<<"$answer" || missing+=("$job")
    done
    if ((${#missing[@]} == 0)); then
      smoke_pass "Prometheus has a target up for every job: ${SMOKE_JOBS}"
      return 0
    fi
    if ((SECONDS >= deadline)); then
      smoke_fail "Prometheus has no target up for: ${missing[*]} (${SMOKE_PROMETHEUS_URL}/targets says why)"
      return 0
    fi
    sleep 3
  done
}

# Grafana answers its health endpoint and has its database.
smoke_grafana() {
  local answer
  if [[ -z "${SMOKE_GRAFANA_URL:-}" ]]; then
    printf '  skip  Grafana (not part of this run)\n'
    return 0
  fi
  if answer=$(curl -sS --max-time 10 "${SMOKE_GRAFANA_URL}/api/health" 2>/dev/null) \
      && grep -q '"database": *"ok"' <<<"$answer"; then
    smoke_pass "Grafana answers (${SMOKE_GRAFANA_URL}/api/health)"
  else
    smoke_fail "Grafana does not answer at ${SMOKE_GRAFANA_URL}/api/health: ${answer:-no answer}"
  fi
}

# PASS or FAIL, and the exit status.
smoke_report() {
  local what=$1
  if ((${#SMOKE_FAILURES[@]} == 0)); then
    printf '\nSMOKE PASS: %s (%d checks)\n' "$what" "${#SMOKE_PASSES[@]}"
    return 0
  fi
  printf '\nSMOKE FAIL: %s, %d of %d checks failed:\n' "$what" "${#SMOKE_FAILURES[@]}" \
    "$((${#SMOKE_FAILURES[@]} + ${#SMOKE_PASSES[@]}))" >&2
  printf '  - %s\n' "${SMOKE_FAILURES[@]}" >&2
  return 1
}
