# `make demo` and `make test` work on a fresh Debian machine with Python 3.11 (root, registries only).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
APT_PACKAGES := fonts-dejavu-core tesseract-ocr tesseract-ocr-fra
# only for `make test`: the browser the end-to-end test of the web interface drives (Playwright)
TEST_APT_PACKAGES := chromium
# test processes: more than this machine kind's two cores keeps both busy while a test waits on
# a subprocess, a server or a socket (measured on two cores, 978 tests, both backends: 2 workers
# 271 s, 3 249 s, 4 241 s; the CPU is the limit)
TEST_WORKERS ?= 4
# more pytest options, e.g. make test PYTEST_ARGS="--durations=20 tests/test_search.py"
PYTEST_ARGS ?=
# the PostgreSQL tests' server: unless the caller names one, `make test` installs (Debian's
# postgresql), starts and uses a local cluster, so those tests never skip
TEST_POSTGRES_DB := test
TEST_POSTGRES_PORT ?= 5432
TEST_POSTGRES_CLUSTER ?= main
ifeq ($(origin ATTRAP_TEST_POSTGRES_URL),undefined)
ATTRAP_TEST_POSTGRES_URL := postgresql+psycopg://postgres@127.0.0.1:$(TEST_POSTGRES_PORT)/$(TEST_POSTGRES_DB)
TEST_POSTGRES_LOCAL := 1
endif

.PHONY: demo test venv lint clean system-deps test-deps test-postgres

$(BIN)/attrap: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

venv: $(BIN)/attrap

# Install the Debian packages named in $(1) that are missing (apt-get update first; root only).
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "missing Debian packages:$$missing (run as root or install them)"; fi; \
	fi
endef

# what attrap needs to run (fonts for the generated PDFs, Tesseract for scanned pages)
system-deps:
	$(call apt_install,$(APT_PACKAGES))

# what only the tests need: the browser tests/test_browser.py drives
test-deps:
	$(call apt_install,$(TEST_APT_PACKAGES))

# PostgreSQL for the tests: installed if missing (root), started if not answering, the test
# database created; anything that fails stops `make test` saying what (the PostgreSQL tests
# are never skipped silently). Nothing is done to a server the caller named.
PG_PSQL = psql -X -q -w -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $(TEST_POSTGRES_PORT) -U postgres
test-postgres:
ifdef TEST_POSTGRES_LOCAL
	@set -e; fail() { echo "make test: $$*" >&2; exit 1; }; \
	if ! command -v pg_ctlcluster >/dev/null || ! command -v pg_isready >/dev/null; then \
	  [ "$$(id -u)" = 0 ] || fail "PostgreSQL is not installed: run make test as root, or apt-get install postgresql, or set ATTRAP_TEST_POSTGRES_URL"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql \
	    || fail "could not install PostgreSQL (apt-get install postgresql)"; \
	  fresh=1; \
	fi; \
	version=$$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1); \
	[ -n "$$version" ] && [ -d /etc/postgresql/$$version/$(TEST_POSTGRES_CLUSTER) ] \
	  || fail "no PostgreSQL cluster $(TEST_POSTGRES_CLUSTER) in /etc/postgresql (pg_createcluster <version> $(TEST_POSTGRES_CLUSTER))"; \
	hba=/etc/postgresql/$$version/$(TEST_POSTGRES_CLUSTER)/pg_hba.conf; \
	if [ -n "$${fresh:-}" ] && ! grep -q '^host all postgres 127.0.0.1/32 trust' $$hba; then \
	  echo "make test: a new cluster, for the tests: user postgres trusted from 127.0.0.1 ($$hba)"; \
	  sed -i '1i host all postgres 127.0.0.1/32 trust' $$hba; \
	  pg_ctlcluster --skip-systemctl-redirect $$version $(TEST_POSTGRES_CLUSTER) reload 2>/dev/null || true; \
	fi; \
	if ! pg_isready -q -h 127.0.0.1 -p $(TEST_POSTGRES_PORT); then \
	  pg_ctlcluster --skip-systemctl-redirect $$version $(TEST_POSTGRES_CLUSTER) start \
	    || fail "could not start PostgreSQL $$version (pg_ctlcluster --skip-systemctl-redirect $$version $(TEST_POSTGRES_CLUSTER) start)"; \
	  for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do pg_isready -q -h 127.0.0.1 -p $(TEST_POSTGRES_PORT) && break; sleep 0.5; done; \
	  pg_isready -q -h 127.0.0.1 -p $(TEST_POSTGRES_PORT) || fail "PostgreSQL $$version started but does not answer on 127.0.0.1:$(TEST_POSTGRES_PORT)"; \
	fi; \
	$(PG_PSQL) -d postgres -tAc 'SELECT 1' >/dev/null \
	  || fail "PostgreSQL on 127.0.0.1:$(TEST_POSTGRES_PORT) refuses user postgres without a password (pg_hba.conf), or set ATTRAP_TEST_POSTGRES_URL"; \
	[ "$$($(PG_PSQL) -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$(TEST_POSTGRES_DB)'")" = 1 ] \
	  || $(PG_PSQL) -d postgres -c 'CREATE DATABASE "$(TEST_POSTGRES_DB)"' \
	  || fail "could not create the database $(TEST_POSTGRES_DB)"
else
	@echo "make test: PostgreSQL tests on ATTRAP_TEST_POSTGRES_URL, as set by the caller"
endif

demo: venv system-deps
	$(BIN)/attrap demo

test: lint system-deps test-deps test-postgres
	ATTRAP_REQUIRE_BROWSER=1 ATTRAP_TEST_POSTGRES_URL='$(ATTRAP_TEST_POSTGRES_URL)' \
	  $(BIN)/pytest -q -n $(TEST_WORKERS) $(PYTEST_ARGS)

# the static checks (`make test` runs them first); more checkers go in this recipe
lint: venv
	$(BIN)/ruff check attrap scrapers tests fixtures bench
	$(BIN)/ruff format --check attrap scrapers tests fixtures bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) data .pytest_cache
