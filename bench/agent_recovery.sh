#!/usr/bin/env bash
# Agent recovery figure: N running tasks of a checkpointing framework
# (agora-execute --checkpoint, `sleep 100000`), the agent killed with
# SIGKILL and started again on the same work dir. Measured from the new
# agent's first log line (its start), from the glog timestamps of its log:
#   recovered     every executor resubscribed ("Recovery of agent ... done")
#   reregistered  the master answered its reregistration under the same id
# and, by polling /state from the moment it was started:
#   all running   the master and the agent show all N tasks TASK_RUNNING
#   bench/agent_recovery.sh [build_dir] [tasks] [repetitions]
# Extra agent flags in AGENT_FLAGS (e.g. --launcher=linux ...).
set -euo pipefail
BUILD_DIR=${1:-build}
N=${2:-100}
REPS=${3:-3}
BIN=$(cd "$BUILD_DIR/bin" && pwd)
root=$(mktemp -d -t agora-recovery-bench-XXXXXX)
cleanup() {
  kill -TERM "${execute_pid:-}" "${master_pid:-}" 2>/dev/null || true
  kill -KILL "${agent_pid:-}" 2>/dev/null || true
  # The executors outlive their agent by design: kill them by sandbox.
  for p in /proc/[0-9]*; do
    if grep -qz "^MESOS_SANDBOX=$root" "$p/environ" 2>/dev/null; then
      kill -KILL "${p#/proc/}" 2>/dev/null || true
    fi
  done
  wait 2>/dev/null || true
  [ -n "${KEEP:-}" ] && echo "kept $root" || rm -rf "$root"
}
trap cleanup EXIT

wait_port_file() {
  for _ in $(seq 1 600); do
    grep -q '^http=' "$1" 2>/dev/null && return 0
    sleep 0.01
  done
  echo "no port file $1" >&2
  exit 1
}
now() { date +%s.%N; }
ms_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }
# Seconds of the day of a glog line ("I20261202 15:46:35.049196 ...").
log_secs() { awk '{ split($2, t, ":"); printf "%.6f\n", t[1] * 3600 + t[2] * 60 + t[3] }'; }
# ms between the first line of log $1 and the first line matching $2.
log_ms() {
  local a b
  a=$(head -n 1 "$1" | log_secs)
  b=$(grep -m 1 "$2" "$1" | log_secs)
  awk -v a="$a" -v b="$b" 'BEGIN { printf "%.0f", (b - a) * 1000 }'
}
# count_running PORT: live tasks in state TASK_RUNNING in /state of the
# master or the agent.
count_running() {
  curl -s "http://127.0.0.1:$1/state" | python3 -c '
import json, sys
s = json.load(sys.stdin)
tasks = [t for f in s["frameworks"] for t in f.get("tasks", [])]
tasks += [t for f in s["frameworks"] for e in f.get("executors", [])
          for t in e.get("tasks", [])]
print(sum(t["state"] == "TASK_RUNNING" for t in tasks))' 2>/dev/null || echo 0
}
active_agent() {
  curl -s "http://127.0.0.1:$mhttp/state" |
    python3 -c 'import json,sys; s=json.load(sys.stdin); print(" ".join(a["id"] for a in s["slaves"] if a["active"]))' 2>/dev/null || true
}

mkdir -p "$root/master" "$root/agent"
"$BIN/agora-master" --ip=127.0.0.1 --port=0 --http_port=0 \
  --work_dir="$root/master" --port_file="$root/master.ports" 2>"$root/master.log" &
master_pid=$!
wait_port_file "$root/master.ports"
mport=$(sed -n 's/^grpc=//p' "$root/master.ports")
mhttp=$(sed -n 's/^http=//p' "$root/master.ports")
# RESTART_WRAPPER (e.g. "perf record -g -o /path --") runs the restarted
# agents under a profiler.
start_agent() {
  rm -f "$root/agent.ports"
  local wrapper=""
  [ "$1" != 0 ] && wrapper=${RESTART_WRAPPER:-}
  $wrapper "$BIN/agora-agent" --master="127.0.0.1:$mport" --ip=127.0.0.1 --port=0 \
    --http_port=0 --work_dir="$root/agent" --port_file="$root/agent.ports" \
    --resources="cpus:16;mem:65536;disk:8192;ports:[31000-32000]" \
    --recovery_timeout=10mins ${AGENT_FLAGS:-} 2>"$root/agent-$1.log" &
  agent_pid=$!
}
start_agent 0
wait_port_file "$root/agent.ports"

"$BIN/agora-execute" --master="127.0.0.1:$mport" --name=recover \
  --command="sleep 100000" --instances="$N" --resources="cpus:0.01;mem:16" \
  --checkpoint >"$root/execute.log" 2>&1 &
execute_pid=$!
t=$(now)
until [ "$(count_running "$mhttp")" -ge "$N" ]; do sleep 0.2; done
echo "$N tasks running after $(ms_since "$t") ms"
agent_id=$(active_agent)

echo "agent recovery with $N tasks (SIGKILL, restart on the same work_dir)"
for rep in $(seq 1 "$REPS"); do
  kill -KILL "$agent_pid"
  wait "$agent_pid" 2>/dev/null || true
  sleep 1  # The executors notice and start retrying.
  t=$(now)
  start_agent "$rep"
  until grep -q "Reregistered with master" "$root/agent-$rep.log"; do
    sleep 0.01
  done
  [ "$(active_agent)" = "$agent_id" ] || { echo "another agent id" >&2; exit 1; }
  wait_port_file "$root/agent.ports"
  ahttp=$(sed -n 's/^http=//p' "$root/agent.ports")
  until [ "$(count_running "$mhttp")" -ge "$N" ] &&
        [ "$(count_running "$ahttp")" -ge "$N" ]; do sleep 0.01; done
  running=$(ms_since "$t")
  recovered=$(log_ms "$root/agent-$rep.log" "Recovery of agent")
  reregistered=$(log_ms "$root/agent-$rep.log" "Reregistered with master")
  lost=$(grep -c 'TASK_LOST\|TASK_FAILED\|TASK_KILLED' "$root/execute.log" || true)
  echo "run $rep: recovered after $recovered ms, reregistered after" \
       "$reregistered ms, all $N running (seen by polling) after $running ms;" \
       "terminal updates so far: $lost"
done
