#!/bin/bash
# python -m bioner_pl.bench, tagging only, before (ba3555c) and after (HEAD), alternating twice, one thread.
export OMP_NUM_THREADS=1 BIONER_DATA_DIR=/work/shared/data/MTL-Bioinformatics-2016
for rep in 1 2; do for side in runner main; do
  echo "$side: $(cd /work/$side && /work/main/.venv/bin/python -m bioner_pl.bench --skip train batching crf --repeats 10 --out /tmp/b.json 2>&1 | grep -A1 'tagging NCBI' | tr '\n' ' ')"
done; done
