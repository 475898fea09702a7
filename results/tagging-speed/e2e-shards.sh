#!/bin/bash
# One machine, every core: one process with torch's default threads against two shards as a Hydra
# Paths come from the environment (nothing of one machine is written here):
#   MEASURE  a work folder holding the checkpoint (stm.ckpt) and the inputs (pubmedN.xml.gz, from make_pubmed.py)
#   BEFORE, AFTER  two checkouts to compare (AFTER's .venv runs both); FLAIR_PYTHON  a python with flair 0.15.1
# multirun on local_parallel (joblib gives each job cores // n_jobs threads: one here) and the merge.
# Wall time of whole commands, start-up included; 10,000 abstracts; alternating, twice; outputs compared.
cd $MEASURE; CK=$MEASURE/stm.ckpt; IN=$MEASURE/pubmed10000.xml.gz; PY=$AFTER/.venv/bin/python
T='/usr/bin/time -f %e -o /tmp/wall'
echo "== $(date -u) $(lscpu | grep -m1 'Model name' | tr -s ' '), $(nproc) cores; load $(cat /proc/loadavg)"
for run in 1 2; do
  rm -rf shards-$run.jsonl* one-$run.jsonl
  $T $PY -m bioner_pl.predict ckpt=$CK input=$IN output=one-$run.jsonl >/dev/null 2>&1; s=$(tail -1 /tmp/wall)
  echo "one process, default threads: $s s wall, $(python3 -c "print(round(100021/$s))") sentences/s"
  $T $PY -m bioner_pl.predict -m ckpt=$CK input=$IN output=shards-$run.jsonl num_shards=2 'shard=range(2)' \
     hydra/launcher=local_parallel hydra.launcher.n_jobs=2 >/dev/null 2>&1; a=$(tail -1 /tmp/wall)
  $T $PY -m bioner_pl.predict ckpt=$CK input=$IN output=shards-$run.jsonl num_shards=2 merge=true >/dev/null 2>&1; b=$(tail -1 /tmp/wall)
  echo "two shards on local_parallel: $a s wall + merge $b s, $(python3 -c "print(round(100021/($a+$b)))") sentences/s"
  cmp -s one-$run.jsonl shards-$run.jsonl && echo "outputs identical" || echo "outputs DIFFER"
done
echo "== $(date -u +%T) done"
