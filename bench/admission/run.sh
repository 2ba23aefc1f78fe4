#!/usr/bin/env bash
# make bench-admission: accepted utilisation under QAS versus WCET-based
# reservation, and the decision time per admission, measured on the HOST with
# libqas (admission/). Builds $BUILD/host/bench_admission from
# bench/admission/bench_admission.c (deliberately not main.c: lib/build.mk
# builds every bench/*/main.c as a target program) and the library sources
# listed in admission/build.mk (QAS_LIB_SRCS) with the flags and libraries
# of the qas CLI (QAS_CFLAGS, QAS_LIBS), prints one BENCH line per set
# size, writes bench/results/admission.csv and bench/results/admission.png.
# bench/admission/README.md describes the workload and the numbers.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
HOSTCC=${HOSTCC:-gcc}
results=bench/results
mkdir -p "$results" "$BUILD/host"

# Same sources, flags and libraries as `make qas` (admission/build.mk).
srcs=(admission/qas_dist.c admission/qas_rta.c admission/qas.c admission/qas_parse.c admission/qas_sim.c)
bin=$BUILD/host/bench_admission
"$HOSTCC" -std=gnu11 -O2 -g -Wall -Wextra -Werror -Iinclude -Iadmission \
    -o "$bin" bench/admission/bench_admission.c "${srcs[@]}" -lgsl -lgslcblas -lm

csv=$results/admission.csv
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
"$bin" "$tmp"
{
    echo "tasks,qas_util,wcet_util,gain,decide_us,min_quality_margin"
    cat "$tmp"
} >"$csv"
echo "bench admission: results in $csv"

# Every QAS-admitted set must keep its quality in the simulation.
if awk -F, '$6 < 0 { bad = 1 } END { exit !bad }' "$tmp"; then
    echo "bench admission: a QAS-admitted task's simulated quality fell below its q (see $csv)" >&2
    exit 1
fi

tools/deps.sh bench # gnuplot-nox; silent when installed
if command -v gnuplot >/dev/null; then
    gnuplot <<GP
set terminal png size 900,560
set output '$results/admission.png'
set title 'Accepted mean utilisation, QAS vs WCET reservation (harmonic 10/20/40 ms, cv 0.3..0.5, q 0.9)'
set xlabel 'candidate tasks offered'
set ylabel 'accepted mean utilisation'
set key top left
set grid
set datafile separator ','
set xrange [0:*]
set yrange [0:1.1]
plot '$csv' every ::1 using 1:2 with linespoints lw 2 pt 7 title 'QAS (q + 0.01)', \
     '$csv' every ::1 using 1:3 with linespoints lw 2 pt 5 title 'WCET reservation'
GP
    echo "bench admission: plot in $results/admission.png"
fi
