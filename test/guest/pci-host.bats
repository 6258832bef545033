#!/usr/bin/env bats
# pci-host.bats: the uio transport and vsockctl's PCI commands on the build machine,
# which has no virtio-vsock function bound to uio_pci_generic: every path that must fail
# cleanly (naming what is missing) without touching a device. Nothing here binds,
# unbinds or opens a device (this machine's own vsock device may be a virtio-vsock PCI
# function its kernel uses); the working paths run in the QEMU guest (pci.test).

load ../helpers
bats_require_minimum_version 1.5.0

run_ctl() {
    run --separate-stderr timeout --kill-after=2 10 "$VSOCKCTL" "$@"
}

# A virtio-vsock function already bound to uio_pci_generic makes these checks moot.
skip_if_bound() {
    local d
    for d in /sys/bus/pci/drivers/uio_pci_generic/0000:*; do
        [ -e "$d" ] || continue
        [ "$(cat "$d/device" 2>/dev/null)" = 0x1053 ] && skip "a virtio-vsock device is bound to uio_pci_generic here"
    done
    return 0
}

@test "uio without a bound device: exit 1, one line saying none is bound" {
    skip_if_bound
    run_ctl --transport=uio cid
    [ "$status" -eq 1 ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ "$stderr" =~ ^"vsockctl: --transport=uio: uio: no virtio-vsock PCI device" ]]
    [ -z "$output" ]
}

@test "uio:mem=lots is a usage error naming the bad option" {
    run_ctl --transport=uio:mem=lots cid
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"bad mem=lots (want mem=ADDR+SIZE, e.g. mem=0x30000000+16M, or mem=hugepages)" ]]
}

@test "uio with an unknown option is a usage error" {
    run_ctl --transport=uio:/dev/uio0,speed=fast cid
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"unknown option 'speed=fast'"* ]]
}

@test "uio:/dev/uio99 (no such device) fails by name" {
    run_ctl --transport=uio:/dev/uio99,mem=0x30000000+16M cid
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"uio99: no such UIO device or not a PCI function" ]]
}

@test "uio with a PCI address that does not exist fails by name" {
    run_ctl --transport=uio:0000:ff:1f.7 cid
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"0000:ff:1f.7: no such PCI device"* ]]
}

@test "help lists the uio transport spec" {
    run_ctl help
    [ "$status" -eq 0 ]
    [[ "$output" == *"uio[:DEVICE][,mem=ADDR+SIZE]"* ]]
}

@test "devices: one well-formed line per virtio-vsock function, or exit 1 saying there is none" {
    run_ctl devices
    if [ "$status" -eq 0 ]; then
        for line in "${lines[@]}"; do
            [[ "$line" =~ ^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]\ 1af4:1053\ [^\ ]+\ (-|/dev/uio[0-9]+)$ ]]
        done
    else
        [ "$status" -eq 1 ]
        [ "$stderr" = "vsockctl: devices: no virtio-vsock PCI device (1af4:1053)" ]
    fi
}

@test "bind refuses an address that is not a virtio-vsock function, before writing anything" {
    run_ctl bind 0000:ff:1f.7
    [ "$status" -eq 1 ]
    [[ "$stderr" == "vsockctl: bind: "* ]]
    [[ "$stderr" == *"0000:ff:1f.7: not a virtio-vsock PCI device"* || "$stderr" == *"no virtio-vsock"* ]]
}

@test "unbind refuses a function that is not bound to uio_pci_generic" {
    skip_if_bound
    run_ctl unbind
    [ "$status" -eq 1 ]
    [[ "$stderr" == "vsockctl: unbind: "* ]]
}

@test "uio-check: not ready here, every MISSING line says what to do, exit 1" {
    skip_if_bound
    run_ctl uio-check
    [ "$status" -eq 1 ]
    [ "${lines[-1]}" = "uio transport: not ready (see MISSING)" ]
    grep -q '^MISSING' <<<"$output"
    while read -r word item rest; do
        [ "$word" = MISSING ] || continue
        [[ "$rest" =~ (modprobe|vsockctl\ bind|memmap=|root|CONFIG_DEVMEM|nr_hugepages|QEMU|permission) ]] ||
            { echo "no fix named: $word $item $rest" >&2; false; }
    done <<<"$output"
}
