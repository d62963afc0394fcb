# Two commands a newcomer needs: `make serve` and `make test`.
# Every install is pinned by constraints.txt (`make lock` regenerates it from .venv).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

PIN    := -c constraints.txt

.PHONY: install serve demo test check fmt bench mutate mutate-sample lock clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet $(PIN) --upgrade pip setuptools
	$(BIN)/pip install --quiet $(PIN) -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## install into .venv, pinned by constraints.txt

serve: $(STAMP)  ## install into .venv and start the app
	$(BIN)/gradscape serve

demo: $(STAMP)  ## train the chapter's single neuron and print the loss falling
	$(BIN)/gradscape demo

test: $(STAMP)  ## install into .venv and run the whole test suite
	$(BIN)/pytest

check: $(STAMP)  ## lint, format check, type check
	$(BIN)/ruff check backend tests bench tools
	$(BIN)/ruff format --check backend tests bench tools
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff check --fix backend tests bench tools
	$(BIN)/ruff format backend tests bench tools

bench: $(STAMP)  ## benchmarks (ratios against baselines measured in the same run)
	$(BIN)/python bench/core.py
	$(BIN)/python bench/landscape.py
	$(BIN)/python bench/service.py
	$(BIN)/python bench/page.py

mutate: $(STAMP)  ## mutation testing of core, landscape, service: every mutant (long; not in CI)
	nice -n 10 $(BIN)/python tools/mutate.py

mutate-sample: $(STAMP)  ## the same on a fixed-seed sample of 50 mutants (5-6 min; not in CI)
	nice -n 10 $(BIN)/python tools/mutate.py --sample 50 --seed 16 --gate

lock: $(STAMP)  ## re-pin constraints.txt to what .venv has (after you install other versions)
	$(BIN)/python tools/lock.py constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .mutmut
