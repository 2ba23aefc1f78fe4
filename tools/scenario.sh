#!/usr/bin/env bash
# tools/scenario.sh -- the scenario file parser, shared by tools/boot.sh,
# tools/mkiso.sh and tools/qemu-tap.sh (source it), so every way of booting
# a scenario reads the file the same way.
#
# Format of config/<name>.scenario, line oriented:
#   # comment (a '#' anywhere starts one); blank lines are ignored
#   module <program> [args...]   one boot module per line, in boot order;
#                                the first module is the root task;
#                                <program> is $BUILD/user/<program>.elf
# Arguments are split at blanks (no quoting). Errors are reported as
# "file:line: message", exit status 2.
#
# Run directly, `tools/scenario.sh BUILD SCENARIO` prints one line per module:
# "<path> <args>", the module command line the kernel gets from QEMU.
set -euo pipefail

# Directory of this file and the repository root.
SCENARIO_TOOLS=$(CDPATH='' cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
SCENARIO_ROOT=$(dirname "$SCENARIO_TOOLS")

# scenario_die FILE LINE MESSAGE
scenario_die() {
    echo "$1:$2: $3" >&2
    exit 2
}

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

# scenario_parse FILE BUILD: parse FILE and set, one entry per module:
#   SCENARIO_PROGRAMS[i]  program name
#   SCENARIO_PATHS[i]     $BUILD/user/<program>.elf
#   SCENARIO_ARGS[i]      the arguments, joined by single blanks ("" if none)
# Exits 2 with "file:line: message" on any error. All keywords live here.
# shellcheck disable=SC2094 # scenario_die only names the file
scenario_parse() {
    local file=$1 build=$2 line words keyword lineno=0 prog path
    SCENARIO_PROGRAMS=()
    SCENARIO_PATHS=()
    SCENARIO_ARGS=()
    [[ -r $file ]] || scenario_die "$file" 0 "cannot read scenario file"
    while IFS= read -r line || [[ -n $line ]]; do
        lineno=$((lineno + 1))
        line=${line%$'\r'}
        line=${line%%#*}
        read -r -a words <<<"$line"
        [[ ${#words[@]} -eq 0 ]] && continue
        keyword=${words[0]}
        case "$keyword" in
        module)
            [[ ${#words[@]} -ge 2 ]] || scenario_die "$file" "$lineno" "module: missing program name"
            prog=${words[1]}
            [[ $prog =~ ^[A-Za-z0-9_][A-Za-z0-9_.+-]*$ ]] ||
                scenario_die "$file" "$lineno" "module: bad program name '$prog' (letters, digits, _ . + - only)"
            path=$build/user/$prog.elf
            [[ -f $path ]] || scenario_die "$file" "$lineno" "module: program file missing: $path"
            SCENARIO_PROGRAMS+=("$prog")
            SCENARIO_PATHS+=("$path")
            SCENARIO_ARGS+=("${words[*]:2}")
            ;;
        *)
            scenario_die "$file" "$lineno" "unknown keyword '$keyword'"
            ;;
        esac
    done <"$file"
    [[ ${#SCENARIO_PROGRAMS[@]} -gt 0 ]] || scenario_die "$file" "$((lineno > 0 ? lineno : 1))" "no module in scenario"
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
