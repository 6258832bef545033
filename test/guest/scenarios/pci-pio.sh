# pci-pio.sh: the third, short guest of pci.test. Its virtio-vsock PCI device has
# modern-pio-notify=on: QEMU adds a notify capability in an I/O-port BAR, first in the
# capability list. An I/O BAR's start is a port number; mapped from /dev/mem as if it
# were a physical address it is low RAM, so the uio transport must refuse the device,
# naming the BAR, before it maps anything.
. /guest/lib.sh
echo "PLAN uio-driver/refuses-io-port-bar" >"$RESULT_PORT"
load_module uio_pci_generic

check uio-driver/refuses-io-port-bar uio_refused 'notify capability: BAR [0-5] is an I/O-port BAR'
