#!/usr/bin/env bash
# Proves the course's exercises (docs/README.md, "Exercises"), as CI does:
#   1. every day's check (tests/exercises.rs, `day_NN_...`) FAILS on the code as it is here:
#      the exercise asks for something the shop does not do yet;
#   2. every solution (solutions/day-NN.patch) applies to a clean copy of this code, and each
#      day has exactly one check and one solution;
#   3. in that copy, with every solution applied, every check passes, and so does the replay
#      gate (every recorded history replays).
# A starting point that already passes, a solution that no longer applies or no longer passes:
# each fails this script, naming the day.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'EOF'

Usage: scripts/check-solutions.sh      (make check-solutions)
Environment: CARGO_TARGET_DIR (shared with the copy: only the workspace's own crates rebuild),
SOLUTIONS_SCRATCH (where the copy goes; default ~/.cache/capstone-solutions/src).
One day's check on your own work: make check-exercise DAY=05
EOF
  exit 0
fi

repo=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
export TEMPORAL_CLI=${TEMPORAL_CLI:-$repo/.tools/venv/bin/temporal}
export MAIL_CATCHER_PYTHON=${MAIL_CATCHER_PYTHON:-$repo/.tools/venv/bin/python}
export RUST_TEST_THREADS=${RUST_TEST_THREADS:-4}
scratch=${SOLUTIONS_SCRATCH:-$HOME/.cache/capstone-solutions/src}
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
say() { printf '==> %s\n' "$*"; }
fail() { printf 'check-solutions: %s\n' "$*" >&2; exit 1; }

# The days: one solution each, one check each.
days=()
for patch in solutions/day-[0-9][0-9].patch; do
  [ -e "$patch" ] && days+=("${patch:14:2}")
done
[ "${#days[@]}" -gt 0 ] || fail "no solutions/day-NN.patch"
cargo test --locked -q -p capstone --test exercises -- --ignored --list 2>/dev/null |
  sed -nE 's/^(day_[0-9]{2}_[a-z0-9_]+): test$/\1/p' | sort >"$log/checks"
for day in "${days[@]}"; do
  [ "$(grep -c "^day_${day}_" "$log/checks")" = 1 ] || fail "day $day needs exactly one check named day_${day}_... in tests/exercises.rs"
done
while read -r check; do
  day=${check:4:2}
  [ -f "solutions/day-$day.patch" ] || fail "$check has no solution: solutions/day-$day.patch"
done <"$log/checks"

say "1/3 the checks on the starting code: each must fail (${#days[@]} days)"
cargo test --locked -p capstone --test exercises -- --ignored >"$log/start.txt" 2>&1 || true
for day in "${days[@]}"; do
  check=$(grep "^day_${day}_" "$log/checks")
  if grep -q "^test $check \.\.\. ok$" "$log/start.txt"; then
    fail "day $day: $check passes without the solution; the exercise has nothing left to do (see tests/exercises.rs)"
  fi
  grep -q "^test $check \.\.\. FAILED$" "$log/start.txt" || { cat "$log/start.txt" >&2; fail "day $day: $check did not run"; }
  echo "    day $day fails as it should: $check"
done

say "2/3 every solution applies to a clean copy ($scratch)"
rm -rf "$scratch"
mkdir -p "$scratch"
# The tracked files as they are in this working tree (a clean clone in CI).
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$scratch" 2>/dev/null || true
for day in "${days[@]}"; do
  (cd "$scratch" && git apply --check "$repo/solutions/day-$day.patch") ||
    fail "day $day: solutions/day-$day.patch no longer applies to the starting code"
done
for day in "${days[@]}"; do
  (cd "$scratch" && git apply "$repo/solutions/day-$day.patch") ||
    fail "day $day: solutions/day-$day.patch conflicts with the solutions before it"
done

say "3/3 with every solution applied: the checks and the replay gate"
cd "$scratch"
cargo test --locked -p capstone --test exercises -- --ignored 2>&1 | tee "$log/solved.txt" | grep -E '^test |test result' || true
for day in "${days[@]}"; do
  check=$(grep "^day_${day}_" "$log/checks")
  grep -q "^test $check \.\.\. ok$" "$log/solved.txt" ||
    { cat "$log/solved.txt" >&2; fail "day $day: $check fails with solutions/day-$day.patch applied"; }
done
cargo test --locked -p capstone --test integration replay:: || fail "the replay gate fails with the solutions applied"

say "every exercise fails on the starting code and passes with its solution (${#days[@]} days)"
