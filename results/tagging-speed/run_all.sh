#!/bin/bash
# Tagging end to end, ours (before = $BEFORE at HEAD, after = $AFTER) and flair, one thread each, one after another.
# Paths come from the environment (nothing of one machine is written here):
#   MEASURE  a work folder holding the checkpoint (stm.ckpt) and the inputs (pubmedN.xml.gz, from make_pubmed.py)
#   BEFORE, AFTER  two checkouts to compare (AFTER's .venv runs both); FLAIR_PYTHON  a python with flair 0.15.1
cd $MEASURE
export OMP_NUM_THREADS=1
T='/usr/bin/time -f %e_s_%M_KB'
echo "== $(date) machine: $(OMP_NUM_THREADS= nproc) cores, $(grep -o -m1 'avx512_bf16' /proc/cpuinfo || echo no-bf16); load $(cat /proc/loadavg)"
echo "== flair 1000"; $FLAIR_PYTHON flair_bench.py p1000 2>&1 | grep -v Warning | tail -1
for n in 1000 10000; do
  echo "== before $n"; (cd $BEFORE && $T $AFTER/.venv/bin/python -m bioner_pl.predict ckpt=$MEASURE/stm.ckpt input=$MEASURE/pubmed$n.xml.gz output=$MEASURE/before$n.jsonl 2>&1 | tail -2)
  echo "== after fp32 $n"; (cd $AFTER && $T .venv/bin/python -m bioner_pl.predict ckpt=$MEASURE/stm.ckpt input=$MEASURE/pubmed$n.xml.gz output=$MEASURE/after$n.jsonl 2>&1 | tail -2)
  echo "== after bf16 $n"; (cd $AFTER && $T .venv/bin/python -m bioner_pl.predict ckpt=$MEASURE/stm.ckpt input=$MEASURE/pubmed$n.xml.gz output=$MEASURE/bf16_$n.jsonl precision=bf16-mixed 2>&1 | tail -2)
  cmp before$n.jsonl after$n.jsonl && echo "before/after fp32 outputs identical ($n)"
done
echo "== flair 1000 again"; $FLAIR_PYTHON flair_bench.py p1000 2>&1 | grep -v Warning | tail -1; echo "== end $(date)"
