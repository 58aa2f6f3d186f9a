# The one task runner: CI calls these targets as they are.
#   make run      start the server (embedded store, 127.0.0.1:50051)
#   make test     start the testbeds, run the whole suite, stop them
#   make check    format, lint, types, layering, protos (lint, format, breaking, freshness)
SHELL := /bin/bash
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# Test beds beside the single-node Swarm and the store: the multi-node Swarm in network
# namespaces (with a local registry). Set to 0 to run without it (its tests then skip,
# or fail under CI=true).
export ZANEPOOL_TB_SWARM ?= 1

.PHONY: venv run test testbed-up testbed-down check lint typecheck layers fmt gen-protos check-protos bench clean

# The environment, installed from the pinned constraints; redone when they change.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade 'pip>=24'
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[server,embedded,dev]'
	@touch $@

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/zanepool-server $(ARGS)

testbed-up: $(STAMP)
	PYTHON=$(BIN)/python tests/testbed/up.sh

testbed-down:
	tests/testbed/down.sh

# The whole suite against real components; the testbeds are stopped whatever the outcome.
test: $(STAMP)
	@set -o pipefail; status=0; \
	PYTHON=$(BIN)/python tests/testbed/up.sh || status=$$?; \
	if [ $$status -eq 0 ]; then $(BIN)/pytest $(PYTEST_ARGS) || status=$$?; fi; \
	tests/testbed/down.sh || true; exit $$status

check: lint typecheck layers check-protos

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(BIN)/buf format -w

typecheck: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports

# Generated code: buf drives protoc's built-in Python generator (from grpcio-tools) and
# mypy-protobuf's stubs; the gRPC stubs come from grpcio-tools reading buf's own image.
gen-protos: $(STAMP)
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/buf generate
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	$(BIN)/buf build -o $$tmp/image.binpb && \
	$(BIN)/python -m grpc_tools.protoc --descriptor_set_in=$$tmp/image.binpb --grpc_python_out=. \
	  $$(cd protos && ls zanepool/v1/*.proto)

# buf lint STANDARD, buf format, buf breaking against main, and generated code up to date.
check-protos: $(STAMP)
	$(BIN)/buf lint
	$(BIN)/buf format --diff --exit-code
	@if [ "$$(git branch --show-current)" != main ] && git cat-file -e main:buf.yaml 2>/dev/null; then \
	  $(BIN)/buf breaking --against '.git#branch=main'; \
	elif git cat-file -e HEAD~1:buf.yaml 2>/dev/null; then \
	  $(BIN)/buf breaking --against '.git#ref=HEAD~1'; fi
	$(MAKE) --no-print-directory gen-protos
	@git diff --exit-code -- zanepool/ || { echo "generated code is stale: run make gen-protos and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- zanepool/)" || { git status --porcelain -- zanepool/; echo "untracked generated files"; exit 1; }

bench: $(STAMP)
	PYTHON=$(BIN)/python tests/testbed/up.sh
	$(BIN)/python -m bench; status=$$?; tests/testbed/down.sh; exit $$status

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
