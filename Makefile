# The one task runner: CI calls these targets as they are.
#   make run      start the server (embedded store, 127.0.0.1:50051)
#   make test     start the testbeds, run the whole suite, stop them
#   make check    format, lint, types, layering, protos (lint, format, breaking, freshness)
#   make check-ts  the TypeScript client: generated code fresh + tsc (make test runs its tests)
SHELL := /bin/bash
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
TS := clients/typescript
TS_DEPS := $(TS)/node_modules/.package-lock.json
# Test beds beside the single-node Swarm and the store: the multi-node Swarm in network
# namespaces (with a local registry). Set to 0 to run without it (its tests then skip,
# or fail under CI=true).
export ZANEPOOL_TB_SWARM ?= 1
# The Kubernetes control plane and a real kubelet (its binaries are built once, ~10 min, into
# /var/cache/zanepool). Set to 0 to run without it.
export ZANEPOOL_TB_K8S ?= 1

.PHONY: venv run test testbed-up testbed-down check lint typecheck layers fmt gen-protos check-protos gen-ts check-ts bench clean

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

# The whole suite against real components: pytest, then the TypeScript client's tests against
# a real server, with the test beds up once for both and stopped whatever the outcome.
test: $(STAMP) $(TS_DEPS)
	@set -o pipefail; status=0; \
	env=$$(PYTHON=$(BIN)/python tests/testbed/up.sh) || status=$$?; \
	if [ $$status -eq 0 ]; then $(BIN)/pytest $(PYTEST_ARGS) || status=$$?; fi; \
	if [ $$status -eq 0 ]; then (set -a; . "$$env"; set +a; cd $(TS) && PYTHON=$(abspath $(BIN)/python) npm test) || status=$$?; fi; \
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
# That image, zanepool/descriptor_set.binpb (the API with its imports and comments), is a build
# output of the protos like the generated code, so it is committed and checked fresh the same
# way; it ships in the package for `grpcurl -protoset` where reflection is off. The client's
# typed facade (zanepool_client/_api.py) is generated from the same descriptors.
GENERATED := zanepool/ zanepool_client/_api.py
gen-protos: $(STAMP)
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/buf generate
	$(BIN)/buf build -o zanepool/descriptor_set.binpb
	$(BIN)/python -m grpc_tools.protoc --descriptor_set_in=zanepool/descriptor_set.binpb --grpc_python_out=. \
	  $$(cd protos && ls zanepool/v1/*.proto)
	$(BIN)/python -m zanepool_client._codegen

# buf lint STANDARD, buf format, buf breaking against main, and generated code up to date.
check-protos: $(STAMP)
	$(BIN)/buf lint
	$(BIN)/buf format --diff --exit-code
	@if [ "$$(git branch --show-current)" != main ] && git cat-file -e main:buf.yaml 2>/dev/null; then \
	  $(BIN)/buf breaking --against '.git#branch=main'; \
	elif git cat-file -e HEAD~1:buf.yaml 2>/dev/null; then \
	  $(BIN)/buf breaking --against '.git#ref=HEAD~1'; fi
	@# Regenerate over a copy of what is there and compare: works on a checkout (CI) and on
	@# uncommitted work alike.
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; cp -a --parents $(GENERATED) $$tmp/ && \
	$(MAKE) --no-print-directory gen-protos >/dev/null && \
	for f in $(GENERATED); do diff -r "$$tmp/$$f" "$$f" >/dev/null || { \
	  diff -r "$$tmp/$$f" "$$f" | head -20; echo "generated code is stale: run make gen-protos and commit"; exit 1; }; done

# The TypeScript client (clients/typescript): Node deps from its lockfile (npm ci), its generated
# code (committed, like the Python: `make gen-ts`, checked fresh by `make check-ts` with tsc),
# and its node:test suite against a real server (run by `make test`, after pytest).
$(TS_DEPS): $(TS)/package.json $(TS)/package-lock.json
	cd $(TS) && npm ci --no-audit --no-fund
	@touch $@

gen-ts: $(STAMP) $(TS_DEPS)
	$(BIN)/buf generate --template buf.gen.ts.yaml

check-ts: $(STAMP) $(TS_DEPS)
	$(MAKE) --no-print-directory gen-ts
	@git diff --exit-code -- $(TS)/src/gen || { echo "generated TypeScript is stale: run make gen-ts and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- $(TS)/src/gen)" || { git status --porcelain -- $(TS)/src/gen; echo "untracked generated files"; exit 1; }
	cd $(TS) && npx tsc -p . --noEmit

bench: $(STAMP)
	PYTHON=$(BIN)/python tests/testbed/up.sh
	$(BIN)/python -m bench; status=$$?; tests/testbed/down.sh; exit $$status

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
