#!/usr/bin/env bash
# Versioned rollouts of the shop's workers on Kubernetes (Temporal Worker Deployment
# versioning). docs/deploy-kind.md ("Rolling out a new build") walks through it;
# `scripts/worker-rollout.sh --help` lists the commands and options.
#
# Every build of the workers runs in Deployments of its own, workflow-worker-<build> and
# activity-worker-<build>, next to the builds before it. Orders are pinned to the build that
# started them, so a build's workers (both kinds: a pinned order's activities run on its own
# build's activity workers) stay until Temporal reports the build drained: no open workflow
# pinned to it. Only then are they deleted, and then the version itself.
#
# The versioned Deployments are copies of the overlay's workflow-worker and activity-worker
# (with their autoscalers, disruption budgets and, with the keda component, ScaledObjects),
# renamed with the build id, labelled `capstone/build-id`, running the build's image with
# WORKER_BUILD_ID set. The worker Services are not copied: they select every build's pods.
#
# The `temporal` CLI runs inside the cluster by default (`kubectl exec` into the Temporal dev
# server's pod, which is the CLI's own image): nothing to install on this machine, no port to
# open, and a CLI of the server's own version. --temporal-exec names another pod (the Helm
# chart's admin-tools); --temporal-local runs the `temporal` on this machine with its own
# TEMPORAL_* settings (Temporal Cloud, or a port-forward).
set -euo pipefail

cd "$(dirname "$0")/.."

KUBECTL=${KUBECTL:-kubectl}
CONTEXT=${KUBE_CONTEXT:-kind-capstone}
NAMESPACE=capstone
OVERLAY=deploy/k8s/overlays/kind
IMAGE=""
DEPLOYMENT_NAME=""                     # default: WORKER_DEPLOYMENT_NAME of the overlay's capstone-config
TEMPORAL_EXEC=capstone/deploy/temporal # <namespace>/<pod, deploy/... or pod/...> with the temporal CLI
TEMPORAL_LOCAL=no
TEMPORAL_ADDRESS_FLAG=""
TEMPORAL_NAMESPACE_FLAG=""
RAMP=""
RAMP_TIME=10m
DRAIN_TIMEOUT=30m
VERSION_TIMEOUT=10m
READY_TIMEOUT=${ROLLOUT_READY_TIMEOUT:-300s}
QUERY=""
BAD=""
FIRST=no
DRY_RUN=no
ASSUME_PREVIOUS=""
POLL=${ROLLOUT_POLL_SECONDS:-30}   # how often a drain is looked at

usage() {
  cat <<'EOF'
Usage: scripts/worker-rollout.sh <command> [options]

Versioned rollouts of the workers: each build in Deployments of its own
(workflow-worker-<build>, activity-worker-<build>), kept until Temporal reports it drained.

Commands:
  rollout BUILD     deploy BUILD's workers beside the running ones; wait until they are ready
                    and Temporal knows the build; optionally ramp (--ramp); make it current;
                    then retire every other build of this namespace once it has drained.
                    The first build of a cluster makes itself current (SET_CURRENT_IF_NONE=true)
  retire BUILD      wait until BUILD has drained, delete its Deployments (and their autoscalers,
                    disruption budgets, ScaledObjects), wait out the pollers it leaves behind,
                    then delete the version from Temporal
  rollback GOOD     a bad build got out: make GOOD current again (its workers are re-created if
                    they are gone), reset the bad build's open orders onto GOOD (a batch reset
                    to their first workflow task, pinned to GOOD), then retire the bad build
  status            the Worker Deployment as Temporal sees it, and the worker Deployments by build
  render BUILD      print BUILD's versioned manifests and change nothing (no cluster needed)

Options:
  --image IMAGE               the build's image (default capstone:BUILD, as scripts/kind.sh load tags it)
  --overlay DIR               the kustomize overlay the workers come from (default deploy/k8s/overlays/kind)
  --context NAME              kubectl context (default kind-capstone, or $KUBE_CONTEXT)
  --namespace NS              the shop's Kubernetes namespace (default capstone)
  --deployment-name NAME      the Worker Deployment (default: WORKER_DEPLOYMENT_NAME in the overlay, else capstone)
  --ramp PERCENT              rollout: first send PERCENT % of new workflows to the build, for --ramp-time
  --ramp-time DURATION        how long the ramp lasts before the build becomes current (default 10m)
  --drain-timeout DURATION    how long rollout and retire wait for a build to drain (default 30m; 0: look once).
                              A build still draining then keeps its workers: `retire BUILD` once it has drained
  --version-timeout DURATION  how long to retry deleting a version whose workers are gone (default 10m;
                              a stopped worker counts as a poller for minutes: matching.PollerHistoryTTL)
  --bad BUILD                 rollback: the bad build (default: the current version)
  --query QUERY               rollback: which open workflows of the bad build to reset
                              (default: its open OrderWorkflows)
  --first                     render: the manifests of a cluster's first build (SET_CURRENT_IF_NONE=true)
  --temporal-exec NS/POD      run the temporal CLI in this pod (default capstone/deploy/temporal, the kind
                              dev server; with the Helm chart: temporal/deploy/temporal-admintools)
  --temporal-local            run the temporal CLI on this machine, with its own TEMPORAL_* settings
  --temporal-address ADDR     passed to the temporal CLI as --address
  --temporal-namespace NS     passed to the temporal CLI as --namespace
  --dry-run                   print what would be done, change nothing; reads the cluster and Temporal
                              when the context exists, else assumes an empty one (or --previous)
  --previous BUILD            dry-run without a cluster: assume BUILD is deployed and current
  -h, --help                  this text

Durations: 90s, 10m, 2h, or plain seconds. Exit status: 0 done; 3 done, but a build is still
draining and keeps its workers (`retire BUILD` once it has drained); 1 failed; 2 bad usage.

Examples:
  scripts/worker-rollout.sh rollout 3f2a9c1e7b4d
  scripts/worker-rollout.sh rollout 3f2a9c1e7b4d --ramp 20 --ramp-time 15m
  scripts/worker-rollout.sh rollout 3f2a9c1e7b4d --dry-run --previous 0c1d2e3f4a5b
  scripts/worker-rollout.sh retire 0c1d2e3f4a5b
  scripts/worker-rollout.sh rollback 0c1d2e3f4a5b --bad 3f2a9c1e7b4d
EOF
}

say() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() { printf 'worker-rollout.sh: %s\n' "$*" >&2; exit 1; }
dry() { [[ "$DRY_RUN" == yes ]]; }

SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

# A duration as seconds: 90s, 10m, 2h or 90.
seconds() {
  local value=$1
  case "$value" in
    *h) echo $((${value%h} * 3600)) ;;
    *m) echo $((${value%m} * 60)) ;;
    *s) echo "${value%s}" ;;
    *) echo "$value" ;;
  esac
}

check_duration() {
  [[ "$2" =~ ^[0-9]+[smh]?$ ]] || die "$1 takes a duration such as 90s, 10m or 2h, not '$2'"
}

# Build ids become part of object names and label values: lower-case letters, digits and
# dashes, starting and ending with a letter or digit, at most 40 characters (a git commit's
# short form, with room for a suffix).
check_build() {
  [[ "$1" =~ ^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$ ]] \
    || die "build id '$1': use lower-case letters, digits and '-' (at most 40, e.g. a git commit: git rev-parse --short=12 HEAD)"
}

# Prints a command as it would be typed: plain words as they are, the others quoted.
show() {
  local word out=""
  for word in "$@"; do
    if [[ "$word" =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then
      out+="${word} "
    elif [[ "$word" != *"'"* ]]; then
      out+="'${word}' "
    elif [[ "$word" != *[\"\$\`\\]* ]]; then
      out+="\"${word}\" "
    else
      out+="$(printf '%q' "$word") "
    fi
  done
  printf '%s' "${out% }"
}

# A command that changes something: printed, then run (only printed in a dry run).
change() {
  if [[ "$1" == k ]]; then
    shift
    set -- "$KUBECTL" --context "$CONTEXT" "$@"
  fi
  if dry; then
    printf '    would run: %s\n' "$(show "$@")"
  else
    printf '    + %s\n' "$(show "$@")"
    "$@"
  fi
}

k() { "$KUBECTL" --context "$CONTEXT" "$@"; }

HAVE_CLUSTER=""
have_cluster() {
  if [[ -z "$HAVE_CLUSTER" ]]; then
    HAVE_CLUSTER=no
    local contexts=""
    if command -v "$KUBECTL" >/dev/null 2>&1; then
      contexts=$("$KUBECTL" config get-contexts -o name 2>/dev/null || true)
    fi
    if grep -qx -- "$CONTEXT" <<<"$contexts"; then
      HAVE_CLUSTER=yes
    fi
  fi
  [[ "$HAVE_CLUSTER" == yes ]]
}

need_cluster() {
  command -v "$KUBECTL" >/dev/null 2>&1 || die "kubectl is not installed (or not on PATH): https://kubernetes.io/docs/tasks/tools/"
  have_cluster || die "no kubectl context ${CONTEXT} (--context; for kind: scripts/kind.sh up)"
  if [[ "$TEMPORAL_LOCAL" == yes ]]; then
    command -v temporal >/dev/null 2>&1 || die "--temporal-local needs the temporal CLI on PATH (https://docs.temporal.io/cli)"
  fi
}

# The temporal CLI, where this script runs it, with the connection flags given.
temporal_command() {
  TCMD=()
  if [[ "$TEMPORAL_LOCAL" == yes ]]; then
    TCMD=(temporal)
  else
    TCMD=("$KUBECTL" --context "$CONTEXT" -n "${TEMPORAL_EXEC%%/*}" exec "${TEMPORAL_EXEC#*/}" -- temporal)
  fi
  TCMD+=("$@")
  [[ -n "$TEMPORAL_ADDRESS_FLAG" ]] && TCMD+=(--address "$TEMPORAL_ADDRESS_FLAG")
  [[ -n "$TEMPORAL_NAMESPACE_FLAG" ]] && TCMD+=(--namespace "$TEMPORAL_NAMESPACE_FLAG")
  return 0
}

# Reads from Temporal (also in a dry run, when there is a cluster): stdout; stderr kept in
# $SCRATCH/temporal.err.
temporal_read() {
  temporal_command "$@"
  "${TCMD[@]}" 2>"${SCRATCH}/temporal.err"
}

temporal_change() {
  temporal_command "$@"
  change "${TCMD[@]}"
}

# Retries a change to Temporal until it is accepted or `attempts` x 5 s have passed: a version
# whose workers just started may not have registered all its task queues yet.
temporal_change_retrying() {
  local attempts=$1
  shift
  temporal_command "$@"
  if dry; then
    change "${TCMD[@]}"
    return 0
  fi
  local attempt
  for ((attempt = 1; attempt <= attempts; attempt++)); do
    printf '    + %s\n' "$(show "${TCMD[@]}")"
    if "${TCMD[@]}" 2>"${SCRATCH}/temporal.err"; then
      return 0
    fi
    note "not yet: $(tail -n 1 "${SCRATCH}/temporal.err")"
    sleep 5
  done
  die "Temporal refused: $(tail -n 1 "${SCRATCH}/temporal.err")"
}

# json FIELD.PATH: a field of the JSON on stdin, or nothing.
json() {
  python3 -c '
import json, sys
try:
    value = json.load(sys.stdin)
except ValueError:
    sys.exit(0)
for key in sys.argv[1].split("."):
    value = value.get(key) if isinstance(value, dict) else None
print("" if value is None else value)
' "$1"
}

# --- what Temporal and the cluster hold ------------------------------------------------------

# The Worker Deployment as JSON, or nothing when Temporal has none of that name yet.
deployment_json() {
  if ! have_cluster; then
    if [[ -n "$ASSUME_PREVIOUS" ]]; then
      printf '{"routingConfig": {"currentVersionBuildID": "%s"}}' "$ASSUME_PREVIOUS"
    fi
    return 0
  fi
  if temporal_read worker deployment describe --name "$DEPLOYMENT_NAME" --output json; then
    return 0
  fi
  grep -Eqi "not found|no worker deployment found" "${SCRATCH}/temporal.err" && return 0
  die "cannot ask Temporal about Worker Deployment ${DEPLOYMENT_NAME}: $(tail -n 1 "${SCRATCH}/temporal.err")"
}

# In a dry run, what the steps before would have made current or ramping.
DRY_CURRENT=""
DRY_RAMPING=""
current_build() {
  if dry && [[ -n "$DRY_CURRENT" ]]; then echo "$DRY_CURRENT"; return 0; fi
  deployment_json | json routingConfig.currentVersionBuildID
}
ramping_build() {
  if dry && [[ -n "$DRY_CURRENT$DRY_RAMPING" ]]; then echo "$DRY_RAMPING"; return 0; fi
  deployment_json | json routingConfig.rampingVersionBuildID
}

# describe-version as JSON, or nothing when Temporal does not know the version.
version_json() {
  have_cluster || return 0
  temporal_read worker deployment describe-version --deployment-name "$DEPLOYMENT_NAME" --build-id "$1" --output json \
    || true
}

# `draining`, `drained`, `` (never current or ramping), or `gone` (Temporal has no such version).
drainage_status() {
  local described
  have_cluster || return 0   # a dry run without a cluster: unknown
  described=$(version_json "$1")
  if [[ -z "$described" ]]; then
    echo gone
  else
    printf '%s' "$described" | json drainageInfo.drainageStatus
  fi
}

# The visibility query of a build's open pinned workflows (auto-upgrade ones, the
# subscriptions, move to the current build by themselves and do not hold a build).
pinned_query() {
  printf "TemporalWorkerDeploymentVersion = '%s:%s' AND ExecutionStatus = 'Running' AND TemporalWorkflowVersioningBehavior = 'Pinned'" \
    "$DEPLOYMENT_NAME" "$1"
}

# How many workflows match a query, or `?` when it cannot be asked.
count_workflows() {
  have_cluster || { echo 0; return 0; }
  local counted
  if counted=$(temporal_read workflow count --query "$1" --output json); then
    counted=$(printf '%s' "$counted" | json count)
    echo "${counted:-0}"   # the JSON leaves a count of 0 out: {}
  else
    echo "?"
  fi
}

# The builds whose worker Deployments run in the namespace, one per line.
cluster_builds() {
  if ! have_cluster; then
    [[ -n "$ASSUME_PREVIOUS" ]] && echo "$ASSUME_PREVIOUS"
    return 0
  fi
  k -n "$NAMESPACE" get deployments -l 'capstone/build-id,app.kubernetes.io/component in (workflow-worker,activity-worker)' \
    -o go-template='{{range .items}}{{index .metadata.labels "capstone/build-id"}}{{"\n"}}{{end}}' | sort -u
}

# SET_CURRENT_IF_NONE of a build's running workflow-worker Deployment, or nothing.
deployed_set_current_if_none() {
  have_cluster || return 0
  k -n "$NAMESPACE" get deployment "workflow-worker-$1" --ignore-not-found \
    -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name=="SET_CURRENT_IF_NONE")].value}'
}

# --- rendering ---------------------------------------------------------------------------

RENDERED_OVERLAY=""
render_overlay() {
  if [[ -z "$RENDERED_OVERLAY" ]]; then
    [[ -f "${OVERLAY}/kustomization.yaml" ]] || die "no kustomization.yaml in ${OVERLAY} (--overlay)"
    RENDERED_OVERLAY="${SCRATCH}/overlay.yaml"
    "$KUBECTL" kustomize --load-restrictor LoadRestrictionsNone "$OVERLAY" >"$RENDERED_OVERLAY"
  fi
}

resolve_deployment_name() {
  [[ -n "$DEPLOYMENT_NAME" ]] && return 0
  render_overlay
  DEPLOYMENT_NAME=$(sed -n 's/^  WORKER_DEPLOYMENT_NAME: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$RENDERED_OVERLAY" | head -n 1)
  DEPLOYMENT_NAME=${DEPLOYMENT_NAME:-capstone}
}

# render_build BUILD IMAGE SET_CURRENT_IF_NONE: BUILD's versioned worker objects, on stdout.
render_build() {
  local build=$1 image=$2 set_current=$3 dir
  render_overlay
  dir="${SCRATCH}/build-${build}"
  mkdir -p "$dir"
  awk -v want=workers -f scripts/lib/split-workers.awk "$RENDERED_OVERLAY" >"${dir}/workers.yaml"
  [[ $(grep -c '^kind: Deployment$' "${dir}/workers.yaml") == 2 ]] \
    || die "${OVERLAY} renders no workflow-worker and activity-worker Deployments to copy"
  # The image the overlay gives the workers (name without tag or digest), replaced by the build's.
  local current_image current_name new_name new_tag="" new_digest=""
  current_image=$(sed -n 's/^ *image: *//p' "${dir}/workers.yaml" | head -n 1)
  current_name=${current_image%%@*}
  [[ "${current_name##*/}" == *:* ]] && current_name=${current_name%:*}
  new_name=${image%%@*}
  if [[ "$image" == *@* ]]; then
    new_digest=${image#*@}
  elif [[ "${new_name##*/}" == *:* ]]; then
    new_tag=${new_name##*:}
    new_name=${new_name%:*}
  fi
  {
    cat <<EOF
# Build ${build} of the workers, from ${OVERLAY} (scripts/worker-rollout.sh).
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - workers.yaml
nameSuffix: -${build}
labels:
  - pairs:
      capstone/build-id: "${build}"
    includeSelectors: true
    includeTemplates: true
images:
  - name: ${current_name}
    newName: ${new_name}
EOF
    [[ -n "$new_tag" ]] && printf '    newTag: "%s"\n' "$new_tag"
    [[ -n "$new_digest" ]] && printf '    digest: "%s"\n' "$new_digest"
    echo "patches:"
    local role
    for role in workflow-worker activity-worker; do
      cat <<EOF
  - target:
      kind: Deployment
      name: ${role}
    patch: |-
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: ${role}
      spec:
        template:
          spec:
            containers:
              - name: ${role}
                env:
                  - name: WORKER_BUILD_ID
                    value: "${build}"
                  - name: SET_CURRENT_IF_NONE
                    value: "${set_current}"
EOF
      if grep -q '^kind: ScaledObject$' "${dir}/workers.yaml"; then
        # KEDA's temporal trigger (the first one, see deploy/k8s/components/keda) counts the
        # backlog of this version only (KEDA 2.20 or newer).
        cat <<EOF
  - target:
      group: keda.sh
      kind: ScaledObject
      name: ${role}
    patch: |-
      - op: replace
        path: /spec/scaleTargetRef/name
        value: ${role}-${build}
      - op: add
        path: /spec/triggers/0/metadata/workerDeploymentName
        value: "${DEPLOYMENT_NAME}"
      - op: add
        path: /spec/triggers/0/metadata/workerDeploymentBuildId
        value: "${build}"
EOF
      fi
    done
  } >"${dir}/kustomization.yaml"
  "$KUBECTL" kustomize "$dir"
}

# --- steps -------------------------------------------------------------------------------

# Applies BUILD's workers and waits until they are ready and Temporal knows the build.
deploy_build() {
  local build=$1 image=$2 set_current=$3 manifest
  manifest="${SCRATCH}/workers-${build}.yaml"
  render_build "$build" "$image" "$set_current" >"$manifest"
  say "applying workflow-worker-${build} and activity-worker-${build} (image ${image}, SET_CURRENT_IF_NONE=${set_current})"
  dry && note "(what it would apply: scripts/worker-rollout.sh render ${build}$([[ "$set_current" == true ]] && echo ' --first') --image ${image})"
  change k apply --server-side --force-conflicts -f "$manifest"
  say "waiting until they are ready"
  local role
  for role in workflow-worker activity-worker; do
    change k -n "$NAMESPACE" rollout status "deployment/${role}-${build}" --timeout "$READY_TIMEOUT"
  done
  say "waiting until Temporal knows build ${build} (its workers poll)"
  if dry; then
    note "would poll: $(temporal_command worker deployment describe-version --deployment-name "$DEPLOYMENT_NAME" --build-id "$build"; show "${TCMD[@]}")"
    return 0
  fi
  local deadline=$((SECONDS + 120))
  until [[ -n "$(version_json "$build")" ]]; do
    ((SECONDS < deadline)) || die "Temporal does not know build ${build} two minutes after its workers became ready: 'kubectl --context ${CONTEXT} -n ${NAMESPACE} logs deployment/workflow-worker-${build}'"
    sleep 3
  done
  note "Temporal knows ${DEPLOYMENT_NAME}:${build}"
}

wait_until_current() {
  local build=$1 deadline=$((SECONDS + 120))
  dry && { note "would wait until ${build} is current"; return 0; }
  until [[ "$(current_build)" == "$build" ]]; do
    if ((SECONDS >= deadline)); then
      note "the workers did not claim it: making it current here"
      temporal_change_retrying 24 worker deployment set-current-version --deployment-name "$DEPLOYMENT_NAME" --build-id "$build" --yes
      return 0
    fi
    sleep 3
  done
}

# The build's worker objects: deleted, then the pods waited for (they drain on SIGTERM:
# WORKER_DRAIN_TIMEOUT inside terminationGracePeriodSeconds).
delete_build_objects() {
  local build=$1 kinds=deployments,horizontalpodautoscalers,poddisruptionbudgets keda=""
  if ! dry; then
    keda=$(k api-resources --api-group keda.sh -o name 2>/dev/null || true)
  fi
  if grep -q '^scaledobjects' <<<"$keda"; then
    kinds+=",scaledobjects.keda.sh"
  fi
  change k -n "$NAMESPACE" delete "$kinds" -l "capstone/build-id=${build}" --ignore-not-found --wait=true
  if dry; then
    note "would wait until no pod labelled capstone/build-id=${build} is left"
    return 0
  fi
  local deadline=$((SECONDS + 120))
  while [[ -n "$(k -n "$NAMESPACE" get pods -l "capstone/build-id=${build}" -o name)" ]]; do
    ((SECONDS < deadline)) || die "pods of build ${build} are still there after 2 minutes: kubectl --context ${CONTEXT} -n ${NAMESPACE} get pods -l capstone/build-id=${build}"
    sleep 3
  done
}

# retire BUILD. A build still draining at the deadline keeps its workers, and RETIRE_PENDING
# lists it.
RETIRE_PENDING=""
retire_build() {
  local build=$1 current ramping status pinned deadline
  current=$(current_build)
  ramping=$(ramping_build)
  if [[ "$build" == "$current" || "$build" == "$ramping" ]]; then
    say "${build} is the $([[ "$build" == "$current" ]] && echo current || echo ramping) version: it stays"
    return 0
  fi
  say "retiring build ${build}: its workers stay until no open workflow is pinned to it"
  deadline=$((SECONDS + $(seconds "$DRAIN_TIMEOUT")))
  while true; do
    status=$(drainage_status "$build")
    pinned=$(count_workflows "$(pinned_query "$build")")
    if dry && have_cluster; then
      note "now: drainage '${status}', ${pinned} open pinned workflow(s); would wait (up to ${DRAIN_TIMEOUT}) for 'drained' and none open"
      break
    elif dry; then
      note "would wait (up to ${DRAIN_TIMEOUT}) until describe-version says 'drained' and this is 0:"
      note "  temporal workflow count --query \"$(pinned_query "$build")\""
      break
    fi
    if [[ "$status" == gone ]] || { [[ "$status" == drained || -z "$status" ]] && [[ "$pinned" == 0 ]]; }; then
      note "${build}: ${status:-never current}, no open pinned workflow"
      break
    fi
    if ((SECONDS >= deadline)); then
      if [[ "$pinned" == 0 ]]; then
        say "${build}: no open pinned workflow, but Temporal does not report it drained yet (it re-checks every few minutes), so its workers stay"
      else
        say "${build} is still ${status:-draining}: ${pinned} open workflow(s) pinned to it, so its workers stay"
      fi
      note "they finish on it. Once they have: scripts/worker-rollout.sh retire ${build}$(retire_flags)"
      note "which ones: temporal workflow list --query \"$(pinned_query "$build")\""
      RETIRE_PENDING+=" ${build}"
      return 0
    fi
    note "${build}: ${status:-not drained yet}, ${pinned} open pinned workflow(s); looking again in ${POLL} s"
    sleep "$POLL"
  done
  say "deleting the workers of build ${build}"
  delete_build_objects "$build"
  [[ "$status" == gone ]] && return 0
  say "deleting version ${DEPLOYMENT_NAME}:${build} from Temporal (refused while its pollers are remembered: minutes)"
  temporal_command worker deployment delete-version --deployment-name "$DEPLOYMENT_NAME" --build-id "$build"
  if dry; then
    change "${TCMD[@]}"
    note "would retry it for up to ${VERSION_TIMEOUT}"
    return 0
  fi
  deadline=$((SECONDS + $(seconds "$VERSION_TIMEOUT")))
  while true; do
    if "${TCMD[@]}" >/dev/null 2>"${SCRATCH}/temporal.err"; then
      note "deleted ${DEPLOYMENT_NAME}:${build}"
      return 0
    fi
    if ((SECONDS >= deadline)); then
      note "not yet ($(tail -n 1 "${SCRATCH}/temporal.err"))."
      note "The version stays listed (it costs nothing; Temporal also removes unused versions by itself);"
      note "scripts/worker-rollout.sh retire ${build}$(retire_flags) deletes it once its pollers have expired."
      return 0
    fi
    note "not yet: $(tail -n 1 "${SCRATCH}/temporal.err" | cut -c1-160); again in 20 s"
    sleep 20
  done
}

# The options a `retire` run needs to reach the same cluster and Temporal.
retire_flags() {
  local flags=""
  [[ "$CONTEXT" != kind-capstone ]] && flags+=" --context ${CONTEXT}"
  [[ "$NAMESPACE" != capstone ]] && flags+=" --namespace ${NAMESPACE}"
  [[ "$OVERLAY" != deploy/k8s/overlays/kind ]] && flags+=" --overlay ${OVERLAY}"
  [[ "$TEMPORAL_LOCAL" == yes ]] && flags+=" --temporal-local"
  [[ "$TEMPORAL_LOCAL" != yes && "$TEMPORAL_EXEC" != capstone/deploy/temporal ]] && flags+=" --temporal-exec ${TEMPORAL_EXEC}"
  [[ -n "$TEMPORAL_ADDRESS_FLAG" ]] && flags+=" --temporal-address ${TEMPORAL_ADDRESS_FLAG}"
  [[ -n "$TEMPORAL_NAMESPACE_FLAG" ]] && flags+=" --temporal-namespace ${TEMPORAL_NAMESPACE_FLAG}"
  printf '%s' "$flags"
}

dry_run_banner() {
  dry || return 0
  if have_cluster; then
    say "DRY RUN: reading ${CONTEXT} and Temporal, changing nothing"
  else
    say "DRY RUN without a cluster (no context ${CONTEXT}): assuming $([[ -n "$ASSUME_PREVIOUS" ]] && echo "build ${ASSUME_PREVIOUS} deployed and current" || echo "no worker deployed yet")"
  fi
}

# --- commands ----------------------------------------------------------------------------

cmd_rollout() {
  local build=$1 image=${IMAGE:-capstone:$1} current ramping others set_current previous
  check_build "$build"
  dry || need_cluster
  dry_run_banner
  resolve_deployment_name
  current=$(current_build)
  ramping=$(ramping_build)
  others=$(cluster_builds | grep -vx "$build" || true)
  local deployed
  deployed=$(cluster_builds | paste -sd ' ' -)
  say "Worker Deployment ${DEPLOYMENT_NAME}: current ${current:-none}${ramping:+, ramping ${ramping}}; worker builds in ${NAMESPACE}: ${deployed:-none}"
  # Only a cluster's very first build makes itself current; every other waits for this script.
  set_current=$(deployed_set_current_if_none "$build")
  if [[ -z "$set_current" ]]; then
    if [[ -z "$current" && -z "$others" ]]; then set_current=true; else set_current=false; fi
  fi
  deploy_build "$build" "$image" "$set_current"

  if [[ "$current" == "$build" ]]; then
    say "${build} is already current"
  elif [[ -z "$current" && "$set_current" == true ]]; then
    say "first build: its workers make it current (SET_CURRENT_IF_NONE=true)"
    wait_until_current "$build"
  else
    if [[ -n "$RAMP" ]]; then
      say "ramping: ${RAMP} % of new workflows go to ${build}, the rest to ${current:-the current version}, for ${RAMP_TIME}"
      temporal_change_retrying 24 worker deployment set-ramping-version --deployment-name "$DEPLOYMENT_NAME" --build-id "$build" --percentage "$RAMP" --yes
      DRY_RAMPING=$build
      note "watch the failed workflow tasks (Grafana, alert WorkflowTaskFailures) and the orders started on ${build}:"
      note "  temporal workflow list --query \"TemporalWorkerDeploymentVersion = '${DEPLOYMENT_NAME}:${build}'\""
      note "to stop here: Ctrl-C (the ramp stays), then scripts/worker-rollout.sh rollback ${current:-<good build>} --bad ${build}"
      if dry; then
        note "would wait ${RAMP_TIME}"
      else
        sleep "$(seconds "$RAMP_TIME")"
      fi
    fi
    say "making ${build} current: new workflows start on it; open pinned ones stay on their build"
    temporal_change_retrying 24 worker deployment set-current-version --deployment-name "$DEPLOYMENT_NAME" --build-id "$build" --yes
    DRY_CURRENT=$build
    DRY_RAMPING=""
  fi

  previous=$(cluster_builds | grep -vx "$build" || true)
  if dry && ! have_cluster; then previous=$others; fi
  if [[ -z "$previous" ]]; then
    say "no other build's workers to retire"
  fi
  local old
  for old in $previous; do
    retire_build "$old"
  done
  if [[ -n "$RETIRE_PENDING" ]]; then
    say "build ${build} is current; still draining, with their workers:${RETIRE_PENDING}"
    exit 3
  fi
  say "build ${build} is current$(dry && echo ' (dry run: nothing was changed)')"
}

cmd_retire() {
  local build=$1
  check_build "$build"
  dry || need_cluster
  dry_run_banner
  resolve_deployment_name
  retire_build "$build"
  [[ -z "$RETIRE_PENDING" ]] || exit 3
}

cmd_rollback() {
  local good=$1 bad current ramping query count image=${IMAGE:-capstone:$1} deadline
  check_build "$good"
  dry || need_cluster
  dry_run_banner
  resolve_deployment_name
  current=$(current_build)
  ramping=$(ramping_build)
  bad=${BAD:-$current}
  [[ -n "$bad" ]] || die "no current version to roll back from: name the bad build with --bad"
  check_build "$bad"
  [[ "$bad" != "$good" ]] || die "${good} is the current version: name the bad build with --bad (it may be the ramping one)"
  say "rolling back from ${bad} to ${good} (current ${current:-none}${ramping:+, ramping ${ramping}})"

  local builds
  builds=$(cluster_builds)
  if ! grep -qx -- "$good" <<<"$builds"; then
    say "the workers of ${good} are gone: starting them again from ${image}"
    deploy_build "$good" "$image" false
  fi
  if [[ "$current" != "$good" ]]; then
    say "making ${good} current again: new workflows start on it"
    temporal_change_retrying 24 worker deployment set-current-version --deployment-name "$DEPLOYMENT_NAME" --build-id "$good" --yes
    DRY_CURRENT=$good
  fi
  if [[ "$ramping" == "$bad" ]]; then
    say "removing the ramp to ${bad}"
    temporal_change_retrying 6 worker deployment set-ramping-version --deployment-name "$DEPLOYMENT_NAME" --build-id "$bad" --delete --yes
    DRY_CURRENT=$good
    DRY_RAMPING=""
  fi

  # The bad build's open orders are pinned to it: they stay there, failing, until reset. A
  # reset to the first workflow task replays them from the start on the good build (pinned
  # to it by the override); every step already done is found again by its idempotency key.
  query=${QUERY:-"WorkflowType = 'OrderWorkflow' AND ExecutionStatus = 'Running' AND TemporalWorkerDeploymentVersion = '${DEPLOYMENT_NAME}:${bad}'"}
  count=$(count_workflows "$query")
  say "open workflows of ${bad} to reset onto ${good}: ${count} (${query})"
  if [[ "$count" != 0 ]] || dry; then
    temporal_change workflow reset --query "$query" --type FirstWorkflowTask \
      --reason "bad build ${bad}: rolled back to ${good}" --yes \
      with-workflow-update-options --versioning-override-behavior pinned \
      --versioning-override-deployment-name "$DEPLOYMENT_NAME" --versioning-override-build-id "$good"
    if ! dry; then
      say "waiting for the batch reset (every reset workflow starts a new run, pinned to ${good})"
      deadline=$((SECONDS + 300))
      until [[ "$(count_workflows "$query")" == 0 ]]; do
        ((SECONDS < deadline)) || die "workflows of ${bad} are still open after 5 minutes: temporal workflow list --query \"${query}\"; temporal batch list"
        sleep 5
      done
      note "none left on ${bad}"
    fi
  fi
  retire_build "$bad"
  [[ -z "$RETIRE_PENDING" ]] || exit 3
}

cmd_status() {
  need_cluster
  resolve_deployment_name
  say "Worker Deployment ${DEPLOYMENT_NAME} (Temporal)"
  temporal_command worker deployment describe --name "$DEPLOYMENT_NAME"
  "${TCMD[@]}" || true
  say "worker Deployments in ${NAMESPACE}, by build"
  k -n "$NAMESPACE" get deployments,hpa -l 'app.kubernetes.io/component in (workflow-worker,activity-worker)' -L capstone/build-id
  local build
  for build in $(cluster_builds); do
    note "${build}: drainage '$(drainage_status "$build")', $(count_workflows "$(pinned_query "$build")") open pinned workflow(s)"
  done
}

cmd_render() {
  local build=$1
  check_build "$build"
  resolve_deployment_name
  render_build "$build" "${IMAGE:-capstone:$build}" "$([[ "$FIRST" == yes ]] && echo true || echo false)"
}

main() {
  local command=${1:-} build=""
  case "$command" in
    -h | --help | help) usage; exit 0 ;;
    "") usage >&2; exit 2 ;;
    rollout | retire | rollback | render) shift; build=${1:-}; [[ -n "$build" && "$build" != -* ]] || die "$command needs a build id"; shift ;;
    status) shift ;;
    *) printf 'worker-rollout.sh: unknown command %q\n\n' "$command" >&2; usage >&2; exit 2 ;;
  esac
  while (($#)); do
    case "$1" in
      --image) IMAGE=${2:?--image needs a value}; shift 2 ;;
      --overlay) OVERLAY=${2:?}; shift 2 ;;
      --context) CONTEXT=${2:?}; shift 2 ;;
      --namespace) NAMESPACE=${2:?}; shift 2 ;;
      --deployment-name) DEPLOYMENT_NAME=${2:?}; shift 2 ;;
      --ramp) RAMP=${2:?}; shift 2 ;;
      --ramp-time) RAMP_TIME=${2:?}; check_duration --ramp-time "$RAMP_TIME"; shift 2 ;;
      --drain-timeout) DRAIN_TIMEOUT=${2:?}; check_duration --drain-timeout "$DRAIN_TIMEOUT"; shift 2 ;;
      --version-timeout) VERSION_TIMEOUT=${2:?}; check_duration --version-timeout "$VERSION_TIMEOUT"; shift 2 ;;
      --bad) BAD=${2:?}; shift 2 ;;
      --query) QUERY=${2:?}; shift 2 ;;
      --first) FIRST=yes; shift ;;
      --temporal-exec) TEMPORAL_EXEC=${2:?}; [[ "$TEMPORAL_EXEC" == */* ]] || die "--temporal-exec takes <namespace>/<pod>, e.g. temporal/deploy/temporal-admintools"; shift 2 ;;
      --temporal-local) TEMPORAL_LOCAL=yes; shift ;;
      --temporal-address) TEMPORAL_ADDRESS_FLAG=${2:?}; shift 2 ;;
      --temporal-namespace) TEMPORAL_NAMESPACE_FLAG=${2:?}; shift 2 ;;
      --dry-run) DRY_RUN=yes; shift ;;
      --previous) ASSUME_PREVIOUS=${2:?}; check_build "$ASSUME_PREVIOUS"; shift 2 ;;
      -h | --help) usage; exit 0 ;;
      *) die "unknown option $1 (--help lists them)" ;;
    esac
  done
  if [[ -n "$RAMP" ]]; then
    if ! [[ "$RAMP" =~ ^[0-9]+(\.[0-9]+)?$ ]] || ! python3 -c 'import sys; sys.exit(not 0 < float(sys.argv[1]) < 100)' "$RAMP"; then
      die "--ramp takes a percentage between 0 and 100 (exclusive), not '$RAMP'"
    fi
  fi
  command -v python3 >/dev/null 2>&1 || die "python3 is needed (to read the temporal CLI's JSON)"
  # A dry run without a cluster reads nothing, whatever contexts this machine has.
  if [[ "$DRY_RUN" == yes && -n "$ASSUME_PREVIOUS" ]]; then HAVE_CLUSTER=no; fi
  case "$command" in
    rollout) cmd_rollout "$build" ;;
    retire) cmd_retire "$build" ;;
    rollback) cmd_rollback "$build" ;;
    status) cmd_status ;;
    render) cmd_render "$build" ;;
  esac
}

main "$@"
