#!/usr/bin/env bash
# make bench-ipc: boot the IPC benchmark on the reference machine, print its
# BENCH line and record it in bench/results/ipc.csv.
source "$(dirname "$0")/../lib.sh"
log=$BUILD/logs/bench-ipc.log
bench_boot ipc bench/ipc/ipc.scenario "$log"
line=$(grep -a '^BENCH ipc ' "$log" | tr -d '\r' | tail -1)
[ -n "$line" ] || { echo "bench ipc: no BENCH line in $log" >&2; exit 1; }
echo "$line"
{
    echo "metric,value,unit"
    for kv in ${line#BENCH ipc }; do
        key=${kv%%=*}
        unit=insns
        [[ $key == *_ns ]] && unit=ns
        echo "${key},${kv#*=},${unit}"
    done
} >bench/results/ipc.csv
