#!/bin/bash
# Both tools at one thread and at the machine's default (torch takes every core: two here), quiet
# Paths come from the environment (nothing of one machine is written here):
#   MEASURE  a work folder holding the checkpoint (stm.ckpt) and the inputs (pubmedN.xml.gz, from make_pubmed.py)
#   BEFORE, AFTER  two checkouts to compare (AFTER's .venv runs both); FLAIR_PYTHON  a python with flair 0.15.1
# machine: flair on the 1,000-abstract sentences, then `bioner_pl.predict` on 1,000 and 10,000
# abstracts, alternating thread counts; flair again. Paths as on the measuring machine.
cd $MEASURE; T='/usr/bin/time -f %e_s_%M_KB'; CK=$MEASURE/stm.ckpt
flair() { $FLAIR_PYTHON $AFTER/results/tagging-speed/flair_bench.py p1000 $1 2>&1 | grep -v Warning | tail -1; }
ours() { # $1: threads (default: unset), $2: input size, $3: run
  (cd $AFTER && env ${1:+OMP_NUM_THREADS=$1} $T .venv/bin/python -m bioner_pl.predict ckpt=$CK \
     input=$MEASURE/pubmed$2.xml.gz output=$MEASURE/t${1:-default}-$2-$3.jsonl 2>&1 | tail -2 | tr '\n' ' '; echo); }
echo "== $(date -u) $(lscpu | grep -m1 'Model name' | tr -s ' '), $(nproc) cores, $(grep -o -m1 'avx512[a-z_]*' /proc/cpuinfo || echo no-avx512); load $(cat /proc/loadavg)"
echo "flair, 1 thread: $(flair 1)"; echo "flair, 2 threads: $(flair 2)"
for run in 1 2; do for n in 1000 10000; do
  echo "ours, 1 thread, $n: $(ours 1 $n $run)"; echo "ours, default threads, $n: $(ours '' $n $run)"
  cmp -s t1-$n-$run.jsonl tdefault-$n-$run.jsonl && echo "outputs identical" || echo "outputs DIFFER"
done; done
echo "flair, 1 thread: $(flair 1)"; echo "flair, 2 threads: $(flair 2)"
echo "== $(date -u +%T) done"
