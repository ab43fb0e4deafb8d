#!/usr/bin/env bash
# Bring up a single-node SLURM cluster on localhost, for tests/cluster.
#
# Why: the SLURM profile (profiles/slurm) must be proven against a real
# scheduler, not a mock. This script installs Debian's packages, writes a
# minimal slurm.conf/gres.conf (one node, one partition, one fake GPU as a
# GRES), starts munged, slurmctld and slurmd without systemd, waits until the
# node is idle and prints the daemons' pids. It is idempotent: run it again and
# it leaves a healthy cluster alone, or restarts it when the config changed.
# Stop it with .ci/slurm-stop.sh (by pid).
#
# Needs root. Environment knobs (all optional):
#   VIDEOXAI_SLURM_PARTITION  partition name           (default: videoxai)
#   VIDEOXAI_SLURM_STATE      state/log/pid directory  (default: /var/lib/videoxai-slurm)
#   VIDEOXAI_SLURM_WAIT       seconds to wait for idle (default: 90)
# Output (stdout, last lines, one key=value each): node, partition, conf,
# munged_pid, slurmctld_pid, slurmd_pid; the same is written to
# $VIDEOXAI_SLURM_STATE/cluster.env.
set -euo pipefail

PARTITION=${VIDEOXAI_SLURM_PARTITION:-videoxai}
STATE=${VIDEOXAI_SLURM_STATE:-/var/lib/videoxai-slurm}
WAIT_S=${VIDEOXAI_SLURM_WAIT:-90}
CONF_DIR=/etc/slurm
MARKER="# written by videoxai .ci/slurm-setup.sh"
MUNGE_PIDFILE=/run/munge/munged.pid

log() { echo "slurm-setup: $*" >&2; }
die() { echo "slurm-setup: ERROR: $*" >&2; exit 1; }
# Exit status 3 means "the Debian packages cannot be installed here" (no root,
# no apt, no network): tests/cluster skips on it; any other failure is an error.
cannot_install() { echo "slurm-setup: CANNOT INSTALL: $*" >&2; exit 3; }

[ "$(id -u)" -eq 0 ] || cannot_install "must run as root (it installs packages and starts daemons)"

# --- 1. packages -------------------------------------------------------------
have_all() {
    for b in slurmctld slurmd munged sbatch squeue sinfo scontrol; do
        command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || return 1
    done
}
if ! have_all; then
    command -v apt-get >/dev/null 2>&1 || cannot_install "no apt-get: not a Debian-like system"
    log "installing slurm-wlm slurmctld slurmd munge (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    # Keep the packages' maintainer scripts from starting daemons through
    # init scripts: we start them ourselves, with our config.
    own_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        own_policy=1
    fi
    rc=0
    { apt-get update -q && apt-get install -y -q slurm-wlm slurmctld slurmd munge; } >&2 || rc=$?
    [ "$own_policy" -eq 1 ] && rm -f /usr/sbin/policy-rc.d
    [ "$rc" -eq 0 ] || cannot_install "apt-get could not install slurm-wlm slurmctld slurmd munge (exit $rc)"
    have_all || die "packages installed but SLURM/munge binaries are missing"
fi
export PATH="$PATH:/usr/sbin:/sbin"

# --- 2. munge key and directories -------------------------------------------
id munge >/dev/null 2>&1 || die "user 'munge' missing: the munge package did not install cleanly"
install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
install -d -o munge -g munge -m 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
    log "creating /etc/munge/munge.key"
    if command -v mungekey >/dev/null 2>&1; then
        mungekey --create --keyfile=/etc/munge/munge.key --force
    else
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
install -d -m 0755 "$STATE" "$STATE/ctld" "$STATE/d" "$STATE/log" "$STATE/run" "$CONF_DIR"

# --- 3. configuration ---------------------------------------------------------
NODE=$(hostname -s)
# The node's CPU/memory layout must match what slurmd detects, or slurmd
# marks the node invalid; take it verbatim from `slurmd -C`.
LAYOUT=$(slurmd -C | head -n1 | tr ' ' '\n' \
    | grep -E '^(CPUs|Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore|RealMemory)=' | tr '\n' ' ')
[ -n "$LAYOUT" ] || die "could not read the node layout from 'slurmd -C'"
NCPU=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$LAYOUT")
MEM=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$LAYOUT")
DEF_MEM=$(( MEM / NCPU / 4 ))   # jobs without --mem get a quarter of a CPU's share

new_conf=$(mktemp)
new_gres=$(mktemp)
trap 'rm -f "$new_conf" "$new_gres"' EXIT
cat >"$new_conf" <<EOF
$MARKER
# Single-node test cluster on localhost. Regenerated on every run.
ClusterName=videoxai
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
MailProg=/bin/true
# No cgroups (containers, CI): plain process tracking, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$DEF_MEM
# No slurmdbd, so sacct cannot see jobs: Snakemake polls with squeue, which
# only sees finished jobs for MinJobAge seconds. Keep them long enough
# (>= 3 x slurm-init-seconds-before-status-checks and > the 180 s poll cap).
MinJobAge=600
ReturnToService=2
SchedulerParameters=batch_sched_delay=0
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
GresTypes=gpu
NodeName=$NODE NodeAddr=127.0.0.1 ${LAYOUT}Gres=gpu:1 State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
# A fake GPU: SLURM only needs a character device to hand out; /dev/null is
# one (a regular file or no File= breaks scheduling).
cat >"$new_gres" <<EOF
$MARKER
AutoDetect=off
NodeName=$NODE Name=gpu File=/dev/null
EOF

for f in slurm.conf gres.conf; do
    if [ -e "$CONF_DIR/$f" ] && ! grep -qF "$MARKER" "$CONF_DIR/$f"; then
        die "$CONF_DIR/$f exists and was not written by this script; refusing to overwrite a real cluster's config (move it away first)"
    fi
done
changed=0
cmp -s "$new_conf" "$CONF_DIR/slurm.conf" || changed=1
cmp -s "$new_gres" "$CONF_DIR/gres.conf" || changed=1
if [ "$changed" -eq 1 ]; then
    install -m 0644 "$new_conf" "$CONF_DIR/slurm.conf"
    install -m 0644 "$new_gres" "$CONF_DIR/gres.conf"
    log "wrote $CONF_DIR/slurm.conf and $CONF_DIR/gres.conf"
fi

# --- 4. daemons -------------------------------------------------------------
# pid_alive PIDFILE NAME: print the pid if that process is running and is NAME.
pid_alive() {
    local pid
    [ -s "$1" ] || return 1
    pid=$(tr -dc '0-9' <"$1")
    [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$2" ] || return 1
    echo "$pid"
}

if [ "$changed" -eq 1 ] && { pid_alive "$STATE/run/slurmctld.pid" slurmctld >/dev/null \
        || pid_alive "$STATE/run/slurmd.pid" slurmd >/dev/null; }; then
    # Node and GRES lines are only read at daemon start (not by reconfigure).
    log "config changed: restarting slurmd and slurmctld"
    SLURM_STOP_KEEP_MUNGE=1 "$(dirname "$0")/slurm-stop.sh" >&2
fi

if ! pid_alive "$MUNGE_PIDFILE" munged >/dev/null; then
    log "starting munged"
    runuser -u munge -- /usr/sbin/munged
fi
for _ in $(seq 50); do
    munge -n </dev/null | unmunge >/dev/null 2>&1 && break
    sleep 0.2
done
munge -n </dev/null | unmunge >/dev/null 2>&1 || die "munged does not answer (see /var/log/munge/munged.log)"

if ! pid_alive "$STATE/run/slurmctld.pid" slurmctld >/dev/null; then
    log "starting slurmctld"
    /usr/sbin/slurmctld || die "slurmctld failed to start (see $STATE/log/slurmctld.log)"
fi
for _ in $(seq 100); do
    scontrol ping 2>/dev/null | grep -q 'is UP' && break
    sleep 0.2
done
scontrol ping 2>/dev/null | grep -q 'is UP' || die "slurmctld does not answer (see $STATE/log/slurmctld.log)"

if ! pid_alive "$STATE/run/slurmd.pid" slurmd >/dev/null; then
    log "starting slurmd"
    /usr/sbin/slurmd || die "slurmd failed to start (see $STATE/log/slurmd.log)"
fi

# --- 5. wait for the node -------------------------------------------------------
state=""
deadline=$(( $(date +%s) + WAIT_S ))
while [ "$(date +%s)" -lt "$deadline" ]; do
    state=$(sinfo -h -n "$NODE" -o '%T' 2>/dev/null | head -n1)
    case "$state" in
        idle|mixed|allocated) break ;;
        down*|drain*|drained*)
            # A node remembered as down from an earlier run: bring it back.
            scontrol update NodeName="$NODE" State=RESUME 2>/dev/null || true ;;
    esac
    sleep 0.5
done
case "$state" in
    idle|mixed|allocated) ;;
    *) die "node $NODE is '$state' after ${WAIT_S}s, not idle (see $STATE/log/slurmd.log and 'scontrol show node $NODE')" ;;
esac
log "node $NODE is $state"

out="node=$NODE
partition=$PARTITION
conf=$CONF_DIR/slurm.conf
munged_pid=$(pid_alive "$MUNGE_PIDFILE" munged)
slurmctld_pid=$(pid_alive "$STATE/run/slurmctld.pid" slurmctld)
slurmd_pid=$(pid_alive "$STATE/run/slurmd.pid" slurmd)"
printf '%s\n' "$out" >"$STATE/cluster.env"
printf '%s\n' "$out"
