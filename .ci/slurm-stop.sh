#!/usr/bin/env bash
# Stop the test SLURM cluster started by .ci/slurm-setup.sh, by pid.
#
# Why by pid: other processes with the same names may belong to someone
# else; only the pids in our pid files are signalled. Order: slurmd,
# slurmctld, then munged (unless SLURM_STOP_KEEP_MUNGE=1). Each gets SIGTERM,
# then SIGKILL after 20 s. Prints "stopped NAME PID" per daemon; a daemon
# that is not running is skipped. Exit 0 when none of them is left running.
set -euo pipefail

STATE=${VIDEOXAI_SLURM_STATE:-/var/lib/videoxai-slurm}
MUNGE_PIDFILE=/run/munge/munged.pid

# stop_pid PIDFILE NAME
stop_pid() {
    local pidfile=$1 name=$2 pid
    [ -s "$pidfile" ] || return 0
    pid=$(tr -dc '0-9' <"$pidfile")
    [ -n "$pid" ] || return 0
    if [ ! -r "/proc/$pid/comm" ] || [ "$(cat "/proc/$pid/comm")" != "$name" ]; then
        return 0  # stale pid file: that pid is gone or is something else now
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
        [ -e "/proc/$pid" ] || { echo "stopped $name $pid"; return 0; }
        sleep 0.2
    done
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
    if [ -e "/proc/$pid" ]; then
        echo "slurm-stop: ERROR: $name ($pid) did not exit" >&2
        return 1
    fi
    echo "stopped $name $pid (SIGKILL)"
}

stop_pid "$STATE/run/slurmd.pid" slurmd
stop_pid "$STATE/run/slurmctld.pid" slurmctld
if [ "${SLURM_STOP_KEEP_MUNGE:-0}" != 1 ]; then
    stop_pid "$MUNGE_PIDFILE" munged
fi
