#!/bin/bash
# python -m bioner_pl.bench, tagging only, before (ba3555c) and after (HEAD), alternating twice, one thread.
# Paths come from the environment (nothing of one machine is written here):
#   MEASURE  a work folder holding the checkpoint (stm.ckpt) and the inputs (pubmedN.xml.gz, from make_pubmed.py)
#   BEFORE, AFTER  two checkouts to compare (AFTER's .venv runs both); FLAIR_PYTHON  a python with flair 0.15.1
export OMP_NUM_THREADS=1 BIONER_DATA_DIR=$BIONER_DATA_DIR
for rep in 1 2; do for side in "$BEFORE" "$AFTER"; do
  echo "$side: $(cd $side && $AFTER/.venv/bin/python -m bioner_pl.bench --skip train batching crf --repeats 10 --out /tmp/b.json 2>&1 | grep -A1 'tagging NCBI' | tr '\n' ' ')"
done; done
