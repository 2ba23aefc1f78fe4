#!/usr/bin/env bash
# System test: a malformed root-task module gives a clear boot message and a
# nonzero exit status, never a hang or a crash. Each case boots the kernel
# with a damaged copy of a valid program as the first boot module.
set -uo pipefail
BUILD=${BUILD:-build}
work=$BUILD/bad-boot
mkdir -p "$work" "$BUILD/user"
good=$BUILD/user/test_ipc.elf
[ -f "$good" ] || { echo "1..0 # SKIP $good not built"; exit 0; }

# patch FILE OFFSET FORMAT VALUE: overwrite bytes of a copy (python3 is on every Debian).
patch() {
    python3 - "$@" <<'PY'
import struct, sys
path, off, fmt, val = sys.argv[1], int(sys.argv[2], 0), sys.argv[3], int(sys.argv[4], 0)
data = bytearray(open(path, 'rb').read())
struct.pack_into(fmt, data, off, val)
open(path, 'wb').write(data)
PY
}

n=0
fails=0
# case NAME EXPECTED_MESSAGE: boots $BUILD/user/bad_NAME.elf, expects status 2 and the message.
case_boot() {
    local name=$1 want=$2 log=$work/$1.log rc
    printf 'module bad_%s\n' "$name" >"$work/$name.scenario"
    timeout 60 tools/boot.sh "$BUILD" "$work/$name.scenario" </dev/null >"$log" 2>&1
    rc=$?
    n=$((n + 1))
    if [ "$rc" -eq 2 ] && grep -q "boot failed: .*$want" "$log"; then
        echo "ok $n - $name: refused with '$want', exit status 2"
    else
        fails=$((fails + 1))
        echo "not ok $n - $name: expected status 2 and '$want', got status $rc"
        sed 's/^/#   /' "$log" | tail -5
    fi
}

printf 'this is not a program, just a text file long enough to hold an ELF header, and more text\n' >"$BUILD/user/bad_text.elf"
case_boot text "not an ELF file"

head -c 100 "$good" >"$BUILD/user/bad_truncated.elf"
case_boot truncated "program headers outside the file"

cp "$good" "$BUILD/user/bad_machine.elf"
patch "$BUILD/user/bad_machine.elf" 18 '<H' 3
case_boot machine "not an x86-64 program"

cp "$good" "$BUILD/user/bad_type.elf"
patch "$BUILD/user/bad_type.elf" 16 '<H' 1
case_boot type "not an executable"

# The first program header's p_vaddr (e_phoff is 64 in our ELF files) moved into the kernel half.
phoff=$(python3 -c "import struct;print(struct.unpack_from('<Q',open('$good','rb').read(),32)[0])")
cp "$good" "$BUILD/user/bad_vaddr.elf"
patch "$BUILD/user/bad_vaddr.elf" $((phoff + 16)) '<Q' 0xffff800000000000
case_boot vaddr "outside the user address range"

cp "$good" "$BUILD/user/bad_filesz.elf"
patch "$BUILD/user/bad_filesz.elf" $((phoff + 32)) '<Q' 0x7fffffffffff
case_boot filesz "segment"

cp "$good" "$BUILD/user/bad_entry.elf"
patch "$BUILD/user/bad_entry.elf" 24 '<Q' 0x10
case_boot entry "entry point not in an executable segment"

echo "1..$n"
[ "$fails" -eq 0 ]
