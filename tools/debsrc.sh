#!/usr/bin/env bash
# tools/debsrc.sh PACKAGE VERSION DESTDIR -- fetch Debian source package
# PACKAGE at exactly VERSION and extract it (Debian patches applied) into
# DESTDIR (brief section 10: third-party sources come from Debian source
# packages into the build directory at build time, never into the tree).
#
# The system's apt configuration is not touched. A private deb-src entry is
# made from the system's own Debian entries (URIs, suites, components and
# Signed-By of /etc/apt/sources.list.d/*.sources and /etc/apt/sources.list,
# those of this release's codename), and apt runs with private lists and
# cache under STATE = $(dirname DESTDIR)/apt, shared by every package
# fetched next to DESTDIR. So it works without root, and a fresh build
# directory costs one `apt-get update` of the source indexes.
#
# Trust: apt checks the archive's signature on InRelease and the hashes of
# the Sources index and of every downloaded file (.dsc, tarballs) against
# it; dpkg-source then checks the tarballs against the .dsc again. The
# uploader's own signature on the .dsc is not checked (that needs the large
# debian-keyring package and adds nothing to the archive signature).
#
# Idempotent: DESTDIR/.debsrc holds "PACKAGE VERSION"; when it matches,
# nothing is done (no network). A DESTDIR of another version is replaced.
# Concurrent calls sharing STATE are serialised with flock.
#
# `tools/debsrc.sh --print-sources` prints the derived entry and exits.
#
# Environment: DEBSRC_SOURCES=FILE uses FILE (one-line .list or deb822
# .sources format, deb-src entries) instead of the derived entry, for
# machines whose apt configuration names no Debian archive.
# DEBSRC_APT_ETC (default /etc/apt) and DEBSRC_CODENAME (default
# VERSION_CODENAME of /etc/os-release) say where the system's entries are
# and which release they are for (tests/checks/debsrc.t sets them).
# Needs apt and dpkg-dev (dpkg-source): tools/deps.sh group `user`.
set -euo pipefail

die() {
    printf 'debsrc: %s\n' "$@" >&2
    exit 1
}

# --- the private deb-src entry --------------------------------------------
etc=${DEBSRC_APT_ETC:-/etc/apt}
if [[ -n ${DEBSRC_CODENAME+set} ]]; then
    codename=$DEBSRC_CODENAME
elif [[ -r /etc/os-release ]]; then
    # shellcheck source=/dev/null
    codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
else
    codename=
fi

# Debian entries of the running release: deb822 paragraphs and one-line
# entries of type deb whose suites are CODENAME or CODENAME-*, turned into
# deb-src entries with the same URIs, suites, components and Signed-By.
# Without a codename every deb entry is taken.
derive_sources() {
    local f
    for f in "$etc"/sources.list.d/*.sources; do
        [[ -r $f ]] || continue
        awk -v codename="$codename" '
        function flush(   i, n, s, ok, out) {
            if (types ~ /(^|[ \t])deb([ \t]|$)/ && tolower(enabled) != "no" && uris != "") {
                n = split(suites, s, /[ \t]+/)
                ok = (codename == "")
                for (i = 1; i <= n; i++)
                    if (s[i] == codename || index(s[i], codename "-") == 1) ok = 1
                if (ok) {
                    out = "Types: deb-src\nURIs: " uris "\nSuites: " suites "\nComponents: " comps "\n"
                    if (signed != "") out = out "Signed-By:" signed "\n"
                    printf "%s\n", out
                }
            }
            types = uris = suites = comps = signed = enabled = ""; field = ""
        }
        /^#/ { next }
        /^[ \t]*$/ { flush(); next }
        /^[ \t]/ { if (field == "signed-by") signed = signed "\n" $0; next }
        {
            field = tolower(substr($0, 1, index($0, ":") - 1))
            value = substr($0, index($0, ":") + 1); sub(/^[ \t]+/, "", value); sub(/[ \t]+$/, "", value)
            if (field == "types") types = value
            else if (field == "uris") uris = value
            else if (field == "suites") suites = value
            else if (field == "components") comps = value
            else if (field == "enabled") enabled = value
            else if (field == "signed-by") signed = (value == "" ? "" : " " value)
        }
        END { flush() }' "$f"
    done
    if [[ -r $etc/sources.list ]]; then
        # deb [opt=value ...] URI SUITE COMPONENT... as a deb822 paragraph;
        # the one-line options get their deb822 names (arch -> Architectures,
        # signed-by -> Signed-By).
        awk -v codename="$codename" '
        { sub(/#.*/, "") }
        $1 == "deb" {
            i = 2; opts = ""
            if ($2 ~ /^\[/) {
                line = $0; sub(/^[^[]*\[/, "", line); sub(/\].*/, "", line)
                opts = line
                while (i <= NF && $i !~ /\]$/) i++
                i++
            }
            suite = $(i + 1)
            if (codename != "" && suite != codename && index(suite, codename "-") != 1) next
            printf "Types: deb-src\nURIs: %s\nSuites: %s\nComponents:", $i, suite
            for (j = i + 2; j <= NF; j++) printf " %s", $j
            printf "\n"
            n = split(opts, o, /[ \t]+/)
            for (k = 1; k <= n; k++) {
                if (o[k] == "" || index(o[k], "=") == 0) continue
                key = substr(o[k], 1, index(o[k], "=") - 1); val = substr(o[k], index(o[k], "=") + 1)
                if (key == "arch") key = "Architectures"
                else if (key == "lang") key = "Languages"
                else if (key == "target") key = "Targets"
                else {  # signed-by -> Signed-By
                    m = split(key, w, "-"); key = ""
                    for (x = 1; x <= m; x++) key = key (x > 1 ? "-" : "") toupper(substr(w[x], 1, 1)) substr(w[x], 2)
                }
                gsub(/,/, " ", val)
                printf "%s: %s\n", key, val
            }
            printf "\n"
        }' "$etc/sources.list"
    fi
}

if [[ $# -eq 1 && $1 == --print-sources ]]; then
    derive_sources
    exit 0
fi

[[ $# -eq 3 ]] || { echo "usage: tools/debsrc.sh PACKAGE VERSION DESTDIR | --print-sources" >&2; exit 2; }
pkg=$1 ver=$2 dest=${3%/}
[[ $pkg =~ ^[a-z0-9][a-z0-9.+-]+$ ]] || die "'$pkg' is not a Debian source package name"
[[ $ver =~ ^[A-Za-z0-9.+~:-]+$ ]] || die "'$ver' is not a Debian version"
[[ -n $dest && $dest != / ]] || die "bad DESTDIR '$3'"

stamp="$dest/.debsrc"
want="$pkg $ver"
[[ -f $stamp && $(<"$stamp") == "$want" ]] && exit 0

# Only a tree this script extracted is ever replaced.
[[ ! -e $dest || -f $dest/.debsrc ]] || die "$dest exists and was not made by tools/debsrc.sh; remove it"

for tool in apt-get apt-cache dpkg-source flock; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "'$tool' not found (apt and dpkg-dev are needed: tools/deps.sh user)"
done

mkdir -p "$(dirname "$dest")"
state="$(cd "$(dirname "$dest")" && pwd)/apt"
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/download"
exec 8>"$state/lock"
flock 8
# Another caller may have finished the same job while we waited.
[[ -f $stamp && $(<"$stamp") == "$want" ]] && exit 0

# The private entry, in deb822 form: apt reads Dir::Etc::SourceList as
# deb822 when its name ends in .sources.
srcfile="$state/private.sources"
if [[ -n ${DEBSRC_SOURCES:-} ]]; then
    [[ -r $DEBSRC_SOURCES ]] || die "DEBSRC_SOURCES=$DEBSRC_SOURCES is not readable"
    case $DEBSRC_SOURCES in
    *.sources) ;;
    *) srcfile="$state/private.list" ;;
    esac
    cp "$DEBSRC_SOURCES" "$srcfile.new"
else
    derive_sources >"$srcfile.new"
    # shellcheck disable=SC2016 # the quotes are part of the message
    [[ -s $srcfile.new ]] ||
        die "no Debian entry${codename:+ for '$codename'} in $etc/sources.list.d/*.sources or $etc/sources.list" \
            "to derive a deb-src entry from; name one with DEBSRC_SOURCES=FILE"
fi

# A changed entry invalidates the lists fetched with the old one.
if ! cmp -s "$srcfile" "$srcfile.new"; then
    rm -rf "$state/lists" "$state/cache"
    mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
    mv "$srcfile.new" "$srcfile"
else
    rm -f "$srcfile.new"
fi

apt_opts=(
    -o "Dir::State::Lists=$state/lists"
    -o "Dir::Cache=$state/cache"
    -o "Acquire::Languages=none"
    -o "APT::Get::Only-Source=true"
)
apt_opts+=(-o "Dir::Etc::SourceList=$srcfile" -o "Dir::Etc::SourceParts=/dev/null")
# As root apt downloads as user _apt, which cannot write into a build
# directory owned by someone else; the files are hash-checked either way.
[[ $(id -u) -eq 0 ]] && apt_opts+=(-o "APT::Sandbox::User=root")

have_version() {
    apt-cache "${apt_opts[@]}" showsrc "$pkg" 2>/dev/null |
        awk -v v="$ver" '$1 == "Version:" && $2 == v { found = 1 } END { exit !found }'
}

# Lists are fetched once per build directory, again only when the pinned
# version is not in them (a new pin, or a point release since the fetch).
if ! have_version; then
    log="$state/update.log"
    if ! apt-get "${apt_opts[@]}" -q update >"$log" 2>&1 || ! have_version; then
        fetch_errors=$(grep -E '^(E|W):' "$log" || true)
        if [[ -n $fetch_errors ]]; then
            printf '%s\n' "$fetch_errors" | sed 's/^/debsrc:   /' >&2
            die "cannot read the Debian archive's source index (network down or archive unreachable?)" \
                "needed for $pkg $ver; sources used: $srcfile; full log: $log"
        fi
        avail=$(apt-cache "${apt_opts[@]}" showsrc "$pkg" 2>/dev/null | awk '$1 == "Version:" { printf " %s", $2 }')
        die "$pkg version $ver is not in the archive (available:${avail:- none})." \
            "The pinned version may have been superseded by a point release: test the new" \
            "one and update the pin in the build files."
    fi
fi

# apt-get source skips files already downloaded whose hashes match, so a
# download interrupted half way is completed here.
dl="$state/download/${pkg}_$ver"
mkdir -p "$dl"
dsc="$dl/${pkg}_${ver#*:}.dsc"
if ! (cd "$dl" && apt-get "${apt_opts[@]}" -q source --download-only "$pkg=$ver") >"$dl/fetch.log" 2>&1; then
    grep -E '^E:' "$dl/fetch.log" | sed 's/^/debsrc:   /' >&2 || true
    die "downloading source package $pkg $ver failed (network down or archive unreachable?); full log: $dl/fetch.log"
fi
[[ -f $dsc ]] || die "apt-get source left no $dsc; see $dl/fetch.log"

# Extract next to DESTDIR, then rename: an interrupted run leaves no
# half-extracted tree that looks complete.
tmp="$dest.debsrc-tmp"
rm -rf "$tmp"
if ! dpkg-source --no-copy -x "$dsc" "$tmp" >"$dl/extract.log" 2>&1; then
    sed 's/^/debsrc:   /' "$dl/extract.log" >&2
    die "dpkg-source could not extract $dsc"
fi
printf '%s\n' "$want" >"$tmp/.debsrc"
rm -rf "$dest"
mv "$tmp" "$dest"
echo "debsrc: $pkg $ver extracted into $dest" >&2
