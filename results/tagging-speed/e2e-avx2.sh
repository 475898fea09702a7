#!/bin/bash
# 32-true only (this CPU has no bfloat16 LSTM): flair, then ours before (ba3555c at /work/runner) and
# after (/work/main), alternating three times, one thread each, one process after another; flair again.
cd /work/measure; export OMP_NUM_THREADS=1; n=${1:-1000}
T='/usr/bin/time -f %e_s_%M_KB'
ours() { (cd $1 && $T /work/main/.venv/bin/python -m bioner_pl.predict ckpt=/work/measure/stm.ckpt input=/work/measure/pubmed$n.xml.gz output=/work/measure/$2.jsonl 2>&1 | tail -2 | tr '\n' ' '; echo); }
echo "== $(date -u) $(lscpu | grep -m1 'Model name' | tr -s ' '), $(grep -o -m1 'avx512[a-z_]*' /proc/cpuinfo || echo no-avx512); load $(cat /proc/loadavg)"
echo "flair: $(/work/flairenv/bin/python flair_bench.py p$n 2>&1 | grep -v Warning | tail -1)"
for rep in 1 2 3; do
  echo "before 32-true: $(ours /work/runner before$n-$rep)"
  echo "after  32-true: $(ours /work/main after$n-$rep)"
  cmp before$n-$rep.jsonl after$n-$rep.jsonl && echo "outputs identical"
done
echo "flair again: $(/work/flairenv/bin/python flair_bench.py p$n 2>&1 | grep -v Warning | tail -1)"
