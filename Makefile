# The two commands: `make run` and `make test`. Everything else here serves them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test validate lint format manage docker-up clean-data bench-mrd-upload bench-alerts-scale \
	bench-alerts-latency bench-audit-trail bench-export bench-import bench-load bench-pages \
	bench-faults backup restore-check

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-run: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements.txt requirements-test.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@ $(VENV)/.installed-run

# Test processes (pytest-xdist; each has its own test database and Celery queue); a file's
# tests stay in one process. TEST_PROCESSES=0 runs everything in this one.
TEST_PROCESSES ?= 2

# Browser tests drive Debian's chromium (Playwright's own browser download is not used).
chromium-installed:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests ..."; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

# The study as a site serves it (DEBUG off, gunicorn, collectstatic into staticfiles/); the URL
# and logins are printed once /healthz answers. `DEBUG=1 make run` for development.
run: $(VENV)/.installed-run
	$(PY) -m blinacell_site.launcher run

test: $(VENV)/.installed-test chromium-installed
	$(PY) -m ruff check .
	$(PY) -m blinacell_site.launcher test --collect-only -q -n 0 --trace-check -p no:cacheprovider
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m bandit -q -c pyproject.toml -lll -r accounts alerts api audit blinacell_site charts crf demo exports \
	  monitoring mrd protocol safety
	$(PY) -m blinacell_site.launcher test -n $(TEST_PROCESSES) --dist loadfile $(PYTEST_ARGS)

# Validation evidence of this installation (docs/validation.md): the whole suite, then the
# report (installation and operational qualification, regulatory map) as HTML and PDF in
# VALIDATION_DIR. Fails when a check or a requirement fails; the report is written either way.
VALIDATION_DIR ?= validation-report
validate: $(VENV)/.installed-test chromium-installed
	rm -rf $(VALIDATION_DIR) && mkdir -p $(VALIDATION_DIR)
	$(PY) -m blinacell_site.launcher test -n $(TEST_PROCESSES) --dist loadfile \
	  --junitxml=$(VALIDATION_DIR)/junit.xml --trace-json=$(CURDIR)/$(VALIDATION_DIR)/trace.json \
	  > $(VALIDATION_DIR)/test-output.txt 2>&1; echo "suite exit $$?" >> $(VALIDATION_DIR)/test-output.txt
	$(PY) -m blinacell_site.launcher python -m validation.report $(VALIDATION_DIR)

lint: $(VENV)/.installed-test
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m ruff format --check .
	$(PY) -m bandit -q -c pyproject.toml -lll -r accounts alerts api audit blinacell_site charts crf demo exports \
	  monitoring mrd protocol safety

format: $(VENV)/.installed-test
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# make manage ARGS="createsuperuser"
manage: $(VENV)/.installed-run
	$(PY) -m blinacell_site.launcher manage $(ARGS)

# Benchmarks (figures go in the issue notes). ROWS: rows in the uploaded file.
ROWS ?= 3000
bench-mrd-upload: $(VENV)/.installed-test
	$(PY) -m blinacell_site.launcher python bench/mrd_upload.py $(ROWS)

SIZES ?= 100 1000 5000
bench-alerts-scale: $(VENV)/.installed-test
	$(PY) -m blinacell_site.launcher python bench/alerts_scale.py $(SIZES)

SAVES ?= 200
bench-alerts-latency: $(VENV)/.installed-test
	$(PY) -m blinacell_site.launcher python bench/alerts_latency.py $(SAVES)

CHANGES ?= 10000
$(VENV)/.installed-bench: requirements.txt requirements-test.txt requirements-bench.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-bench.txt
	touch $@ $(VENV)/.installed-test $(VENV)/.installed-run

# Back up the study database; prove a backup by restoring it into a fresh database and comparing
# every table's row count (the new database is dropped afterwards).
backup: $(VENV)/.installed-run
	$(PY) -m blinacell_site.launcher manage backup_database $(or $(OUT),backups/blinacell-$(shell date +%Y%m%d-%H%M%S).dump)

restore-check: $(VENV)/.installed-run
	$(PY) -m blinacell_site.launcher manage restore_database $(DUMP) --into blinacell_restore_check --check --drop-after

bench-load: $(VENV)/.installed-bench
	$(PY) -m blinacell_site.launcher python bench/load/run.py $(USERS)

# Every role's pages one at a time against gunicorn (production settings) on the load
# benchmark's generated study (built once per size); table and bench/results/pages-*.json.
SUBJECTS ?= 1000
REPEAT ?= 5
bench-pages: $(VENV)/.installed-test
	$(PY) -m blinacell_site.launcher python bench/pages.py --subjects $(SUBJECTS) --repeat $(REPEAT)

bench-faults: $(VENV)/.installed-test
	$(PY) -m blinacell_site.launcher python bench/faults/run.py

bench-export: $(VENV)/.installed-test
	$(PY) -m blinacell_site.launcher python bench/export.py $(SIZES)

IMPORT_SIZES ?= 30 300
bench-import: $(VENV)/.installed-test
	$(PY) -m blinacell_site.launcher python bench/import_study.py $(IMPORT_SIZES)

bench-audit-trail: $(VENV)/.installed-test
	$(PY) -m blinacell_site.launcher python bench/audit_trail.py $(CHANGES)

docker-up:
	docker compose up --build

clean-data:
	rm -rf .local
