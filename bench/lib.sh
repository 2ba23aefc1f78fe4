# bench/lib.sh -- what every bench/<name>/run.sh does first; source it.
# Leaves the shell at the top of the tree with BUILD set and
# bench/results and $BUILD/logs present.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD=${BUILD:-build}
mkdir -p bench/results "$BUILD/logs"

# bench_boot NAME SCENARIO LOG: boot SCENARIO on the reference machine with
# its serial output in LOG; on failure say so with the log's last lines.
bench_boot() {
    tools/boot.sh "$BUILD" "$2" </dev/null >"$3" 2>&1 || {
        echo "bench $1: the benchmark run failed (log: $3)" >&2
        tail -5 "$3" >&2
        exit 1
    }
}
