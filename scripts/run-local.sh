#!/usr/bin/env bash
# Starts a local cluster in the foreground: one agora-master and one
# agora-agent on loopback, embedded defaults (no ZooKeeper), state under
# ./.agora/. Ctrl-C stops both.
set -euo pipefail
BUILD_DIR=${1:-build}
BIN=$BUILD_DIR/bin
STATE=${AGORA_LOCAL_DIR:-.agora}
MASTER_PORT=${AGORA_MASTER_PORT:-5050}
MASTER_HTTP_PORT=${AGORA_MASTER_HTTP_PORT:-5080}
AGENT_PORT=${AGORA_AGENT_PORT:-5051}
AGENT_HTTP_PORT=${AGORA_AGENT_HTTP_PORT:-5081}

mkdir -p "$STATE/master" "$STATE/agent"
rm -f "$STATE/master.ports" "$STATE/agent.ports"

pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "Stopping the local cluster..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "Stopped."
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

wait_for_file() {
  for _ in $(seq 1 100); do
    [[ -s $1 ]] && return 0
    sleep 0.1
  done
  echo "run-local: $2 did not start; see $STATE/$2.log" >&2
  exit 1
}

# setsid: the terminal's Ctrl-C reaches only this script, which stops the
# daemons itself with SIGTERM.
setsid "$BIN/agora-master" --ip=127.0.0.1 --port="$MASTER_PORT" \
  --http_port="$MASTER_HTTP_PORT" --work_dir="$STATE/master" \
  --port_file="$STATE/master.ports" 2> "$STATE/master.log" &
pids+=($!)
wait_for_file "$STATE/master.ports" master

setsid "$BIN/agora-agent" --master="127.0.0.1:$MASTER_PORT" --ip=127.0.0.1 \
  --port="$AGENT_PORT" --http_port="$AGENT_HTTP_PORT" \
  --work_dir="$STATE/agent" --port_file="$STATE/agent.ports" \
  2> "$STATE/agent.log" &
pids+=($!)
wait_for_file "$STATE/agent.ports" agent

cat <<TXT
Agora local cluster is up.
  master  gRPC 127.0.0.1:$MASTER_PORT   HTTP http://127.0.0.1:$MASTER_HTTP_PORT/state
  agent   gRPC 127.0.0.1:$AGENT_PORT   HTTP http://127.0.0.1:$AGENT_HTTP_PORT/state
  logs    $STATE/master.log, $STATE/agent.log

Run a task from another terminal:
  $BIN/agora-execute --master=127.0.0.1:$MASTER_PORT --name=hello --command='echo hello from Agora'

Press Ctrl-C to stop the cluster.
TXT

# Wait until either daemon exits (or Ctrl-C).
set +e
wait -n "${pids[@]}"
status=$?
trap - INT TERM
echo "run-local: a daemon exited with status $status; see $STATE/*.log" >&2
exit "$status"
