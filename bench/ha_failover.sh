#!/usr/bin/env bash
# Master failover figures: a real 3-server ZooKeeper ensemble, two masters,
# {1, 100} real agents and a checkpointing framework with one long task per
# agent; the leader is killed with SIGKILL and with SIGTERM, with ZooKeeper
# session timeouts of 2 s and 10 s, RUNS times each. Reports the median and
# the worst, from the signal, of: a new leader serving, the framework
# resubscribed, every agent reregistered, the first offer from the new
# leader; and the admitted agents lost (must be zero). Each configuration is
# one run of agora_ha_failover_driver (bench/ha_failover_driver.cc), which
# restarts the old master as a standby between runs (the supervisor's job).
#
#   bench/ha_failover.sh [build_dir]
#
# Environment: RUNS (default 10), AGENTS ("1 100"), SIGNALS ("KILL TERM"),
# SESSIONS ("2secs 10secs"), OUT (the per-run table; default
# <build_dir>/bench-results/ha_failover.tsv). Needs Debian's zookeeper
# package (AGORA_INSTALL_TEST_DEPS=1 scripts/install-deps.sh) and the
# targets agora_ha_failover_driver agora-master agora-agent agora-executor.
# 100 real agents with their executors and tasks take about 3 GB of memory
# and a third of a core while idle (measured on the 2-core machine).
set -euo pipefail
BUILD_DIR=${1:-build}
RUNS=${RUNS:-10}
AGENTS=${AGENTS:-1 100}
SIGNALS=${SIGNALS:-KILL TERM}
SESSIONS=${SESSIONS:-2secs 10secs}
OUT=${OUT:-$BUILD_DIR/bench-results/ha_failover.tsv}
BIN=$(cd "$BUILD_DIR/bin" && pwd)
driver=$BIN/agora_ha_failover_driver

if [[ ! -x $driver ]]; then
  echo "ha_failover.sh: no $driver; build it with scripts/build.sh" \
    "agora_ha_failover_driver agora-master agora-agent agora-executor" >&2
  exit 1
fi
# (The help is read whole first: grep -q would end the pipe early, and
# pipefail would report the master's SIGPIPE.)
master_help=$("$BIN/agora-master" --helpfull 2>&1 || true)
if ! grep -q -- '-zk_session_timeout' <<<"$master_help"; then
  echo "ha_failover.sh: $BIN/agora-master has no --zk_session_timeout" \
    "(master high availability is not in this build)" >&2
  exit 1
fi

# Whole seconds of a Mesos-style duration ("2secs", "10secs", "2s").
seconds_of() {
  local d=$1
  d=${d%secs}
  d=${d%s}
  echo "$d"
}

# Reads one value per line ("NA" for never seen); prints "median worst",
# the worst being NA when any run never saw the event.
median_worst() {
  local values seen
  values=$(grep -v '^NA$' || true)
  seen=$(printf '%s\n' "$values" | grep -c . || true)
  sort -g <<<"$values" | awk -v total="$1" -v seen="$seen" '
    { v[NR] = $1 }
    END {
      if (NR == 0 || v[1] == "") { print "NA NA"; exit }
      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%.2f %s\n", m, (seen < total) ? "NA" : sprintf("%.2f", v[NR])
    }'
}

# Column `col` of the rows of one configuration.
column_of() {
  awk -F'\t' -v a="$1" -v s="$2" -v t="$3" -v c="$4" \
    'NR > 1 && $1 == a && $2 == s && $3 == t { print $c }' "$OUT"
}

# "ok" when `value` (a number or NA) is at most `limit`, else "MISSED".
verdict() {
  if [[ $1 != NA ]] && awk -v v="$1" -v l="$2" 'BEGIN { exit !(v <= l) }'; then
    echo ok
  else
    echo MISSED
  fi
}

summarize() {
  printf '%-6s %-4s %-7s %-5s | %-13s %-13s %-13s %-13s | %-4s %s\n' \
    agents sig session runs "new leader" "resubscribed" "agents back" \
    "first offer" lost "targets (worst)"
  tail -n +2 "$OUT" | cut -f1-3 | sort -u -t$'\t' -k1,1n -k2,2 -k3,3V |
    while IFS=$'\t' read -r agents sig session; do
      local n t cells=() worst=() lost unregistered targets
      n=$(column_of "$agents" "$sig" "$session" 4 | grep -c .)
      for col in 5 6 7 8; do
        read -r med wst < <(column_of "$agents" "$sig" "$session" "$col" |
          median_worst "$n")
        cells+=("$med / $wst")
        worst+=("$wst")
      done
      lost=$(column_of "$agents" "$sig" "$session" 9 | awk '{ s += $1 } END { print s + 0 }')
      unregistered=$(column_of "$agents" "$sig" "$session" 10 | awk '{ s += $1 } END { print s + 0 }')
      t=$(seconds_of "$session")
      targets="lost $((lost + unregistered))"
      if [[ $sig == KILL ]]; then
        targets+=", resubscribed<=T+1 $(verdict "${worst[1]}" $((t + 1)))"
        targets+=", agents<=T+2 $(verdict "${worst[2]}" $((t + 2)))"
      else
        targets+=", offer<=2s $(verdict "${worst[3]}" 2)"
      fi
      printf '%-6s %-4s %-7s %-5s | %-13s %-13s %-13s %-13s | %-4s %s\n' \
        "$agents" "$sig" "$session" "$n" "${cells[@]}" "$((lost + unregistered))" "$targets"
    done
  echo "(seconds from the signal, median / worst; NA: not seen within the deadline)"
}

mkdir -p "$(dirname "$OUT")"
printf 'agents\tsignal\tsession\trun\tleader_s\tresubscribed_s\tagents_s\toffer_s\tlost\tunregistered\n' >"$OUT"
failed=0
for agents in $AGENTS; do
  for sig in $SIGNALS; do
    for session in $SESSIONS; do
      echo "== $agents agent(s), SIG$sig, session $session, $RUNS runs" >&2
      if ! AGORA_BIN_DIR=$BIN "$driver" --agents="$agents" --signal="$sig" \
        --zk_session_timeout="$session" --runs="$RUNS" >>"$OUT"; then
        echo "ha_failover.sh: the configuration failed (above)" >&2
        failed=1
      fi
    done
  done
done
summarize
echo "per-run table: $OUT"
exit "$failed"
