#!/usr/bin/env bash
# tools/scenario.sh -- scenarios for the boot scripts (tools/boot.sh,
# tools/mkiso.sh, tools/qemu-tap.sh source it). The file format is read by
# one parser only, lib/scenario.c, through the host tool
# $BUILD/host/scenario-check (format: docs/scenarios.md); this file turns
# the tool's boot module list into shell arrays.
#
# Run directly, `tools/scenario.sh BUILD SCENARIO` prints one line per boot
# module: "<path> <args>", the module command line the kernel gets from QEMU.
set -euo pipefail

# Directory of this file and the repository root.
SCENARIO_TOOLS=$(CDPATH='' cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
SCENARIO_ROOT=$(dirname "$SCENARIO_TOOLS")

# scenario_file SCENARIO: print the file a scenario name or path stands for.
# A name (no '/', no .scenario suffix) is config/NAME.scenario in the
# repository; anything else is a path.
scenario_file() {
    local s=$1 f
    if [[ $s == */* || $s == *.scenario ]]; then
        f=$s
    else
        f=$SCENARIO_ROOT/config/$s.scenario
    fi
    if [[ ! -f $f ]]; then
        echo "scenario: no such scenario: $s (no file $f)" >&2
        exit 2
    fi
    printf '%s\n' "$f"
}

# scenario_name SCENARIO: the scenario's name (file name without .scenario).
scenario_name() {
    local n=${1##*/}
    printf '%s\n' "${n%.scenario}"
}

# scenario_tool BUILD: print the path of the checker, building it first when
# it is missing (make builds it with `all`; this covers a build directory
# made before the tool existed). make's output goes to stderr: callers
# capture stdout.
scenario_tool() {
    local build=${1%/} tool abs
    tool=$build/host/scenario-check
    if [[ ! -x $tool ]]; then
        abs=$(realpath -m -- "$build")
        echo "scenario: building $tool" >&2
        (cd "$SCENARIO_ROOT" && make --no-print-directory BUILD="$abs" "$abs/host/scenario-check") >&2 ||
            {
                echo "scenario: cannot build $tool" >&2
                exit 2
            }
    fi
    printf '%s\n' "$tool"
}

# scenario_parse FILE BUILD: check FILE (errors "file:line: message" on
# stderr, exit 2) and set, one entry per boot module in boot order:
#   SCENARIO_PATHS[i]     the file to load (BUILD/user/<program>.elf, the
#                         scenario file itself, or a data file)
#   SCENARIO_ARGS[i]      its arguments, joined by single blanks ("" if none)
#   SCENARIO_PROGRAMS[i]  the program name for BUILD/user/<program>.elf,
#                         "" for the scenario file and data files
# The component form's modules are the root task, the scenario file, its
# programs and its files (docs/scenarios.md).
scenario_parse() {
    local file=$1 build=${2%/} tool list line path prog
    SCENARIO_PROGRAMS=()
    SCENARIO_PATHS=()
    SCENARIO_ARGS=()
    tool=$(scenario_tool "$build") || exit 2
    list=$("$tool" --modules "$build" "$file") || exit 2
    while IFS= read -r line; do
        path=${line%% *}
        SCENARIO_PATHS+=("$path")
        if [[ $line == *' '* ]]; then
            SCENARIO_ARGS+=("${line#* }")
        else
            SCENARIO_ARGS+=("")
        fi
        prog=
        if [[ $path == "$build/user/"*.elf ]]; then
            prog=${path#"$build/user/"}
            prog=${prog%.elf}
        fi
        SCENARIO_PROGRAMS+=("$prog")
    done <<<"$list"
}

# scenario_load BUILD SCENARIO: scenario_file + scenario_parse; also sets
# SCENARIO_FILE and SCENARIO_NAME.
# shellcheck disable=SC2034 # the SCENARIO_* variables are for the callers
scenario_load() {
    SCENARIO_FILE=$(scenario_file "$2") || exit 2
    SCENARIO_NAME=$(scenario_name "$SCENARIO_FILE")
    scenario_parse "$SCENARIO_FILE" "$1"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    if [[ $# -ne 2 ]]; then
        echo "usage: tools/scenario.sh BUILD SCENARIO" >&2
        exit 2
    fi
    scenario_load "$1" "$2"
    for i in "${!SCENARIO_PATHS[@]}"; do
        printf '%s\n' "${SCENARIO_PATHS[$i]}${SCENARIO_ARGS[$i]:+ ${SCENARIO_ARGS[$i]}}"
    done
fi
