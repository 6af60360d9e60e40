# ai-platform: `make run` starts everything locally, `make test` runs every test.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
TEMPORAL_CLI_VERSION := v1.5.1
STATICCHECK_VERSION := v0.8.2
# Integration tests run against real PostgreSQL when reachable (required when CI=true).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
export TEST_DATABASE_URL

.PHONY: run build test test-unit test-integration lint temporal staticcheck bench bench-micro e2e clean

## run: API + worker + web UI + local Temporal dev server (http://localhost:8080, Temporal UI :8233)
run: build temporal
	./bin/aiplatform run

## build: the aiplatform binary in bin/
build:
	$(GO) build -o bin/aiplatform ./cmd/aiplatform

## temporal: the Temporal CLI (dev server) in bin/, built once from the Go module proxy (~6 min cold)
temporal: bin/temporal
bin/temporal:
	@echo "Building the Temporal CLI $(TEMPORAL_CLI_VERSION) into bin/ (first time only, several minutes)..."
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

## test: vet, then every test with the race detector (unit, workflow, replay, integration on a real dev server)
test: build temporal
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...

## test-unit: fast tests only (no dev server)
test-unit:
	$(GO) test -race -count=1 -short ./...

## lint: gofmt, go vet, staticcheck
lint: staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	./bin/staticcheck ./...

staticcheck: bin/staticcheck
bin/staticcheck:
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

## bench: the platform against raw Temporal, side by side (bench/results/latest.md and .json; docs/PERFORMANCE.md).
## Not part of `make test`. BENCH_FLAGS passes options (e.g. -paused 10000, -cpuprofile DIR, -quick);
## BENCH_DATABASE_URL picks the PostgreSQL (default: the local one when it answers).
bench: build temporal
	$(GO) build -o bin/bench ./bench
	./bin/bench $(BENCH_FLAGS)

## bench-micro: Go micro-benchmarks of hot paths with -benchmem; compare two runs with benchstat
MICRO_BENCH ?= TaskViewJSON|GetTaskHandler|MemoryGetTask|MemoryAppendEvent|CleanPath|Diff|WriteTaskZip
BENCH_COUNT ?= 6
bench-micro:
	@mkdir -p bench/results
	set -o pipefail; $(GO) test -run '^$$' -bench '$(MICRO_BENCH)' -benchmem -count $(BENCH_COUNT) ./api/ ./internal/store/ ./internal/workspace/ \
		| tee bench/results/micro.txt

clean:
	rm -rf bin/aiplatform bin/bench
