#!/usr/bin/env bash
# The whole test suite: unit tests, activity tests against the real services, and end-to-end
# tests against real Temporal dev servers (started per test), on SQLite and on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The deployment files (compose, Kubernetes), checked offline.
scripts/check-deploy.sh
export TEMPORAL_CLI="$PWD/.tools/venv/bin/temporal"
# Most tests wait on a server rather than compute: run more of them at once than there are cores.
export RUST_TEST_THREADS=${RUST_TEST_THREADS:-4}
if [ $# = 0 ]; then
  # Build every test target first, so that the log keeps the build's share and the tests'
  # share apart (docs/performance.md, "The CI run").
  built=$(date +%s)
  echo "==> building every test target (cargo test --no-run)"
  cargo test --workspace --locked --no-run
  echo "==> built in $(( $(date +%s) - built )) s; running the tests"
fi
tests=$(date +%s)
scripts/with-postgres.sh cargo test --workspace --locked --no-fail-fast "$@"
echo "==> the tests ran in $(( $(date +%s) - tests )) s"
