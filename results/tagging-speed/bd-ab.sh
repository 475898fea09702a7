#!/bin/bash
# breakdown.py before (ba3555c) and after (AFTER), alternating, one thread.
# Paths come from the environment (nothing of one machine is written here):
#   MEASURE  a work folder holding the checkpoint (stm.ckpt) and the inputs (pubmedN.xml.gz, from make_pubmed.py)
#   BEFORE, AFTER  two checkouts to compare (AFTER's .venv runs both); FLAIR_PYTHON  a python with flair 0.15.1
export OMP_NUM_THREADS=1
for rep in 1 2 3; do for side in "$BEFORE" "$AFTER"; do
  echo "$side: $(PYTHONPATH=$side $AFTER/.venv/bin/python $MEASURE/breakdown.py $MEASURE/stm.ckpt 32-true $MEASURE/pubmed1000.xml.gz 2>&1 | grep -E '^(tag |read|token table|encoder|lstm)' | tr -s ' ' | tr '\n' ';')"
done; done
