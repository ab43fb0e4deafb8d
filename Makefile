# Two commands do all the set-up on a fresh machine:
#   make demo   install, then run the whole workflow on the embedded demo
#   make test   install, then run the test suite (what CI runs)
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install system-deps clean

$(BIN)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (or set PYTHON=...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: system-deps $(BIN)/.installed

system-deps:
	bash .ci/system-deps.sh

demo: install
	$(BIN)/snakemake --cores all

test: install
	$(BIN)/python -m pytest -v --durations=15

clean:
	rm -rf results figures logs .snakemake data/demo report.zip
