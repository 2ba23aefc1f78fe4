#!/usr/bin/env bash
# tools/deps.sh GROUP... -- make sure the Debian packages a build step needs
# are installed (brief section 10: Debian packages only, installed by the
# project's own make targets when missing).
#
# Groups: build run test iso bench user linux-bench. Silent when everything
# is present, because the Makefile calls this on every make. When something
# is missing: as root, apt-get update (once) and apt-get install it;
# otherwise name the packages and the command to install them, and exit 1.
# DEPS_SKIP=1 skips all checks (for machines that are not Debian).
set -euo pipefail

usage() {
    echo "usage: tools/deps.sh GROUP... (groups: build run test iso bench user linux-bench)" >&2
    exit 2
}

# Packages of one group, one word each.
group_packages() {
    case "$1" in
    # gcc without libc6-dev (only a Recommends) cannot build the hosted
    # host unit tests; perl provides prove.
    build) echo gcc binutils make perl libc6-dev libgsl-dev ;;
    run) echo qemu-system-x86 ;;
    # coreutils: timeout, tee and mktemp for tools/qemu-tap.sh.
    test) echo "$(group_packages build) $(group_packages run) $(group_packages iso) $(group_packages user) coreutils python3" ;;
    iso) echo grub-pc-bin grub-common xorriso mtools ;;
    bench) echo gnuplot-nox ;;
    # Target programs: musl, and dpkg-dev (dpkg-source) for the third-party
    # sources they build from Debian source packages (tools/debsrc.sh).
    user) echo musl-dev musl-tools dpkg-dev ;;
    # The Linux baseline of the latency benchmark (bench/latency/linux.sh):
    # Debian's generic and PREEMPT_RT kernels, busybox and rt-tests
    # (cyclictest, hackbench) packed into an initramfs with cpio.
    linux-bench) echo linux-image-amd64 linux-image-rt-amd64 busybox-static rt-tests cpio qemu-system-x86 ;;
    *) return 1 ;;
    esac
}

[[ $# -ge 1 ]] || usage

wanted=()
for group in "$@"; do
    if ! pkgs=$(group_packages "$group"); then
        echo "deps: unknown group '$group' (groups: build run test iso bench user linux-bench)" >&2
        exit 2
    fi
    read -r -a words <<<"$pkgs"
    wanted+=("${words[@]}")
done

[[ ${DEPS_SKIP:-0} == 1 ]] && exit 0

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps: dpkg-query not found (not a Debian system?); cannot check: ${wanted[*]}" >&2
    echo "deps: set DEPS_SKIP=1 to skip this check" >&2
    exit 1
fi

# Missing packages among "${wanted[@]}", deduplicated, in order. One
# dpkg-query for all of them (it lists one line per installed architecture
# and skips unknown names).
missing_packages() {
    local p seen=" " installed
    installed=" $(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${wanted[@]}" 2>/dev/null |
        awk '$2 == "installed" { printf "%s ", $1 }' || true) "
    for p in "${wanted[@]}"; do
        [[ $seen == *" $p "* || $installed == *" $p "* ]] && continue
        seen+="$p "
        printf '%s\n' "$p"
    done
}

mapfile -t missing < <(missing_packages)
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
    echo "deps: missing Debian packages: ${missing[*]}" >&2
    echo "deps: install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi

# Root: install. Serialise concurrent callers (make -j runs several deps-*
# targets at once), then look again: another caller may have installed them.
lockdir=/run/lock
[[ -d $lockdir && -w $lockdir ]] || lockdir=/tmp
exec 9>"$lockdir/drops-deps.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
mapfile -t missing < <(missing_packages)
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "deps: installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -q --no-install-recommends "${missing[@]}"
