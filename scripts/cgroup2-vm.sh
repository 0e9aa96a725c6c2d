#!/usr/bin/env bash
# cgroup2-vm.sh - the VM test tier: boots ONE throw-away QEMU VM whose Debian
# kernel has a pure cgroup2 hierarchy (every controller enabled at
# /sys/fs/cgroup), and runs inside it the cgroups enforcement tests
# (agora_cgroups_kernel_tests) and the end-to-end tests with the real
# agora-master, agora-agent, agora-executor and agora-execute
# (agora_cgroups_e2e_tests), with AGORA_REQUIRE_CGROUP_CONTROLLERS=1 so that
# nothing skips.
#
# Usage: scripts/cgroup2-vm.sh [--bin-dir DIR] [--timeout SEC] [--keep]
#                              [--filter GTEST_FILTER]
#                              [--bench [--bench-args 'ARGS']]
#   --bin-dir  where the built binaries are (default: $AGORA_BIN_DIR, else
#              build/bin of this checkout)
#   --bench    instead of the tests, run agora-cgroups-bench in the guest
#              (only that binary is needed) and print its output; ARGS are
#              passed to it (default: the cgroup and calibration benchmarks,
#              --benchmark_filter='Cgroup|Getppid|Tmpfs'). Opt-in: the CTest
#              tier never passes it.
#
# Exit status 0 only when the VM booted, reported its results, ran at least
# one test, and no test failed or skipped (with --bench: the benchmark
# binary exited 0 and no benchmark reported an error). A VM that cannot
# boot, a timeout or zero tests is a failure, never a skip.
#
# What it needs (installed by scripts/install-deps.sh --vm, idempotent):
# qemu-system-x86, busybox-static (the guest's userland) and Debian 12's
# cloud kernel unpacked from its .deb into ~/.cache/agora-vm. The guest gets
# an uncompressed initramfs with busybox, the test binaries and the shared
# libraries ldd lists for them. QEMU uses KVM only where it is real
# hardware virtualisation, else TCG (software emulation).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
BIN=${AGORA_BIN_DIR:-$here/../build/bin}
TIMEOUT=600
KEEP=0
FILTER="*"
BENCH=0
BENCH_ARGS="--benchmark_filter='Cgroup|Getppid|Tmpfs'"
while [ $# -gt 0 ]; do
  case "$1" in
    --bin-dir) BIN=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --filter) FILTER=$2; shift 2 ;;
    --bench) BENCH=1; shift ;;
    --bench-args) BENCH_ARGS=$2; shift 2 ;;
    *) echo "cgroup2-vm: unknown argument $1" >&2; exit 2 ;;
  esac
done
log() { echo "cgroup2-vm: $*" >&2; }
die() { log "FAIL: $*"; exit 1; }

"$here/install-deps.sh" --vm >&2 || die "install-deps.sh --vm failed"
kpkg=${AGORA_VM_KERNEL_PKG:-linux-image-cloud-amd64}
kdir=${AGORA_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agora-vm}/$kpkg
KERNEL=$(ls "$kdir"/vmlinuz-* 2>/dev/null | sort -V | tail -n1 || true)
[ -r "$KERNEL" ] || die "no guest kernel in $kdir"
BUSYBOX=/bin/busybox
ldd "$BUSYBOX" >/dev/null 2>&1 && die "$BUSYBOX is not static (install busybox-static)"

binaries=(agora-master agora-agent agora-executor agora-execute
          agora_cgroups_kernel_tests agora_cgroups_e2e_tests)
[ "$BENCH" = 1 ] && binaries=(agora-cgroups-bench)
for b in "${binaries[@]}"; do
  [ -x "$BIN/$b" ] || die "missing $BIN/$b (build first: scripts/build.sh)"
done

WORK=$(mktemp -d -t agora-cg2vm.XXXXXX)
cleanup() { if [ "$KEEP" = 1 ]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT
R=$WORK/root
mkdir -p "$R"/{bin,sbin,dev,proc,sys,tmp,run,etc,root,agora/bin}
cp "$BUSYBOX" "$R/bin/busybox"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$R/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$R/etc/group"
printf '127.0.0.1 localhost\n' >"$R/etc/hosts"

copy_libs() {  # the shared libraries of ELF file $1, as ldd resolves them
  local lib
  for lib in $(ldd "$1" 2>/dev/null | grep -o '/[^ ]*'); do
    [ -e "$R$lib" ] && continue
    mkdir -p "$R$(dirname "$lib")"
    cp -L "$lib" "$R$lib"
  done
}
for b in "${binaries[@]}"; do
  cp -L "$BIN/$b" "$R/agora/bin/$b"
  strip --strip-debug "$R/agora/bin/$b" 2>/dev/null || true
  copy_libs "$BIN/$b"
done

# The test run inside the guest. gtest's brief output keeps the serial
# console traffic small; the counts come from gtest's summary lines.
cat >"$R/agora/run-tests" <<RUN
#!/bin/sh
export AGORA_REQUIRE_CGROUP_CONTROLLERS=1 AGORA_CGROUP2_MOUNT=/sys/fs/cgroup
export AGORA_BIN_DIR=/agora/bin TMPDIR=/tmp HOME=/root
echo "guest: \$(uname -r), \$(nproc) cpus, controllers: \$(cat /sys/fs/cgroup/cgroup.subtree_control)"
passed=0 failed=0 skipped=0
for t in agora_cgroups_kernel_tests agora_cgroups_e2e_tests; do
  start=\$(date +%s)
  /agora/bin/\$t --gtest_brief=1 --gtest_filter='$FILTER' >/tmp/\$t.log 2>&1
  rc=\$?
  cat /tmp/\$t.log
  p=\$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' /tmp/\$t.log)
  s=\$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' /tmp/\$t.log)
  f=\$(sed -n 's/^ *\([0-9]*\) FAILED TEST.*/\1/p' /tmp/\$t.log)
  [ \$rc != 0 ] && [ -z "\$f" ] && f=1
  echo "guest: \$t: passed=\${p:-0} failed=\${f:-0} skipped=\${s:-0} rc=\$rc (\$((\$(date +%s) - start)) s)"
  passed=\$((passed + \${p:-0})); failed=\$((failed + \${f:-0})); skipped=\$((skipped + \${s:-0}))
done
echo "AGORA_VM_RESULT passed=\$passed failed=\$failed skipped=\$skipped"
[ \$failed = 0 ] && [ \$skipped = 0 ] && [ \$passed -gt 0 ]
RUN
if [ "$BENCH" = 1 ]; then
  # The benchmark in a private sub-tree of the guest's cgroup2 root; /dev/shm
  # is a tmpfs for the calibration benchmarks. Any "ERROR OCCURRED" (a
  # benchmark that could not run) makes the run fail.
  cat >"$R/agora/run-tests" <<RUN
#!/bin/sh
export AGORA_CGROUP2_MOUNT=/sys/fs/cgroup AGORA_BENCH_TMPFS=/dev/shm
export TMPDIR=/tmp HOME=/root
echo "guest: \$(uname -r), \$(nproc) cpus, controllers: \$(cat /sys/fs/cgroup/cgroup.subtree_control)"
/agora/bin/agora-cgroups-bench $BENCH_ARGS >/tmp/bench.log 2>&1
rc=\$?
cat /tmp/bench.log
errors=\$(grep -c 'ERROR OCCURRED' /tmp/bench.log)
ran=\$(grep -c '^BM_' /tmp/bench.log)
[ \$rc != 0 ] || [ \$errors != 0 ] && failed=1 || failed=0
echo "AGORA_VM_RESULT passed=\$((ran - errors)) failed=\$failed skipped=0"
[ \$failed = 0 ]
RUN
fi
chmod 755 "$R/agora/run-tests"

# pid 1: pure cgroup2 mounted as systemd does, every controller enabled for
# the root's children, loopback up; ttyS0 = kernel console and exit status,
# ttyS1 = the tests' output.
cat >"$R/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
chmod 1777 /tmp
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
  echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
done
ip link set lo up 2>/dev/null
hostname agora-vm
stty -F /dev/ttyS1 raw -echo
/agora/run-tests </dev/null >/dev/ttyS1 2>&1 &
wait $!
rc=$?
echo "AGORA_VM_EXIT=$rc" >/dev/ttyS0
sync
reboot -f
INIT
chmod 755 "$R/init"
(cd "$R" && find . | "$BUSYBOX" cpio -o -H newc -R 0:0 2>/dev/null) >"$WORK/initrd.cpio"
log "initramfs $(du -m "$WORK/initrd.cpio" | cut -f1) MB, kernel $(basename "$KERNEL")"

ACCEL=(-accel tcg,thread=multi -cpu max)
if [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ] &&
   { [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; }; then
  ACCEL=(-accel kvm -cpu host)
fi
mem=$(( $(du -m "$WORK/initrd.cpio" | cut -f1) * 2 + 1536 ))
start=$(date +%s)
set +e
timeout -k 5 "$TIMEOUT" qemu-system-x86_64 "${ACCEL[@]}" -nodefaults \
  -m "$mem" -smp "$(nproc)" -kernel "$KERNEL" -initrd "$WORK/initrd.cpio" \
  -append "console=ttyS0 panic=-1 quiet loglevel=4 cryptomgr.notests" \
  -display none -monitor none \
  -serial "file:$WORK/kernel.log" -serial "file:$WORK/tests.log" \
  -no-reboot </dev/null
qrc=$?
set -e
cat "$WORK/tests.log" 2>/dev/null || true
log "VM ran $(( $(date +%s) - start )) s (${ACCEL[1]}, qemu rc $qrc)"
rc=$(grep -a -o 'AGORA_VM_EXIT=[0-9]*' "$WORK/kernel.log" 2>/dev/null | tail -n1 | cut -d= -f2 || true)
result=$(grep -a -o 'AGORA_VM_RESULT.*' "$WORK/tests.log" 2>/dev/null | tail -n1 || true)
if [ -z "$rc" ] || [ -z "$result" ]; then
  log "kernel log tail:"
  tail -n 40 "$WORK/kernel.log" >&2 || true
  die "the VM did not report results (qemu rc $qrc; 124 = timeout)"
fi
passed=$(echo "$result" | sed -n 's/.*passed=\([0-9]*\).*/\1/p')
[ "${passed:-0}" -gt 0 ] || die "the VM ran zero tests ($result)"
[ "$rc" = 0 ] || die "tests failed in the VM ($result, exit $rc)"
log "OK: $result"
