# Visio Desktop developer commands. `make help` lists them.

PYTHON ?= python3
VENV := .venv
VENV_PY := $(VENV)/bin/python
# Re-install only when the project's dependencies change.
VENV_STAMP := $(VENV)/.installed-pyproject

.PHONY: help venv deps livekit-server browser-peer test lint run bench translations translations-update

help:
	@echo "make run             start the local demo (server + participants in a sandbox)"
	@echo "make test            run the test suite (installs what is missing first)"
	@echo "make lint            ruff check, ruff format --check, mypy"
	@echo "make bench           4-participant call benchmark, JSON on stdout"
	@echo "make fuzz            fuzz the wire parsers for 1 000 000 inputs; report, JSON last"
	@echo "make translations    compile the French catalogue (.ts -> .qm)"
	@echo "make translations-update  rescan the code for strings into the .ts"
	@echo "make venv            create .venv and install the project with its test extras"
	@echo "make deps            install missing Debian packages"
	@echo "make livekit-server  build the pinned livekit-server into ~/.cache/visio-desktop"
	@echo "make browser-peer    install and bundle the test browser peer (livekit-client, Chromium)"

venv: $(VENV_STAMP)

$(VENV_STAMP): pyproject.toml
	test -x $(VENV_PY) || $(PYTHON) -m venv $(VENV)
	$(VENV_PY) -m pip install --quiet -e '.[test]'
	touch $@

# The .ts is the committed source; building never rescans the code.
TRANSLATIONS_TS := resources/translations/visio_desktop_fr.ts
TRANSLATIONS_QM := $(TRANSLATIONS_TS:.ts=.qm)

translations: $(TRANSLATIONS_QM)

$(TRANSLATIONS_QM): $(TRANSLATIONS_TS) devtools/translations.py $(VENV_STAMP)
	$(VENV_PY) -m devtools.translations compile

translations-update: venv
	$(VENV_PY) -m devtools.translations update

deps:
	scripts/install-debian-deps.sh

livekit-server: venv
	$(VENV_PY) -c 'from devtools.sandbox.livekit_server import ensure_server_binary; ensure_server_binary()'

# The browser peer's npm install needs the registry: done here, outside the tests'
# network namespace, like the server build.
browser-peer: venv deps
	$(VENV_PY) -m devtools.browser_peer

test: venv translations deps livekit-server browser-peer lint
	$(VENV_PY) -m pytest -q

lint: venv translations
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

run: venv translations deps livekit-server
	$(VENV_PY) -m devtools.demo

bench: venv deps livekit-server
	$(VENV_PY) -m bench call --participants 4 --seconds 20 --json

.PHONY: fuzz
fuzz: venv
	$(VENV_PY) -m devtools.fuzz --inputs 1000000
