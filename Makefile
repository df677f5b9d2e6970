# The two commands a newcomer needs: `make run` and `make test`. Everything else is what they call.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
SAM_VENV := .venv-sam
PY := $(VENV)/bin/python
export AWS_DEFAULT_REGION ?= us-east-1
export AWS_ACCESS_KEY_ID ?= testing
export AWS_SECRET_ACCESS_KEY ?= testing
export SAM_CLI_TELEMETRY := 0

.PHONY: run test lint typecheck complexity pytest unit integration e2e fuzz invoke build deploy smoke lock clean venv sam-venv bench bench-local bench-viral openapi browser

venv: $(VENV)/.installed
$(VENV)/.installed: requirements-dev.txt layers/common/requirements.txt layers/common/requirements-sdist.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

sam-venv: $(SAM_VENV)/.installed
$(SAM_VENV)/.installed: requirements-sam.txt
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-sam.txt
	touch $@

## make run: the API on http://127.0.0.1:3000 backed by a local AWS emulation on 127.0.0.1:5055
run: venv
	$(PY) -m local.run

## make invoke FUNCTION=<logical id> EVENT=events/<file>.json: one invocation against the running local stack
invoke: venv
	$(PY) -m local.invoke "$(FUNCTION)" "$(EVENT)"

## make test: linters, type and complexity checks, template checks, then every test
test: lint pytest

# ruff, mypy strict, xenon (McCabe), then the template's own linters
lint: venv sam-venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(MAKE) --no-print-directory typecheck complexity
	$(SAM_VENV)/bin/cfn-lint template.yaml -a cfn_lint_serverless.rules
	$(SAM_VENV)/bin/sam validate --lint --template template.yaml

# unit and integration tests under moto, e2e over HTTP against a local stack the tests start, the
# browser test; two workers (this machine has two cores). The layer's line coverage (measured in-process,
# by the unit and integration tests) must stay at or above COVERAGE_FLOOR percent.
COVERAGE_FLOOR ?= 90
pytest: venv sam-venv browser
	$(PY) -m pytest -n 2 --cov=layers/common/livestream --cov-report=term:skip-covered --cov-fail-under=$(COVERAGE_FLOOR)

## make typecheck: mypy strict (with pydantic's plugin) on the layer and the local stack
typecheck: venv
	$(VENV)/bin/mypy layers local

## make complexity: no function in the layer or the local stack above McCabe 10 (radon rank B); their
## length (at most 40 lines) is checked by tests/unit/test_code_shape.py
complexity: venv
	$(VENV)/bin/xenon --max-absolute B --max-modules B --max-average A layers local

## make unit / make integration / make e2e: one layer of the tests, for a developer in a hurry
unit: venv
	$(PY) -m pytest tests/unit
integration: venv sam-venv
	$(PY) -m pytest -n 2 tests/integration
e2e: venv browser
	$(PY) -m pytest -n 2 tests/e2e

## make fuzz: schemathesis over openapi.json against a local stack of its own, far longer than make test's
## bounded run: the coverage phase's boundary values, then fuzzing repeated for FUZZ_MAX_TIME (600) seconds
fuzz: venv
	FUZZ_MAX_EXAMPLES=$${FUZZ_MAX_EXAMPLES:-200} FUZZ_PHASES=$${FUZZ_PHASES:-examples,coverage,fuzzing} FUZZ_MAX_TIME=$${FUZZ_MAX_TIME:-600} \
	  $(PY) -m pytest -p no:xdist --no-cov tests/e2e/test_fuzz.py

## make openapi: regenerate openapi.json and docs/api-reference.md from the functions' routes and models
## (a test fails when either is stale)
openapi: venv
	$(PY) -m tools.openapi
	$(PY) -m tools.apidocs

# the browser test drives Debian's chromium; install it when missing (root, as on CI)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing and cannot be installed here: the browser test will be skipped"; fi; }

## make build: sam build without Docker (layer wheels for manylinux2014_aarch64 / cp313)
build: sam-venv
	$(SAM_VENV)/bin/sam build --template template.yaml

## make deploy [CONFIG_ENV=prod] [GUIDED=1]: build, `sam deploy` (guided until samconfig.toml holds the answers),
## then upload the default thumbnail behind the stack's CloudFront distribution
CONFIG_ENV ?= default
deploy: build
	@if [ -z "$(GUIDED)" ] && $(SAM_VENV)/bin/python -m tools.deploy_assets answered --config-env $(CONFIG_ENV); then \
	  echo "$(SAM_VENV)/bin/sam deploy --config-env $(CONFIG_ENV)"; $(SAM_VENV)/bin/sam deploy --config-env $(CONFIG_ENV); \
	else \
	  echo "$(SAM_VENV)/bin/sam deploy --guided --config-env $(CONFIG_ENV)"; $(SAM_VENV)/bin/sam deploy --guided --config-env $(CONFIG_ENV); \
	fi
	$(SAM_VENV)/bin/python -m tools.deploy_assets upload --config-env $(CONFIG_ENV)

## make smoke API_URL=https://<api>.execute-api.<region>.amazonaws.com/<stage>: the end-to-end flows against a
## deployed stage, as the operator's test users (SMOKE_CREATOR_TOKEN, SMOKE_VIEWER_TOKEN, SMOKE_API_TOKEN: README)
smoke: venv
	@test -n "$(API_URL)" || { echo "usage: make smoke API_URL=https://<api>.execute-api.<region>.amazonaws.com/<stage>"; exit 2; }
	SMOKE_API_URL="$(API_URL)" $(PY) -m pytest tests/e2e -m smoke -p no:xdist -v

## make lock: re-resolve the layer's requirements into layers/common/requirements.lock (hashes, aarch64/cp313)
lock:
	$(MAKE) -C layers/common lock

## make bench: every function's cold start (import + first invocation) against the floor, warm p50/p99, SnapStart
## priming; the dispatch of 1,000 reminders; the items a viewers request reads at 1,000 and 100,000 viewers
bench: venv
	$(PY) -m tests.bench.cold_start
	$(PY) -m tests.bench.reminder_dispatch
	$(PY) -m tests.bench.viewer_reads

## make bench-viral: one stream taking 2,000 joins/s for 60 s (plus leaves and viewer reads) against
## DynamoDB's per-key limits, in simulated time (about a minute and a half)
bench-viral: venv
	$(PY) -m tests.bench.viral

## make bench-local: 10,000 viewers join one stream over HTTP against the local stack (memory, join latency, stop time)
bench-local: venv
	$(PY) -m tests.bench.local_stack

clean:
	rm -rf .aws-sam .pytest_cache .ruff_cache .local
