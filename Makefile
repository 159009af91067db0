# Framecast — the two commands that must stay true on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
RUN_APT_PACKAGES := espeak-ng fonts-dejavu-core fonts-noto-core fonts-symbola libcairo2
APT_PACKAGES := $(RUN_APT_PACKAGES) chromium nginx-light nodejs
NODE_STAMP := node_modules/.package-lock.json

.PHONY: run test test-js lint bench system-deps venv node-deps clean format

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

# openapi-python-client (tests/integration/test_openapi.py) caps typer below the version framecast pins;
# it runs fine with it, so it is installed without its dependencies (pinned in the test extra instead).
OPENAPI_CLIENT_GENERATOR := openapi-python-client==0.29.1

# The diffusers extra (torch, diffusers, transformers) is installed for the tests of the local diffusion
# engine (tests/engines/test_diffusion.py, on a tiny pipeline they build): 1.1 GB and 34 s more (docs/engines.md).
$(TEST_STAMP): pyproject.toml Makefile | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,hosted,diffusers]'
	$(BIN)/pip install --quiet --no-deps '$(OPENAPI_CLIENT_GENERATOR)'
	touch $(STAMP) $@

venv: $(STAMP)

# The renderer's illustration set (Fluent Emoji Flat) and its CLDR names (emojibase-data), axe-core for the
# accessibility checks in tests/e2e and eventsource (a WHATWG EventSource for node) for
# tests/integration/test_real_clients.py, exactly as package-lock.json pins them; the renderer reads the set
# from node_modules (node itself never runs it). Debian ships npm apart from nodejs (NodeSource's nodejs
# bundles it), so npm is installed only when the command is missing.
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || $(MAKE) --no-print-directory system-deps PACKAGES=npm
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

node-deps: $(NODE_STAMP)

# Debian packages the renderer (espeak-ng, fonts, libcairo2 for cairosvg), the browser tests (chromium,
# nginx) and the page's unit tests (nodejs) need;
# `make run` asks only for the renderer's (PACKAGES=...).
PACKAGES ?= $(APT_PACKAGES)
system-deps:
	@missing=""; \
	for pkg in $(PACKAGES); do dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	fi

run: $(STAMP) $(NODE_STAMP)
	@$(MAKE) --no-print-directory system-deps PACKAGES="$(RUN_APT_PACKAGES)"
	@echo "Framecast at http://127.0.0.1:8000/tools/video-generator"
	$(BIN)/framecast serve --host 127.0.0.1 --port 8000

test: system-deps $(TEST_STAMP) $(NODE_STAMP) lint test-js
	$(BIN)/python -m pytest -p no:cacheprovider

# The page's delivery logic (tests/js) on node's own test runner: no DOM, no network. npm ci first: the
# pinned node packages (axe-core, and the eventsource client tests/integration drives) come from the lock.
test-js: $(NODE_STAMP)
	node --test tests/js/

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src
	$(BIN)/mypy

format: $(TEST_STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: system-deps $(TEST_STAMP) $(NODE_STAMP)
	$(BIN)/python bench/delivery.py
	$(BIN)/python bench/render.py
	$(BIN)/python bench/page.py
	$(BIN)/python bench/webhooks.py

clean:
	rm -rf $(VENV) node_modules data .pytest_cache .mypy_cache .ruff_cache
