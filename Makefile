# Zorio Webphone. `make run` serves the demo on http://127.0.0.1:8000; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-frontend lint typecheck bundle bundle-check native clean

# The native relay (zorio_widget/media/native/: _fastrelay.c, srtp_side.c, rtp_side.c, relay.h; see
# setup.py): built in place, needs gcc and the Python headers. Without it every packet takes the Python path (slower, same behaviour).
NATIVE := zorio_widget/media/native/_fastrelay$(shell $(PYTHON) -c "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))")

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test: requirements-test.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

$(NATIVE): $(wildcard zorio_widget/media/native/*.c zorio_widget/media/native/*.h) setup.py $(VENV)/.runtime
	$(PY) setup.py --quiet build_ext --inplace

native: $(NATIVE)

run: $(VENV)/.runtime
	@$(MAKE) --no-print-directory native || echo "WARNING: the native relay was not built (gcc and the Python headers are needed): every packet takes the Python path"
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py seed_demo
	@echo "Serving http://$(HOST):$(PORT)/demo/  (admin: /admin/)"
	PYTHONMALLOC=malloc $(PY) -m zorio_widget.serve -b $(HOST) -p $(PORT)

test: $(VENV)/.test $(NATIVE) test-frontend
	bash .ci/system-packages
	$(PY) -m pytest

# The widget's dev tools (esbuild, TypeScript, Node's types) from frontend/package-lock.json, installed
# when node_modules is missing or older than the lock file. Needs Node.js 20+ with npm (not skipped).
FRONTEND_DEPS := frontend/node_modules/.package-lock.json
$(FRONTEND_DEPS): frontend/package-lock.json
	@command -v npm >/dev/null || { echo "ERROR: Node.js 20+ with npm is needed for the widget's tests and type check" >&2; exit 1; }
	cd frontend && npm ci --no-audit --no-fund

# The SDK's Node tier: frontend/test/*.test.ts (transport, call, frames) against fakes, with `node --test`.
test-frontend: $(FRONTEND_DEPS)
	cd frontend && npm test

# tsc --noEmit, strict: the SDK's sources, its tests, and the published .d.ts files in static/zorio/.
typecheck: $(FRONTEND_DEPS)
	cd frontend && npm run --silent typecheck

lint: $(VENV)/.test typecheck
	$(VENV)/bin/ruff check zorio_widget tests bench
	$(VENV)/bin/mypy zorio_widget
	$(VENV)/bin/lint-imports --no-cache  # the floors and their contracts: .importlinter

# The widget bundle (needs Node; the built files are committed so `make run` does not).
bundle:
	cd frontend && npm ci --no-audit --no-fund && npm run build

bundle-check: bundle
	git diff --exit-code -- static/zorio/ || (echo "static/zorio/ differs from a fresh build of frontend/"; exit 1)

clean:
	rm -rf $(VENV) build $(NATIVE) staticfiles .pytest_cache .mypy_cache .ruff_cache
