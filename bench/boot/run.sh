#!/usr/bin/env bash
# make bench-boot: boot bench/boot/boot.scenario on the reference machine;
# print the boot timing (from the root's KIP stamps) and the cost of one
# libc system call served by the root's backend; record both in
# bench/results/boot.csv.
source "$(dirname "$0")/../lib.sh"
log=$BUILD/logs/bench-boot.log
bench_boot boot bench/boot/boot.scenario "$log"
boot=$(grep -a '^\[root\] boot: ' "$log" | tr -d '\r' | tail -1)
libc=$(grep -a 'BENCH libc_syscall ' "$log" | tr -d '\r' | sed 's/^\[[a-z0-9_-]*\] //' | tail -1)
[ -n "$boot" ] && [ -n "$libc" ] || { echo "bench boot: missing lines in $log" >&2; exit 1; }
boot="BENCH boot ${boot#\[root\] boot: }"
echo "$boot"
echo "$libc"
{
    echo "metric,value,unit"
    for kv in ${boot#BENCH boot } ${libc#BENCH libc_syscall }; do
        key=${kv%%=*}
        unit=${key##*_}
        echo "${key},${kv#*=},${unit}"
    done
} >bench/results/boot.csv
