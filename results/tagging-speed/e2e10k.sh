#!/bin/bash
# ours after (AFTER), 32-true and bf16-mixed, on 10,000 abstracts, one thread.
# Paths come from the environment (nothing of one machine is written here):
#   MEASURE  a work folder holding the checkpoint (stm.ckpt) and the inputs (pubmedN.xml.gz, from make_pubmed.py)
#   BEFORE, AFTER  two checkouts to compare (AFTER's .venv runs both); FLAIR_PYTHON  a python with flair 0.15.1
cd $MEASURE; export OMP_NUM_THREADS=1
for p in 32-true bf16-mixed; do echo "after $p 10000: $(cd $AFTER && /usr/bin/time -f %e_s_%M_KB .venv/bin/python -m bioner_pl.predict ckpt=$MEASURE/stm.ckpt input=$MEASURE/pubmed10000.xml.gz output=$MEASURE/after10000_$p.jsonl precision=$p 2>&1 | tail -2 | tr '\n' ' ')"; done
