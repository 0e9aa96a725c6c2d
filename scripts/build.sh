#!/usr/bin/env bash
# Serialized build for developers sharing one 2-core machine:
#   scripts/build.sh [target...]
# Takes a lock so two builds never run at once, configures if needed, builds
# the given targets (or everything) with -j2.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
exec 9>/tmp/agora-build.lock
if ! flock -n 9; then
  echo "build.sh: waiting for another build on this machine to finish" >&2
  flock 9
fi
# ccache keys on paths relative to the checkout's parent, so clones and
# worktrees side by side share one cache.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(dirname "$PWD")}
# Configure every time: modules add their CMakeLists.txt as they appear.
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-Release} >/dev/null
args=()
for t in "$@"; do args+=(--target "$t"); done
cmake --build "$BUILD_DIR" -j 2 "${args[@]}"
