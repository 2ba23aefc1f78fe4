#!/usr/bin/env bash
# tools/boot.sh BUILD SCENARIO [extra qemu args...] -- boot
# BUILD/kernel/kernel.bin with a scenario's boot modules on the reference
# machine (brief section 11) and exit with the status the guest wrote to
# isa-debug-exit, so `make run`, the system tests and the benchmarks all boot
# the same machine the same way.
#
# SCENARIO: a name (config/NAME.scenario) or a path to a .scenario file.
# QEMU_EXTRA: more QEMU arguments (split at blanks). BOOT_VERBOSE=1 prints
# the QEMU command line to stderr.
# Exit status: the guest's status; 125 when the guest did not report one
# (reset, power-off, QEMU failure); 2 for usage and scenario errors.
set -euo pipefail

tools=$(CDPATH='' cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tools/scenario.sh
source "$tools/scenario.sh"

if [[ $# -lt 2 ]]; then
    echo "usage: tools/boot.sh BUILD SCENARIO [extra qemu args...]" >&2
    exit 2
fi
build=$1 scenario=$2
shift 2

scenario_load "$build" "$scenario"
kernel=$build/kernel/kernel.bin
if [[ ! -f $kernel ]]; then
    echo "boot: no kernel $kernel (run make)" >&2
    exit 2
fi

# -initrd "path args,path args": QEMU splits modules at ',' (',,' is a
# literal comma) and loads the file named up to the first blank; the whole
# string is the module's command line.
initrd=
for i in "${!SCENARIO_PATHS[@]}"; do
    path=${SCENARIO_PATHS[$i]}
    if [[ $path == *[[:space:]]* ]]; then
        echo "boot: module path contains a blank, QEMU cannot load it: $path" >&2
        exit 2
    fi
    module=$path${SCENARIO_ARGS[$i]:+ ${SCENARIO_ARGS[$i]}}
    initrd+=${initrd:+,}${module//,/,,}
done

read -r -a extra <<<"${QEMU_EXTRA:-}"
# shellcheck disable=SC2054 # the commas belong to QEMU's option syntax
cmd=(qemu-system-x86_64 -M q35 -cpu max -m 512M -accel tcg
    -icount shift=3,sleep=off -display none -serial stdio -no-reboot
    -device isa-debug-exit,iobase=0xf4,iosize=4
    -kernel "$kernel" -initrd "$initrd" "${extra[@]}" "$@")

if [[ ${BOOT_VERBOSE:-0} == 1 ]]; then
    line=
    for word in "${cmd[@]}"; do
        [[ $word =~ ^[A-Za-z0-9_./=,:+-]+$ ]] || word=${word@Q}
        line+=${line:+ }$word
    done
    printf '%s\n' "$line" >&2
fi

# QEMU's own messages go to stderr; keep a copy to tell "QEMU failed"
# (exit code 1) from "guest wrote status 0" (also exit code 1).
errlog=$(mktemp "${TMPDIR:-/tmp}/boot-stderr.XXXXXX")
trap 'rm -f "$errlog"' EXIT
exec 3> >(tee "$errlog" >&2)
tee_pid=$!
rc=0
"${cmd[@]}" 2>&3 3>&- || rc=$?
exec 3>&-
wait "$tee_pid" 2>/dev/null || true # so $errlog is complete

if ((rc % 2 == 1)); then
    if ((rc == 1)) && grep -v 'warning:' "$errlog" | grep -q '[^[:space:]]'; then
        echo "boot: QEMU failed (exit code 1, see its message above)" >&2
        exit 125
    fi
    exit $(((rc - 1) / 2))
elif ((rc == 0)); then
    echo "boot: machine reset or powered off without an exit status" >&2
    exit 125
else
    echo "boot: QEMU exited with code $rc (not through isa-debug-exit)" >&2
    exit 125
fi
