# bioner-pl: every experiment is one target. Extra Hydra overrides go in ARGS, e.g.
#   make sweep-pairs ARGS="seed=1,2,3 hydra/launcher=joblib"
PYTHON ?= .venv/bin/python
ARGS ?=
# Use the datasets beside the checkout when they are there (else they are downloaded into data/).
ifneq ($(wildcard ../shared/data/MTL-Bioinformatics-2016),)
export BIONER_DATA_DIR ?= $(abspath ../shared/data/MTL-Bioinformatics-2016)
endif

.PHONY: setup test train bench
setup: .venv/.installed
.venv/.installed: pyproject.toml
	python3 -m venv .venv
	.venv/bin/pip install -q --upgrade pip
	.venv/bin/pip install -q torch==2.13.0            # the CPU wheel; pinned first so nothing pulls CUDA
	.venv/bin/pip install -q -e ".[test,bench]"
	touch $@

test: setup
	$(PYTHON) -m pytest

train: setup
	$(PYTHON) -m bioner_pl.train model=stm main=ncbi $(ARGS)
