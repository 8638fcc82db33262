# `make demo` and `make test` work on a fresh Debian machine with Python 3.11 (root, registries only).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
APT_PACKAGES := fonts-dejavu-core tesseract-ocr tesseract-ocr-fra

.PHONY: demo test venv lint clean system-deps

$(BIN)/attrap: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

venv: $(BIN)/attrap

# Debian packages the tests need, installed only when missing.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "missing Debian packages:$$missing (run as root or install them)"; fi; \
	fi

demo: venv system-deps
	$(BIN)/attrap demo

test: venv system-deps
	$(BIN)/ruff check attrap scrapers tests fixtures
	$(BIN)/pytest -q

lint: venv
	$(BIN)/ruff check attrap scrapers tests fixtures

clean:
	rm -rf $(VENV) data .pytest_cache
