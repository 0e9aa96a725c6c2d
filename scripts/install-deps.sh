#!/usr/bin/env bash
# Installs the Debian 12 packages Agora builds and tests with. Idempotent, and
# quick when everything is present: it asks dpkg first and calls apt only for
# what is missing. Run as root, or with sudo available.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libprotobuf-dev protobuf-compiler
  libgrpc++-dev protobuf-compiler-grpc
  libabsl-dev libgoogle-glog-dev libgflags-dev
  libzookeeper-mt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libcpp-httplib-dev nlohmann-json3-dev
  python3 curl procps
)
# Test-only extras: the ZooKeeper server and what the cgroup2 VM tier needs.
if [[ "${AGORA_INSTALL_TEST_DEPS:-0}" == 1 ]]; then
  packages+=(zookeeper)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) != 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
