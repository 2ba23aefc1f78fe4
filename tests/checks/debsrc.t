#!/usr/bin/env bash
# tools/debsrc.sh without the network: the private deb-src entry derived
# from a made-up apt configuration (both file formats, other releases and
# third-party entries left out, Signed-By kept) is what apt itself accepts,
# an extracted tree of the right version is left alone, and bad calls fail
# with a message.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
n=0 fails=0
check() { n=$((n + 1)); if [ "$2" = "$3" ]; then echo "ok $n - $1"; else fails=$((fails + 1)); echo "not ok $n - $1"; printf '%s\n' "#   got:" "$2" "#   want:" "$3" | sed 's/^/#   /'; fi; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

etc=$tmp/etc
mkdir -p "$etc/sources.list.d"
cat >"$etc/sources.list.d/debian.sources" <<'EOF'
# the release's main entry, with a comment inside the paragraph
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main

Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main

Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Enabled: no
EOF
cat >"$etc/sources.list.d/vendor.sources" <<'EOF'
Types: deb
URIs: https://vendor.example/apt
Suites: nodistro
Components: main
EOF
cat >"$etc/sources.list" <<'EOF'
# one-line form
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://ftp.de.debian.org/debian bookworm main non-free-firmware
deb-src http://ftp.de.debian.org/debian bookworm main
deb http://vendor.example/apt stable main
EOF

derived=$(DEBSRC_APT_ETC=$etc DEBSRC_CODENAME=bookworm tools/debsrc.sh --print-sources)
check "deb822 and one-line entries of the release become deb-src entries" "$derived" "Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://ftp.de.debian.org/debian
Suites: bookworm
Components: main non-free-firmware
Architectures: amd64
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"

# apt parses the derived file (a malformed entry is an E: line and status 100).
printf '%s\n' "$derived" >"$tmp/private.sources"
mkdir -p "$tmp/lists/partial" "$tmp/cache"
out=$(apt-cache -o "Dir::Etc::SourceList=$tmp/private.sources" -o Dir::Etc::SourceParts=/dev/null \
    -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache" policy 2>&1)
check "apt accepts the derived entry" "$?:$(printf '%s\n' "$out" | grep -c '^E:')" "0:0"

# A key written into the entry (Signed-By with continuation lines) is kept.
etc2=$tmp/etc2
mkdir -p "$etc2/sources.list.d"
printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: sid\nComponents: main\nSigned-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc\n -----END PGP PUBLIC KEY BLOCK-----\n' \
    >"$etc2/sources.list.d/inline.sources"
check "an inline Signed-By key is copied" \
    "$(DEBSRC_APT_ETC=$etc2 DEBSRC_CODENAME=sid tools/debsrc.sh --print-sources | sed -n '5,$p')" \
    "Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 abc
 -----END PGP PUBLIC KEY BLOCK-----"

err=$(DEBSRC_APT_ETC=$etc DEBSRC_CODENAME=jessie tools/debsrc.sh gsl 1.0-1 "$tmp/src/gsl" 2>&1)
check "no entry for the release: status 1 and a message" "$?:$(printf '%s' "$err" | grep -c 'no Debian entry for .jessie.')" "1:1"

mkdir -p "$tmp/done/pkg"
echo "pkg 1.2-3" >"$tmp/done/pkg/.debsrc"
DEBSRC_APT_ETC=$tmp/nowhere tools/debsrc.sh pkg 1.2-3 "$tmp/done/pkg" >/dev/null 2>&1
check "an extracted tree of the pinned version is left alone (no apt run)" "$?:$(ls "$tmp/done")" "0:pkg"

mkdir -p "$tmp/mine"
err=$(tools/debsrc.sh pkg 1.2-3 "$tmp/mine" 2>&1)
check "a directory it did not make is not replaced" "$?:$(printf '%s' "$err" | grep -c 'not made by tools/debsrc.sh')" "1:1"

tools/debsrc.sh 'bad name' 1.0 "$tmp/x" >/dev/null 2>&1
check "a bad package name fails" "$?" "1"
tools/debsrc.sh gsl >/dev/null 2>&1
check "a missing argument is a usage error" "$?" "2"

echo "1..$n"
[ "$fails" -eq 0 ]
