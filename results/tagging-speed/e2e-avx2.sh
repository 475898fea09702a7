#!/bin/bash
# 32-true only (this CPU has no bfloat16 LSTM): flair, then ours before (ba3555c) and
# Paths come from the environment (nothing of one machine is written here):
#   MEASURE  a work folder holding the checkpoint (stm.ckpt) and the inputs (pubmedN.xml.gz, from make_pubmed.py)
#   BEFORE, AFTER  two checkouts to compare (AFTER's .venv runs both); FLAIR_PYTHON  a python with flair 0.15.1
# after (AFTER), alternating three times, one thread each, one process after another; flair again.
cd $MEASURE; export OMP_NUM_THREADS=1; n=${1:-1000}
T='/usr/bin/time -f %e_s_%M_KB'
ours() { (cd $1 && $T $AFTER/.venv/bin/python -m bioner_pl.predict ckpt=$MEASURE/stm.ckpt input=$MEASURE/pubmed$n.xml.gz output=$MEASURE/$2.jsonl 2>&1 | tail -2 | tr '\n' ' '; echo); }
echo "== $(date -u) $(lscpu | grep -m1 'Model name' | tr -s ' '), $(grep -o -m1 'avx512[a-z_]*' /proc/cpuinfo || echo no-avx512); load $(cat /proc/loadavg)"
echo "flair: $($FLAIR_PYTHON flair_bench.py p$n 2>&1 | grep -v Warning | tail -1)"
for rep in 1 2 3; do
  echo "before 32-true: $(ours $BEFORE before$n-$rep)"
  echo "after  32-true: $(ours $AFTER after$n-$rep)"
  cmp before$n-$rep.jsonl after$n-$rep.jsonl && echo "outputs identical"
done
echo "flair again: $($FLAIR_PYTHON flair_bench.py p$n 2>&1 | grep -v Warning | tail -1)"
