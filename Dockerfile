# Images of ai-platform, built by `docker compose build` (or by hand):
#   docker build --target api    -t ai-platform/api .     HTTP API + web UI (the default target)
#   docker build --target worker -t ai-platform/worker .  Temporal worker (holds the secrets, runs no generated code)
#   docker build --target sandbox -t ai-platform/sandbox . the sandbox service: bubblewrap + the tools reviews run
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

# ---- worker: the Temporal worker. In the compose stack it sends every command to the
# sandbox service (COMMAND_SANDBOX_SOCKET); the tools stay here so that a worker can
# also run commands itself where bubblewrap works (COMMAND_SANDBOX=bwrap, no socket).
FROM runtime AS worker
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      python3 python3-pytest python3-pyflakes flake8 pycodestyle python3-fastapi python3-httpx bubblewrap util-linux \
 && rm -rf /var/lib/apt/lists/*
COPY --from=ruff /opt/ruff/bin/ /usr/local/bin/
USER 10001:10001
# /metrics and /health (METRICS_PORT); the worker serves nothing else.
EXPOSE 9090
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 CMD ["aiplatform", "healthcheck", "worker"]
CMD ["worker"]

# ---- sandbox: the sandbox service (`aiplatform sandbox`), the only place generated code
# runs. It starts as root so that it can give each command a uid of its own and mount
# each run's size-limited tmpfs; every command runs unprivileged inside bubblewrap.
# /run/aiplatform-sandbox belongs to the workers' group (10001) and is setgid, so the
# socket created there is reachable by the workers and nobody else.
FROM runtime AS sandbox
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      python3 python3-pytest python3-pyflakes flake8 pycodestyle python3-fastapi python3-httpx bubblewrap util-linux \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /run/aiplatform-sandbox /scratch \
 && chown root:10001 /run/aiplatform-sandbox && chmod 2770 /run/aiplatform-sandbox && chmod 0711 /scratch
COPY --from=ruff /opt/ruff/bin/ /usr/local/bin/
ENV COMMAND_SANDBOX_SOCKET=/run/aiplatform-sandbox/sandbox.sock COMMAND_SCRATCH_DIR=/scratch
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["aiplatform", "healthcheck", "sandbox"]
CMD ["sandbox"]

# ---- api: the HTTP API, web UI, /health, /ready and /metrics on PORT (last stage = default target)
FROM runtime AS api
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["aiplatform", "healthcheck", "api"]
CMD ["api"]
