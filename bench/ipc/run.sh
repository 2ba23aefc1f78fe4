#!/usr/bin/env bash
# make bench-ipc: boot the IPC benchmark on the reference machine, print its
# BENCH line and record it in bench/results/ipc.csv.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
mkdir -p bench/results "$BUILD/logs"
log=$BUILD/logs/bench-ipc.log
tools/boot.sh "$BUILD" bench/ipc/ipc.scenario </dev/null >"$log" 2>&1 || {
    echo "bench ipc: the benchmark run failed (log: $log)" >&2
    tail -5 "$log" >&2
    exit 1
}
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
