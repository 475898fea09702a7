#!/bin/bash
# Pause the training runs (SIGSTOP) while measuring, so each measurement has both cores to itself; always resume them.
# Paths come from the environment (nothing of one machine is written here):
#   MEASURE  a work folder holding the checkpoint (stm.ckpt) and the inputs (pubmedN.xml.gz, from make_pubmed.py)
#   BEFORE, AFTER  two checkouts to compare (AFTER's .venv runs both); FLAIR_PYTHON  a python with flair 0.15.1
pids="$(cat "${PID_FILES:?set PID_FILES to the pid files of the runs to pause}")"
kill -STOP $pids; trap 'kill -CONT $pids' EXIT
sleep 2; echo "== $(date -u +%T) trainings paused ($pids); load $(cat /proc/loadavg)"
"$@"
echo "== $(date -u +%T) done"
