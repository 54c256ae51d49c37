# The two commands of the README, plus a few conveniences.
#   make dev    install what is missing, build, run everything, place a demo order
#   make test   the whole test suite against real Temporal dev servers
.PHONY: dev test setup build lint fmt clean check-exercise check-solutions screenshots

dev: setup
	cargo run --locked -- dev --demo-order

test:
	scripts/test.sh

setup:
	scripts/setup.sh

# One day's exercise, checked: make check-exercise DAY=05 (docs/README.md, "Exercises").
check-exercise:
	@test -n "$(DAY)" || { echo "which day? make check-exercise DAY=05" >&2; exit 2; }
	TEMPORAL_CLI=$${TEMPORAL_CLI:-$$PWD/.tools/venv/bin/temporal} cargo test --locked -p capstone --test exercises -- --ignored day_$$(printf %02d $$((10#$(DAY))))_

# Every solution in solutions/ applied to a scratch copy and checked (a CI step).
check-solutions:
	scripts/check-solutions.sh

# The docs' pictures of the Web UI and the web console, taken from a running capstone dev
# (docs/README.md); CAPSTONE_BIN=path skips the build.
screenshots: setup
	scripts/screenshots.sh

build:
	cargo build --locked --workspace --all-targets

lint:
	cargo fmt --all --check
	cargo clippy --locked --workspace --all-targets -- -D warnings
	cargo clippy --locked -p capstone --lib --bin capstone --no-default-features -- -D warnings

fmt:
	cargo fmt --all

# Removes build output and local state (.data holds the dev server's and the services' data).
clean:
	cargo clean
	rm -rf .data
