#!/usr/bin/env bash
# End-to-end figure: wall time of `agora-execute --instances=N --command=true`
# against a fresh local cluster (one master, one agent, loopback, port 0).
#   bench/e2e_execute.sh [build_dir] [instances] [repetitions] [agent resources]
# Extra agent flags (e.g. --isolation=...) may come in AGENT_FLAGS.
# CGROUPS=1 runs every container in a cgroup of its own (--launcher=linux)
# under the first cgroup2 mount of /proc/self/mounts, in a throw-away
# agora-bench-<pid> root: the cgroup lifecycle (create, born in, cgroup.kill,
# rmdir) with whatever isolation the host gives (posix on a hybrid host,
# whose cgroup2 mount has no controllers).
# CHECKPOINT=1 runs a checkpointing framework (agora-execute --checkpoint):
# the agent then checkpoints every task and status update (docs/recovery.md).
# Each run also prints the CPU time (user+system) it cost per process:
# master, agent, the executors and their tasks (the agent's reaped
# children), and agora-execute.
set -euo pipefail
BUILD_DIR=${1:-build}
N=${2:-200}
REPS=${3:-3}
AGENT_RESOURCES=${4:-cpus:2;mem:8192;disk:8192;ports:[31000-32000]}
BIN=$(cd "$BUILD_DIR/bin" && pwd)
root=$(mktemp -d -t agora-bench-XXXXXX)
cg_root=""
if [ "${CGROUPS:-0}" = 1 ]; then
  cg_mount=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
  [ -n "$cg_mount" ] || { echo "CGROUPS=1: no cgroup2 mount" >&2; exit 1; }
  cg_root="agora-bench-$$"
  AGENT_FLAGS="${AGENT_FLAGS:-} --launcher=linux --cgroups_hierarchy=$cg_mount --cgroups_root=$cg_root"
fi
cleanup() {
  kill -TERM "${agent_pid:-}" "${master_pid:-}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$root"
  if [ -n "$cg_root" ]; then
    # Containers are gone with their tasks; the agent's own cgroup stays.
    find "$cg_mount/$cg_root" -depth -type d -exec rmdir {} + 2>/dev/null || true
  fi
}
trap cleanup EXIT

wait_port_file() {
  for _ in $(seq 1 300); do
    grep -q '^http=' "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "no port file $1" >&2
  exit 1
}

mkdir -p "$root/master" "$root/agent"
"$BIN/agora-master" --ip=127.0.0.1 --port=0 --http_port=0 \
  --work_dir="$root/master" --port_file="$root/master.ports" 2>"$root/master.log" &
master_pid=$!
wait_port_file "$root/master.ports"
mport=$(sed -n 's/^grpc=//p' "$root/master.ports")
"$BIN/agora-agent" --master="127.0.0.1:$mport" --ip=127.0.0.1 --port=0 \
  --http_port=0 --work_dir="$root/agent" --port_file="$root/agent.ports" \
  --resources="$AGENT_RESOURCES" ${AGENT_FLAGS:-} 2>"$root/agent.log" &
agent_pid=$!
wait_port_file "$root/agent.ports"
sleep 1  # Let the agent register before timing.

hz=$(getconf CLK_TCK)
# utime+stime (or, with "children", cutime+cstime) of a pid, in ticks.
cpu_ticks() {
  local which=${2:-self} fields
  fields=$(sed 's/^.*) //' "/proc/$1/stat")
  # shellcheck disable=SC2086
  set -- $fields
  if [ "$which" = children ]; then echo $((${14} + ${15})); else echo $((${12} + ${13})); fi
}
# CPU of this shell's reaped children (agora-execute), in ticks. `times`
# must run in this shell, not in a subshell, so it goes through a file.
self_children_ticks() {
  times >"$root/times"
  awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/);
    printf "%d\n", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * hz }' \
    hz="$hz" "$root/times"
}
ms() { awk -v t="$1" -v hz="$hz" -v n="$N" 'BEGIN { printf "%.0f ms (%.1f ms/task)", t * 1000 / hz, t * 1000 / hz / n }'; }

echo "agora-execute --instances=$N --command=true --resources=cpus:0.01;mem:32$([ "${CHECKPOINT:-0}" = 1 ] && echo ' --checkpoint')"
grep -m1 -o 'Isolation: .*' "$root/agent.log" || true
for rep in $(seq 1 "$REPS"); do
  m0=$(cpu_ticks "$master_pid"); a0=$(cpu_ticks "$agent_pid")
  c0=$(cpu_ticks "$agent_pid" children)
  self_children_ticks >"$root/e0"
  start=$(date +%s.%N)
  "$BIN/agora-execute" --master="127.0.0.1:$mport" --name="bench$rep" \
    --command=true --instances="$N" --resources="cpus:0.01;mem:32" \
    $([ "${CHECKPOINT:-0}" = 1 ] && echo --checkpoint) \
    >"$root/execute$rep.log" 2>&1 || { echo "run $rep failed"; tail "$root/execute$rep.log"; exit 1; }
  end=$(date +%s.%N)
  awk -v r="$rep" -v s="$start" -v e="$end" 'BEGIN { printf "run %d: %.2f s\n", r, e - s }'
  sleep 0.5  # Let the last executors exit and be reaped.
  self_children_ticks >"$root/e1"
  echo "  cpu: master $(ms $(($(cpu_ticks "$master_pid") - m0))), agent $(ms $(($(cpu_ticks "$agent_pid") - a0))),"
  echo "       executors+tasks $(ms $(($(cpu_ticks "$agent_pid" children) - c0))), agora-execute $(ms $(($(cat "$root/e1") - $(cat "$root/e0"))))"
done
