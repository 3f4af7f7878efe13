# Every target installs what it needs into .venv first, so a fresh clone needs only `make`.
#
# Two install stamps, one per need: `make run` and `make mock` install the gateway's runtime,
# moto's server and the admin CLI (a minute on a new machine); `make test` adds the test tools,
# the model server's stack (torch, diffusers), checkov, the SAM CLI and Debian's Chromium. The
# test stamp builds on the run stamp, so `make run` after `make test` installs nothing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

# The suite's two tiers, each on as many pytest-xdist workers as the machine has cores: tests
# that share a worker's stack, model or module fixtures stay together (tests/conftest.py).
# `make test` is everything but the full-scale chaos and fuzzing, which run small in it;
# `make soak` is those at full scale.
PYTEST_XDIST := -n auto --dist loadgroup
PYTEST_TEST := $(PYTEST_XDIST) -m "not soak"
PYTEST_SOAK := $(PYTEST_XDIST) -m soak

.PHONY: venv test soak lint format run mock bench clean chromium print-pytest-test print-pytest-soak

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml mock_server/pyproject.toml layers/shared/requirements.txt | $(BIN)/python
	$(PIP) -e ./mock_server -e '.[local]'
	@touch $@

$(TEST_STAMP): $(RUN_STAMP) pyproject.toml sagemaker/requirements-test.txt \
		sagemaker/requirements-toolkit.txt
	$(PIP) -e '.[dev]' -r sagemaker/requirements-test.txt
	# The Hugging Face inference toolkit, apart and without its audio dependencies, for
	# tests/sagemaker/test_toolkit.py (the hooks inside the real handler).
	$(PIP) --no-deps --target $(VENV)/hf-toolkit -r sagemaker/requirements-toolkit.txt
	# checkov pins its own boto3: it lives in an environment of its own (tests/infra).
	@test -x $(VENV)/checkov/bin/python || $(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/python -m pip install --quiet --disable-pip-version-check checkov==3.3.30
	# So does the SAM CLI (it pins boto3 too), whose real `sam build`
	# tests/infra/test_sam_build.py runs.
	@test -x $(VENV)/sam-cli/bin/python || $(PYTHON) -m venv $(VENV)/sam-cli
	$(VENV)/sam-cli/bin/python -m pip install --quiet --disable-pip-version-check aws-sam-cli==1.170.0
	@touch $@

venv: $(TEST_STAMP)

# The demo page's browser tests drive Debian's Chromium (never a downloaded browser).
chromium:
	@sh scripts/ensure-chromium.sh

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check --quiet .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: $(TEST_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: chromium lint
	$(BIN)/python -m pytest $(PYTEST_TEST)

soak: chromium $(TEST_STAMP)
	$(BIN)/python -m pytest $(PYTEST_SOAK)

# What each tier passes to pytest (benchmarks/bench_test_suite.py runs the same).
print-pytest-test:
	@echo '$(PYTEST_TEST)'
print-pytest-soak:
	@echo '$(PYTEST_SOAK)'

# The whole gateway on 127.0.0.1:$VEGART_PORT (3000): moto, the mock Segmind, the functions.
run: $(RUN_STAMP)
	@$(BIN)/python -m local_stack

mock: $(RUN_STAMP)
	@$(BIN)/python -m mock_server --host 127.0.0.1 --port $${VEGART_MOCK_PORT:-4010}

bench: $(TEST_STAMP)
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis .aws-sam
