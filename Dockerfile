# syntax=docker/dockerfile:1
#
# One image for every role of the shop: the `capstone` binary, one role per subcommand.
#
# Build (from the repository root; the first build compiles every dependency, 5-15 minutes):
#
#   docker build -t capstone:local .
#
# Run one role. Every listener must bind 0.0.0.0 inside a container (the defaults are
# 127.0.0.1, which nothing outside the container can reach):
#
#   docker run --rm capstone:local                      # --help: every role
#   docker run --rm capstone:local api --help           # one role's flags and env vars
#   docker run --rm -p 127.0.0.1:8081:8081 -e INVENTORY_ADDR=0.0.0.0:8081 capstone:local inventory
#   docker run --rm capstone:local generate-payload-key
#
# The whole system (Temporal, PostgreSQL, the five services, both workers, Prometheus,
# Grafana, Jaeger) runs from docker-compose.yml: see docs/deploy-compose.md.
#
# Stages: `chef` (the toolchain plus cargo-chef), `planner` (computes recipe.json: the
# manifests and Cargo.lock, no sources), `builder` (compiles the dependencies from the recipe
# in a layer of their own, then the workspace). Editing a .rs file changes neither recipe.json
# nor that layer, so a rebuild compiles only the three workspace crates. Changing Cargo.toml
# or Cargo.lock rebuilds the dependencies.
#
# No protoc (the protos are vendored and compiled by protox), no OpenSSL (rustls), no libsqlite3
# (bundled): the builder needs nothing beyond the rust image, and the runtime only
# ca-certificates (and curl, see below).

ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

############################ chef: toolchain + cargo-chef ############################
FROM ${RUST_IMAGE} AS chef
RUN cargo install cargo-chef --locked --version 0.1.77
WORKDIR /src

############################ planner: the dependency recipe ##########################
FROM chef AS planner
# Everything .dockerignore lets through; only the manifests and Cargo.lock end up in the
# recipe, so a source edit yields the same recipe.json and the cook layer below stays cached.
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

############################ builder: dependencies, then the binary ##################
FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
# The dependency layer: rebuilt only when recipe.json changes.
RUN cargo chef cook --release --locked -p capstone --recipe-path recipe.json

COPY Cargo.toml Cargo.lock ./
COPY workflows/ workflows/
COPY activities/ activities/
COPY services/ services/
# services/Cargo.toml declares its integration tests at ../tests/*.rs; they are not built
# here, but the manifest names them.
COPY tests/ tests/
# Embedded at compile time by `capstone dev --demo-order` (include_str! in services/src/dev).
COPY docs/examples/order.json docs/examples/order.json
RUN cargo build --release --locked -p capstone --bin capstone \
 && install -m 0755 target/release/capstone /usr/local/bin/capstone

############################ runtime ##################################################
FROM ${RUNTIME_IMAGE} AS runtime
# ca-certificates: rustls verifies TLS peers (a Temporal Cloud frontend, an OTLP collector
# over https) against the system roots.
# curl: for the container healthchecks in docker-compose.yml (`curl -fsS .../healthz`). The
# binary has no health subcommand, the image has no shell tool that speaks HTTP, and every
# role serves GET /healthz. A few MB of curl and its libraries are worth a healthcheck that
# is one plain line per service; it is also handy for looking inside the network when
# something is wrong (`docker compose exec api curl -s inventory:8081/skus`).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*

# A fixed, non-root uid/gid (10001) so that mounted volumes can be chowned predictably.
RUN groupadd --system --gid 10001 capstone \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin capstone \
 && mkdir -p /app/.data \
 && chown -R 10001:10001 /app

COPY --from=builder /usr/local/bin/capstone /usr/local/bin/capstone

# The defaults that are relative paths (DATABASE_URL=sqlite://.data/capstone.db,
# PAYLOAD_KEYS_FILE=.data/payload-keys, API_SERVICE_KEY_FILE=.data/api-service-key) resolve
# under /app/.data, which this user may write. docker-compose.yml sets DATABASE_URL,
# PAYLOAD_KEYS and API_SERVICE_KEY, so nothing is written there in compose.
WORKDIR /app
USER 10001:10001

# api, inventory, payments, shipping, notifications; the workflow worker's and the activity
# worker's /metrics + /healthz (METRICS_ADDR). Documentation only: publish with -p.
EXPOSE 8080 8081 8082 8083 8084 9091 9092

ENTRYPOINT ["capstone"]
CMD ["--help"]
