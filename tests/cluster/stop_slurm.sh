#!/usr/bin/env bash
# Stop the cluster that start_slurm.sh DIR started: cancel its jobs, then end the daemons it
# started (by the pids in their pid files; a munged that was already running is left alone).
set -uo pipefail

dir=${1:?usage: stop_slurm.sh DIR}
[ -d "$dir" ] || exit 0
dir=$(cd "$dir" && pwd)
export SLURM_CONF=$dir/slurm.conf

if [ -f "$dir/slurmctld.pid" ] && kill -0 "$(cat "$dir/slurmctld.pid")" 2>/dev/null; then
  scancel --quiet --full --user=root 2>/dev/null || true
  for _ in $(seq 20); do
    [ -z "$(squeue -h -t running,completing -o %i 2>/dev/null)" ] && break
    sleep 0.5
  done
fi

for daemon in slurmd slurmctld munged; do
  pidfile=$dir/$daemon.pid
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$pidfile"
done
if [ "$(readlink /etc/slurm/slurm.conf 2>/dev/null)" = "$dir/slurm.conf" ]; then
  rm -f /etc/slurm/slurm.conf
fi
echo "stop_slurm: stopped"
