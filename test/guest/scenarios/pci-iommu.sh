# pci-iommu.sh: the second, short guest of pci.test. Its virtio-vsock PCI device has
# iommu_platform=on, so it offers VIRTIO_F_ACCESS_PLATFORM: it expects an IOMMU to
# translate its addresses, and the uio transport, which hands it physical addresses,
# must refuse it by name instead of running it.
. /guest/lib.sh
echo "PLAN uio-driver/refuses-access-platform" >"$RESULT_PORT"
load_module uio_pci_generic

c_refuse_access_platform() {
    timeout 10 vsockctl bind || fail "bind exit $?"
    timeout 10 vsockctl --transport uio cid >/tmp/out 2>/tmp/err && fail "accepted: $(cat /tmp/out)"
    grep -q 'offers VIRTIO_F_ACCESS_PLATFORM' /tmp/err || fail "stderr: $(cat /tmp/err)"
    note "$(cat /tmp/err)"
}
check uio-driver/refuses-access-platform c_refuse_access_platform
