#!/bin/bash
# ours after (/work/main), 32-true and bf16-mixed, on 10,000 abstracts, one thread.
cd /work/measure; export OMP_NUM_THREADS=1
for p in 32-true bf16-mixed; do echo "after $p 10000: $(cd /work/main && /usr/bin/time -f %e_s_%M_KB .venv/bin/python -m bioner_pl.predict ckpt=/work/measure/stm.ckpt input=/work/measure/pubmed10000.xml.gz output=/work/measure/after10000_$p.jsonl precision=$p 2>&1 | tail -2 | tr '\n' ' ')"; done
