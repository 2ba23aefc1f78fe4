#!/usr/bin/env bash
# The layering rules of the house (brief section 2), checked on every test
# run: the kernel includes nothing from user land, rt-sched nothing from the
# kernel, generic kernel code no arch path directly, and only the compiler's
# freestanding headers come from outside the tree.
set -uo pipefail
cd "$(dirname "$0")/../.."
n=0 fails=0
check() { # check DESCRIPTION OFFENDING-LINES
    n=$((n + 1))
    if [ -z "$2" ]; then
        echo "ok $n - $1"
    else
        fails=$((fails + 1))
        echo "not ok $n - $1"
        printf '%s\n' "$2" | sed 's/^/#   /'
    fi
}
includes() { grep -HnE '^[[:space:]]*#[[:space:]]*include' "$@" 2>/dev/null; }

check "kernel includes no user-land headers (lib/, components/, dsi/, admission/)" \
    "$(includes kernel/*.[ch] kernel/arch/*/*.[chS] | grep -E '"(drops/|lib/|components/|dsi/|admission/)')"
check "kernel uses only freestanding system headers" \
    "$(includes kernel/*.[ch] kernel/arch/*/*.[chS] | grep -E '<' | grep -vE '<(stddef|stdint|stdbool|stdarg)\.h>')"
check "generic kernel code names no arch directory" \
    "$(includes kernel/*.[ch] | grep -E '"arch/')"
check "rt-sched includes nothing from the kernel" \
    "$(includes rt-sched/*.[ch] 2>/dev/null | grep -vE '"(abi/|rt-sched/|rt_)|<(stddef|stdint|stdbool)\.h>' | grep -E '"')"
check "the dsi core uses only freestanding headers" \
    "$(includes dsi/dsi.[ch] | grep -vE '"dsi\.h"|"abi/[a-z_]+\.h"|<(stddef|stdint|stdbool)\.h>')"
check "every ABI header is self-contained C (no kernel or lib include)" \
    "$(includes include/abi/*.h | grep -vE '"[a-z_]+\.h"|<(stddef|stdint)\.h>')"
echo "1..$n"
[ "$fails" -eq 0 ]
