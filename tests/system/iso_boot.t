#!/usr/bin/env bash
# System test: `make iso`'s GRUB rescue image boots the same default
# scenario as `make run` (through GRUB's multiboot loader instead of QEMU's)
# and ends with status 0.
set -uo pipefail
BUILD=${BUILD:-build}
log=$BUILD/logs/iso_boot.log
mkdir -p "$BUILD/logs"
echo "1..3"
if tools/mkiso.sh "$BUILD" default >"$log" 2>&1; then
    echo "ok 1 - mkiso built $BUILD/drops-default.iso"
else
    echo "not ok 1 - mkiso failed (log: $log)"
    exit 1
fi
timeout 120 qemu-system-x86_64 -M q35 -cpu max -m 512M -accel tcg -icount shift=3,sleep=off -display none \
    -serial stdio -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4 \
    -cdrom "$BUILD/drops-default.iso" </dev/null >>"$log" 2>&1
rc=$?
if grep -q "starting root task '/boot/root.elf'" "$log" && grep -q "scenario status 0" "$log" &&
    grep -q "analyzer: 24 of 24 frames" "$log"; then
    echo "ok 2 - GRUB loaded the kernel, the root and the default scenario's components, and they all did their job"
else
    echo "not ok 2 - the default scenario did not run to its summary (log: $log)"
fi
if [ "$rc" -eq 1 ]; then
    echo "ok 3 - the machine ended with status 0"
else
    echo "not ok 3 - QEMU exit code $rc, expected 1 (status 0)"
fi
