#!/usr/bin/env bash
# The kernel stays small: count its lines of code (no blanks, no comment-only
# lines), generic and arch, and print one summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
count() {
    cat "$@" | sed -e 's://.*$::' | awk '
        /\/\*/ { c = 1 } { line = $0 }
        c && /\*\// { c = 0; next }
        c { next }
        line ~ /^[[:space:]]*$/ { next }
        { n++ } END { print n + 0 }'
}
generic=$(count kernel/*.[ch])
arch=$(count kernel/arch/*/*.[chS])
abi=$(count include/abi/*.h)
echo "kernel lines of code: generic=$generic arch=$arch total=$((generic + arch)) (abi headers: $abi)"
