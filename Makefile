# Every target installs what it needs into .venv first, so a fresh clone needs only `make`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: venv test lint format run mock bench clean

$(STAMP): pyproject.toml layers/shared/requirements.txt sagemaker/requirements-test.txt \
		sagemaker/requirements-toolkit.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r sagemaker/requirements-test.txt
	# The Hugging Face inference toolkit, apart and without its audio dependencies, for
	# tests/sagemaker/test_toolkit.py (the hooks inside the real handler).
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps \
		--target $(VENV)/hf-toolkit -r sagemaker/requirements-toolkit.txt
	# checkov pins its own boto3: it lives in an environment of its own (tests/infra).
	@test -x $(VENV)/checkov/bin/python || $(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/python -m pip install --quiet --disable-pip-version-check checkov==3.3.30
	@touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/python -m pytest

# The whole gateway on 127.0.0.1:$VEGART_PORT (3000): moto, the mock Segmind, the functions.
run: $(STAMP)
	$(BIN)/python -m local_stack

mock: $(STAMP)
	$(BIN)/python -m mock_server --host 127.0.0.1 --port $${VEGART_MOCK_PORT:-4010}

bench: $(STAMP)
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis .aws-sam
