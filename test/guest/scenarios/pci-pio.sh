# pci-pio.sh: the third, short guest of pci.test. Its virtio-vsock PCI device has
# modern-pio-notify=on: QEMU adds a notify capability in an I/O-port BAR, first in the
# capability list. An I/O BAR's start is a port number; mapped from /dev/mem as if it
# were a physical address it is low RAM, so the uio transport must refuse the device,
# naming the BAR, before it maps anything.
. /guest/lib.sh
echo "PLAN uio-driver/refuses-io-port-bar" >"$RESULT_PORT"
load_module uio_pci_generic

c_refuse_io_bar() {
    timeout 10 vsockctl bind || fail "bind exit $?"
    timeout 10 vsockctl --transport uio cid >/tmp/out 2>/tmp/err && fail "accepted: $(cat /tmp/out)"
    grep -q 'notify capability: BAR [0-5] is an I/O-port BAR' /tmp/err || fail "stderr: $(cat /tmp/err)"
    [ "$(wc -l </tmp/err)" -eq 1 ] || fail "more than one line: $(cat /tmp/err)"
    note "$(cat /tmp/err)"
}
check uio-driver/refuses-io-port-bar c_refuse_io_bar
