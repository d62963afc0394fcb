# Two commands a newcomer needs: `make serve` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: serve demo test check fmt bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)  ## install into .venv and start the app
	$(BIN)/gradscape serve

demo: $(STAMP)  ## train the chapter's single neuron and print the loss falling
	$(BIN)/gradscape demo

test: $(STAMP)  ## install into .venv and run the whole test suite
	$(BIN)/pytest

check: $(STAMP)  ## lint, format check, type check
	$(BIN)/ruff check backend tests bench
	$(BIN)/ruff format --check backend tests bench
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff check --fix backend tests bench
	$(BIN)/ruff format backend tests bench

bench: $(STAMP)  ## benchmarks (ratios against baselines measured in the same run)
	$(BIN)/python bench/core.py
	$(BIN)/python bench/landscape.py
	$(BIN)/python bench/service.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
