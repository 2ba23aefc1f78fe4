#!/usr/bin/env bash
# Every scenario in the tree parses (one test per file), and the checker
# tools/scenario-check reports errors as FILE:LINE and prints the boot
# module list of both forms as tools/boot.sh expects it. `make check` adds
# that every program a scenario names is built.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
tool=$BUILD/host/scenario-check
if [ ! -x "$tool" ]; then
    echo "1..0 # SKIP $tool not built (make BUILD=$BUILD $tool)"
    exit 0
fi
tool=$(realpath "$tool") # the tests below run in other directories
n=0 fails=0
pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
# same DESCRIPTION GOT WANT
same() {
    if [ "$2" = "$3" ]; then
        pass "$1"
    else
        fail "$1"
        printf '%s\n' "got:" "$2" "want:" "$3" | sed 's/^/#   /'
    fi
}

for f in config/*.scenario tests/system/*.scenario bench/*/*.scenario; do
    [ -e "$f" ] || continue
    if err=$("$tool" "$f" 2>&1); then
        pass "$f parses"
    else
        fail "$f parses"
        printf '%s\n' "$err" | sed 's/^/#   /'
    fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/scenarios-t.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/build/user" "$work/media"
for p in root decoder timerd test_ipc; do : >"$work/build/user/$p.elf"; done
: >"$work/media/song.raw"

printf 'module test_ipc\nfoo bar\n' >"$work/bad.scenario"
err=$("$tool" "$work/bad.scenario" 2>&1)
same "an error is FILE:LINE: message, exit status 2" "$err rc=$?" "$work/bad.scenario:2: unknown keyword 'foo' rc=2"

printf 'module test_ipc a  b\n# comment\nmodule test_ipc\n' >"$work/modules.scenario"
same "--modules, module form: one line per module, arguments joined by one blank" \
    "$("$tool" --modules "$work/build/" "$work/modules.scenario")" \
    "$work/build/user/test_ipc.elf a b
$work/build/user/test_ipc.elf"

cat >"$work/components.scenario" <<EOF
component dec decoder --fast
  provides frames
  uses clock from timer
  reads song
component timer timerd
  provides clock
component dec2 decoder
file song $work/media/song.raw
EOF
# The file path must be relative: check that first, then use a relative one.
abs=$work/media/song.raw
[ ${#abs} -gt 40 ] && abs=${abs:0:37}... # messages cut long words
err=$("$tool" "$work/components.scenario" 2>&1)
same "an absolute file path is refused" "$err" \
    "$work/components.scenario:8: file: path '$abs' is absolute (paths are relative to the repository)"
sed -i "s|file song .*|file song media/song.raw|" "$work/components.scenario"
same "--modules, component form: root, scenario, programs once, files with their names" \
    "$(cd "$work" && "$tool" --modules build components.scenario)" \
    "build/user/root.elf
components.scenario
build/user/decoder.elf
build/user/timerd.elf
media/song.raw song"

rm "$work/build/user/timerd.elf" "$work/media/song.raw"
err=$(cd "$work" && "$tool" --build build components.scenario 2>&1)
same "--build names each missing program and file, exit status 2" "$err rc=$?" \
    "components.scenario:5: component 'timer': program file missing: build/user/timerd.elf
components.scenario:8: file 'song': no such file: media/song.raw rc=2"
out=$(cd "$work" && "$tool" --modules build components.scenario 2>/dev/null)
same "--modules prints nothing when something is missing" "$out rc=$?" " rc=2"

# build/user/test_ipc.elf is 23 bytes: 87 bytes of arguments make 111, the most the kernel keeps.
printf 'module test_ipc %s\n' "$(head -c 87 /dev/zero | tr '\0' x)" >"$work/long.scenario"
out=$(cd "$work" && "$tool" --modules build long.scenario 2>&1)
same "a module command line of 111 bytes is fine" "${#out} rc=$?" "111 rc=0"
printf 'module test_ipc %s\n' "$(head -c 88 /dev/zero | tr '\0' x)" >"$work/long.scenario"
err=$(cd "$work" && "$tool" --modules build long.scenario 2>&1)
same "a module command line the kernel would cut is refused" "$err" \
    "long.scenario:1: the command line of module build/user/test_ipc.elf is 112 bytes with its arguments, the kernel keeps 111"

echo "1..$n"
[ "$fails" -eq 0 ]
