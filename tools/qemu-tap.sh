#!/usr/bin/env bash
# tools/qemu-tap.sh SCENARIO [TIMEOUT_SECONDS] -- the system-test runner
# (brief section 12): boot a scenario with tools/boot.sh under a timeout and
# turn its serial log into one well-formed TAP stream for prove.
#
# Used by tests/system/*.t, e.g.   exec tools/qemu-tap.sh hello 60
# BUILD (default: build) is the build directory; the whole serial log (with
# QEMU's and boot.sh's messages) goes to $BUILD/logs/<scenario-name>.log.
#
# Output: the guest's test lines renumbered in order of arrival ("ok N ...",
# "not ok N ..."), its "# ..." diagnostics and "Bail out!" as they are, every
# other line as "# | <line>", and one plan of our own at the end. Leading
# blanks and a trailing CR are ignored when recognising TAP. The guest's
# plan lines are summed (several tasks may each print one) and checked
# against the number of test lines. Failing lines are added for: a timeout,
# a nonzero guest exit status, no guest plan, a plan that does not match.
# A guest that prints only "1..0 # SKIP reason" and exits 0 is a skip.
# Exit status: 0 when everything passed, 1 otherwise.
set -euo pipefail

tools=$(CDPATH='' cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tools/scenario.sh
source "$tools/scenario.sh"

if [[ $# -lt 1 || $# -gt 2 || ! ${2:-120} =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: tools/qemu-tap.sh SCENARIO [TIMEOUT_SECONDS]" >&2
    exit 2
fi
scenario=$1
limit=${2:-120}
build=${BUILD:-build}
name=$(scenario_name "$scenario")
log=$build/logs/$name.log
mkdir -p "$build/logs"

n=0      # test lines printed so far (our numbering)
failed=0 # failing test lines among them (not counting TODO)

# test_line "ok"|"not ok" [REST]: print a test line with the next number.
test_line() {
    n=$((n + 1))
    printf '%s %d%s\n' "$1" "$n" "${2:+ $2}"
    if [[ $1 == "not ok" ]] && ! [[ ${2:-} =~ \#[[:space:]]*[Tt][Oo][Dd][Oo] ]]; then
        failed=$((failed + 1))
    fi
}

# finish [SKIP_REASON]: print the plan and exit.
finish() {
    if ((n == 0)); then
        printf '1..0 # SKIP %s\n' "${1:-no tests}"
        exit 0
    fi
    printf '1..%d\n' "$n"
    ((failed == 0)) && exit 0
    exit 1
}

echo "# scenario $name, timeout ${limit}s, log $log"

# Cannot boot at all (bad scenario, no kernel): one failing test, no QEMU.
if ! err=$( (scenario_load "$build" "$scenario") 2>&1); then
    printf '%s\n' "$err" >"$log"
    test_line "not ok" "- scenario $scenario: ${err//$'\n'/; }"
    finish
fi
if [[ ! -f $build/kernel/kernel.bin ]]; then
    printf 'qemu-tap: no kernel %s\n' "$build/kernel/kernel.bin" >"$log"
    test_line "not ok" "- no kernel $build/kernel/kernel.bin (run make)"
    finish
fi

exec 3< <(exec timeout --kill-after=10 "$limit" "$tools/boot.sh" "$build" "$scenario" </dev/null 2>&1)
boot_pid=$!
trap 'kill -TERM "$boot_pid" 2>/dev/null || true; exit 130' INT TERM HUP
exec 4>"$log"
start=$SECONDS

plans=0 planned=0 skip_reason=
while IFS= read -r -u 3 raw || [[ -n $raw ]]; do
    printf '%s\n' "$raw" >&4
    line=${raw%$'\r'}
    t=${line#"${line%%[![:space:]]*}"} # without leading blanks
    # A component's line as components/root prints it: "[name] text"; the
    # TAP is in the text (several components may each print a plan).
    if [[ $t =~ ^\[[a-z0-9_-]+\]\ (.*)$ ]]; then
        t=${BASH_REMATCH[1]}
        t=${t#"${t%%[![:space:]]*}"}
    fi
    if [[ $t =~ ^(not )?ok([[:space:]].*)?$ ]]; then
        result=${BASH_REMATCH[1]:+not }ok
        rest=${BASH_REMATCH[2]}
        rest=${rest#"${rest%%[![:space:]]*}"}
        # Drop the guest's number; we number ourselves.
        [[ $rest =~ ^[0-9]+([[:space:]].*)?$ ]] && rest=${BASH_REMATCH[1]}
        rest=${rest#"${rest%%[![:space:]]*}"}
        test_line "$result" "$rest"
    elif [[ $t =~ ^1\.\.([0-9]+)[[:space:]]*(#.*)?$ ]]; then
        plans=$((plans + 1))
        planned=$((planned + 10#${BASH_REMATCH[1]}))
        [[ ${BASH_REMATCH[2]} =~ ^#[[:space:]]*[Ss][Kk][Ii][Pp][[:alpha:]]*[[:space:]]*(.*)$ ]] &&
            skip_reason=${BASH_REMATCH[1]:-skipped by the guest}
        printf '# | %s\n' "$line"
    elif [[ $t == "Bail out!"* ]]; then
        printf '%s\n' "$t"
    elif [[ $t == "#"* ]]; then
        printf '%s\n' "$t"
    else
        printf '# |%s\n' "${line:+ $line}"
    fi
done
exec 3<&- 4>&-

rc=0
wait "$boot_pid" || rc=$?
trap - INT TERM HUP
elapsed=$((SECONDS - start))
guest_tests=$n

timed_out=0
if ((rc == 124 || (rc == 137 && elapsed >= limit))); then
    timed_out=1
    test_line "not ok" "- timed out after $limit s (log: $log)"
elif ((rc == 125)); then
    test_line "not ok" "- no guest exit status: machine reset, powered off or QEMU failed (log: $log)"
elif ((rc == 126 || rc == 127)); then
    test_line "not ok" "- could not run tools/boot.sh (exit code $rc)"
elif ((rc != 0)); then
    test_line "not ok" "- guest exit status $rc (log: $log)"
fi
if ((plans == 0)); then
    ((timed_out)) || test_line "not ok" "- guest printed no TAP plan (log: $log)"
elif ((planned != guest_tests)); then
    test_line "not ok" "- guest planned $planned tests but printed $guest_tests (log: $log)"
fi
finish "$skip_reason"
