#!/usr/bin/env bash
# Start a one-node SLURM cluster (Debian's slurmctld, slurmd, munge) as root, with its
# configuration, state, spool, pid and log files under DIR. No systemd, no cgroups, no accounting
# database. Clients find it with  export SLURM_CONF=DIR/slurm.conf .  Stop it with stop_slurm.sh DIR.
# Settings: /work/shared/reference/slurm_single_node.md.
set -euo pipefail

dir=${1:?usage: start_slurm.sh DIR}
mkdir -p "$dir/state" "$dir/spool"
dir=$(cd "$dir" && pwd)
host=$(hostname -s)
export SLURM_CONF=$dir/slurm.conf

if pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null; then
  echo "start_slurm: a slurmctld or slurmd is already running here; stop it first" >&2
  exit 1
fi

# munged runs as user munge with its socket in /run/munge; reuse one that already answers.
if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  echo "start_slurm: munged already running, reusing it"
else
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge
  test -s /etc/munge/munge.key || runuser -u munge -- mungekey --create --keyfile /etc/munge/munge.key
  runuser -u munge -- munged
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.2; done
  cp /run/munge/munged.pid "$dir/munged.pid"  # so that stop_slurm.sh ends this one
fi

# The node line as slurmd sees this machine (CPUs, sockets, cores, memory), reached at 127.0.0.1
# so that nothing depends on name resolution.
node=$(slurmd -C | head -1)
cat > "$dir/slurm.conf" <<CONF
ClusterName=rwetest
SlurmctldHost=$host(127.0.0.1)
AuthType=auth/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
MailProg=/bin/true
MpiDefault=none
# no cgroups
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
# no accounting database
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
# cores and memory are consumable; a job without a memory request gets 500 MB per CPU
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
# finished jobs stay visible to squeue for 5 minutes (the Snakemake plugin relies on it)
MinJobAge=300
ReturnToService=2
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF

# Jobs see it at the default place too: the plugin's job step drops SLURM_* variables (SLURM_CONF
# included) before its inner srun. A real configuration there is never replaced.
if [ -e /etc/slurm/slurm.conf ] && [ ! -L /etc/slurm/slurm.conf ]; then
  echo "start_slurm: /etc/slurm/slurm.conf exists (a configured SLURM node?); not starting" >&2
  exit 1
fi
mkdir -p /etc/slurm
ln -sfn "$dir/slurm.conf" /etc/slurm/slurm.conf

slurmctld -i -f "$dir/slurm.conf"
slurmd -f "$dir/slurm.conf" -N "$host"

for _ in $(seq 60); do
  state=$(sinfo -h -o %t 2>/dev/null || true)
  if [ "$state" = idle ]; then
    echo "start_slurm: one-node cluster up (SLURM_CONF=$dir/slurm.conf)"
    exit 0
  fi
  sleep 1
done
echo "start_slurm: the node did not become idle (state: '${state:-none}'); logs in $dir" >&2
tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
exit 1
