#!/usr/bin/env bash
# bench/latency/linux.sh: the Linux baseline of the latency benchmark (brief
# section 11, issue 4 item 6). Builds an initramfs from Debian's busybox-static
# and rt-tests (cyclictest, hackbench and their shared libraries), boots
# Debian's PREEMPT_RT and generic 6.1 kernels with it on the reference machine,
# runs `cyclictest -q -m -p 99 -i 1000 -l 2000` idle and under hackbench, and
# prints one line per run:
#   BENCH latency system=<linux-rt|linux> load=<idle|load> min_us=N avg_us=N max_us=N
# It rewrites bench/results/latency-linux.csv and writes the histograms to
# bench/results/latency-linux-<system>-<load>.hist. See bench/latency/README.md.
#
# Environment: BUILD (default build), LINUX_BENCH_RUNS (default
# "linux-rt:idle linux-rt:load linux:idle linux:load"), LINUX_BENCH_TIMEOUT
# (seconds per boot, default 900), DEPS_SKIP=1 (see tools/deps.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
RUNS=${LINUX_BENCH_RUNS:-linux-rt:idle linux-rt:load linux:idle linux:load}
TIMEOUT=${LINUX_BENCH_TIMEOUT:-900}
# The measurement of brief section 11; -h adds the histogram (1 us buckets up
# to 1 ms, overflows counted), which replaces the per-thread summary line by
# "# Min/Avg/Max Latencies" lines. The sampling loop is the same.
CYCLICTEST_ARGS="-q -m -p 99 -i 1000 -l 2000 -h 1000"
# The load: hackbench (sockets, processes, 2 groups of 20 senders and 20
# receivers) restarted in a loop until cyclictest ends.
HACKBENCH_ARGS=${LINUX_BENCH_HACKBENCH:--l 100000 -g 2}

out=$BUILD/linux-bench
results=bench/results
csv=$results/latency-linux.csv

die() { echo "bench latency (linux): $*" >&2; exit 1; }

tools/deps.sh linux-bench

# --- kernels: the images the metapackages point at ------------------------
kernel_of() { # metapackage -> path of its vmlinuz
    local meta=$1 pkg img
    pkg=$(dpkg-query -W -f='${Depends}' "$meta" | tr ',' '\n' |
        sed -n 's/^ *\(linux-image-[^ ]*\).*/\1/p' | head -1)
    [[ -n $pkg ]] || die "cannot tell which kernel package $meta depends on"
    img=$(dpkg-query -L "$pkg" | grep -E '^/boot/vmlinuz-' | head -1)
    [[ -n $img && -r $img ]] || die "no readable /boot/vmlinuz-* in $pkg"
    echo "$img"
}
declare -A KERNEL
KERNEL[linux-rt]=$(kernel_of linux-image-rt-amd64)
KERNEL[linux]=$(kernel_of linux-image-amd64)
[[ ${KERNEL[linux-rt]} == *-rt-amd64 ]] || die "${KERNEL[linux-rt]} is not a -rt-amd64 kernel"
[[ ${KERNEL[linux]} != *-rt-* ]] || die "${KERNEL[linux]} is an -rt kernel"

# --- initramfs --------------------------------------------------------------
t0=$SECONDS
root=$out/root
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib64} "$out/logs"

cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
    [[ $applet == busybox ]] || ln -s busybox "$root/bin/$applet"
done

# cyclictest and hackbench from rt-tests, and chrt from util-linux (busybox
# has none), with the shared libraries they need (as the dynamic loader
# resolves them on this host: the same Debian libc6 and libnuma1 the binaries
# were built for), each at the path it is loaded from.
copy_file() { # host path -> same path in the initramfs, symlinks followed
    mkdir -p "$root$(dirname "$1")"
    cp -L "$1" "$root$1"
}
for pb in rt-tests:cyclictest rt-tests:hackbench util-linux:chrt; do
    pkg=${pb%%:*} b=${pb#*:}
    bin=$(dpkg-query -L "$pkg" | grep -E "/bin/$b\$" | head -1)
    [[ -x $bin ]] || die "$pkg does not provide $b"
    cp "$bin" "$root/bin/$b"
    for lib in $(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
        [[ -e $root$lib ]] || copy_file "$lib"
    done
done

cat >"$root/init" <<'EOF'
#!/bin/sh
# Runs the latency measurement named on the kernel command line
# (benchload=idle|load) and powers off.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/shm
mount -t tmpfs shm /dev/shm
load=idle
for w in $(cat /proc/cmdline); do
    case $w in benchload=*) load=${w#benchload=} ;; esac
done
ct_args=$(sed -n 's/^ct=//p' /bench.conf)
hb_args=$(sed -n 's/^hb=//p' /bench.conf)
echo "LINUXBENCH start kernel=$(uname -r) load=$load"
if [ "$load" = load ]; then
    (while :; do hackbench $hb_args >/dev/null 2>&1; done) &
    loop=$!
fi
# From here on this shell runs above the load (SCHED_FIFO 50, below the
# measuring thread's 99), so it gets the CPU back as soon as cyclictest ends
# instead of queueing behind 80 hackbench processes. It is blocked in wait
# while cyclictest measures; cyclictest itself starts as SCHED_OTHER like
# from any shell and raises its measuring thread to 99 (-p 99).
chrt -f -p 50 $$ >/dev/null
[ "$load" = load ] && sleep 1
echo "LINUXBENCH cyclictest $ct_args"
chrt -o 0 cyclictest $ct_args
rc=$?
echo "LINUXBENCH hackbench processes at the end: $(pidof hackbench | wc -w)"
[ "$load" = load ] && kill -9 $loop $(pidof hackbench) 2>/dev/null
echo "LINUXBENCH end rc=$rc"
poweroff -f
EOF
chmod 755 "$root/init"
printf 'ct=%s\nhb=%s\n' "$CYCLICTEST_ARGS" "$HACKBENCH_ARGS" >"$root/bench.conf"

# What went in, for the record (the versions differ as Debian updates them).
dpkg-query -W -f='${Package} ${Version}\n' linux-image-rt-amd64 linux-image-amd64 \
    busybox-static rt-tests util-linux qemu-system-x86 >"$out/manifest.txt"
for f in "${KERNEL[@]}" $(cd "$root" && find lib* -type f | sed 's|^|/|'); do
    { dpkg-query -S "$f" || dpkg-query -S "$(readlink -f "$f")" || echo "?: $f"; } 2>/dev/null | head -1
done >>"$out/manifest.txt"

initramfs=$out/initramfs.cpio
# Same input, same bytes: fixed order, owners and times.
find "$root" -exec touch -h -d @0 {} +
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
    cpio -o -H newc -R 0:0 --reproducible --quiet) >"$initramfs"
echo "bench latency (linux): initramfs $initramfs ($(du -k "$initramfs" | cut -f1) KiB) in $((SECONDS - t0)) s" >&2

# --- runs -------------------------------------------------------------------
qemu_run() { # system load log
    local system=$1 load=$2 log=$3
    timeout "$TIMEOUT" qemu-system-x86_64 -M q35 -cpu max -m 512M -accel tcg \
        -icount shift=3,sleep=off -display none -serial stdio -no-reboot \
        -device isa-debug-exit,iobase=0xf4,iosize=4 \
        -kernel "${KERNEL[$system]}" -initrd "$initramfs" \
        -append "console=ttyS0 quiet panic=-1 rdinit=/init benchload=$load" \
        </dev/null >"$log" 2>&1
}

mkdir -p "$results"
rows=()
for run in $RUNS; do
    system=${run%%:*} load=${run#*:}
    [[ -n ${KERNEL[$system]:-} ]] || die "unknown system '$system' in LINUX_BENCH_RUNS"
    [[ $load == idle || $load == load ]] || die "unknown load '$load' in LINUX_BENCH_RUNS"
    log=$out/logs/$system-$load.log
    t0=$SECONDS
    rc=0
    qemu_run "$system" "$load" "$log" || rc=$?
    secs=$((SECONDS - t0))
    # poweroff -f ends QEMU with 0 (ACPI power off); a panic with panic=-1
    # and -no-reboot ends it with 0 as well, so the log decides.
    [[ $rc -eq 0 ]] || { tail -5 "$log" >&2; die "$system/$load: QEMU exited with $rc after $secs s (log: $log)"; }
    grep -aq '^LINUXBENCH end rc=0' "$log" || { tail -5 "$log" >&2; die "$system/$load: cyclictest did not finish (log: $log)"; }
    nhb=$(tr -d '\r' <"$log" | sed -n 's/^LINUXBENCH hackbench processes at the end: //p')
    if [[ $load == load && ${nhb:-0} -eq 0 ]]; then
        die "$system/$load: hackbench was not running when cyclictest ended (log: $log)"
    fi
    lat() { tr -d '\r' <"$log" | sed -n "s/^# $1 Latencies: *0*\([0-9]\)/\1/p" | head -1; }
    min=$(lat Min) avg=$(lat Avg) max=$(lat Max)
    [[ -n $min && -n $avg && -n $max ]] || die "$system/$load: no latency summary in $log"
    tr -d '\r' <"$log" | sed -n '/^LINUXBENCH cyclictest/,/^LINUXBENCH end/p' |
        grep -v '^LINUXBENCH' >"$results/latency-linux-$system-$load.hist"
    echo "bench latency (linux): $system/$load: $(basename "${KERNEL[$system]}"), $secs s (log: $log)" >&2
    echo "BENCH latency system=$system load=$load min_us=$min avg_us=$avg max_us=$max"
    rows+=("$system,$load,$min,$avg,$max")
done

{
    echo "system,load,min_us,avg_us,max_us"
    printf '%s\n' "${rows[@]}"
} >"$csv"
