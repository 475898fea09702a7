#!/bin/bash
# Pause the training runs (SIGSTOP) while measuring, so each measurement has both cores to itself; always resume them.
pids="$(cat /work/logs/*.pid)"
kill -STOP $pids; trap 'kill -CONT $pids' EXIT
sleep 2; echo "== $(date -u +%T) trainings paused ($pids); load $(cat /proc/loadavg)"
"$@"
echo "== $(date -u +%T) done"
