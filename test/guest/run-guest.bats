#!/usr/bin/env bats
# run-guest.bats: the guest harness's own rule for a boot that fails. A guest that never
# reached /init ran none of our code, so run-guest.sh boots it once more; a guest that
# did reach /init is never booted again, whatever happened next. QEMU is replaced by a
# stand-in that plays a given sequence of boots; the kernel cache is a stand-in too, so
# nothing is downloaded and nothing boots.

bats_require_minimum_version 1.5.0

setup() {
    here=$BATS_TEST_DIRNAME
    tmp=$BATS_TEST_TMPDIR
    mkdir -p "$tmp/bin" "$tmp/out"
    # The release kernel-fetch.sh will ask for (apt's newest), or any when apt knows none.
    rel=$(apt-cache pkgnames linux-image-6.1.0- 2>/dev/null |
        grep -E '^linux-image-6\.1\.0-[0-9]+-amd64$' | sort -V | tail -1 | sed 's/^linux-image-//')
    rel=${rel:-6.1.0-0-amd64}
    kdir=$tmp/cache/$rel
    mkdir -p "$kdir/boot" "$kdir/lib/modules/$rel"
    : >"$kdir/boot/vmlinuz-$rel"
    : >"$kdir/lib/modules/$rel/modules.dep"
    touch "$kdir/.ready"
    echo 'echo scenario' >"$tmp/scenario.sh"
    # The stand-in: boot N plays line N of $tmp/plan on the two serial files QEMU was
    # given (console first, results second), or fails before opening them (nofiles).
    cat >"$tmp/bin/qemu-system-x86_64" <<'QEMU'
#!/bin/bash
n=$(( $(cat "$FAKE_QEMU_DIR/boots" 2>/dev/null || echo 0) + 1 ))
echo "$n" >"$FAKE_QEMU_DIR/boots"
files=()
while [ $# -gt 0 ]; do
    [ "$1" = -serial ] && files+=("${2#file:}")
    shift
done
play=$(sed -n "${n}p" "$FAKE_QEMU_DIR/plan")
[ "$play" = nofiles ] && { echo "qemu: stand-in failed before opening its files" >&2; exit 1; }
: >"${files[0]}"
: >"${files[1]}"
case $play in
    panic) echo "Kernel panic - not syncing: stand-in" >>"${files[0]}"; exit 1 ;;
    stuck) echo "BOOTED 2.00" >>"${files[1]}"; exit 124 ;;
    stall) echo "Probing EDD" >>"${files[0]}"; exec -a "stalled-guest-$FAKE_QEMU_DIR" sleep 600 ;;
    ok) printf 'BOOTED 2.00\nRESULT x ok fine\nDONE 3.00 status=0\n' >>"${files[1]}" ;;
    *) exit 3 ;;
esac
QEMU
    chmod +x "$tmp/bin/qemu-system-x86_64"
}

run_guest() {
    printf '%s\n' "$@" >"$tmp/plan"
    run --separate-stderr env PATH="$tmp/bin:$PATH" FAKE_QEMU_DIR="$tmp" VSOCK_GUEST_BOOT_LIMIT=2 \
        VSOCK_GUEST_CACHE="$tmp/cache" abs_top_builddir="$tmp" \
        "$here/run-guest.sh" --scenario "$tmp/scenario.sh" --out "$tmp/out"
}

boots() {
    cat "$tmp/boots"
}

@test "a guest that never reached /init is booted once more, and its results count" {
    run_guest panic ok
    [ "$status" -eq 0 ]
    [ "$(boots)" = 2 ]
    [[ "$stderr" == *"run-guest: the guest never reached /init (qemu exit 1), booting again; console tail:"* ]]
    [[ "$stderr" == *"Kernel panic - not syncing: stand-in"* ]]
    grep -qx 'RESULT x ok fine' "$tmp/out/results.txt"
    [ ! -e "$tmp/out/failure.txt" ]
}

@test "a guest that reached /init and did not finish is not booted again" {
    run_guest stuck ok
    [ "$status" -eq 1 ]
    [ "$(boots)" = 1 ]
    [[ "$stderr" == *"run-guest: guest did not finish (qemu exit 124): killed after 220 s, after reaching /init at 2.00 s"* ]]
    [ "$(cat "$tmp/out/failure.txt")" = "guest did not finish (qemu exit 124): killed after 220 s, after reaching /init at 2.00 s" ]
}

@test "a guest that never reaches /init twice fails, after two boots" {
    run_guest panic panic ok
    [ "$status" -eq 1 ]
    [ "$(boots)" = 2 ]
    [[ "$stderr" == *"scenario finished at never"* ]]
    [[ "$stderr" == *"run-guest: guest did not finish (qemu exit 1): it never reached /init"* ]]
}

@test "a boot that stalls before /init is stopped at VSOCK_GUEST_BOOT_LIMIT and booted again" {
    SECONDS=0
    run_guest stall ok
    [ "$status" -eq 0 ]
    [ "$(boots)" = 2 ]
    [ "$SECONDS" -lt 30 ]
    [[ "$stderr" == *"run-guest: the guest had not reached /init after 2 s, booting again; console tail:"* ]]
    [[ "$stderr" == *"Probing EDD"* ]]
    [ -z "$(pgrep -f "stalled-guest-$tmp")" ] # stopped, not left behind
}

@test "two stalled boots fail, saying the guest never reached /init" {
    run_guest stall stall
    [ "$status" -eq 1 ]
    [ "$(boots)" = 2 ]
    [ "$(sed 's/exit [0-9]*/exit N/' "$tmp/out/failure.txt")" = "guest did not finish (qemu exit N): it had not reached /init after 2 s" ]
}

@test "a QEMU that fails before opening its serial files: booted twice, then a failure naming it" {
    run_guest nofiles nofiles
    [ "$status" -eq 1 ]
    [ "$(boots)" = 2 ]
    [ "$(cat "$tmp/out/failure.txt")" = "guest did not finish (qemu exit 1): it never reached /init" ]
    [[ "$stderr" == *"qemu: stand-in failed before opening its files"* ]]
}
