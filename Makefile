# The two commands of the README, plus a few conveniences.
#   make dev    install what is missing, build, run everything, place a demo order
#   make test   the whole test suite against real Temporal dev servers
.PHONY: dev test setup build lint fmt clean

dev: setup
	cargo run --locked -- dev --demo-order

test:
	scripts/test.sh

setup:
	scripts/setup.sh

build:
	cargo build --locked --workspace --all-targets

lint:
	cargo fmt --all --check
	cargo clippy --locked --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

# Removes build output and local state (.data holds the dev server's and the services' data).
clean:
	cargo clean
	rm -rf .data
