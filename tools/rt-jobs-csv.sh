#!/usr/bin/env bash
# tools/rt-jobs-csv.sh [LOG...]: turn the JOB lines a program printed with
# rt_trace_dump() (lib/include/drops/rt.h) into CSV, one row per job:
#   task,job,period_ns,release_ns,completion_ns,response_ns,missed,lateness_ns,exec_ns,be_ns,slice0_ns,...,slice7_ns
# task is the kernel's thread id; period is deadline - release; lateness is
# completion - deadline (negative: early); exec is the CPU time of the job
# (all slices and best effort). Reads the files given or standard input;
# lines that are not JOB lines (kernel log, TAP) are ignored.
set -euo pipefail
awk '
BEGIN {
    OFS = ","
    printf "task,job,period_ns,release_ns,completion_ns,response_ns,missed,lateness_ns,exec_ns,be_ns"
    for (k = 0; k < 8; k++) printf ",slice%d_ns", k
    printf "\n"
}
{ sub(/\r$/, "") }
$1 == "JOB" {
    delete f
    for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    if (!("thread" in f) || !("release" in f) || !("completion" in f) || !("deadline" in f) || !("slices" in f)) {
        printf "rt-jobs-csv: line %d: incomplete JOB line\n", NR > "/dev/stderr"
        bad = 1
        next
    }
    n = split(f["slices"], s, ",")
    exec_ns = f["be"]
    for (k = 1; k <= n; k++) exec_ns += s[k]
    printf "%s,%s,%d,%s,%s,%d,%s,%d,%d,%s", f["thread"], f["job"], f["deadline"] - f["release"], f["release"],
        f["completion"], f["completion"] - f["release"], f["missed"], f["completion"] - f["deadline"], exec_ns, f["be"]
    for (k = 1; k <= 8; k++) printf ",%s", (k <= n ? s[k] : 0)
    printf "\n"
}
END { exit bad }
' "$@"
