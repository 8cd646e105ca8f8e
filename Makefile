# make run   - create .venv, install the pinned dependencies, run the pipeline (dvc repro)
# make test  - lint and format check (ruff), then the whole test suite (what CI runs)
# make bench - the benchmark suite (timings; minutes)
# make cluster-demo - two local processes train airbench through the train stage (TensorFlow workers): speed and weights against one
PYTHON ?= python3
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)
export PYTHONDONTWRITEBYTECODE := 1
# This checkout's code first, whichever checkout the venv's editable install points at (a venv shared by clones).
export PYTHONPATH := $(CURDIR)/src$(if $(PYTHONPATH),:$(PYTHONPATH))
# Reinstall when pyproject.toml's content changes, not its date: a fresh clone that shares a venv leaves it alone.
INSTALLED := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-12)

.PHONY: install run lint test bench cluster-demo clean

install: $(INSTALLED)

$(INSTALLED):
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

run: install
	dvc repro

lint: install
	ruff check .
	ruff format --check .

# Two workers, one test file each at a time: the end-to-end files run side by side.
test: lint
	python -m pytest -n 2 --dist loadfile

cluster-demo: install
	imgclf cluster-demo

bench: install
	python -m benchmarks.run --out bench-results/bench.json

clean:
	rm -rf data .dvc/tmp .pytest_cache
