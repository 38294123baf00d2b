# Two entry points (see README): `make run` and `make test`. Both install first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
CORES ?= all

.PHONY: install run smoke test lint clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed  ## create .venv and install the package with its tools

run: install  ## the full default workflow on the embedded data, then the report
	snakemake --cores $(CORES)
	snakemake --report results/report.html
	@echo
	@echo "Findings (results/findings.md):"
	@sed -n '/^| question/,/^$$/p' results/findings.md
	@echo "Report: $(CURDIR)/results/report.html"

smoke: install  ## the tiny config (under 3 minutes)
	snakemake --cores $(CORES) --configfile configs/smoke.yaml

test: install  ## every test: unit tests, lint, and the smoke workflow through Snakemake
	python -m pytest -q

lint: install
	ruff check src tests benchmarks
	snakefmt --check Snakefile workflow/rules
	snakemake --lint

clean:
	rm -rf results/*/ .snakemake
