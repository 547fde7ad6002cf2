# Visio Desktop developer commands. `make help` lists them.

PYTHON ?= python3
VENV := .venv
VENV_PY := $(VENV)/bin/python
# Re-install only when the project's dependencies change.
VENV_STAMP := $(VENV)/.installed-pyproject

.PHONY: help venv deps livekit-server test lint run bench

help:
	@echo "make run             start the local demo (server + participants in a sandbox)"
	@echo "make test            run the test suite (installs what is missing first)"
	@echo "make lint            ruff check, ruff format --check, mypy"
	@echo "make bench           4-participant call benchmark, JSON on stdout"
	@echo "make venv            create .venv and install the project with its test extras"
	@echo "make deps            install missing Debian packages"
	@echo "make livekit-server  build the pinned livekit-server into ~/.cache/visio-desktop"

venv: $(VENV_STAMP)

$(VENV_STAMP): pyproject.toml
	test -x $(VENV_PY) || $(PYTHON) -m venv $(VENV)
	$(VENV_PY) -m pip install --quiet -e '.[test]'
	touch $@

deps:
	scripts/install-debian-deps.sh

livekit-server: venv
	$(VENV_PY) -c 'from devtools.sandbox.livekit_server import ensure_server_binary; ensure_server_binary()'

test: venv deps livekit-server lint
	$(VENV_PY) -m pytest -q

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

run: venv deps livekit-server
	$(VENV_PY) -m devtools.demo

bench: venv deps livekit-server
	$(VENV_PY) -m bench call --participants 4 --seconds 20 --json
