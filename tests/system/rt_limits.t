#!/usr/bin/env bash
# The guest's tests (tests/system/rt_limits.c), then the per-job CSV made
# from the JOB lines it printed (tools/rt-jobs-csv.sh, as bench/latency
# does), checked on the host: one row per job of its last thread, a
# spinner with a 500 us budget every 2 ms that never calls next_period:
# period 2 ms, each job ended by the next period (a miss, lateness 0),
# 500 us of CPU plus at most the documented 20 us of slack.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=$(tools/qemu-tap.sh tests/system/rt_limits.scenario 120)
status=$?
printf '%s\n' "$out" | grep -v -E '^1\.\.[0-9]+$'
n=$(printf '%s\n' "$out" | sed -n 's/^1\.\.\([0-9]*\)$/\1/p' | tail -1)
n=${n:-0}
fails=0
check() {
    n=$((n + 1))
    if [ "$2" = 1 ]; then echo "ok $n - $1"; else fails=$((fails + 1)); echo "not ok $n - $1"; fi
}
log=${BUILD:-build}/logs/rt_limits.log
csv=$(tools/rt-jobs-csv.sh "$log" 2>&1)
check "tools/rt-jobs-csv.sh accepts every JOB line of the run" "$([ $? -eq 0 ] && echo 1)"
printed=$(tr -d '\r' <"$log" | sed -n 's/^# JOB lines: \([0-9]*\)$/\1/p')
rows=$(printf '%s\n' "$csv" | tail -n +2 | grep -c .)
check "one CSV row per JOB line ($rows rows, $printed printed)" "$([ -n "$printed" ] && [ "$rows" = "$printed" ] && echo 1)"
# Complete jobs: all but the last, which the disable cuts short.
body=$(printf '%s\n' "$csv" | tail -n +2 | head -n -1)
check "every complete job has period 2 ms" "$(printf '%s\n' "$body" | awk -F, 'NF { n++ } NF && $3 != 2000000 { bad = 1 } END { print (bad || n < 4) ? 0 : 1 }')"
check "each complete job ended by the next period: missed, lateness 0, response 2 ms" \
    "$(printf '%s\n' "$body" | awk -F, 'NF { n++ } NF && ($7 != 1 || $8 != 0 || $6 != 2000000) { bad = 1 } END { print (bad || n < 4) ? 0 : 1 }')"
check "each used its 500 us slice and at most 20 us more in all" \
    "$(printf '%s\n' "$body" | awk -F, 'NF { n++ } NF && ($11 < 500000 || $9 > 520000) { bad = 1 } END { print (bad || n < 4) ? 0 : 1 }')"
check "response time >= execution time" "$(printf '%s\n' "$body" | awk -F, 'NF { n++ } NF && $6 < $9 { bad = 1 } END { print (bad || n < 4) ? 0 : 1 }')"
echo "1..$n"
[ "$status" -eq 0 ] && [ "$fails" -eq 0 ]
