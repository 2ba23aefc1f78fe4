#!/usr/bin/env bash
# The target build of libqas (musl, GSL from Debian's source package,
# admission/target.mk) decides and predicts exactly as the host build
# (glibc, Debian's libgsl): $(BUILD)/user/qas.elf, a static musl ELF, runs
# on the host (Linux runs static ELFs) over admission/examples/*.ts with
# several options, and its output and exit status are compared byte for
# byte with $(BUILD)/host/qas. Both are built by `make test` (and
# `make qas qas-target`). The options cover every analysis mode, a
# refusal, an error and the simulator (GSL's RNG and samplers), so every
# GSL function libqas uses runs in both.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
host=$BUILD/host/qas target=$BUILD/user/qas.elf
n=0 fails=0
ok() { n=$((n + 1)); if [ "$2" = 0 ]; then echo "ok $n - $1"; else fails=$((fails + 1)); echo "not ok $n - $1"; fi; }
diag() { sed 's/^/#   /'; }

for f in "$host" "$target"; do
    if [ ! -x "$f" ]; then
        echo "not ok 1 - $f exists (make BUILD=$BUILD qas qas-target builds it)"
        echo "1..1"
        exit 1
    fi
done

# Static: no program interpreter, no dynamic section; loaded at a fixed
# address like the other target programs.
hdr=$(readelf -hlW "$target" 2>&1)
printf '%s\n' "$hdr" | grep -qE 'Type: +EXEC' && ! printf '%s\n' "$hdr" | grep -qE 'INTERP|DYNAMIC'
ok "qas.elf is a static executable (ET_EXEC, no interpreter, no dynamic section)" $?

# Options: the default (QAS on harmonic periods, QRMS otherwise), each mode
# forced (QAS on arbitrary periods is an error), the simulator with two
# seeds, and a coarse grid with a margin.
options=("" "--mode=qas" "--mode=qrms" "--mode=wcet" "--simulate=2000" "--simulate=500 --seed=7 --margin=0.02"
    "--resolution=0.01")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
statuses=
for ts in admission/examples/*.ts; do
    for opt in "${options[@]}"; do
        # shellcheck disable=SC2086 # opt is a list of words
        "$host" $opt "$ts" >"$tmp/host" 2>&1
        hs=$?
        # shellcheck disable=SC2086
        "$target" $opt "$ts" >"$tmp/target" 2>&1
        ts_=$?
        statuses+=" $hs"
        same=1
        [ "$hs" = "$ts_" ] && cmp -s "$tmp/host" "$tmp/target" || same=0
        # Guard against two empty or crashed runs comparing equal.
        case $hs in 0 | 1) grep -q '^decision: ' "$tmp/host" || same=0 ;; 2) [ -s "$tmp/host" ] || same=0 ;; *) same=0 ;; esac
        ok "${ts#admission/examples/} ${opt:-(defaults)}: same output and status ($hs) as the host qas" $((1 - same))
        if [ $same = 0 ]; then
            echo "# host status $hs, target status $ts_; diff host target:"
            diff "$tmp/host" "$tmp/target" | head -20 | diag
        fi
    done
done

# A parse error: the same message and status 2.
printf 'task a period=0 mandatory=const(1)\n' >"$tmp/bad.ts"
"$host" "$tmp/bad.ts" >"$tmp/host" 2>&1
hs=$?
"$target" "$tmp/bad.ts" >"$tmp/target" 2>&1
ts_=$?
[ "$hs" = 2 ] && [ "$ts_" = 2 ] && grep -q 'period must be > 0' "$tmp/host" && cmp -s "$tmp/host" "$tmp/target"
ok "a bad task set: the same message and status 2" $?

# The comparisons above covered admitted (0), refused (1) and error (2) runs.
for s in 0 1 2; do
    case " $statuses " in *" $s "*) r=0 ;; *) r=1 ;; esac
    ok "the examples include a run with status $s" $r
done

echo "1..$n"
[ "$fails" -eq 0 ]
