#!/bin/bash
# breakdown.py before (ba3555c at /work/runner) and after (/work/main), alternating, one thread.
export OMP_NUM_THREADS=1
for rep in 1 2 3; do for side in runner main; do
  echo "$side: $(PYTHONPATH=/work/$side /work/main/.venv/bin/python /work/measure/breakdown.py /work/measure/stm.ckpt 32-true /work/measure/pubmed1000.xml.gz 2>&1 | grep -E '^(tag |read|token table|encoder|lstm)' | tr -s ' ' | tr '\n' ';')"
done; done
