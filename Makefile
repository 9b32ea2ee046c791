# The two commands a newcomer needs: `make run` and `make test`. Each sets up .venv from
# pyproject.toml + requirements.lock (exact pins) and Java for PySpark, then runs.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | sha256sum | cut -c1-12)
# checkov pins boto3 and friends at versions the project does not use: it gets its own venv.
SCAN := .venv-scan
SCAN_STAMP := $(SCAN)/.installed-$(shell sha256sum requirements-scan.txt | cut -c1-12)
# The local Glue 5.1 job process: Python 3.11 with Glue 5.1's module versions, nothing else
# (requirements-glue.txt; local/phenolake_local/glue_local.py checks this stamp).
GLUE_PYTHON ?= $(shell command -v python3.11)
GLUE := .venv-glue
GLUE_STAMP := $(GLUE)/.installed-$(shell sha256sum requirements-glue.txt | cut -c1-12)
# sam build for the python3.13 Lambda runtime needs python3.13 on PATH (pyenv has it here).
SAM_PYENV ?= 3.11.7:3.13.0
# The python3.13 Lambda venv: exactly the packages the layers deploy (installed --no-deps from
# the layers' own requirements files) plus the test tools, for the tests of all code that runs
# in Lambda (README "Dependencies in Lambda").
LAMBDA_PYTHON ?= $(shell PYENV_VERSION=$(SAM_PYENV) pyenv which python3.13 2>/dev/null || command -v python3.13)
LAMBDA_VENV := .venv-lambda
LAMBDA_REQS := layers/deps/requirements-base.txt layers/deps/requirements-arrow.txt \
  layers/deps/requirements-kaggle.txt layers/opencv/requirements.txt
LAMBDA_TOOLS := pytest hypothesis 'moto[s3,stepfunctions,glue,dynamodb,sns,secretsmanager,events,athena,timestreamwrite,sts,iam]' \
  cfn-lint pillow scikit-image aws-sam-translator fastavro cramjam
# The stamp covers the tools too: the embedded AWS the handler tests deploy needs the SAM
# translator (its IAM roles).
LAMBDA_STAMP := $(LAMBDA_VENV)/.installed-$(shell (cat $(LAMBDA_REQS) requirements.lock; echo $(LAMBDA_TOOLS)) | sha256sum | cut -c1-12)
# Every test file of code that runs in Lambda; tests marked local_only (CLI, query engine,
# numba's parser) are left out. The rest (Spark, Glue, the pipeline) run in .venv only.
LAMBDA_TESTS := tests/unit/test_lambda_deps.py tests/unit/test_handlers.py \
  tests/unit/test_mhealth.py tests/unit/test_embrace.py tests/unit/test_radar.py \
  tests/unit/test_radar_schema.py tests/unit/test_mhealth_repackaged.py \
  tests/unit/test_convert_reasons.py tests/unit/test_run_summary_counts.py \
  tests/unit/test_screenlake.py tests/unit/test_zipintake.py tests/unit/test_study.py \
  tests/unit/test_provenance.py tests/unit/test_drift_and_reports.py \
  tests/unit/test_kaggle_fetch.py tests/unit/test_screenlake_fetch.py \
  tests/unit/test_redaction.py tests/integration/test_redact_step.py tests/unit/test_pending.py

.PHONY: run test test-lambda deploy-check lint validate bench build deploy java node-tools venv \
  lambda-venv glue-venv scan-tools clean lock

venv: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip==25.3
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

lambda-venv: $(LAMBDA_STAMP)

$(LAMBDA_STAMP): $(LAMBDA_REQS) requirements.lock
	@test -n "$(LAMBDA_PYTHON)" || { echo "python3.13 not found (pyenv $(SAM_PYENV))"; exit 2; }
	@test -x $(LAMBDA_VENV)/bin/python || $(LAMBDA_PYTHON) -m venv $(LAMBDA_VENV)
	$(LAMBDA_VENV)/bin/python -m pip install -q --upgrade pip==25.3
	$(LAMBDA_VENV)/bin/python -m pip install -q --no-deps $(addprefix -r ,$(LAMBDA_REQS))
	$(LAMBDA_VENV)/bin/python -m pip install -q -c requirements.lock $(LAMBDA_TOOLS)
	@rm -f $(LAMBDA_VENV)/.installed-*
	@touch $@

glue-venv: $(GLUE_STAMP)

$(GLUE_STAMP): requirements-glue.txt
	@test -x $(GLUE)/bin/python || $(GLUE_PYTHON) -m venv $(GLUE)
	@$(GLUE)/bin/python -c 'import sys; assert sys.version_info[:2] == (3, 11), "Glue 5.1 is Python 3.11"'
	$(GLUE)/bin/python -m pip install -q --upgrade pip==25.3
	$(GLUE)/bin/python -m pip install -q --no-deps -r requirements-glue.txt
	$(GLUE)/bin/python -m pip check
	@rm -f $(GLUE)/.installed-*
	@touch $@

scan-tools: $(SCAN_STAMP)

$(SCAN_STAMP): requirements-scan.txt
	@test -x $(SCAN)/bin/python || $(PYTHON) -m venv $(SCAN)
	$(SCAN)/bin/python -m pip install -q --upgrade pip==25.3
	$(SCAN)/bin/python -m pip install -q --no-deps -r requirements-scan.txt
	@rm -f $(SCAN)/.installed-*
	@touch $@

# AWS's ASL validators (asl-validator, amazon-states-language-service), pinned in
# package.json + package-lock.json; Node.js from Debian when the machine has none.
NODE_STAMP := node_modules/.installed-$(shell cat package.json package-lock.json | sha256sum | cut -c1-12)

node-tools: $(NODE_STAMP)

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "installing Node.js for the ASL validators"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	npm ci --no-audit --no-fund --loglevel=error
	@rm -f node_modules/.installed-*
	@touch $@

java:
	@java -version >/dev/null 2>&1 || { echo "installing Java 17 for PySpark"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }
	@test -f /usr/share/java/sqlite-jdbc.jar || { echo "installing sqlite-jdbc (the local Iceberg catalog)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libxerial-sqlite-jdbc-java >/dev/null; }

run: venv glue-venv java
	$(BIN)/phenolake run

test: venv glue-venv java scan-tools node-tools lambda-venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PYTHON313=$(LAMBDA_PYTHON) $(BIN)/python -m pytest -n 2 --dist loadfile
	$(GLUE)/bin/python -m pytest tests/glue
	$(MAKE) --no-print-directory test-lambda

# The tests of the code that runs in Lambda, on python3.13 with exactly the layers' packages;
# the library comes from its source folders, as the core and OpenCV layers carry it.
test-lambda: lambda-venv
	PYTHONPATH=layers/core/python:layers/opencv:local PHENOLAKE_LAMBDA_VENV=1 \
	  $(LAMBDA_VENV)/bin/python -m pytest -p no:cacheprovider -m "not local_only" $(LAMBDA_TESTS)

# sam build (cached), then every built function loaded as Lambda loads it and measured.
deploy-check: venv
	PYTHON313=$(LAMBDA_PYTHON) SAM_PYENV=$(SAM_PYENV) $(BIN)/python -m pytest -s tests/integration/test_deployable.py

lint: venv scan-tools
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml
	$(SCAN)/bin/checkov -f template.yaml --framework cloudformation --skip-download --compact --quiet

validate: venv node-tools
	$(BIN)/phenolake validate

# Every benchmark runs; the target fails if any misses its target.
bench: venv glue-venv java
	$(BIN)/python -m bench.run; mhealth=$$?; $(BIN)/python -m bench.redaction; \
	  redaction=$$?; $(BIN)/python -m bench.backfill; backfill=$$?; \
	  $(BIN)/python -m bench.growth; growth=$$?; \
	  exit $$((mhealth || redaction || backfill || growth))

build: venv
	PYENV_VERSION=$(SAM_PYENV) $(BIN)/sam build

deploy: validate build
	$(BIN)/sam deploy --guided
	$(BIN)/python -m phenolake_local.publish

# Re-pin every transitive dependency after changing pyproject.toml.
lock:
	rm -rf /tmp/phenolake-lock && $(PYTHON) -m venv /tmp/phenolake-lock
	/tmp/phenolake-lock/bin/pip install -q -e '.[dev]'
	/tmp/phenolake-lock/bin/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean:
	rm -rf $(VENV) $(SCAN) $(LAMBDA_VENV) $(GLUE) .aws-sam .pytest_cache .ruff_cache node_modules
