# pci-iommu.sh: the second, short guest of pci.test. Its virtio-vsock PCI device has
# iommu_platform=on, so it offers VIRTIO_F_ACCESS_PLATFORM: it expects an IOMMU to
# translate its addresses, and the uio transport, which hands it physical addresses,
# must refuse it by name instead of running it.
. /guest/lib.sh
echo "PLAN uio-driver/refuses-access-platform" >"$RESULT_PORT"
load_module uio_pci_generic

check uio-driver/refuses-access-platform uio_refused 'offers VIRTIO_F_ACCESS_PLATFORM'
