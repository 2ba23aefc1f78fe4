#!/usr/bin/env bash
# make bench-latency: the cyclictest-equivalent on our kernel (idle and under
# load), the interrupts-off time against unmap size, and the Linux baseline
# (bench/latency/linux.sh: Debian's PREEMPT_RT and generic kernels running
# rt-tests' cyclictest on the same reference machine). Prints the BENCH
# lines, writes bench/results/latency.csv, irqoff.csv and latency.png.
# LATENCY_SKIP_LINUX=1 skips the Linux boots (they take minutes).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
results=bench/results
mkdir -p "$results" "$BUILD/logs"
log=$BUILD/logs/bench-latency.log

tools/boot.sh "$BUILD" bench/latency/latency.scenario </dev/null >"$log" 2>&1 || {
    echo "bench latency: our run failed (log: $log)" >&2
    tail -5 "$log" >&2
    exit 1
}
tr -d '\r' <"$log" >"$log.clean"
grep '^BENCH ' "$log.clean"

# One row per system, load and timer anticipation (gravity: the kernel's
# calibrated one or none); Linux rows come from linux.sh's CSV (gravity "-").
{
    echo "system,load,gravity,min_us,avg_us,max_us"
    sed -n 's/^BENCH latency system=\([^ ]*\) load=\([^ ]*\) gravity=\([^ ]*\) min_us=\([^ ]*\) avg_us=\([^ ]*\) max_us=\([^ ]*\)$/\1,\2,\3,\4,\5,\6/p' "$log.clean"
} >"$results/latency.csv"
{
    echo "size_kib,duration_us,irqoff_ns"
    sed -n 's/^UNMAP size_kib=\([0-9]*\) duration_us=\([0-9]*\) irqoff_ns=\([0-9]*\)$/\1,\2,\3/p' "$log.clean"
} >"$results/irqoff.csv"
rm -f "$results"/latency-ours-*.hist
for load in idle load; do
    for gravity in off on; do
        name=$load
        [[ $gravity == on ]] && name=gravity-$load
        awk -v l="$load" -v g="$gravity" '$1 == "HIST" && $2 == "ours" && $3 == l && $4 == g { print $5, $6 }' \
            "$log.clean" >"$results/latency-ours-$name.hist"
    done
done
# Per-job records of our runs (the kernel keeps the last 512 of each run).
tools/rt-jobs-csv.sh "$log.clean" >"$results/latency-jobs.csv"
echo "bench latency: $(($(wc -l <"$results/latency-jobs.csv") - 1)) job records in $results/latency-jobs.csv," \
    "$(awk -F, 'NR > 1 && $7 == 1' "$results/latency-jobs.csv" | wc -l) with a missed deadline"
max_irqoff=$(sed -n 's/^BENCH irqoff load=load gravity=[a-z]* max_us=\([^ ]*\)$/\1/p' "$log.clean" | sort -n | tail -1)
echo "BENCH irqoff max_us=$max_irqoff"

if [[ ${LATENCY_SKIP_LINUX:-0} != 1 ]]; then
    bench/latency/linux.sh
    tail -n +2 "$results/latency-linux.csv" | awk -F, -v OFS=, '{ print $1, $2, "-", $3, $4, $5 }' >>"$results/latency.csv"
fi

# The comparison plot: latency histograms (log scale), one curve per run.
if command -v gnuplot >/dev/null || tools/deps.sh bench; then
    plots=()
    for f in "$results"/latency-ours-*.hist "$results"/latency-linux-*.hist; do
        [[ -s $f ]] || continue
        name=$(basename "$f" .hist)
        name=${name#latency-}
        name=${name#linux-} # latency-linux-<system>-<load>: the system says linux already
        plots+=("'$f' using 1:2 with linespoints lw 2 pt 7 ps 0.6 title '$name'")
    done
    if ((${#plots[@]})); then
        gnuplot <<GP
set terminal png size 1000,600
set output '$results/latency.png'
set title 'Scheduling latency on the reference machine (1 ms period, 2000 loops)'
set xlabel 'latency (us)'
set ylabel 'samples'
set logscale y
set xrange [0:100]
plot $(IFS=,; echo "${plots[*]}")
GP
        echo "bench latency: plot in $results/latency.png"
    fi
fi
