#!/usr/bin/env bash
# make bench-dsi: DSI chains on our kernel and the pipe baseline (on the host
# and in Linux on the same QEMU machine). Prints the BENCH lines, writes
# bench/results/dsi.csv and bench/results/dsi.png. Method: bench/dsi/README.md.
# DSI_SKIP_LINUX=1 skips the Linux boot.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
results=bench/results
out=$BUILD/dsi-bench
mkdir -p "$results" "$BUILD/logs" "$out"
log=$BUILD/logs/bench-dsi.log
csv=$results/dsi.csv

die() { echo "bench dsi: $*" >&2; exit 1; }

# --- ours -------------------------------------------------------------------
tools/boot.sh "$BUILD" bench/dsi/dsi.scenario </dev/null >"$log" 2>&1 || {
    tail -5 "$log" >&2
    die "our run failed (log: $log)"
}
tr -d '\r' <"$log" | grep -a '^BENCH ' >"$out/ours.txt" || die "no BENCH lines in $log"
cat "$out/ours.txt"

# --- pipe on the host -------------------------------------------------------
gcc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$out/pipe-host" bench/dsi/pipe/pipe.c
"$out/pipe-host" host | tee "$out/host.txt"

# --- pipe in Linux on the reference machine ----------------------------------
: >"$out/linux.txt"
if [[ ${DSI_SKIP_LINUX:-0} != 1 ]]; then
    tools/deps.sh linux-bench user
    meta=linux-image-amd64
    pkg=$(dpkg-query -W -f='${Depends}' "$meta" | tr ',' '\n' | sed -n 's/^ *\(linux-image-[^ ]*\).*/\1/p' | head -1)
    kernel=$(dpkg-query -L "$pkg" | grep -E '^/boot/vmlinuz-' | head -1)
    [[ -r $kernel ]] || die "no readable kernel image in $pkg"
    root=$out/root
    rm -rf "$root"
    mkdir -p "$root"/{bin,dev,proc,sys,tmp}
    cp /bin/busybox "$root/bin/busybox"
    for applet in sh mount poweroff cat; do ln -s busybox "$root/bin/$applet"; done
    musl-gcc -static -O2 -Wall -Wextra -Werror -o "$root/bin/pipe" bench/dsi/pipe/pipe.c
    cat >"$root/init" <<'INIT'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t devtmpfs dev /dev
echo "PIPEBENCH start kernel=$(cat /proc/sys/kernel/osrelease)"
pipe linux 8
echo "PIPEBENCH end rc=$?"
poweroff -f
INIT
    chmod 755 "$root/init"
    find "$root" -exec touch -h -d @0 {} +
    (cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) \
        >"$out/initramfs.cpio"
    llog=$BUILD/logs/bench-dsi-linux.log
    timeout 900 qemu-system-x86_64 -M q35 -cpu max -m 512M -accel tcg \
        -icount shift=3,sleep=off -display none -serial stdio -no-reboot \
        -device isa-debug-exit,iobase=0xf4,iosize=4 \
        -kernel "$kernel" -initrd "$out/initramfs.cpio" \
        -append "console=ttyS0 quiet panic=-1 rdinit=/init" </dev/null >"$llog" 2>&1 ||
        die "Linux run failed (log: $llog)"
    tr -d '\r' <"$llog" | grep -aq '^PIPEBENCH end rc=0' || die "pipe did not finish in Linux (log: $llog)"
    tr -d '\r' <"$llog" | grep -a '^BENCH pipe ' | tee "$out/linux.txt"
    echo "bench dsi: Linux $(basename "$kernel") (log: $llog)" >&2
fi

# --- CSV and plot -------------------------------------------------------------
{
    echo "system,stages,mode,size,insns_per_packet,packets_per_s,insns_per_stage"
    sed -n 's/^BENCH dsi stages=\([0-9]*\) mode=\([a-z]*\) size=\([0-9]*\) insns_per_packet=\([0-9]*\) packets_per_s=\([0-9]*\) insns_per_stage=\([0-9]*\)$/ours,\1,\2,\3,\4,\5,\6/p' "$out/ours.txt"
    sed -n 's/^BENCH pipe system=\([a-z]*\) size=\([0-9]*\) insns_per_packet=\([0-9A-Z]*\) packets_per_s=\([0-9]*\)$/pipe-\1,2,pipe,\2,\3,\4,/p' \
        "$out/host.txt" "$out/linux.txt"
} >"$csv"
echo "bench dsi: $(($(wc -l <"$csv") - 1)) rows in $csv"

if command -v gnuplot >/dev/null || tools/deps.sh bench; then
    plots=()
    for s in 2 4; do
        for m in stream lockstep; do
            f=$out/ours-$s-$m.dat
            awk -F, -v s="$s" -v m="$m" '$1 == "ours" && $2 == s && $3 == m { print $4, $7 }' "$csv" >"$f"
            [[ -s $f ]] && plots+=("'$f' using 1:2 with linespoints lw 2 pt 7 title 'DSI $s stages, $m (per stage)'")
        done
    done
    for sys in host linux; do
        f=$out/pipe-$sys.dat
        awk -F, -v s="pipe-$sys" '$1 == s && $5 != "NA" { print $4, $5 }' "$csv" >"$f"
        [[ -s $f ]] && plots+=("'$f' using 1:2 with linespoints lw 2 pt 5 title 'pipe, $sys (per packet)'")
    done
    gnuplot <<GP
set terminal png size 1000,600
set output '$results/dsi.png'
set title 'Instructions per packet: DSI (per stage) and a Linux pipe, reference machine'
set xlabel 'packet size (bytes)'
set ylabel 'instructions'
set logscale xy
set xrange [32:2097152]
set key top left
plot $(IFS=,; echo "${plots[*]}")
GP
    echo "bench dsi: plot in $results/dsi.png"
fi
