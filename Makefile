# Latchkey: the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
BIN       := bin/latchkey
SCAN_BIN  := bin/latchkey-scan
TOOLS_DIR := $(shell tools/install.sh --dir)

export LATCHKEY_TOOLS_DIR := $(TOOLS_DIR)

.PHONY: all build tools flux generate test test-unit lint bench soak faults bench-precommit demo clean help

all: build

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## Build bin/latchkey and bin/latchkey-scan (the scanner alone)
	$(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/latchkey
	$(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o $(SCAN_BIN) ./cmd/latchkey-scan

tools: ## Build the real components (kube-apiserver, etcd, Vault, kubeseal, ...) into the tool cache
	tools/install.sh

flux: ## Build Flux's source- and kustomize-controller for bench/reconcile (not part of make tools: no test needs them)
	tools/install.sh flux

CONTROLLER_GEN = $(shell tools/install.sh --path controller-gen)

generate: ## Regenerate the Sync API's deepcopy functions and its CRD in charts/latchkey/crds
	tools/install.sh controller-gen
	$(CONTROLLER_GEN) object paths=./api/...
	$(CONTROLLER_GEN) crd paths=./api/... output:crd:artifacts:config=charts/latchkey/crds

# The tests that run in parallel (t.Parallel) are the ones that wait on real
# time: a control plane of their own, a Sync's interval, a soak. go test runs
# GOMAXPROCS of them at once by default, which on two cores leaves the CPU
# idle while they wait; four at a time overlap the waits.
TEST_PARALLEL ?= 4

test: tools ## Run every test against the real components (CI=true makes a missing tool a failure)
	$(GO) test -race -count=1 -parallel $(TEST_PARALLEL) -timeout 30m ./...

test-unit: ## Run the tests that need no real component
	$(GO) test -count=1 -short ./...

lint: ## gofmt, go vet, staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	tools/install.sh staticcheck >/dev/null
	$$(tools/install.sh --path staticcheck) ./...

bench: build tools flux ## Run the benchmarks under bench/ (scanner vs gitleaks, render, reconcile vs Flux) and print their figures
	LATCHKEY=$(BIN) bench/scan.sh
	LATCHKEY_BIN=$(abspath $(BIN)) $(GO) test -run '^$$' -bench . -benchtime 1x -benchmem $$($(GO) list ./bench/... | grep -v -e /bench/soak -e /bench/faults)

SOAK_FLAGS ?= -syncs 200 -duration 30m -sample 1m

soak: tools ## Soak the controller (bench/soak): 200 Syncs for 30 minutes under commits, rotations, edits and Vault restarts; SOAK_FLAGS='-syncs 20 -duration 3m -sample 20s' for a short run
	$(GO) test ./bench/soak -run '^$$' -bench Soak -benchtime 1x -timeout 90m $(SOAK_FLAGS)

FAULTS_FLAGS ?= -trials 50

faults: tools ## The whole fault campaign (bench/faults): every fault family, 50 trials each, printing the faults table; FAULTS_FLAGS='-families crash,git -trials 10' for a part
	$(GO) test ./bench/faults -run '^$$' -bench . -benchtime 1x -timeout 300m $(FAULTS_FLAGS)

bench-precommit: ## First use of the pre-commit hook and binary size, latchkey-scan vs gitleaks (needs pre-commit; minutes: cold Go caches)
	bench/precommit.sh

demo: build tools ## Run the local demo: control plane, Vault, Git and the controller (tenancy on), narrated
	$(BIN) dev

clean: ## Remove build outputs (the tool cache is kept; see tools/install.sh --dir)
	rm -rf bin
