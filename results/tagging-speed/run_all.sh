#!/bin/bash
# Tagging end to end, ours (before = /work/runner at HEAD, after = /work/main) and flair, one thread each, one after another.
cd /work/measure
export OMP_NUM_THREADS=1
T='/usr/bin/time -f %e_s_%M_KB'
echo "== $(date) machine: $(OMP_NUM_THREADS= nproc) cores, $(grep -o -m1 'avx512_bf16' /proc/cpuinfo || echo no-bf16); load $(cat /proc/loadavg)"
echo "== flair 1000"; /work/flairenv/bin/python flair_bench.py p1000 2>&1 | grep -v Warning | tail -1
for n in 1000 10000; do
  echo "== before $n"; (cd /work/runner && $T /work/main/.venv/bin/python -m bioner_pl.predict ckpt=/work/measure/stm.ckpt input=/work/measure/pubmed$n.xml.gz output=/work/measure/before$n.jsonl 2>&1 | tail -2)
  echo "== after fp32 $n"; (cd /work/main && $T .venv/bin/python -m bioner_pl.predict ckpt=/work/measure/stm.ckpt input=/work/measure/pubmed$n.xml.gz output=/work/measure/after$n.jsonl 2>&1 | tail -2)
  echo "== after bf16 $n"; (cd /work/main && $T .venv/bin/python -m bioner_pl.predict ckpt=/work/measure/stm.ckpt input=/work/measure/pubmed$n.xml.gz output=/work/measure/bf16_$n.jsonl precision=bf16-mixed 2>&1 | tail -2)
  cmp before$n.jsonl after$n.jsonl && echo "before/after fp32 outputs identical ($n)"
done
echo "== flair 1000 again"; /work/flairenv/bin/python flair_bench.py p1000 2>&1 | grep -v Warning | tail -1; echo "== end $(date)"
