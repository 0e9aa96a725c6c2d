#!/usr/bin/env bash
# Runs every benchmark: the allocator micro-benchmarks (JSON in
# $BUILD_DIR/bench-results/) and the end-to-end agora-execute figure.
set -euo pipefail
BUILD_DIR=${1:-build}
mkdir -p "$BUILD_DIR/bench-results"
for b in "$BUILD_DIR"/bin/agora-*-bench; do
  [[ -x $b ]] || continue
  name=$(basename "$b")
  echo "== $name"
  "$b" --benchmark_out="$BUILD_DIR/bench-results/$name.json" \
       --benchmark_out_format=json
done
echo "== end to end"
bench/e2e_execute.sh "$BUILD_DIR" 200 3
