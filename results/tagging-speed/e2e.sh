#!/bin/bash
# flair, ours before (/work/runner) and after (/work/main), 32-true and bf16-mixed, one thread each, one after another.
cd /work/measure; export OMP_NUM_THREADS=1; n=${1:-1000}; rm -f before$n.jsonl after$n.jsonl beforebf$n.jsonl afterbf$n.jsonl
T='/usr/bin/time -f %e_s_%M_KB'
ours() { (cd $1 && $T /work/main/.venv/bin/python -m bioner_pl.predict ckpt=/work/measure/stm.ckpt input=/work/measure/pubmed$n.xml.gz output=/work/measure/$2.jsonl precision=$3 2>&1 | tail -2 | tr '\n' ' '; echo); }
echo "flair: $(/work/flairenv/bin/python flair_bench.py p$n 2>&1 | grep -v Warning | tail -1)"
echo "before 32-true: $(ours /work/runner before$n 32-true)"
echo "after  32-true: $(ours /work/main after$n 32-true)"
echo "before bf16:    $(ours /work/runner beforebf$n bf16-mixed)"
echo "after  bf16:    $(ours /work/main afterbf$n bf16-mixed)"
cmp before$n.jsonl after$n.jsonl && echo "32-true outputs identical"
cmp beforebf$n.jsonl afterbf$n.jsonl && echo "bf16 outputs identical"
echo "flair again: $(/work/flairenv/bin/python flair_bench.py p$n 2>&1 | grep -v Warning | tail -1)"
