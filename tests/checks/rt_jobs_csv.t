#!/usr/bin/env bash
# tools/rt-jobs-csv.sh turns JOB lines into one CSV row per job, with the
# derived columns (period, response, lateness, execution time) right, and
# refuses incomplete lines.
set -uo pipefail
cd "$(dirname "$0")/../.."
n=0 fails=0
check() { n=$((n + 1)); if [ "$2" = "$3" ]; then echo "ok $n - $1"; else fails=$((fails + 1)); echo "not ok $n - $1"; echo "#   got:  $2"; echo "#   want: $3"; fi; }
log='[kernel] booting
ok 1 - something
JOB thread=7 job=2 release=20000 first_run=20010 completion=30000 deadline=30000 missed=1 switches=2 be=3 slices=2000,3000,0,0,0,0,0,0
JOB thread=7 job=3 release=30000 first_run=30005 completion=31500 deadline=40000 missed=0 switches=0 be=0 slices=1455,0,0,0,0,0,0,0'
out=$(printf '%s\n' "$log" | tools/rt-jobs-csv.sh)
check "header" "$(printf '%s\n' "$out" | sed -n 1p)" "task,job,period_ns,release_ns,completion_ns,response_ns,missed,lateness_ns,exec_ns,be_ns,slice0_ns,slice1_ns,slice2_ns,slice3_ns,slice4_ns,slice5_ns,slice6_ns,slice7_ns"
check "a missed job: period, response, lateness 0, execution = slices + best effort" "$(printf '%s\n' "$out" | sed -n 2p)" "7,2,10000,20000,30000,10000,1,0,5003,3,2000,3000,0,0,0,0,0,0"
check "an early job: negative lateness" "$(printf '%s\n' "$out" | sed -n 3p)" "7,3,10000,30000,31500,1500,0,-8500,1455,0,1455,0,0,0,0,0,0,0"
check "other lines are ignored" "$(printf '%s\n' "$out" | wc -l | tr -d ' ')" "3"
printf 'JOB thread=1 job=0\n' | tools/rt-jobs-csv.sh >/dev/null 2>&1
check "an incomplete JOB line fails" "$?" "1"
echo "1..$n"
[ "$fails" -eq 0 ]
