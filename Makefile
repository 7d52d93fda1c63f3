# Maestro: the one entry point. `make run` starts the demo, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: serve-prod chaos
.PHONY: install run worker beat test lint format typecheck bench schema schema-check check-deploy fuzz audit bandit backup restore clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Maestro needs Python 3.11 or newer")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

install: $(STAMP)

# Demo: migrate the SQLite database, load the 2024 federal inventory and demo users, compute the
# metrics (overlap, clusters, similarity index: a few seconds), serve.
run: install
	@mkdir -p var
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py load_demo --url http://$(HOST):$(PORT)
	$(PY) manage.py compute_metrics
	$(PY) manage.py runserver $(HOST):$(PORT)

# Production-like serving: static files collected (WhiteNoise serves them), gunicorn with the
# settings of config/gunicorn.conf.py (GUNICORN_BIND, WEB_CONCURRENCY, …). Set the production
# environment first (MAESTRO_ENV=production, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL,
# CELERY_BROKER_URL; see .env.example); behind no TLS proxy add SECURE_SSL_REDIRECT=false.
serve-prod: install
	$(PY) manage.py collectstatic --noinput -v 0
	$(VENV)/bin/gunicorn -c config/gunicorn.conf.py

worker: install
	$(VENV)/bin/celery -A config worker --loglevel=INFO

beat: install
	$(VENV)/bin/celery -A config beat --loglevel=INFO

test: install
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: install
	$(VENV)/bin/mypy governance/metrics
	$(VENV)/bin/mypy portfolio governance config

bench: install
	$(PY) benchmarks/run.py

# The 10-minute soak on gunicorn (benchmarks/soak.py: its own PostgreSQL database maestro_soak,
# 100k projects, about 15 minutes in all). SOAK_ARGS="--minutes 2 --size 10000" for a short one.
chaos: install
	$(PY) benchmarks/soak.py $(SOAK_ARGS)

# The schema is generated against the embedded database so that it does not depend on the
# database in use (integer bounds differ between SQLite and PostgreSQL).
schema: install
	DATABASE_URL= $(PY) manage.py spectacular --file docs/openapi.yaml --validate --fail-on-warn

schema-check: install
	@mkdir -p var
	@DATABASE_URL= $(PY) manage.py spectacular --file var/openapi.check.yaml --validate --fail-on-warn
	@diff -u docs/openapi.yaml var/openapi.check.yaml > /dev/null || \
		(echo "docs/openapi.yaml is stale: run 'make schema' and commit it"; diff -u docs/openapi.yaml var/openapi.check.yaml | head -40; exit 1)
	@echo "docs/openapi.yaml is up to date"

check-deploy: install
	MAESTRO_ENV=production SECRET_KEY=ci-only-$$(date +%s)-a-long-random-looking-secret-key-value-0123456789 \
		ALLOWED_HOSTS=maestro.example.org $(PY) manage.py check --deploy --fail-level WARNING

# Schemathesis over the whole API schema with 50 generated requests per operation.
fuzz: install
	MAESTRO_FUZZ_EXAMPLES=50 $(PY) -m pytest tests/fuzz -p no:cacheprovider -q

# Static security checks: bandit over the code (waivers are `# nosec` with a reason) and
# pip-audit over the pinned requirements (needs the PyPI JSON API).
audit: bandit
	$(VENV)/bin/pip-audit -r requirements.txt --progress-spinner off

# bandit alone (no network): CI runs it.
bandit: install
	$(VENV)/bin/bandit -q -r portfolio governance config -x '*/migrations/*'

# Backup of every table with a manifest of row counts and checksums; restore verifies against it.
backup: install
	$(PY) manage.py backup $(if $(FILE),--output $(FILE),)

restore: install
	@test -n "$(FILE)" || (echo "usage: make restore FILE=var/backups/maestro-….json.gz (into an empty, migrated database)"; exit 2)
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py restore $(FILE)

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
