#!/bin/bash
# flair, ours before (BEFORE) and after (AFTER), 32-true and bf16-mixed, one thread each, one after another.
# Paths come from the environment (nothing of one machine is written here):
#   MEASURE  a work folder holding the checkpoint (stm.ckpt) and the inputs (pubmedN.xml.gz, from make_pubmed.py)
#   BEFORE, AFTER  two checkouts to compare (AFTER's .venv runs both); FLAIR_PYTHON  a python with flair 0.15.1
cd $MEASURE; export OMP_NUM_THREADS=1; n=${1:-1000}; rm -f before$n.jsonl after$n.jsonl beforebf$n.jsonl afterbf$n.jsonl
T='/usr/bin/time -f %e_s_%M_KB'
ours() { (cd $1 && $T $AFTER/.venv/bin/python -m bioner_pl.predict ckpt=$MEASURE/stm.ckpt input=$MEASURE/pubmed$n.xml.gz output=$MEASURE/$2.jsonl precision=$3 2>&1 | tail -2 | tr '\n' ' '; echo); }
echo "flair: $($FLAIR_PYTHON flair_bench.py p$n 2>&1 | grep -v Warning | tail -1)"
echo "before 32-true: $(ours $BEFORE before$n 32-true)"
echo "after  32-true: $(ours $AFTER after$n 32-true)"
echo "before bf16:    $(ours $BEFORE beforebf$n bf16-mixed)"
echo "after  bf16:    $(ours $AFTER afterbf$n bf16-mixed)"
cmp before$n.jsonl after$n.jsonl && echo "32-true outputs identical"
cmp beforebf$n.jsonl afterbf$n.jsonl && echo "bf16 outputs identical"
echo "flair again: $($FLAIR_PYTHON flair_bench.py p$n 2>&1 | grep -v Warning | tail -1)"
