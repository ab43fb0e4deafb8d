# Two commands do all the set-up on a fresh machine, as an ordinary user (no root, no sudo):
#   make demo   install what the workflow needs, then run it on the embedded demo (make demo CORES=4: at most 4 cores)
#   make test   install that plus the test extras, then run the test suite (what CI runs: .ci/run)
# Optional Debian packages (FFmpeg's libraries for torchcodec, Chromium for the browser test) are
# installed only when missing and installable without a prompt (root, or passwordless sudo);
# otherwise one line says what is skipped (.ci/system-deps.sh).
PYTHON ?= python3.11
VENV ?= .venv
CORES ?= all
BIN := $(VENV)/bin

.PHONY: demo test lint install install-test system-deps clean

define check_python
	@command -v $(PYTHON) >/dev/null || { echo "need Python 3.11 as '$(PYTHON)': put it on PATH (module load, conda, pyenv) or run make PYTHON=/path/to/python3.11"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "$(PYTHON) is $$($(PYTHON) -V 2>&1); videoxai needs Python 3.11 or newer: make PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
endef

# the workflow alone (no test tools, no SLURM plugin: `pip install -e '.[slurm]'` where the cluster profile is used)
$(BIN)/.installed: pyproject.toml
	$(check_python)
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# plus the test extras: pytest, the reference libraries the tests compare against, ruff, the SLURM plugin (tests/cluster)
$(BIN)/.installed-test: pyproject.toml $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip install --quiet --no-deps legrad-torch==1.1  # LeGrad's reference (see pyproject's test extras)
	touch $@

install: system-deps $(BIN)/.installed

install-test: install $(BIN)/.installed-test

# What the workflow can use: FFmpeg's shared libraries (torchcodec, the fastest decoder).
system-deps:
	@bash .ci/system-deps.sh ffmpeg

demo: install
	$(BIN)/snakemake --cores $(CORES)

# What the tests can use besides: Chromium (tests/browser). SLURM is set up by tests/cluster itself (as root).
test: install-test lint
	@bash .ci/system-deps.sh chromium
	$(BIN)/python -m pytest -v --durations=15

# Format, lint (ruff and snakefmt, configured in pyproject.toml) and the Snakemake workflow catalog's linter;
# `make test` runs it.
lint: install-test
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check workflow
	$(BIN)/snakemake --lint

clean:
	rm -rf results figures logs .snakemake data/demo report.zip
