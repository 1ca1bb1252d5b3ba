#!/usr/bin/env bash
# make test-cluster: run the workflow on a real one-node SLURM cluster (profiles/slurm) and
# locally, then compare every table of the two runs (tests/cluster/test_cluster.py).
#   tests/cluster/run_cluster_test.sh [CONFIG]      (default config/config.yaml; run from anywhere)
# Needs root (starts slurmctld, slurmd, munged) and the `cluster` extra in .venv. The cluster is
# stopped on any exit; the work folder is kept when something failed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
config=${1:-config/config.yaml}
bin=${VENV:-.venv}/bin
limit=${CLUSTER_TIMEOUT:-1200}  # seconds per run: a misconfigured cluster fails instead of hanging

work=$(mktemp -d "${TMPDIR:-/tmp}/rwe-cluster.XXXXXX")
local_pid=
finish() {
  status=$?
  set +e  # every clean-up step runs, whatever failed
  if [ -n "$local_pid" ]; then kill "$local_pid" 2>/dev/null; fi
  tests/cluster/stop_slurm.sh "$work/slurm"
  if [ "$status" -eq 0 ]; then
    rm -rf "$work"
  else
    echo "test-cluster FAILED; logs kept in $work (cluster.log, local.log, slurm/*.log," \
      ".snakemake/slurm_logs)" >&2
  fi
  exit "$status"
}
trap finish EXIT
trap 'exit 130' INT TERM

start=$SECONDS
tests/cluster/start_slurm.sh "$work/slurm"
export SLURM_CONF=$work/slurm/slurm.conf

# The local run goes alongside: the cluster run mostly waits for the scheduler.
timeout "$limit" "$bin/snakemake" --cores 2 --configfile "$config" \
  --config results_dir="$work/local" >"$work/local.log" 2>&1 &
local_pid=$!

echo "test-cluster: snakemake --profile profiles/slurm (log: $work/cluster.log)"
# Status checks every 10 s instead of 40 (MinJobAge=300 keeps squeue reliable at that rate).
if ! timeout "$limit" "$bin/snakemake" --profile profiles/slurm --configfile "$config" \
  --config results_dir="$work/cluster" --slurm-init-seconds-before-status-checks 10 \
  >"$work/cluster.log" 2>&1; then
  tail -n 40 "$work/cluster.log" >&2
  exit 1
fi
echo "test-cluster: cluster run done after $((SECONDS - start)) s"

if ! wait "$local_pid"; then
  local_pid=
  tail -n 40 "$work/local.log" >&2
  exit 1
fi
local_pid=
echo "test-cluster: local run done after $((SECONDS - start)) s"

RWE_CLUSTER_RESULTS=$work/cluster RWE_LOCAL_RESULTS=$work/local \
  RWE_CLUSTER_LOG=$work/cluster.log \
  "$bin/python" -m pytest -p no:cacheprovider -m cluster tests/cluster
echo "test-cluster: passed in $((SECONDS - start)) s"
