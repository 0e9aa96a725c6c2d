#!/usr/bin/env bash
# Installs the Debian 12 packages Agora builds and tests with. Idempotent, and
# quick when everything is present: it asks dpkg first and calls apt only for
# what is missing. Run as root, or with sudo available.
#
#   scripts/install-deps.sh        build and test dependencies
#   scripts/install-deps.sh --vm   also what the cgroup2 VM test tier needs:
#                                  qemu-system-x86, busybox-static and a
#                                  Debian kernel unpacked (not installed)
#                                  from its .deb into $AGORA_VM_CACHE
#                                  (default ~/.cache/agora-vm); prints
#                                  nothing on success when all is present.
set -euo pipefail

want_vm=0
if [[ "${1:-}" == --vm ]]; then want_vm=1; fi

packages=(
  build-essential cmake ninja-build pkg-config ccache
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
  want_vm=1
fi
if ((want_vm)); then
  # busybox-static is the guest's whole userland (it replaces "busybox").
  packages+=(qemu-system-x86 busybox-static cpio)
fi

sudo_cmd=()
if [[ $(id -u) != 0 ]]; then sudo_cmd=(sudo); fi
updated=0
apt_update() {
  if ((updated == 0)); then
    "${sudo_cmd[@]}" apt-get update -qq
    updated=1
  fi
}

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} > 0)); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt_update
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The VM tier's guest kernel: Debian 12's cloud kernel (6.1 LTS, lz4, quick
# to boot under TCG), unpacked from its .deb; nothing is installed into
# /boot and no initramfs hook runs. Cached per package name.
if ((want_vm)); then
  kpkg=${AGORA_VM_KERNEL_PKG:-linux-image-cloud-amd64}
  kdir=${AGORA_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agora-vm}/$kpkg
  mkdir -p "$kdir"
  if ! ls "$kdir"/vmlinuz-* >/dev/null 2>&1; then
    real=$(apt-cache depends "$kpkg" 2>/dev/null |
      awk '/Depends: linux-image-/{print $2; exit}')
    if [[ -z "$real" ]]; then
      apt_update
      real=$(apt-cache depends "$kpkg" 2>/dev/null |
        awk '/Depends: linux-image-/{print $2; exit}')
    fi
    real=${real:-$kpkg}
    echo "install-deps: fetching kernel package $real"
    tmpd=$(mktemp -d)
    chmod 755 "$tmpd"  # apt's _apt user downloads into it
    (cd "$tmpd" && apt-get download -q "$real" >/dev/null 2>&1) || {
      apt_update
      (cd "$tmpd" && apt-get download -q "$real" >/dev/null)
    }
    dpkg-deb --fsys-tarfile "$tmpd"/*.deb |
      tar -x -C "$tmpd" --wildcards './boot/vmlinuz-*'
    cp "$tmpd"/boot/vmlinuz-* "$kdir"/
    rm -rf "$tmpd"
  fi
fi
