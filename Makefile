# Two commands do all set-up:  make run  (demo analysis)  and  make test  (test suite).
PYTHON ?= python3.11
VENV ?= .venv
CONFIG ?= config/config.yaml
CORES ?= 2
# Extra Snakemake arguments for `make run`, e.g. ARGS="--rerun-incomplete" or ARGS="--keep-going -n".
ARGS ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: unlock run test report lint demo-data clean system-deps help bench test-cluster lighthouse agreement

help:
	@echo "make run [CONFIG=config/config.yaml] [CORES=2]  run the workflow (creates .venv on first use)"
	@echo "make run ARGS=\"--rerun-incomplete\"           pass Snakemake arguments (resume after a killed run)"
	@echo "make unlock [CONFIG=...]                       release the lock a killed run left (then make run ARGS=--rerun-incomplete)"
	@echo "make test                                     install test needs (R, chromium) and run pytest"
	@echo "make report                                   also build the Snakemake report zip"
	@echo "make demo-data                                regenerate data/demo from rwe.simulate"
	@echo "make test-cluster [CONFIG=config/multisite.yaml] run on a throw-away one-node SLURM cluster and locally, compare tables"
	@echo "make bench [BENCH_SIZES=\"1000 10000\"]          time rwe beside R and lifelines -> docs/benchmarks.md"
	@echo "make lighthouse [REPORT=results/report.html]   Lighthouse scores of the report served on localhost"
	@echo "make agreement                                R survival's hand-computed cases vs rwe and R -> docs/agreement.md"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	rm -f $(VENV)/.installed-* && touch $@

run: $(STAMP)
	@$(BIN)/rwe check --config-only --config $(CONFIG) >/dev/null
	$(BIN)/snakemake --cores $(CORES) --configfile $(CONFIG) $(ARGS)
	@echo ""
	@echo "Report: $$($(BIN)/python -c "import pathlib, yaml; c = yaml.safe_load(open('$(CONFIG)')); print(pathlib.Path(c.get('results_dir', 'results'), 'report.html').resolve())")"

# A killed run leaves Snakemake's lock on the working directory: release it, then resume with
# make run ARGS=--rerun-incomplete.
unlock: $(STAMP)
	$(BIN)/snakemake --unlock --cores 1 --configfile $(CONFIG)

report: run
	$(BIN)/snakemake --cores 1 --configfile $(CONFIG) --report $$($(BIN)/python -c "import yaml; print(yaml.safe_load(open('$(CONFIG)')).get('results_dir', 'results'))")/snakemake_report.zip

# R with the packages the parity tests compare with (survival, metafor, cmprsk, sandwich, mice, boot,
# riskRegression), Chromium (browser test) and LibreOffice (the Word tables converted to PDF), from Debian.
system-deps:
	@if ! command -v Rscript >/dev/null || ! Rscript -e 'for (p in c("survival", "metafor", "cmprsk", "sandwich", "mice", "boot", "riskRegression")) library(p, character.only = TRUE)' >/dev/null 2>&1 \
	   || ! command -v chromium >/dev/null || ! command -v soffice >/dev/null; then \
	  echo "Installing R and its packages, chromium and libreoffice with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    r-base-core r-cran-survival r-cran-metafor r-cran-cmprsk r-cran-sandwich r-cran-mice r-cran-boot \
	    r-cran-riskregression chromium fonts-dejavu-core libreoffice-writer-nogui poppler-utils >/dev/null; \
	fi

test: $(STAMP) system-deps
	$(BIN)/ruff check src tests workflow/scripts
	$(BIN)/ruff format --check src tests workflow/scripts
	$(BIN)/python -m pytest

# Benchmark beside R and lifelines (not part of make test): cohorts in bench/data, results in
# bench/results/<n>, summary in docs/benchmarks.md. BENCH_ARGS passes bench/run.py options, e.g.
# BENCH_ARGS="--cohort-only 1000000 --lifelines-cap 300 --preliminary".
BENCH_SIZES ?= 1000 10000 100000 1000000
BENCH_ARGS ?=
bench: $(STAMP)
	@if ! test -x /usr/bin/time || ! command -v Rscript >/dev/null || ! Rscript -e 'library(survival)' >/dev/null 2>&1; then \
	  echo "Installing time, R and r-cran-survival with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    time r-base-core r-cran-survival >/dev/null; \
	fi
	$(BIN)/python bench/run.py --sizes $(BENCH_SIZES) --cores $(CORES) $(BENCH_ARGS)

# Opt-in, not part of `make test`: Lighthouse (npm, pinned; installed under the git-ignored .tools/)
# with Debian's Chromium against the report served on localhost (gzip, as a web server serves it;
# LIGHTHOUSE_ARGS=--no-gzip serves it as it is). Prints the scores; fails below the targets.
REPORT ?= results/report.html
LIGHTHOUSE_VERSION := 12.2.3
LIGHTHOUSE_ARGS ?=
LIGHTHOUSE := .tools/lighthouse/node_modules/.bin/lighthouse
$(LIGHTHOUSE):
	npm install --prefix .tools/lighthouse --no-save --no-audit --no-fund -E lighthouse@$(LIGHTHOUSE_VERSION)

lighthouse: $(STAMP) $(LIGHTHOUSE)
	@test -f $(REPORT) || $(MAKE) run
	CHROME_PATH=$${CHROME_PATH:-/usr/bin/chromium} $(BIN)/python bench/lighthouse.py $(REPORT) $(LIGHTHOUSE_ARGS)

# Opt-in, not part of `make test`: a real one-node SLURM cluster from Debian's packages (as root),
# the workflow through profiles/slurm, the same workflow locally, every tables/*.csv compared.
CLUSTER_STAMP := $(VENV)/.cluster-$(shell cksum pyproject.toml | cut -d' ' -f1)
$(CLUSTER_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[cluster]"
	rm -f $(VENV)/.cluster-* && touch $@

test-cluster: $(CLUSTER_STAMP)
	@if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
	   || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then \
	  echo "Installing slurmctld, slurmd, slurm-client and munge with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    slurmctld slurmd slurm-client munge >/dev/null; \
	fi
	VENV=$(VENV) tests/cluster/run_cluster_test.sh $(if $(filter command line,$(origin CONFIG)),$(CONFIG),config/multisite.yaml)

lint: $(STAMP)
	$(BIN)/ruff check src tests workflow/scripts
	$(BIN)/snakemake --lint --configfile $(CONFIG)

agreement: $(STAMP)
	$(BIN)/python tests/agreement.py

demo-data: $(STAMP)
	$(BIN)/rwe simulate data/demo --n 126 --seed 77

clean:
	rm -rf results/adam results/tables results/figures results/logs results/benchmarks results/*.html results/*.json .snakemake
