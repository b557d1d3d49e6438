# The two commands: `make run` starts the whole platform, `make test` runs every check a change
# must pass. Both work on a fresh machine with only Python 3.11 and make: the virtualenv, the
# dependencies (from requirements.lock) and, when DATABASE_URL / REDIS_URL are unset, embedded
# PostgreSQL and Redis are set up on the way.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed
# Start (or reuse) embedded engines for whatever the environment does not provide.
ENGINES := eval "$$($(BIN)/python tools/engines.py up)" &&

.PHONY: install run test lint typecheck contracts migrations-check pytest bench drills engines-down lock clean api-fuzz messages image-check

$(STAMP): requirements.lock pyproject.toml tools/vendor_assets.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	@$(BIN)/python tools/vendor_assets.py
	@touch $@

install: $(STAMP)

# requirements-production.lock (the image's) is the same pins without the dev extra: no test,
# lint or embedded-engine package in production.
lock:  ## re-resolve requirements.lock and requirements-production.lock from pyproject.toml
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes \
		--quiet -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --generate-hashes \
		--quiet -c requirements.lock -o requirements-production.lock

run: install
	@$(ENGINES) $(BIN)/python manage.py migrate --noinput
	@$(ENGINES) $(BIN)/python manage.py seed_demo
	@$(ENGINES) $(BIN)/python tools/run.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# django-stubs imports the settings but connects to nothing: placeholders do when no engine runs.
typecheck: install
	DATABASE_URL="$${DATABASE_URL:-postgres://unused/typecheck}" \
	REDIS_URL="$${REDIS_URL:-redis://unused:6379/0}" $(BIN)/mypy

contracts: install
	$(BIN)/lint-imports

migrations-check: install
	@$(ENGINES) $(BIN)/python manage.py makemigrations --check --dry-run

# pytest exits 5 when it collected nothing: that must fail, never pass quietly. Two workers
# (pytest-xdist), each with its own test database and GHL stand-in, use both cores. Browser tests
# run after, in a process of their own: Playwright's sync API leaves an event loop running in its
# thread for the rest of the session, which breaks every later test that calls asyncio.run().
PYTEST_WORKERS ?= 2
pytest: install
	@test -x /usr/bin/chromium || echo "NOTE: /usr/bin/chromium is missing: browser tests (tests/e2e) \
	will be skipped (apt-get install -y chromium)"
	@$(ENGINES) $(BIN)/pytest -n $(PYTEST_WORKERS) -m "not browser" $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; \
	test $$status -eq 0 || exit $$status; \
	$(BIN)/pytest -m browser $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then exit 0; fi; \
	exit $$status

test: lint typecheck contracts migrations-check pytest

# R25 in full: schemathesis with 100 examples per operation and mode (`make test` runs 10).
api-fuzz: install
	@$(ENGINES) API_FUZZ_EXAMPLES=100 $(BIN)/pytest -p no:randomly tests/api/test_fuzz.py

bench: install
	@$(ENGINES) $(BIN)/python -m bench

# The failure drills run engines of their own (PostgreSQL, Redis, the GHL stand-in on free
# ports) and never touch DATABASE_URL / REDIS_URL's servers; `DRILLS="readyz ..."` picks some.
drills: install
	@$(BIN)/python -m drills $(DRILLS)

engines-down:
	$(BIN)/python tools/engines.py down

clean: engines-down
	rm -rf $(VENV) .run .mypy_cache .ruff_cache

# The gettext catalogs (docs/i18n.md): extract every marked string into locale/en/LC_MESSAGES/
# django.po, then compile it in pure Python (tools/compile_messages.py; no msgfmt needed). The .mo
# is committed, so a fresh machine needs neither step. Extraction needs GNU gettext's xgettext.
MESSAGES_IGNORE := --ignore=tests/* --ignore=sandbox/* --ignore=bench/* --ignore=drills/* \
	--ignore=tools/* --ignore=staticfiles/* --ignore=docs/*
messages: install
	DATABASE_URL="$${DATABASE_URL:-postgres://unused/messages}" \
	REDIS_URL="$${REDIS_URL:-redis://unused:6379/0}" \
	$(BIN)/python manage.py makemessages -l en --no-location --no-obsolete $(MESSAGES_IGNORE)
	$(BIN)/python tools/compile_messages.py locale

# Builds the image with podman (no Docker daemon, no registry needed) and runs every role of
# compose.yaml against DATABASE_URL / REDIS_URL (a scratch database): docs/deploy.md. Minutes, so
# not part of `make test`.
image-check:
	tools/image_check.sh
