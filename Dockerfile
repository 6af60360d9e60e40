# Images of ai-platform, built by `docker compose build` (or by hand):
#   docker build --target api    -t ai-platform/api .     HTTP API + web UI (the default target)
#   docker build --target worker -t ai-platform/worker .  Temporal worker + the tools reviews run
# Nothing secret is baked in: all configuration comes from the environment at run time
# (docs/ENV.md). Both images run as the unprivileged user 10001 and check their own
# /health with the binary itself (the images carry no curl).

# Pinned base images; override with --build-arg to move them.
ARG GO_IMAGE=golang:1.26.8-bookworm
ARG BASE_IMAGE=debian:12.12-slim

# ---- build: one static binary (templates, web UI, migrations and codex are embedded)
FROM ${GO_IMAGE} AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# Keep this command identical to `make image-binary`, which CI runs.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/aiplatform ./cmd/aiplatform

# ---- runtime: what both images share
FROM ${BASE_IMAGE} AS runtime
# ca-certificates: the worker calls an HTTPS LLM provider.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 aiplatform \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --shell /usr/sbin/nologin aiplatform \
 && mkdir -p /data/workspaces \
 && chown -R 10001:10001 /data
COPY --from=build /out/aiplatform /usr/local/bin/aiplatform
# Container defaults; every one can be overridden by the environment.
ENV DATA_DIR=/data WORKSPACE_ROOT=/data/workspaces PORT=8080 METRICS_PORT=9090 LOG_FORMAT=json
WORKDIR /data
USER 10001:10001
ENTRYPOINT ["aiplatform"]

# ---- ruff: Debian does not package it, so it comes from PyPI, pinned. An empty
# RUFF_VERSION skips it; the worker then lints with flake8 and reports ruff as skipped.
FROM ${BASE_IMAGE} AS ruff
ARG RUFF_VERSION=0.17.5
RUN mkdir -p /opt/ruff/bin \
 && if [ -n "${RUFF_VERSION}" ]; then \
      apt-get update \
      && apt-get install -y --no-install-recommends python3-pip \
      && pip3 install --no-cache-dir --break-system-packages --prefix /opt/ruff "ruff==${RUFF_VERSION}" \
      && /opt/ruff/bin/ruff --version; \
    fi

# ---- worker: runs the generated projects' checks (compileall, ruff or flake8, pytest)
# through the safe runner, sandboxed by bubblewrap where the container allows it
# (COMMAND_SANDBOX=auto falls back to none otherwise; see docs/OPERATIONS.md).
FROM runtime AS worker
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      python3 python3-pytest python3-pyflakes flake8 pycodestyle python3-fastapi python3-httpx bubblewrap \
 && rm -rf /var/lib/apt/lists/*
COPY --from=ruff /opt/ruff/bin/ /usr/local/bin/
USER 10001:10001
# /metrics and /health (METRICS_PORT); the worker serves nothing else.
EXPOSE 9090
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 CMD ["aiplatform", "healthcheck", "worker"]
CMD ["worker"]

# ---- api: the HTTP API, web UI, /health, /ready and /metrics on PORT (last stage = default target)
FROM runtime AS api
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["aiplatform", "healthcheck", "api"]
CMD ["api"]
