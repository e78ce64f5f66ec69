# Zorio Webphone. `make run` serves the demo on http://127.0.0.1:8000; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck bundle bundle-check clean

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test: requirements-test.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

run: $(VENV)/.runtime
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py seed_demo
	@echo "Serving http://$(HOST):$(PORT)/demo/  (admin: /admin/)"
	PYTHONMALLOC=malloc $(VENV)/bin/daphne -b $(HOST) -p $(PORT) zorio_widget.asgi:application

test: $(VENV)/.test
	$(PY) -m pytest

lint: $(VENV)/.test
	$(VENV)/bin/ruff check zorio_widget tests bench
	$(VENV)/bin/mypy zorio_widget

# The widget bundle (needs Node; the built files are committed so `make run` does not).
bundle:
	cd frontend && npm ci --no-audit --no-fund && npm run build

bundle-check: bundle
	git diff --exit-code -- static/zorio/ || (echo "static/zorio/ differs from a fresh build of frontend/"; exit 1)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .mypy_cache .ruff_cache
