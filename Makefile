# ai-platform: `make run` starts everything locally, `make test` runs every test.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
TEMPORAL_CLI_VERSION := v1.5.1
# The Temporal server docker-compose.yml runs (temporalio/server and admin-tools images);
# `make temporal-server` builds exactly this version for the cluster path without Docker.
TEMPORAL_SERVER_VERSION := v1.31.2
STATICCHECK_VERSION := v0.8.2
# workflowcheck flags non-deterministic calls (time.Now, map ranges, goroutines...) in workflows/.
WORKFLOWCHECK_VERSION := v0.6.0
# deadcode lists functions no program or test of the module can reach (golang.org/x/tools).
DEADCODE_VERSION := v0.52.0
# Integration tests run against real PostgreSQL when reachable (required when CI=true).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
export TEST_DATABASE_URL

.PHONY: bench-soak temporal-server cluster test-cluster
.PHONY: run build test test-unit test-integration test-durability lint openapi-lint temporal staticcheck workflowcheck deadcode bench bench-micro e2e screenshots clean compose-check image-binary

## run: API + worker + web UI + local Temporal dev server (http://localhost:8080, Temporal UI :8233)
run: build temporal
	LLM_MOCK_STREAM_DELAY_MS=$${LLM_MOCK_STREAM_DELAY_MS:-15} ./bin/aiplatform run

## build: the aiplatform binary in bin/
build:
	$(GO) build -o bin/aiplatform ./cmd/aiplatform

## temporal: the Temporal CLI (dev server) in bin/, built once from the Go module proxy (~6 min cold)
temporal: bin/temporal
bin/temporal:
	@echo "Building the Temporal CLI $(TEMPORAL_CLI_VERSION) into bin/ (first time only, several minutes)..."
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

## temporal-server: the Temporal server and its SQL schema tool at TEMPORAL_SERVER_VERSION (the version
## docker-compose.yml runs) in bin/, plus its PostgreSQL schema files; built once (~8 min cold, ~1 min
## when `make temporal` already filled the module cache)
temporal-server: bin/temporal-server
bin/temporal-server:
	@echo "Building the Temporal server $(TEMPORAL_SERVER_VERSION) and temporal-sql-tool into bin/ (first time only, several minutes)..."
	rm -rf $(BIN)/.temporal-server-build && mkdir -p $(BIN)/.temporal-server-build
	GOBIN=$(BIN)/.temporal-server-build $(GO) install go.temporal.io/server/cmd/server@$(TEMPORAL_SERVER_VERSION) \
		go.temporal.io/server/cmd/tools/sql@$(TEMPORAL_SERVER_VERSION)
	@# The schema files temporal-sql-tool applies ship in the server module, at the same version, and so
	@# does the config template the server renders at start (the image's docker/config_template.yaml in
	@# the server's own template syntax): copied so that `render-config` can show what it renders.
	rm -rf $(BIN)/temporal-schema && mkdir -p $(BIN)/temporal-schema/config-template
	cp -r "$$($(GO) env GOMODCACHE)/go.temporal.io/server@$(TEMPORAL_SERVER_VERSION)/schema/postgresql" $(BIN)/temporal-schema/
	@# Its Go files (the schema's embed package) would join ./... in go test and go vet.
	find $(BIN)/temporal-schema -name '*.go' -delete
	cp "$$($(GO) env GOMODCACHE)/go.temporal.io/server@$(TEMPORAL_SERVER_VERSION)/common/config/config_template_embedded.yaml" \
		$(BIN)/temporal-schema/config-template/development.yaml
	chmod -R u+w $(BIN)/temporal-schema
	mv $(BIN)/.temporal-server-build/sql $(BIN)/temporal-sql-tool
	mv $(BIN)/.temporal-server-build/server $(BIN)/temporal-server
	rmdir $(BIN)/.temporal-server-build

## cluster: the production topology on this machine without Docker (docs/OPERATIONS.md): the Temporal
## server on the local PostgreSQL, CLUSTER_APIS API processes and CLUSTER_WORKERS workers behind nginx
## on http://localhost:$(CLUSTER_PORT). Needs PostgreSQL (CLUSTER_PG_URL), Redis and nginx.
CLUSTER_APIS ?= 2
CLUSTER_WORKERS ?= 3
CLUSTER_PORT ?= 8088
cluster: build temporal temporal-server
	./bin/aiplatform cluster --apis $(CLUSTER_APIS) --workers $(CLUSTER_WORKERS) --port $(CLUSTER_PORT)

## test-cluster: the cluster test (build tag cluster): 2 APIs, 3 workers, the real server, 200 tasks, faults
test-cluster: build temporal temporal-server
	$(GO) test -count=1 -timeout 30m -tags cluster -run TestCluster -v ./internal/cluster/...

## test: vet, then every test with the race detector (unit, workflow, replay, integration on a real dev server)
test: build temporal
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...

## test-durability: the worker-kill tests (build tag durability; a few minutes)
test-durability: build temporal
	$(GO) test -race -count=1 -timeout 30m -tags durability -run 'TestKill|TestSIGTERMWorker|TestSlotsSurvive|TestSmallWorkflowCache' ./internal/app/durability/...

## test-unit: fast tests only (no dev server)
test-unit:
	$(GO) test -race -count=1 -short ./...

## lint: gofmt, go vet, staticcheck, workflowcheck (determinism of workflows/), deadcode, the OpenAPI document
lint: staticcheck workflowcheck deadcode openapi-lint
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	./bin/staticcheck ./...
	./bin/staticcheck -tags durability,bench ./internal/app/durability/
	./bin/staticcheck -tags cluster ./internal/cluster/
	./bin/workflowcheck ./workflows/...
	@# -test: a helper only tests call counts as used. -tags durability,bench,cluster: the
	@# worker-kill, benchmark and cluster tests are checked too, and what only they call counts as used.
	@# deadcode exits 0 when it finds something, so any line it prints fails the target.
	@out=$$(./bin/deadcode -test -tags durability,bench,cluster ./...) || exit 1; \
	if [ -n "$$out" ]; then echo "unreachable functions (deadcode): remove them"; echo "$$out"; exit 1; fi

## openapi-lint: `redocly lint` (recommended rules; exceptions with reasons in redocly.yaml) on
## docs/openapi.yaml, with the CLI pinned in tools/openapi. Fails on warnings too.
openapi-lint: tools/openapi/node_modules
	@out=$$(REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true npx --prefix tools/openapi redocly lint --format=stylish docs/openapi.yaml 2>&1); \
	status=$$?; echo "$$out" | grep -v '[║╔╚]'; \
	if [ $$status -ne 0 ] || echo "$$out" | grep -Eq '^ +[0-9]+:[0-9]+ +warning '; then \
		echo "openapi-lint: fix the problems above in docs/openapi.yaml"; exit 1; fi
tools/openapi/node_modules: tools/openapi/package-lock.json
	cd tools/openapi && npm ci --no-audit --no-fund
	@touch $@

staticcheck: bin/staticcheck
bin/staticcheck:
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

## image-binary: the binary exactly as the Dockerfile's build stage makes it (static, no cgo)
image-binary:
	CGO_ENABLED=0 GOFLAGS=-buildvcs=false $(GO) build -trimpath -ldflags="-s -w" -o bin/aiplatform-image ./cmd/aiplatform
	$(GO) version -m bin/aiplatform-image | grep -q 'CGO_ENABLED=0'

## compose-check: validate docker-compose.yml without a Docker engine (compose v1 and v2 loaders), the
## Temporal setup scripts, and build the image's binary. Needs Debian's docker-compose package.
compose-check: image-binary
	docker-compose -f docker-compose.yml config -q
	cd tools/composecheck && $(GO) run . ../../docker-compose.yml
	for f in temporal-config/scripts/*.sh; do sh -n "$$f"; done

## screenshots: run the browser tests and save the main screens to docs/screenshots/
screenshots: build temporal
	E2E_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run TestBrowserEndToEnd ./web/

deadcode: bin/deadcode
bin/deadcode:
	GOBIN=$(BIN) $(GO) install golang.org/x/tools/cmd/deadcode@$(DEADCODE_VERSION)

workflowcheck: bin/workflowcheck
bin/workflowcheck:
	GOBIN=$(BIN) $(GO) install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)

## bench: the platform against raw Temporal, side by side (bench/results/latest.md and .json; docs/PERFORMANCE.md).
## Not part of `make test`. BENCH_FLAGS passes options (e.g. -paused 10000, -cpuprofile DIR, -quick);
## BENCH_DATABASE_URL picks the PostgreSQL (default: the local one when it answers).
bench: build temporal
	$(GO) build -o bin/bench ./bench
	./bin/bench $(BENCH_FLAGS)

## bench-soak: suite 5 at 10,000 tasks parked in needs_input beside 10,000 raw waiting workflows, then
## 1,000 of each resumed while the rest stay parked (bench/results/soak/latest.md; docs/PERFORMANCE.md).
## BENCH_FLAGS adds options (e.g. -server real).
bench-soak: build temporal
	$(GO) build -o bin/bench ./bench
	./bin/bench -suites 5 -paused 10000 -resume 1000 -results bench/results/soak $(BENCH_FLAGS)

## bench-micro: Go micro-benchmarks of hot paths with -benchmem; compare two runs with benchstat
MICRO_BENCH ?= TaskViewJSON|GetTaskHandler|MemoryGetTask|MemoryAppendEvent|CleanPath|Diff|WriteTaskZip
BENCH_COUNT ?= 6
bench-micro:
	@mkdir -p bench/results
	set -o pipefail; $(GO) test -run '^$$' -bench '$(MICRO_BENCH)' -benchmem -count $(BENCH_COUNT) ./api/ ./internal/store/ ./internal/workspace/ \
		| tee bench/results/micro.txt

clean:
	rm -rf bin/aiplatform bin/aiplatform-image bin/bench
