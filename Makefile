# Switchyard: `make run` starts the gateway on its embedded defaults; `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
BUF := npx -y @bufbuild/buf@1.75.0
CONFIG ?=
PORT ?= 8080
# The exact versions the suite runs on (`make lock` refreshes them); pyproject.toml keeps ranges.
LOCK := requirements/dev.lock
UV := uv==0.13.9

.PHONY: run install dev lock redis chromium test test-fast lint typecheck protos protos-check buf-lint buf-breaking \
	contracts-release pytest bench clean postgres

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

install: $(PY)
	$(PIP) install -q .

# gRPC reflection (off in deployments) stays on for the local gateway, so grpcurl can explore it.
run: install
	SWITCHYARD_REFLECTION=$${SWITCHYARD_REFLECTION:-1} $(VENV)/bin/switchyard up $(if $(CONFIG),--config $(CONFIG)) --port $(PORT)

# Reinstalled when the dependencies change; the tests import the checkout's own code.
DEV_STAMP := $(VENV)/.dev-installed
$(DEV_STAMP): pyproject.toml $(LOCK) | $(PY)
	$(PIP) install -q -c $(LOCK) '.[dev]'
	touch $@

dev: $(DEV_STAMP)

# One resolution for every platform and Python the project supports, read by `make dev` as constraints.
lock: $(PY)
	$(PIP) install -q '$(UV)'
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 --upgrade -q -o $(LOCK)

redis: dev
	scripts/ensure_redis.sh $(VENV)

# The analytics store's tests use POSTGRES_URL or the local server when one answers, else a throwaway cluster.
postgres:
	scripts/ensure_postgres.sh

chromium:
	scripts/ensure_chromium.sh

test: dev redis postgres chromium lint typecheck protos-check buf-lint buf-breaking pytest

# What needs no process, no Redis and no browser: the unit, component, contract and conformance tests.
test-fast: dev
	$(PY) -m pytest -q -n 2 -m "not (mesh or redis or postgres or browser or slow)"

lint:
	$(VENV)/bin/ruff check switchyard tests bench scripts training clients/python
	$(VENV)/bin/lint-imports --no-cache

typecheck:
	$(VENV)/bin/mypy

protos: dev
	$(PY) scripts/gen_protos.py

protos-check:
	$(PY) scripts/gen_protos.py --check

buf-lint:
	$(BUF) lint

# The contracts must not break what the last release published: protos/released.binpb is the buf
# image of that release's protos (`make contracts-release` writes it when a release is cut).
buf-breaking:
	$(BUF) breaking --against protos/released.binpb

contracts-release:
	$(BUF) build -o protos/released.binpb

pytest:
	$(PY) -m pytest -q

bench: install
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
