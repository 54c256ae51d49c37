# syntax=docker/dockerfile:1
#
# One image for every long-running role of the shop: the `capstone` binary, one role per
# subcommand (api, inventory, payments, shipping, notifications, workflow-worker,
# activity-worker) and the one-shot commands next to them (setup-temporal, migrate,
# create-api-key, generate-payload-key, probe, loadgen, bench-batch).
#
# Not in this image: `capstone dev`, `capstone bench` and the test suites start a Temporal dev
# server through the Temporal CLI (`temporal server start-dev`), and the image has no Temporal
# CLI. Run those on a machine with `make dev`; in containers, Temporal is a container of its
# own (docker-compose.yml, deploy/k8s).
#
# Build (from the repository root; the first build compiles every dependency, 5-15 minutes):
#
#   docker build -t capstone:local .
#
# Run one role. Every listener must bind 0.0.0.0 inside a container (the defaults are
# 127.0.0.1, which nothing outside the container can reach):
#
#   docker run --rm capstone:local                      # --help: every subcommand
#   docker run --rm capstone:local api --help           # one role's flags and env vars
#   docker run --rm -p 127.0.0.1:8081:8081 -e INVENTORY_ADDR=0.0.0.0:8081 capstone:local inventory
#   docker run --rm capstone:local generate-payload-key
#
# The whole system (Temporal, PostgreSQL, the five services, both workers, Prometheus,
# Grafana, Jaeger, Mailpit) runs from docker-compose.yml: see docs/deploy-compose.md.
#
# Stages: `chef` (the toolchain plus cargo-chef), `planner` (computes recipe.json: the
# manifests and Cargo.lock, no sources), `builder` (compiles the dependencies from the recipe
# in a step of their own, then the workspace). Editing a .rs file changes neither recipe.json
# nor the cook step, so a rebuild compiles only the three workspace crates. Changing
# Cargo.toml or Cargo.lock cooks the dependencies again.
#
# Build caches: the cargo registry and the target directory are BuildKit cache mounts
# (`RUN --mount=type=cache`), kept by the builder between builds and never part of an image.
# When the builder has pruned them (`docker builder prune`), the next build compiles
# everything again: slower, never wrong. Podman/Buildah understands the same mounts
# (scripts/podman-rehearsal.sh builds this file with them). They are `shared` (the default),
# not `locked`: cargo locks its registry and target directory itself, and Debian 12's Buildah
# never releases the first of two locked mounts in one RUN, so the next RUN hung.
#
# Base images are build arguments, so that the same file builds from other sources of the
# same bases (scripts/podman-rehearsal.sh builds it from images made from Debian's packages).
# The defaults are the upstream images:
#   RUST_IMAGE     rust:1.95-bookworm      the toolchain (Debian 12, cargo in /usr/local/cargo)
#   RUNTIME_IMAGE  debian:bookworm-slim    the runtime (Debian 12, apt)
#
# No protoc (the protos are vendored and compiled by protox), no OpenSSL (rustls), no libsqlite3
# (bundled): the builder needs nothing beyond the rust image, and the runtime only
# ca-certificates.

ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

############################ chef: toolchain + cargo-chef ############################
FROM ${RUST_IMAGE} AS chef
RUN --mount=type=cache,target=/usr/local/cargo/registry,id=capstone-cargo-registry \
    cargo install cargo-chef --locked --version 0.1.77
WORKDIR /src

############################ planner: the dependency recipe ##########################
FROM chef AS planner
# Everything .dockerignore lets through; only the manifests and Cargo.lock end up in the
# recipe, so a source edit yields the same recipe.json and the cook step below stays cached.
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

############################ builder: dependencies, then the binary ##################
FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
# The dependencies: this step runs again only when recipe.json changes. Their build output
# stays in the target cache mount, where the build below finds it.
RUN --mount=type=cache,target=/usr/local/cargo/registry,id=capstone-cargo-registry \
    --mount=type=cache,target=/src/target,id=capstone-target-release \
    cargo chef cook --release --locked -p capstone --no-default-features --recipe-path recipe.json

COPY Cargo.toml Cargo.lock ./
COPY workflows/ workflows/
COPY activities/ activities/
COPY processes/ processes/
COPY services/ services/
# services/Cargo.toml declares its integration tests at ../tests/*.rs; they are not built
# here, but the manifest names them.
COPY tests/ tests/
# Embedded at compile time by `capstone dev --demo-order` (include_str! in services/src/dev).
COPY docs/examples/order.json docs/examples/order.json
# The Worker Deployment build id baked into the binary (services/build.rs): the workers use it
# unless WORKER_BUILD_ID says otherwise. The build context has no .git, so without this
# argument every image gets the same id, `v<crate version>`. scripts/kind.sh passes the git
# commit: `docker build --build-arg CAPSTONE_BUILD_ID=$(git rev-parse --short=12 HEAD) .`
ARG CAPSTONE_BUILD_ID=""
# The binary is copied out of the cache mount in the same step: the mount is not in the layer.
RUN --mount=type=cache,target=/usr/local/cargo/registry,id=capstone-cargo-registry \
    --mount=type=cache,target=/src/target,id=capstone-target-release \
    CAPSTONE_BUILD_ID="${CAPSTONE_BUILD_ID}" cargo build --release --locked -p capstone --bin capstone --no-default-features \
 && install -m 0755 target/release/capstone /usr/local/bin/capstone

############################ runtime ##################################################
FROM ${RUNTIME_IMAGE} AS runtime
# ca-certificates: rustls verifies TLS peers (a Temporal Cloud frontend, an OTLP collector
# over https) against the system roots. Nothing else: the container healthchecks run the
# binary itself (`capstone probe http://127.0.0.1:<port>/healthz`), so the image needs no
# curl or shell tool of its own.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# A fixed, non-root uid/gid (10001) so that mounted volumes can be chowned predictably.
RUN groupadd --system --gid 10001 capstone \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin capstone \
 && mkdir -p /app/.data \
 && chown -R 10001:10001 /app

COPY --from=builder /usr/local/bin/capstone /usr/local/bin/capstone

# The same build id as a label, so that tools can read it without running the image
# (`docker image inspect -f '{{ index .Config.Labels "capstone.build-id" }}' capstone:dev`).
ARG CAPSTONE_BUILD_ID=""
LABEL capstone.build-id="${CAPSTONE_BUILD_ID}"

# The defaults that are relative paths (DATABASE_URL=sqlite://.data/capstone.db,
# PAYLOAD_KEYS_FILE=.data/payload-keys, SERVICE_KEY_FILE=.data/service-key) resolve under
# /app/.data, which this user may write. docker-compose.yml and deploy/k8s set DATABASE_URL,
# PAYLOAD_KEYS and SERVICE_KEY, so nothing is written there when deployed.
WORKDIR /app
USER 10001:10001

# api, inventory, payments, shipping, notifications; the workflow worker's and the activity
# worker's /metrics + /healthz (METRICS_ADDR). Documentation only: publish with -p.
EXPOSE 8080 8081 8082 8083 8084 9091 9092

ENTRYPOINT ["capstone"]
CMD ["--help"]
