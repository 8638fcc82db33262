# `make demo` and `make test` work on a fresh Debian machine with Python 3.11 (root, registries only).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
APT_PACKAGES := fonts-dejavu-core tesseract-ocr tesseract-ocr-fra
# only for `make test`: the browser the end-to-end test of the web interface drives (Playwright)
TEST_APT_PACKAGES := chromium
# test processes: the suite waits on subprocesses, servers and sockets as much as it computes,
# so one more process than this machine kind's two cores keeps both busy
TEST_WORKERS ?= 3

.PHONY: demo test venv lint clean system-deps test-deps

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

demo: venv system-deps
	$(BIN)/attrap demo

test: venv system-deps test-deps
	$(BIN)/ruff check attrap scrapers tests fixtures bench
	ATTRAP_REQUIRE_BROWSER=1 $(BIN)/pytest -q -n $(TEST_WORKERS)

lint: venv
	$(BIN)/ruff check attrap scrapers tests fixtures bench

clean:
	rm -rf $(VENV) data .pytest_cache
