#!/usr/bin/env bash
# run-guest.sh --scenario FILE --out DIR [--timeout SEC] [PROGRAM...]: boots Debian 12's
# stock kernel under QEMU (TCG only: /dev/kvm is not usable here) with an initramfs
# holding PROGRAMs, socat and busybox, runs FILE in the guest and leaves
#   DIR/results.txt  the guest's "RESULT name ok|fail|skip detail" lines (serial port 2)
#   DIR/console.log  everything on the guest console (serial port 1)
# Prints boot and run times on stderr. Exit 0 when the guest finished the scenario,
# 1 when it did not (timeout, crash), 77 (skip) when no guest can be run here. A guest
# that never reached /init is booted once more (see README.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
scenario='' out='' limit=${VSOCK_GUEST_TIMEOUT:-220} boot_limit=${VSOCK_GUEST_BOOT_LIMIT:-60}
while [ $# -gt 0 ]; do
    case $1 in
        --scenario) scenario=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --timeout) limit=$2; shift 2 ;;
        --) shift; break ;;
        -*) echo "run-guest: unknown option $1" >&2; exit 2 ;;
        *) break ;;
    esac
done
[ -n "$scenario" ] && [ -n "$out" ] || { echo "usage: run-guest.sh --scenario FILE --out DIR [PROGRAM...]" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out/console.log" "$out/results.txt" "$out/failure.txt" # never an earlier run's
builddir=${abs_top_builddir:-$(pwd)}
cache=${VSOCK_GUEST_CACHE:-$builddir/test/guest/cache}

skip() { echo "run-guest: $*" >&2; exit 77; }

# give_up REASON: says why the run failed on stderr and, as one line, in
# $out/failure.txt, which the tests quote next to every result the guest still owed.
give_up() {
    echo "run-guest: $*" >&2
    echo "$*" >"$out/failure.txt"
}

# qemu-system-x86, busybox-static and cpio, installed when missing (as scripts/deps.sh).
ensure_tools() {
    local missing=() sudo=
    command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
    { command -v busybox >/dev/null && ! ldd "$(command -v busybox)" >/dev/null 2>&1; } ||
        missing+=(busybox-static)
    command -v cpio >/dev/null || missing+=(cpio)
    command -v socat >/dev/null || missing+=(socat)
    command -v depmod >/dev/null || [ -x /sbin/depmod ] || missing+=(kmod)
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null && sudo -n true 2>/dev/null || skip "missing ${missing[*]} and not root"
        sudo=sudo
    fi
    echo "run-guest: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq >/dev/null 2>&1 || true
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
        skip "could not install ${missing[*]}"
}

t0=$SECONDS
ensure_tools
rc=0
kinfo=$("$here/kernel-fetch.sh" "$cache" 2>"$out/kernel-fetch.err") || rc=$?
cat "$out/kernel-fetch.err" >&2
if [ $rc -ne 0 ]; then
    [ $rc -eq 77 ] && skip "no guest kernel can be had here"
    give_up "kernel-fetch.sh failed (exit $rc): $(tail -n 1 "$out/kernel-fetch.err")"
    exit 1
fi
read -r rel kdir <<<"$kinfo"
vmlinuz=$kdir/boot/vmlinuz-$rel
initrd=$out/initramfs.cpio.gz
"$here/mkinitramfs.sh" "$initrd" "$kdir" "$rel" "$scenario" "$@" || {
    give_up "mkinitramfs.sh failed (exit $?)"
    exit 1
}

# booted_at: the guest's uptime when /init ran (its BOOTED line); empty until then, and
# when QEMU never even created the result port's file.
booted_at() {
    sed -n 's/^BOOTED \([0-9.]*\).*/\1/p' "$out/results.txt" 2>/dev/null | head -1 || true
}

# boot: one QEMU run; status in $status. A guest that has not reached /init within
# $boot_limit s (it does in about 3 s) is stopped then, not at the end of $limit.
boot() {
    local qemu start=$SECONDS
    status=0 stalled=0
    rm -f "$out/console.log" "$out/results.txt"
    # memmap reserves 16 MiB at 768 MiB (0x30000000) for later device tests.
    timeout --kill-after=5 "$limit" qemu-system-x86_64 \
        -accel tcg -machine pc -cpu max -m 1G -smp "${VSOCK_GUEST_SMP:-2}" \
        -nographic -no-reboot -monitor none -nic none \
        -kernel "$vmlinuz" -initrd "$initrd" \
        -append "console=ttyS0 panic=-1 loglevel=4 memmap=16M\$0x30000000 ${VSOCK_GUEST_APPEND:-}" \
        -serial "file:$out/console.log" -serial "file:$out/results.txt" \
        </dev/null >"$out/qemu.log" 2>&1 &
    qemu=$!
    while kill -0 "$qemu" 2>/dev/null && [ -z "$(booted_at)" ]; do
        if [ $((SECONDS - start)) -ge "$boot_limit" ]; then
            stalled=1
            kill "$qemu" 2>/dev/null # timeout passes the TERM on to QEMU
            break
        fi
        sleep 0.2
    done
    wait "$qemu" || status=$?
}

console_tail() {
    tail -n 20 "$out/console.log" >&2 2>/dev/null || true
    cat "$out/qemu.log" >&2 2>/dev/null || true
}

t1=$SECONDS
boot
# A guest that never reached /init ran none of our code: that is the emulator or the
# kernel failing to boot, so it gets one more boot. Once /init has run, nothing is retried.
if [ -z "$(booted_at)" ]; then
    if [ $stalled = 1 ]; then
        echo "run-guest: the guest had not reached /init after $boot_limit s, booting again; console tail:" >&2
    else
        echo "run-guest: the guest never reached /init (qemu exit $status), booting again; console tail:" >&2
    fi
    console_tail
    boot
fi
t2=$SECONDS

booted=$(booted_at)
done_at=$(sed -n 's/^DONE \([0-9.]*\).*/\1/p' "$out/results.txt" 2>/dev/null | head -1 || true)
echo "run-guest: kernel $rel; prepared in $((t1 - t0)) s; guest booted in ${booted:-?} s," \
    "scenario finished at ${done_at:-never} s; qemu ran $((t2 - t1)) s; total $((t2 - t0)) s" >&2
if [ -z "$done_at" ]; then
    if [ $stalled = 1 ]; then
        why="it had not reached /init after $boot_limit s"
    elif [ $status -eq 124 ] || [ $status -eq 137 ]; then
        if [ -n "$booted" ]; then
            why="killed after $limit s, after reaching /init at $booted s"
        else
            why="killed after $limit s, before reaching /init"
        fi
    elif [ -n "$booted" ]; then
        why="it stopped before the scenario's end"
    else
        why="it never reached /init"
    fi
    give_up "guest did not finish (qemu exit $status): $why"
    echo "run-guest: console tail:" >&2
    console_tail
    exit 1
fi
exit 0
