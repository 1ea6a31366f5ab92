# One-command setup, study run and tests. See README.md.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CORES ?= 8
PYRADIOMICS := pyradiomics==3.0.1
STAMP := $(VENV)/.installed

.PHONY: setup study report test lint bench r-deps slurm-deps clean

# The virtual environment is rebuilt whenever the lock file changes.
$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check pip==25.3
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	# pyradiomics builds C extensions against the numpy already installed.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-build-isolation --no-deps $(PYRADIOMICS)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-build-isolation --no-deps -e .
	@touch $@

setup: $(STAMP)

# Extra snakemake arguments (e.g. --config ...).
SNAKEFLAGS ?=

# After a crash or kill, `make study` again resumes: the default profile (profiles/default)
# re-runs incomplete jobs, and a lock left by a killed run (no snakemake process left in this
# folder) is removed first.
study: $(STAMP)
	@if [ -n "$$(ls .snakemake/locks 2>/dev/null)" ]; then \
	  running=; for pid in $$(pgrep -f '^[^ ]*python[^ ]* .*snakemake'); do \
	    [ "$$(readlink /proc/$$pid/cwd 2>/dev/null)" = "$$(pwd -P)" ] && running=1; \
	  done; \
	  if [ -z "$$running" ]; then echo "removing the lock of a killed run"; $(BIN)/snakemake $(SNAKEFLAGS) --unlock >/dev/null; fi; \
	fi
	$(BIN)/snakemake $(SNAKEFLAGS) --cores $(CORES)
	$(BIN)/snakemake $(SNAKEFLAGS) --report results/report.html

report: $(STAMP)
	$(BIN)/snakemake --report results/report.html

# R's survival and maxstat are the reference for the statistics tests.
r-deps:
	@if ! Rscript -e 'library(survival); library(maxstat)' >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends r-base-core r-cran-survival r-cran-maxstat >/dev/null; \
	  else echo "R with survival and maxstat is missing: the R-agreement tests will be skipped (install r-base-core r-cran-survival r-cran-maxstat)"; fi; \
	fi

# A single-node SLURM cluster (slurmctld, slurmd, munge) for tests/integration/test_slurm.py.
slurm-deps:
	@if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null; \
	  else echo "SLURM is missing: the SLURM test will be skipped (as root: apt-get install slurm-wlm munge)"; fi; \
	fi

lint: $(STAMP)
	$(BIN)/snakemake --lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(STAMP) r-deps slurm-deps lint
	$(BIN)/python -m pytest

# Benchmarks (BENCHMARKS.md): accuracy and time per stage of the imaging chain; the default
# study end to end, a clinical-preset run with each rule's time and peak memory, and tiny-preset
# cohorts of 24 and 240 patients (wall time per scan as the cohort grows); the
# conversion beside dcm2niix (PyPI, pinned in the `bench` extra) on a 545-slice PET; the DAG
# build for 1,000 to 10,000 patients; lesion tracking accuracy on the three-time-point cohort.
BENCH_DIR ?= /tmp/netpet-bench
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check dcm2niix==1.0.20260724
	$(BIN)/python benchmarks/accuracy.py resources/synthetic/bench results/bench --generate 24 --workers 2
	$(BIN)/python benchmarks/study.py $(BENCH_DIR)/default --cores 2
	$(BIN)/python benchmarks/study.py $(BENCH_DIR)/clinical --cores 2 --config '{synthetic: {preset: clinical, n_patients: 2, n_men: 1, n_progressions: null}}'
	$(BIN)/python benchmarks/study.py $(BENCH_DIR)/tiny-24 --cores 2 --config '{synthetic: {preset: tiny, n_patients: 24, n_men: 12}}'
	$(BIN)/python benchmarks/study.py $(BENCH_DIR)/tiny-240 --cores 2 --config '{synthetic: {preset: tiny, n_patients: 240, n_men: 120}}'
	$(BIN)/python benchmarks/conversion.py $(BENCH_DIR)/conversion --generate
	$(BIN)/python benchmarks/dag.py
	$(BIN)/python benchmarks/tracks.py --seeds 20240607 20240608 --workers 2 --out $(BENCH_DIR)/tracks

clean:
	rm -rf results .snakemake resources/synthetic

# Optional: TotalSegmentator with PyTorch (pyproject extra `totalsegmentator`) for organ label
# maps of scans without organ_labels.  requirements.lock stays binding (-c); some of its
# dependencies are source packages built with a current setuptools (build isolation).  PyTorch's
# default wheel carries CUDA; for a CPU-only one add its CPU index:
#   make totalsegmentator TOTALSEG_PIP_ARGS="--extra-index-url https://download.pytorch.org/whl/cpu"
# Weights are fetched separately, once (see netpet/totalsegmentator.py).
TOTALSEG_PIP_ARGS ?=
.PHONY: totalsegmentator
totalsegmentator: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock $(TOTALSEG_PIP_ARGS) -e '.[totalsegmentator]'
	@echo "TotalSegmentator installed in $(VENV). Weights, once: TOTALSEG_WEIGHTS_PATH=<folder> $(BIN)/totalseg_download_weights -t total_fast (CT) / -t total_fast_mr (MR); then set organs.totalsegmentator.weights_dir to <folder>"
