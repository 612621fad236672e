# Multi-stage build: compile cellreg and the migration CLI once (dependencies
# cached in their own layer by cargo-chef), then copy the two binaries into a
# small runtime image that runs as an unprivileged user.

FROM rust:1.95-slim-bookworm AS chef
RUN cargo install cargo-chef --locked
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked -p api --bin cellreg -p migration --bin migration

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/cellreg --create-home cellreg
COPY --from=builder /src/target/release/cellreg /usr/local/bin/cellreg
COPY --from=builder /src/target/release/migration /usr/local/bin/migration
USER cellreg
WORKDIR /var/lib/cellreg
ENV CELLREG_BIND=0.0.0.0:8080 \
    CELLREG_LOG_FORMAT=json \
    RUST_LOG=info
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["cellreg"]
CMD ["serve"]
