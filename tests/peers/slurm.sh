#!/usr/bin/env bash
# slurm.sh start DIR | stop DIR
#
# A one-node Slurm 22.05 cluster on 127.0.0.1 (shared/PEERS.md): munged with
# its own key and socket, slurmctld and slurmd on free ports, everything in
# DIR and run as root.  `start` returns once the node is idle and writes
# DIR/env, shell lines to source (also printed):
#     export SLURM_CONF=DIR/slurm.conf     what every client command reads
#     export SLURM_PEER_NODE=NAME          the node (this host's short name)
#     export SLURM_PEER_PARTITION=debug    the default partition
#     export SLURM_PEER_CPUS=N             the node's CPUs
# `stop` cancels the cluster's jobs, stops the daemons by PID (and any of
# its slurmstepd left behind, with their processes) and removes the state;
# DIR/log stays for post-mortems.
#
# munged runs with --force: it refuses a socket whose directories are not
# searchable by everyone, and the test's temp dir is 0700.  Every client
# here runs as root, so the check guards nothing; the system munged
# (/run/munge) is not used and may or may not run.
#
# Finished jobs: no slurmdbd, so plain `sacct` answers "Slurm accounting
# storage is disabled"; `sacct -c` reads the job completion file
# (jobcomp/filetxt, DIR/log/jobcomp.txt) and gives State and ExitCode.
# `scontrol show job` keeps a finished job for MinJobAge seconds.
#
# Knobs, read by `start` (defaults in brackets):
#     SLURM_PEER_CPUS=N          CPUs of the node [what `slurmd -C` finds];
#                                the node is taken as configured
#                                (SlurmdParameters=config_overrides), so N may
#                                exceed the cores this machine has
#     SLURM_PEER_MEM_MB=N        RealMemory [90% of what `slurmd -C` finds]
#     SLURM_PEER_GPUS=N          N GPUs as a node GRES (gpu:N, no device
#                                files, DIR/fake-gpu/nvidiaN: the scheduler
#                                counts them and jobs get SLURM_GPUS_ON_NODE,
#                                but no CUDA_VISIBLE_DEVICES) [0: no GRES]
#     SLURM_PEER_MIN_JOB_AGE=S   MinJobAge [300]
#     SLURM_PEER_KILL_WAIT=S     KillWait: SIGTERM to SIGKILL on cancel [5]
#     SLURM_PEER_CONF_EXTRA=TEXT lines appended to slurm.conf
# Needs: apt-get install slurmctld slurmd slurm-client munge
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/peerlib.sh"

die() {
        echo "slurm.sh: $*" >&2
        exit 1
}

# node_hw FIELD: a field of `slurmd -C` (this machine's hardware).
node_hw() { sed -n "1s/.* $1=\([0-9]*\).*/\1/p" <<<"$HW"; }

write_conf() { # DIR CTLD_PORT SLURMD_PORT
        local d=$1 cpus mem gres="" i
        cpus=${SLURM_PEER_CPUS:-$(node_hw CPUs)}
        mem=${SLURM_PEER_MEM_MB:-$(($(node_hw RealMemory) * 9 / 10))}
        [[ $cpus =~ ^[1-9][0-9]*$ ]] || die "SLURM_PEER_CPUS '$cpus' is not a positive number"
        [[ $mem =~ ^[1-9][0-9]*$ ]] || die "SLURM_PEER_MEM_MB '$mem' is not a positive number"
        if [ "${SLURM_PEER_GPUS:-0}" != 0 ]; then
                [[ $SLURM_PEER_GPUS =~ ^[1-9][0-9]*$ ]] || die "SLURM_PEER_GPUS '$SLURM_PEER_GPUS' is not a number"
                gres=" Gres=gpu:$SLURM_PEER_GPUS"
                # Plain files stand in for /dev/nvidiaN: slurmd counts them.
                mkdir -p "$d/fake-gpu"
                for ((i = 0; i < SLURM_PEER_GPUS; i++)); do : >"$d/fake-gpu/nvidia$i"; done
                echo "NodeName=$NODE Name=gpu File=$d/fake-gpu/nvidia[0-$((SLURM_PEER_GPUS - 1))]" >"$d/gres.conf"
        fi
        # Sockets x cores x threads must equal CPUs: one socket of single-thread cores.
        cat >"$d/slurm.conf" <<CONF
ClusterName=hoisttest
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$2
SlurmdPort=$3
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$d/munge-run/munge.socket
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool/slurmd-%n
SlurmctldPidFile=$d/run/slurmctld.pid
SlurmdPidFile=$d/run/slurmd-%n.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd-%n.log
SlurmdParameters=config_overrides
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1024
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$d/log/jobcomp.txt
MpiDefault=none
ReturnToService=2
MinJobAge=${SLURM_PEER_MIN_JOB_AGE:-300}
KillWait=${SLURM_PEER_KILL_WAIT:-5}
SchedulerType=sched/backfill
SchedulerParameters=sched_min_interval=0,batch_sched_delay=0
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
${gres:+GresTypes=gpu}
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus Sockets=1 CoresPerSocket=$cpus ThreadsPerCore=1 RealMemory=$mem$gres State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
${SLURM_PEER_CONF_EXTRA:-}
CONF
        echo "$cpus"
}

node_idle() { [ "$(sinfo -h -n "$NODE" -o %t 2>/dev/null)" = idle ]; }

wait_idle() { # DIR SECONDS: until the node is idle; fails as soon as a daemon exits
        local d=$1 deadline=$((SECONDS + $2)) name
        until node_idle; do
                for name in munged slurmctld slurmd; do
                        peer_alive "$(cat "$d/run/$name.daemon.pid")" ||
                                die "$name exited at start: $(grep -v '^munged' "$d/log/daemons.log" | tail -4) (see $d/log)"
                done
                [ $SECONDS -lt "$deadline" ] ||
                        die "node $NODE is not idle after $2 s: $(sinfo -h -N -o '%N %t %E' 2>&1) (see $d/log)"
                sleep 0.1
        done
}

start() {
        local d=$1 ctld_port slurmd_port cpus
        for b in munged mungekey slurmctld slurmd sinfo scontrol; do
                command -v "$b" >/dev/null || die "'$b' is missing (apt-get install slurmctld slurmd slurm-client munge)"
        done
        mkdir -p "$d"
        d=$(cd "$d" && pwd)
        [ ${#d} -le 80 ] || die "'$d' is too long for munge's socket path (at most 80 characters)"
        [ ! -f "$d/run/slurmctld.daemon.pid" ] || die "'$d' holds a running cluster (slurm.sh stop '$d' first)"
        mkdir -p "$d/log" "$d/state" "$d/spool" "$d/run" "$d/munge-key" "$d/munge-run"
        # A start that fails leaves nothing running.
        trap 'rc=$?; [ $rc -eq 0 ] || stop "'"$d"'"; exit $rc' EXIT
        chmod 0700 "$d/munge-key"
        chmod 0755 "$d/munge-run"
        HW=$(slurmd -C) || die "slurmd -C failed"
        NODE=$(hostname -s)

        mungekey -c -f -k "$d/munge-key/munge.key" || die "mungekey failed"
        munged -F -f -S "$d/munge-run/munge.socket" --key-file="$d/munge-key/munge.key" \
                --log-file="$d/log/munged.log" --pid-file="$d/munge-run/munged.pid" \
                --seed-file="$d/munge-key/munged.seed" </dev/null >>"$d/log/daemons.log" 2>&1 &
        echo $! >"$d/run/munged.daemon.pid"
        peer_wait 30 test -S "$d/munge-run/munge.socket" ||
                die "munged did not start (see $d/log/munged.log)"

        ctld_port=$(free_port)
        slurmd_port=$(free_port)
        cpus=$(write_conf "$d" "$ctld_port" "$slurmd_port")
        export SLURM_CONF=$d/slurm.conf
        # -D: in the foreground, so $! is the daemon; slurmd's slurmstepd
        # processes inherit SLURM_CONF, which is how stop finds strays.
        slurmctld -D -i -f "$SLURM_CONF" </dev/null >>"$d/log/daemons.log" 2>&1 &
        echo $! >"$d/run/slurmctld.daemon.pid"
        slurmd -D -f "$SLURM_CONF" </dev/null >>"$d/log/daemons.log" 2>&1 &
        echo $! >"$d/run/slurmd.daemon.pid"
        wait_idle "$d" 60
        cat >"$d/env" <<ENV
export SLURM_CONF=$SLURM_CONF
export SLURM_PEER_NODE=$NODE
export SLURM_PEER_PARTITION=debug
export SLURM_PEER_CPUS=$cpus
ENV
        cat "$d/env"
}

# stepd_pids DIR: the slurmstepd processes of this cluster (their SLURM_CONF).
stepd_pids() {
        local p
        for p in $(ps -eo pid=,comm= | awk '$2 == "slurmstepd" {print $1}'); do
                grep -qxzF "SLURM_CONF=$1/slurm.conf" "/proc/$p/environ" 2>/dev/null && echo "$p"
        done
        return 0
}

no_stepd() { [ -z "$(stepd_pids "$1")" ]; }

stop() {
        local d=$1 s p
        [ -d "$d" ] || return 0
        d=$(cd "$d" && pwd)
        export SLURM_CONF=$d/slurm.conf
        # Jobs first, while slurmctld can still end them cleanly.
        if [ -f "$d/run/slurmctld.daemon.pid" ] && peer_alive "$(cat "$d/run/slurmctld.daemon.pid")"; then
                timeout 10 scancel --user=root >/dev/null 2>&1 || true
                peer_wait 15 no_stepd "$d" || true
        fi
        for s in $(stepd_pids "$d"); do
                for p in $(peer_tree "$s"); do kill -9 "$p" 2>/dev/null || true; done
        done
        stop_pidfile "$d/run/slurmd.daemon.pid"
        stop_pidfile "$d/run/slurmctld.daemon.pid"
        stop_pidfile "$d/run/munged.daemon.pid"
        rm -rf "$d/state" "$d/spool" "$d/run" "$d/munge-key" "$d/munge-run" "$d/env" "$d/fake-gpu"
}

[ $# -eq 2 ] || die "usage: slurm.sh start|stop DIR"
case $1 in
start) start "$2" ;;
stop) stop "$2" ;;
*) die "usage: slurm.sh start|stop DIR" ;;
esac
