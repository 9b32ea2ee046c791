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

.PHONY: run test lint validate bench build deploy java venv glue-venv scan-tools clean lock

venv: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip==25.3
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[dev]'
	@rm -f $(VENV)/.installed-*
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

java:
	@java -version >/dev/null 2>&1 || { echo "installing Java 17 for PySpark"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }

run: venv glue-venv java
	$(BIN)/phenolake run

test: venv glue-venv java scan-tools
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest
	$(GLUE)/bin/python -m pytest tests/glue

lint: venv scan-tools
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml
	$(SCAN)/bin/checkov -f template.yaml --framework cloudformation --skip-download --compact --quiet

validate: venv
	$(BIN)/phenolake validate

# Both benchmarks run; the target fails if either misses its target.
bench: venv java
	$(BIN)/python -m bench.run; mhealth=$$?; $(BIN)/python -m bench.redaction; \
	  redaction=$$?; exit $$((mhealth || redaction))

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
	rm -rf $(VENV) $(SCAN) $(GLUE) .aws-sam .pytest_cache .ruff_cache
